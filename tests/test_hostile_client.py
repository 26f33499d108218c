"""The client's edges against hostile files, servers and settings (issue 14).

Every test starts its own hostile party on loopback and is bounded in time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from _wrapper_helpers import PNG

from nebula_images import Client, ValidationError
from nebula_images._auth import BearerAuth
from nebula_images._encoding import MAX_INPUT_BYTES, input_bytes

if TYPE_CHECKING:
    from nebula_images.testing import MockServer

KEY = "ak_hostile_client_test_key_0123456789"


# -- image files ----------------------------------------------------------------------


def _input_in_subprocess(path: str) -> subprocess.CompletedProcess[str]:
    """``input_bytes(path)`` in a child with 1 GiB of address space and 30 s: before the
    fix a device file was read until MemoryError (6-8 s, gigabytes)."""
    code = textwrap.dedent(
        f"""
        import resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from nebula_images import ValidationError
        from nebula_images._encoding import input_bytes
        started = time.monotonic()
        try:
            input_bytes({path!r}, "image")
        except ValidationError as exc:
            print("ValidationError", round(time.monotonic() - started, 3), exc)
        except BaseException as exc:
            print("other", type(exc).__name__, round(time.monotonic() - started, 3))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_device_file_is_refused_at_once(device: str) -> None:
    proc = _input_in_subprocess(device)
    kind, elapsed, *message = proc.stdout.split(" ", 2)
    assert kind == "ValidationError", proc.stdout + proc.stderr
    assert float(elapsed) < 1.0
    assert "regular file" in message[0]


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    outcome: list[BaseException | bytes] = []

    def read() -> None:
        try:
            outcome.append(input_bytes(fifo, "image"))
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=5)
    blocked = reader.is_alive()
    if blocked:  # unblock the reader stuck in open(): open and close the write end
        os.close(os.open(fifo, os.O_WRONLY))
        reader.join(timeout=5)
    assert not blocked, "reading a FIFO blocked"
    assert isinstance(outcome[0], ValidationError), outcome
    assert outcome[0].field == "image"
    assert "regular file" in str(outcome[0])


def test_oversized_file_is_refused_reading_at_most_one_byte_over(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as f:  # sparse: the size without the disk
        f.write(PNG[:16])
        f.truncate(MAX_INPUT_BYTES + 1)
    with pytest.raises(ValidationError, match=f"more than the API's {MAX_INPUT_BYTES}"):
        input_bytes(big, "mask")


def test_a_file_exactly_at_the_limit_is_read(tmp_path: Path) -> None:
    exact = tmp_path / "exact.png"
    with exact.open("wb") as f:
        f.write(PNG)
        f.truncate(MAX_INPUT_BYTES)
    assert len(input_bytes(exact, "image")) == MAX_INPUT_BYTES


def test_a_fifo_through_a_generate_call_is_a_validation_error(tmp_path: Path) -> None:
    """The path the CLI's --image and a JSONL job's "image" take: client.images.generate."""
    fifo = tmp_path / "image.png"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def call() -> None:
        with Client(api_key=KEY, base_url="http://127.0.0.1:1/api/v1") as client:
            try:
                client.images.generate(
                    "a fox",
                    model="black-forest-labs/FLUX.1-Fill-dev",
                    image=fifo,
                    mask=PNG,
                )
            except BaseException as exc:
                outcome.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(timeout=10)
    if caller.is_alive():
        os.close(os.open(fifo, os.O_WRONLY))
        caller.join(timeout=5)
        pytest.fail("generate blocked reading a FIFO")
    assert isinstance(outcome[0], ValidationError) and outcome[0].field == "image", outcome


# -- settings -------------------------------------------------------------------------


def test_max_response_bytes_zero_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Client(api_key=KEY, base_url="http://127.0.0.1:1/api/v1", max_response_bytes=0)
    assert info.value.field == "max_response_bytes"


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:s3cret-pw@api.example.com/api/v1",
        "http://alice:s3cret-pw@127.0.0.1:8080/api/v1",
        "https://:s3cret-pw@api.example.com/api/v1",
    ],
)
def test_credentials_in_base_url_are_refused_and_never_shown(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        Client(api_key=KEY, base_url=url)
    error = info.value
    assert error.field == "base_url"
    assert "credentials" in str(error)
    shown = [str(error), repr(error), str(error.__cause__), str(error.__context__)]
    assert not any("s3cret-pw" in text for text in shown)


def test_credentials_in_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEBULA_BASE_URL", "https://bob:hunter2-pw@api.example.com/api/v1")
    with pytest.raises(ValidationError, match="credentials") as info:
        Client(api_key=KEY)
    assert "hunter2-pw" not in str(info.value)


# -- key routing ----------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Records (port, path, Authorization) of every request; ``/api/v1/serverless/models``
    answers with a redirect to ``server.redirect_to`` when set."""

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _RecordingServer)
        server.seen.append((server.server_port, self.path, self.headers.get("Authorization")))
        if server.redirect_to and self.path == "/api/v1/serverless/models":
            self.send_response(302)
            self.send_header("Location", server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"data": {"models": []}, "message": "ok", "status": "success"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, seen: list[tuple[int, str, str | None]]) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.seen = seen
        self.redirect_to: str | None = None


@pytest.fixture
def two_servers() -> Iterator[tuple[_RecordingServer, _RecordingServer]]:
    """Two hostile loopback servers on different free ports sharing one request log."""
    seen: list[tuple[int, str, str | None]] = []
    servers = (_RecordingServer(seen), _RecordingServer(seen))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def _keys_sent(server: _RecordingServer) -> dict[tuple[int, str], str | None]:
    return {(port, path): auth for port, path, auth in server.seen}


@pytest.mark.parametrize(
    "target",
    ["/elsewhere", "/api/v1evil/serverless/models", "/api/v2/serverless/models"],
    ids=["off-path", "trailing-slash", "sibling-path"],
)
def test_redirect_off_the_base_path_does_not_carry_the_key(
    two_servers: tuple[_RecordingServer, _RecordingServer], target: str
) -> None:
    api, _ = two_servers
    port = api.server_port
    api.redirect_to = f"http://127.0.0.1:{port}{target}"
    base = f"http://127.0.0.1:{port}/api/v1"
    started = time.monotonic()
    with (
        httpx.Client(follow_redirects=True, timeout=5) as http,
        Client(api_key=KEY, base_url=base, http_client=http, max_retries=0) as client,
    ):
        client.models.list()
    sent = _keys_sent(api)
    assert sent[(port, "/api/v1/serverless/models")] == f"Bearer {KEY}"
    assert sent[(port, target)] is None, "the redirect target received the key"
    assert time.monotonic() - started < 10


def test_redirect_to_another_port_does_not_carry_the_key(
    two_servers: tuple[_RecordingServer, _RecordingServer],
) -> None:
    api, other = two_servers
    api.redirect_to = f"http://127.0.0.1:{other.server_port}/api/v1/serverless/models"
    base = f"http://127.0.0.1:{api.server_port}/api/v1"
    with (
        httpx.Client(follow_redirects=True, timeout=5) as http,
        Client(api_key=KEY, base_url=base, http_client=http, max_retries=0) as client,
    ):
        client.models.list()
    sent = _keys_sent(api)
    assert sent[(api.server_port, "/api/v1/serverless/models")] == f"Bearer {KEY}"
    assert sent[(other.server_port, "/api/v1/serverless/models")] is None


def test_the_callers_client_used_elsewhere_carries_no_key(
    two_servers: tuple[_RecordingServer, _RecordingServer],
) -> None:
    """Same host and path, only the port differs: the port check alone decides."""
    api, other = two_servers
    base = f"http://127.0.0.1:{api.server_port}/api/v1"
    with (
        httpx.Client(timeout=5) as http,
        Client(api_key=KEY, base_url=base, http_client=http, max_retries=0) as client,
    ):
        client.models.list()
        http.get(f"http://127.0.0.1:{other.server_port}/api/v1/serverless/models")
        http.get(f"http://127.0.0.1:{api.server_port}/api/v1evil")
    sent = _keys_sent(api)
    assert sent[(api.server_port, "/api/v1/serverless/models")] == f"Bearer {KEY}"
    assert sent[(other.server_port, "/api/v1/serverless/models")] is None
    assert sent[(api.server_port, "/api/v1evil")] is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.nebula.example/v1/images/generation", True),
        ("https://api.nebula.example/v1", True),
        ("https://api.nebula.example:443/v1/x", True),  # the default port, spelled out
        ("https://evil.example/v1/images/generation", False),  # host alone differs
        ("http://api.nebula.example/v1/images/generation", False),  # scheme alone differs
        ("https://api.nebula.example:8443/v1/images/generation", False),  # port alone
        ("https://api.nebula.example/v1evil/images/generation", False),  # no slash boundary
        ("https://api.nebula.example/v2/images/generation", False),
        ("https://api.nebula.example/", False),
    ],
)
def test_the_key_applies_only_under_the_base_url(url: str, expected: bool) -> None:
    auth = BearerAuth(KEY, "https://api.nebula.example/v1")
    assert auth.applies_to(httpx.URL(url)) is expected
    request = httpx.Request("GET", url)
    sent = next(auth.sync_auth_flow(request))
    assert (sent.headers.get("Authorization") == f"Bearer {KEY}") is expected


@pytest.mark.parametrize(
    ("base", "port", "expected"),
    [
        ("http://127.0.0.1:8080/api/v1", 8080, True),
        ("http://127.0.0.1:8080/api/v1", 8081, False),
        ("http://localhost:8080/api/v1/", 8080, True),
        ("http://localhost:8080/api/v1/", 80, False),
    ],
)
def test_the_port_decides_on_loopback(base: str, port: int, expected: bool) -> None:
    auth = BearerAuth(KEY, base)
    host = httpx.URL(base).host
    assert auth.applies_to(httpx.URL(f"http://{host}:{port}/api/v1/x")) is expected


# -- proxies --------------------------------------------------------------------------


class _Proxy(BaseHTTPRequestHandler):
    """A plain-http forward proxy that only records what it receives."""

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _ProxyServer)
        server.received.append(self.headers.get("Authorization"))
        body = b'{"message": "proxied", "status": "failed", "data": null}'
        self.send_response(502)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Proxy)
        self.received: list[str | None] = []


def test_env_proxy_never_sees_the_key_of_a_plain_http_base(
    monkeypatch: pytest.MonkeyPatch, two_servers: tuple[_RecordingServer, _RecordingServer]
) -> None:
    proxy = _ProxyServer()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    api, _ = two_servers
    try:
        proxy_url = f"http://127.0.0.1:{proxy.server_port}"
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy_url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        base = f"http://localhost:{api.server_port}/api/v1"
        with Client(api_key=KEY, base_url=base, max_retries=0) as client:
            client.models.list()
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert proxy.received == [], "the proxy received the request (and the key, in clear)"
    assert _keys_sent(api)[(api.server_port, "/api/v1/serverless/models")] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://api.nebulablock.com/api/v1", True),
        ("http://127.0.0.1:8080/api/v1", False),
        ("http://localhost/api/v1", False),
    ],
)
def test_env_proxies_only_for_https(base: str, expected: bool) -> None:
    from nebula_images._auth import may_use_env_proxies

    assert may_use_env_proxies(base) is expected


def _batch_in_subprocess(image: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``generate_many`` (what the CLI's JSONL jobs run) with ``"image": image``, in a
    child with 1 GiB of address space and 30 s: the batch hashes its input files."""
    code = textwrap.dedent(
        f"""
        import resource, time
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from nebula_images import Client
        started = time.monotonic()
        item = {{"prompt": "a fox", "model": "black-forest-labs/FLUX.1-Fill-dev",
                 "image": {image!r}, "mask": {str(tmp_path / "mask.png")!r}}}
        with Client(api_key="ak_x", base_url="http://127.0.0.1:1/api/v1") as client:
            try:
                (outcome,) = client.images.generate_many([item], output_dir={str(tmp_path)!r})
                error = getattr(outcome, "exception", outcome)
                print(type(error).__name__, round(time.monotonic() - started, 3), error)
            except BaseException as exc:
                print("raised", type(exc).__name__, round(time.monotonic() - started, 3))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_a_batch_item_naming_a_device_or_fifo_fails_alone_and_at_once(
    kind: str, tmp_path: Path
) -> None:
    (tmp_path / "mask.png").write_bytes(PNG)
    image = kind
    if kind == "fifo":
        image = str(tmp_path / "pipe.png")
        os.mkfifo(image)
    try:
        proc = _batch_in_subprocess(image, tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("the batch blocked on its input file for 30 s")
    kind_seen, elapsed, message = [*proc.stdout.split(" ", 2), "", ""][:3]
    assert kind_seen == "ValidationError", proc.stdout + proc.stderr
    assert float(elapsed) < 2.0
    assert "regular file" in message


# -- a repeated idempotency key resends the same body ---------------------------------


def test_a_recall_with_the_errors_key_is_replayed_not_refused(nebula_mock: MockServer) -> None:
    """The mock refuses a reused key with another body (409); a re-call with the key of a
    failed call must therefore resend the same body, the drawn seed included."""
    from nebula_images import InternalServerError
    from nebula_images.testing import Fault

    nebula_mock.faults.push(Fault.status(500, billed=True))
    with Client(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        with pytest.raises(InternalServerError) as info:
            client.images.generate("a red fox", width=64, height=64)
        again = client.images.generate(
            "a red fox", width=64, height=64, idempotency_key=info.value.idempotency_key
        )
    assert nebula_mock.ledger.billed == 1 and nebula_mock.ledger.replayed == 1
    assert again.images[0].seed == nebula_mock.ledger.entries[0].seed

"""The mock against hostile clients (issue 14): the control path's gate, bodies that
used to answer 500, typed control bodies, bounded queues and stores, idempotency keys
reused with another body, and idle or slow connections.

Every hostile client here is started by the test, on loopback, bounded in time.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from nebula_images.testing import MockConfig, MockServer
from nebula_images.testing._app import MockApp
from nebula_images.testing._ledger import Ledger

SCHNELL = "black-forest-labs/FLUX.1-schnell"
BODY = {"model_name": SCHNELL, "prompt": "a red fox", "width": 64, "height": 64}
JSON = {"Content-Type": "application/json"}
HUGE_INT = "9" * 5000  # past Python's 4,300-digit limit for int parsing


def assert_error(response: httpx.Response, status: int, *words: str) -> None:
    """``status`` with the API's ``Error`` body (never uvicorn's text/plain 500)."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    assert body["status"] == "failed" and body["data"] is None
    for word in words:
        assert word in body["message"], body["message"]


def control(mock: MockServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{mock.url}/_mock/{path}", timeout=10, **kwargs)


@pytest.fixture
def fresh_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    """A mock of its own, started as a container image would: proxy headers trusted
    from anyone (``FORWARDED_ALLOW_IPS=*``), short connection timeouts."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    config = MockConfig(
        header_timeout_seconds=0.5, body_timeout_seconds=0.5, keep_alive_seconds=0.5
    )
    with MockServer(config) as server:
        yield server


# -- the control path's gate ---------------------------------------------------------


async def test_forwarded_for_loopback_from_a_remote_client_is_refused() -> None:
    """uvicorn with FORWARDED_ALLOW_IPS=* rewrites the client from X-Forwarded-For: a
    remote client claiming 127.0.0.1 must still not reach the control path."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    app = ProxyHeadersMiddleware(MockApp(), trusted_hosts="*")
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        for header in ("X-Forwarded-For", "X-Real-IP"):
            refused = await c.get("/_mock/stats", headers={header: "127.0.0.1"})
            assert_error(refused, 404)
        forwarded = await c.post(
            "/_mock/reset", headers={**JSON, "Forwarded": "for=127.0.0.1"}, content=b"{}"
        )
        assert_error(forwarded, 404)
        # The API path itself does not care who the client is.
        assert (await c.get("/api/v1/serverless/models")).status_code == 401


def test_a_relayed_request_is_refused_even_from_loopback(fresh_mock: MockServer) -> None:
    """A proxy on this machine relaying a remote client connects from 127.0.0.1; the
    forwarding header it adds is what gives the remote client away."""
    relayed = control(fresh_mock, "GET", "stats", headers={"X-Forwarded-For": "127.0.0.1"})
    assert_error(relayed, 404)
    assert control(fresh_mock, "GET", "stats").status_code == 200


def test_control_post_needs_a_json_content_type(mock: MockServer) -> None:
    """A cross-site form or ``text/plain`` fetch needs no CORS preflight: refused."""
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        forged = control(mock, "POST", "config", content=b'{"latency_seconds": 5}', headers=headers)
        assert_error(forged, 415, "application/json")
    assert mock.config.latency_seconds is None
    assert_error(control(mock, "POST", "reset", headers={"Content-Type": "text/plain"}), 415)
    ok = control(mock, "POST", "config", json={"latency_seconds": 0})
    assert ok.status_code == 200 and mock.config.latency_seconds == 0


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example"])
def test_control_path_needs_a_loopback_host_header(mock: MockServer, host: str) -> None:
    """DNS rebinding: the browser connects to 127.0.0.1 but names the attacker's host."""
    rebound = control(mock, "GET", "stats", headers={"Host": host})
    assert_error(rebound, 403, "Host")
    changed = control(mock, "POST", "config", json={"latency_seconds": 3}, headers={"Host": host})
    assert_error(changed, 403)
    assert mock.config.latency_seconds is None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_host_headers_are_accepted(mock: MockServer, host: str) -> None:
    response = control(mock, "GET", "stats", headers={"Host": f"{host}:{mock.port}"})
    assert response.status_code == 200


def test_control_path_refuses_a_foreign_origin(mock: MockServer) -> None:
    for origin in ("http://evil.example", "null", "https://127.0.0.1.evil.example"):
        forged = control(mock, "POST", "reset", json={}, headers={"Origin": origin})
        assert_error(forged, 403, "Origin")
    local = control(mock, "POST", "reset", json={}, headers={"Origin": mock.url})
    assert local.status_code == 200


# -- bodies that used to answer 500 --------------------------------------------------


def test_a_5000_digit_integer_in_a_generation_is_a_400(mock_http: httpx.Client) -> None:
    body = json.dumps(BODY)[:-1] + f', "seed": {HUGE_INT}}}'
    response = mock_http.post("/images/generation", content=body, headers=JSON)
    assert_error(response, 400, "body")


def test_a_5000_digit_integer_in_a_control_body_is_a_400(mock: MockServer) -> None:
    body = f'{{"latency_seconds": {HUGE_INT}}}'
    assert_error(control(mock, "POST", "config", content=body, headers=JSON), 400)
    faults = f'{{"kind": "status", "status": 503, "times": {HUGE_INT}}}'
    assert_error(control(mock, "POST", "faults", content=faults, headers=JSON), 400)
    assert len(mock.faults) == 0


def test_a_control_post_over_1_mb_is_a_413(mock: MockServer) -> None:
    body = b'{"faults": [' + b'{"kind": "delay", "seconds": 0},' * 40_000 + b"{}]}"
    assert len(body) > 1024 * 1024
    assert_error(control(mock, "POST", "faults", content=body, headers=JSON), 413)
    assert len(mock.faults) == 0


@pytest.mark.parametrize("depth", [900, 100_000])
def test_deep_json_to_the_control_path_is_a_400(mock: MockServer, depth: int) -> None:
    deep = "[" * depth + "]" * depth
    for path, body in (
        ("faults", deep),
        ("faults", f'{{"faults": {deep}}}'),
        ("config", f'{{"inference_seconds": {{"m": {deep}}}}}'),
        ("config", f'{{"api_keys": {deep}}}'),
    ):
        response = control(mock, "POST", path, content=body, headers=JSON)
        assert_error(response, 400)
    assert control(mock, "GET", "config").status_code == 200


def test_deep_json_in_a_generation_is_a_4xx(mock_http: httpx.Client) -> None:
    for depth in (900, 100_000):
        deep = "[" * depth + "]" * depth
        body = json.dumps(BODY)[:-1] + f', "extra": {deep}}}'
        response = mock_http.post("/images/generation", content=body, headers=JSON)
        assert 400 <= response.status_code < 500, response.status_code
        assert response.json()["status"] == "failed"


# -- typed control bodies, bounded queues ---------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"api_keys": "ak_x"},
        {"api_keys": ["ak_x", 5]},
        {"api_keys": [""]},
        {"inference_seconds": {"m": "slow"}},
        {"inference_seconds": ["m"]},
        {"inference_time_factor": "2"},
        {"inference_time_factor": True},
        {"latency_seconds": "1"},
        {"validate": "no"},
        {"idempotency_window_seconds": "60"},
    ],
)
def test_control_bodies_are_typed(mock: MockServer, change: dict[str, Any]) -> None:
    before = mock.config
    (field,) = change
    assert_error(control(mock, "POST", "config", json=change), 400, field)
    assert mock.config == before


def test_a_key_string_is_not_a_set_of_characters(mock: MockServer) -> None:
    control(mock, "POST", "config", json={"api_keys": "ak_x"})
    single = httpx.get(
        f"{mock.base_url}/serverless/models", headers={"Authorization": "Bearer a"}, timeout=10
    )
    assert single.status_code == 401
    with pytest.raises(ValueError, match="api_keys"):
        mock.configure(api_keys="ak_x")
    assert mock.configure(api_keys=["ak_x"]).api_keys == frozenset({"ak_x"})


def test_non_finite_numbers_are_refused(mock: MockServer) -> None:
    for body in ('{"latency_seconds": 1e999}', '{"idempotency_window_seconds": NaN}'):
        assert_error(control(mock, "POST", "config", content=body, headers=JSON), 400)
    assert mock.config.latency_seconds is None


def test_fault_queue_is_bounded(mock: MockServer) -> None:
    started = time.monotonic()
    huge = {"kind": "status", "status": 503, "times": 1_000_000}
    assert_error(control(mock, "POST", "faults", json=huge), 400, "times")
    assert len(mock.faults) == 0
    many = [{"kind": "status", "status": 503, "times": 1000}] * 20
    assert_error(control(mock, "POST", "faults", json=many), 400, "queue")
    assert len(mock.faults) == 0
    assert control(mock, "POST", "faults", json={**huge, "times": 3}).status_code == 200
    assert len(mock.faults) == 3
    assert time.monotonic() - started < 5


# -- an Idempotency-Key reused with another body -------------------------------------


def test_reused_key_with_another_body_is_refused_and_not_billed(
    mock: MockServer, mock_http: httpx.Client
) -> None:
    key = {"Idempotency-Key": "reused-key"}
    first = mock_http.post("/images/generation", json=BODY, headers=key)
    assert first.status_code == 200
    other = mock_http.post("/images/generation", json={**BODY, "prompt": "a cat"}, headers=key)
    assert_error(other, 409, "Idempotency-Key")
    same = mock_http.post("/images/generation", json=BODY, headers=key)
    assert same.status_code == 200 and same.json() == first.json()
    # Key order and spacing do not make another body.
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=2)
    again = mock_http.post("/images/generation", content=reordered, headers={**key, **JSON})
    assert again.status_code == 200
    assert mock.ledger.billed == 1


async def test_concurrent_reuse_with_other_bodies_bills_once(mock: MockServer) -> None:
    headers = {"Authorization": f"Bearer {mock.api_key}", "Idempotency-Key": "burst"}
    prompts = ["a red fox" if i % 2 == 0 else "a blue whale" for i in range(20)]
    async with httpx.AsyncClient(base_url=mock.base_url, headers=headers, timeout=30) as c:
        responses = await asyncio.gather(
            *(c.post("/images/generation", json={**BODY, "prompt": p}) for p in prompts)
        )
    statuses = sorted({r.status_code for r in responses})
    assert statuses == [200, 409]
    winners = {p for p, r in zip(prompts, responses, strict=True) if r.status_code == 200}
    assert len(winners) == 1  # every 200 carries the first body's result
    assert len({r.content for r in responses if r.status_code == 200}) == 1
    assert mock.ledger.billed == 1


# -- the replay store is bounded -----------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_replay_store_is_bounded_by_count_and_bytes() -> None:
    ledger = Ledger(max_results=3, max_result_bytes=10_000)
    for i in range(5):
        ledger.store("scope", f"k{i}", b"x" * 100, f"req{i}")
    kept = [i for i in range(5) if ledger.lookup("scope", f"k{i}", 3600) is not None]
    assert kept == [2, 3, 4]  # the oldest went first
    ledger.store("scope", "big", b"y" * 9_950, "req-big")
    assert ledger.stored_bytes <= 10_000
    assert ledger.lookup("scope", "big", 3600) is not None


def test_replay_store_evicts_expired_results_eagerly() -> None:
    clock = _Clock()
    ledger = Ledger(clock=clock)
    ledger.store("scope", "old", b"x" * 1000, "req-old", window_seconds=60)
    clock.now += 61
    # Storing another key (no lookup of the old one) already drops the expired result.
    ledger.store("scope", "new", b"x" * 10, "req-new", window_seconds=60)
    assert ledger.stored_bytes == 10
    assert ledger.lookup("scope", "old", 60) is None


# -- idle and slow connections --------------------------------------------------------


def _connect(mock: MockServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", mock.port), timeout=5)
    sock.settimeout(5)
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed ``sock`` (read EOF), failing past ``seconds``."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for over {seconds} s")
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def test_a_connection_that_sends_nothing_is_closed(fresh_mock: MockServer) -> None:
    with _connect(fresh_mock) as sock:
        assert _closed_within(sock, 4) < 4


def test_headers_sent_a_byte_at_a_time_are_cut_off(fresh_mock: MockServer) -> None:
    request = b"GET /api/v1/serverless/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 60
    started = time.monotonic()
    with _connect(fresh_mock) as sock:
        try:
            for byte in request:  # 60+ bytes at 0.05 s: 3 s if the server waited
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        _closed_within(sock, 4)
    assert time.monotonic() - started < 2.5


def test_a_stalled_body_gets_a_408(fresh_mock: MockServer) -> None:
    head = (
        "POST /api/v1/images/generation HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {fresh_mock.api_key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    with _connect(fresh_mock) as sock:
        sock.sendall(head + b'{"model_name": ')
        started = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 3


def test_an_idle_keep_alive_connection_is_closed(fresh_mock: MockServer) -> None:
    with _connect(fresh_mock) as sock:
        sock.sendall(b"GET /_mock/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert _closed_within(sock, 4) < 4


def test_a_slow_but_steady_client_is_served(fresh_mock: MockServer) -> None:
    """The timeouts bound a whole request head and body, not a normal exchange."""
    with httpx.Client(base_url=fresh_mock.base_url, timeout=10) as client:
        headers = {"Authorization": f"Bearer {fresh_mock.api_key}"}
        for _ in range(3):
            assert client.post("/images/generation", json=BODY, headers=headers).is_success

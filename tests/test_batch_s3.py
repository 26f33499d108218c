"""Batches straight to S3 (fsspec URLs), against a real S3 server on loopback (moto).

The server is moto's, started here on a free 127.0.0.1 port; a small proxy in front of
it refuses chosen PUTs. Credentials and the endpoint come from the environment, as a
user's would (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nebula_images import Client
from nebula_images._batch import BatchError, BatchSkipped, generate_many_sync

BUCKET = "nebula-batches"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RefusingProxy:
    """Forwards to the S3 server; answers 403 to PUTs whose path holds ``refuse``."""

    def __init__(self, upstream_port: int) -> None:
        self.refuse: str | None = None
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # answers "Expect: 100-continue" as clients wait

            def log_message(self, *args: object) -> None:
                return None

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)

            def _forward(self) -> None:
                body = self._body()
                if self.command == "PUT" and proxy.refuse and proxy.refuse in self.path:
                    proxy.refused += 1
                    error = b"<Error><Code>AccessDenied</Code><Message>refused</Message></Error>"
                    self.send_response(403)
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                skip = ("host", "transfer-encoding", "expect", "content-length")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                headers["Host"] = self.headers.get("Host", "")
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def s3_server() -> Iterator[RefusingProxy]:
    try:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        server.start()
    except Exception as exc:  # ImportError, or a server that cannot bind
        pytest.skip(f"S3 tests: moto's server could not start ({type(exc).__name__}: {exc})")
    proxy = RefusingProxy(server._port)
    try:
        yield proxy
    finally:
        proxy.close()
        server.stop()


@pytest.fixture
def s3(s3_server: RefusingProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """An s3fs filesystem on a fresh bucket; the environment set as a user would."""
    import s3fs

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{s3_server.port}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s3_server.refuse = None
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    if fs.exists(BUCKET):
        fs.rm(BUCKET, recursive=True)
    fs.mkdir(BUCKET)
    return fs


def names(fs: Any, prefix: str) -> list[str]:
    fs.invalidate_cache()
    return sorted(p.rsplit("/", 1)[1] for p in fs.ls(f"{BUCKET}/{prefix}", detail=False))


def sidecars(fs: Any, prefix: str) -> dict[str, dict[str, Any]]:
    found = [n for n in names(fs, prefix) if n.endswith(".json") and not n.startswith(".")]
    metas = [json.loads(fs.cat_file(f"{BUCKET}/{prefix}/{n}")) for n in found]
    return {meta["prompt"]: meta for meta in metas}


def client_for(mock: Any) -> Client:
    return Client(api_key=mock.api_key, base_url=mock.base_url)


def test_batch_writes_images_sidecars_and_manifest_to_s3(nebula_mock: Any, s3: Any) -> None:
    prompts = [f"a lighthouse, variation {i}" for i in range(4)]
    url = f"s3://{BUCKET}/run-1"
    with client_for(nebula_mock) as client:
        outcomes = list(generate_many_sync(client, prompts, output_dir=url, concurrency=3))
    assert not [o for o in outcomes if isinstance(o, BatchError)]
    metas = sidecars(s3, "run-1")
    assert sorted(metas) == sorted(prompts)
    for meta in metas.values():
        (image,) = meta["files"]
        assert s3.cat_file(f"{BUCKET}/run-1/{image}").startswith(b"\x89PNG")
        assert meta["seed"] is not None
    manifest = s3.cat_file(f"{BUCKET}/run-1/manifest.jsonl").decode().splitlines()
    assert sorted(json.loads(line)["prompt"] for line in manifest) == sorted(prompts)
    assert ".nebula-batch.json" in names(s3, "run-1")
    assert not [n for n in names(s3, "run-1") if ".tmp-" in n]
    assert nebula_mock.ledger.billed == 4
    again = FakeFreeClient()
    skipped = list(generate_many_sync(again, prompts, output_dir=url))
    assert all(isinstance(o, BatchSkipped) for o in skipped) and again.calls == 0
    assert str(skipped[0].paths[0]).startswith(f"{url}/a-lighthouse-variation-0-")


class FakeFreeClient:
    """Counts calls; a resumed batch with everything done must make none."""

    def __init__(self) -> None:
        self.calls = 0
        self.images = self

    def generate(self, prompt: str, **params: Any) -> Any:
        self.calls += 1
        raise AssertionError("nothing should be generated")


def test_a_refused_put_fails_its_item_and_a_rerun_bills_nothing_twice(
    nebula_mock: Any, s3: Any, s3_server: RefusingProxy
) -> None:
    prompts = ["a fox", "a doomed owl", "a cat"]
    url = f"s3://{BUCKET}/refused"
    s3_server.refuse = "a-doomed-owl-"
    with client_for(nebula_mock) as client:
        outcomes = list(generate_many_sync(client, prompts, output_dir=url))
        assert isinstance(outcomes[1], BatchError)
        assert [isinstance(o, BatchError) for o in outcomes] == [False, True, False]
        assert s3_server.refused >= 1 and nebula_mock.ledger.billed == 3
        assert sorted(sidecars(s3, "refused")) == ["a cat", "a fox"]
        s3_server.refuse = None
        rerun = list(generate_many_sync(client, prompts, output_dir=url))
    assert [isinstance(o, BatchSkipped) for o in rerun] == [True, False, True]
    assert sorted(sidecars(s3, "refused")) == sorted(prompts)
    assert nebula_mock.ledger.billed == 3  # the owl came back from the key cache


def test_another_batch_in_the_same_prefix_overwrites_nothing(nebula_mock: Any, s3: Any) -> None:
    url = f"s3://{BUCKET}/shared"
    with client_for(nebula_mock) as client:
        list(generate_many_sync(client, ["a fox", "an owl"], output_dir=url))
        before = {n: s3.cat_file(f"{BUCKET}/shared/{n}") for n in names(s3, "shared")}
        list(generate_many_sync(client, ["a cat", "a fox"], output_dir=url, defaults={"seed": 9}))
    after = {n: s3.cat_file(f"{BUCKET}/shared/{n}") for n in names(s3, "shared")}
    images = [n for n in after if n.endswith(".png")]
    assert len(images) == 4
    for name, data in before.items():
        if name != "manifest.jsonl":
            assert after[name] == data, name
    manifest = after["manifest.jsonl"].decode().splitlines()
    assert len(manifest) == 4
    assert nebula_mock.ledger.billed == 4


KILLED = textwrap.dedent(
    """
    import sys
    from nebula_images import Client
    from nebula_images._batch import generate_many_sync

    base_url, key, url = sys.argv[1:4]
    with Client(api_key=key, base_url=base_url) as client:
        prompts = [f"picture {i}" for i in range(10)]
        for _ in generate_many_sync(client, prompts, output_dir=url, concurrency=2):
            pass
    """
)


def test_resume_after_a_kill_bills_every_image_once(
    nebula_mock: Any, s3: Any, tmp_path: Path
) -> None:
    nebula_mock.configure(latency_seconds=0.15)
    script = tmp_path / "run.py"
    script.write_text(KILLED)
    url = f"s3://{BUCKET}/killed"
    proc = subprocess.Popen(
        [sys.executable, str(script), nebula_mock.base_url, nebula_mock.api_key, url],
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 60
    while len(sidecars(s3, "killed") if s3.exists(f"{BUCKET}/killed") else {}) < 3:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    done = len(sidecars(s3, "killed"))
    assert 3 <= done < 10
    nebula_mock.configure(latency_seconds=0.0)
    with client_for(nebula_mock) as client:
        prompts = [f"picture {i}" for i in range(10)]
        outcomes = list(generate_many_sync(client, prompts, output_dir=url, concurrency=4))
    assert sum(isinstance(o, BatchSkipped) for o in outcomes) == done
    assert len(sidecars(s3, "killed")) == 10
    keys = [e.idempotency_key for e in nebula_mock.ledger.entries]
    assert len(keys) == len(set(keys)) == 10  # the in-flight ones came from the key cache
    print(f"S3 resume: {done} done before the kill, ledger billed {nebula_mock.ledger.billed}")


def test_processes_racing_on_a_fresh_prefix_share_one_batch_id(s3: Any) -> None:
    # No lock on S3: the batch id is created with a create-only put (If-None-Match).
    from nebula_images._batch_store import BatchStore
    from nebula_images._fsspec_folder import FsspecFolder

    barrier = threading.Barrier(4)
    ids: list[str] = []

    def open_store() -> None:
        folder = FsspecFolder(f"s3://{BUCKET}/race")
        barrier.wait()
        ids.append(BatchStore(folder, None, new_id=os.urandom(8).hex()).batch_id)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(ids) == 4 and len(set(ids)) == 1, ids


def interleaved_writers(url: str) -> list[str]:
    """Two writers of one folder's manifest, the second flushing between the first's
    read of the manifest and its write; the manifest's lines afterwards."""
    from nebula_images._fsspec_folder import FsspecFolder

    other = FsspecFolder(url)

    class ReadThenRaced(FsspecFolder):
        raced = False

        def _read_versioned(self, name: str) -> tuple[bytes, str | None]:
            read = super()._read_versioned(name)
            if not self.raced:
                self.raced = True
                other.append_line(name, '{"writer": "other"}')
                other.flush()
            return read

    first = ReadThenRaced(url)
    first.append_line("manifest.jsonl", '{"writer": "first"}')
    first.flush()
    data = FsspecFolder(url).read("manifest.jsonl")
    assert data is not None and first.raced
    return data.decode().splitlines()


def test_processes_sharing_a_prefix_lose_no_manifest_line(s3: Any) -> None:
    # S3: the rewrite is a put conditional on the version read (If-None-Match here,
    # If-Match on the retry); the refused put merges its line into the other's version.
    lines = interleaved_writers(f"s3://{BUCKET}/manifest-race")
    assert sorted(lines) == ['{"writer": "first"}', '{"writer": "other"}']


def test_without_conditional_puts_a_racing_writer_drops_a_line() -> None:
    # What the condition prevents: memory:// (no ETags) keeps the last writer's version.
    lines = interleaved_writers(f"memory://manifest-race-{os.urandom(4).hex()}")
    assert lines == ['{"writer": "first"}']


def test_the_cli_writes_to_an_fsspec_url(nebula_mock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import fsspec
    from click.testing import CliRunner

    from nebula_images.cli import cli

    monkeypatch.setenv("NEBULA_API_KEY", nebula_mock.api_key)
    monkeypatch.setenv("NEBULA_BASE_URL", nebula_mock.base_url)
    url = f"memory://cli-{os.urandom(4).hex()}"
    result = CliRunner().invoke(
        cli, ["batch", "-", "--out", url, "--json"], input="a fox\nan owl\n"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["generated"] == 2
    fs = fsspec.filesystem("memory")
    written = sorted(p.rsplit("/", 1)[1] for p in fs.ls(url, detail=False))
    assert len([n for n in written if n.endswith(".png")]) == 2 and "manifest.jsonl" in written


def test_a_remote_folder_refuses_anything_but_plain_names() -> None:
    from nebula_images._fsspec_folder import FsspecFolder

    folder = FsspecFolder(f"memory://names-{os.urandom(4).hex()}")
    for name in ("../x", "/abs", "a/b", ".."):
        with pytest.raises(ValueError, match="plain file name"):
            folder.write(name, b"x")
    assert folder.create("one", b"1") and not folder.create("one", b"2")
    assert folder.read("one") == b"1"

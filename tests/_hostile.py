"""A hostile loopback HTTP server for the client's regression tests, and a child process
that makes one call against it and reports the outcome with its peak memory.

The server speaks raw bytes over a socket (127.0.0.1, a free port), so a test can send
what no well-behaved server library would: stacked encodings, a false Content-Length,
headers one byte at a time, illegal header lines. Every handler is bounded in time.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Handler = Callable[[socket.socket], None]


def read_request(conn: socket.socket) -> bytes:
    """Read one request (headers and a Content-Length body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


@contextmanager
def hostile_server(handler: Handler) -> Iterator[str]:
    """Serve ``handler`` (one call per connection) on 127.0.0.1; yields the base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve(conn: socket.socket) -> None:
        # OSError: the client went away, fine for a hostile server.
        with conn, contextlib.suppress(OSError):
            handler(conn)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def respond(conn: socket.socket, head: bytes, body: bytes = b"") -> None:
    """Answer one request with raw ``head`` lines and ``body``."""
    read_request(conn)
    conn.sendall(head + b"\r\n\r\n" + body)


CHILD = textwrap.dedent(
    """
    import json, sys, time
    import httpx
    from nebula_images import AsyncClient, Client

    def peak_rss_kb():
        # VmHWM belongs to this process alone; getrusage's ru_maxrss would include
        # the peak of the parent this process was forked from.
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    url, options, mode = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    timeout = options.pop("read_timeout", None)
    if timeout is not None:
        options["timeout"] = httpx.Timeout(timeout)
    before = peak_rss_kb()
    started = time.monotonic()
    outcome = {}
    try:
        if mode == "async":
            import asyncio
            async def call():
                async with AsyncClient(api_key="ak_hostile_test_key_0000", base_url=url,
                                       max_retries=0, **options) as client:
                    return await client.images.generate("x")
            result = asyncio.run(call())
        else:
            with Client(api_key="ak_hostile_test_key_0000", base_url=url, max_retries=0,
                        **options) as client:
                result = client.images.generate("x")
        outcome["result"] = len(result.images)
    except Exception as exc:
        outcome["error"] = type(exc).__name__
        outcome["message"] = str(exc)
    outcome["seconds"] = time.monotonic() - started
    peak = peak_rss_kb()
    outcome["peak_growth_mb"] = (peak - before) / 1024
    outcome["peak_mb"] = peak / 1024
    print(json.dumps(outcome))
    """
)


def call_in_child(url: str, *, mode: str = "sync", timeout: float = 60, **options: Any) -> Any:
    """One ``generate`` against ``url`` in a fresh process: its error or result, the
    seconds it took and how much its peak RSS grew during the call (MB)."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, url, json.dumps(options), mode],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])

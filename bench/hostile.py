"""The hostile-server rows of issue #14 at the issue's own sizes: one call per row in a
fresh process, printing the outcome, the seconds and the peak RSS.

    python bench/hostile.py            (about a minute; peaks up to ~300 MB)

The regression tests (tests/test_hostile_server.py) run the same servers smaller; this
prints the figures for the closing note.
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import struct
import sys
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _hostile import call_in_child, hostile_server, read_request, respond
from _wrapper_helpers import PNG, generation_body

MiB = 1 << 20


def gzip_of_spaces(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = compressor.compress(b" " * size) + compressor.flush()
    trailer = struct.pack("<II", zlib.crc32(b" " * size), size & 0xFFFFFFFF)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + raw + trailer


def encoded(encoding: str, body: bytes) -> Any:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    head += f"Content-Encoding: {encoding}\r\nContent-Length: {len(body)}".encode()
    return lambda conn: respond(conn, head, body)


def stall(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: " + str(256 * MiB).encode() + b"\r\n\r\n{")
    time.sleep(4)


def drip(conn: socket.socket) -> None:
    read_request(conn)
    for byte in b"HTTP/1.1 200 OK\r\n":
        conn.sendall(bytes([byte]))
        time.sleep(1)


def many_images(count: int) -> Any:
    item = {"timings": {"inference": 1}, "index": 0, "b64_json": base64.b64encode(PNG).decode()}
    body = json.dumps({**generation_body(), "data": [item] * count}).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}".encode()
    return lambda conn: respond(conn, head, body)


def main() -> None:
    inner = gzip_of_spaces(256 * MiB)
    rows: list[tuple[str, Any, dict[str, Any]]] = [
        ("gzip, gzip: 256 MiB inside ~1 KB", encoded("gzip, gzip", gzip.compress(inner)), {}),
        ("gzip: 320 MiB, cap 256 MiB", encoded("gzip", gzip_of_spaces(320 * MiB)), {}),
        ("Content-Length 256 MiB, then stall", stall, {"read_timeout": 2.0}),
        ("sync, headers 1 byte/s, deadline=3", drip, {"deadline": 3}),
        ("async, headers 1 byte/s, deadline=3", drip, {"deadline": 3, "mode": "async"}),
        ("200,000 images in one answer", many_images(200_000), {}),
    ]
    print(f"{'row':40} {'outcome':28} {'seconds':>8} {'peak RSS MB':>12} {'growth MB':>10}")
    for name, handler, options in rows:
        with hostile_server(handler) as url:
            outcome = call_in_child(url, timeout=120, **options)
        shown = outcome.get("error", f"result {outcome.get('result')}")
        print(
            f"{name:40} {shown:28} {outcome['seconds']:8.2f} "
            f"{outcome['peak_mb']:12.1f} {outcome['peak_growth_mb']:10.1f}"
        )


if __name__ == "__main__":
    main()

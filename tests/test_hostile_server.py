"""The client against a hostile server (issue #14, client rows): each test starts its own
loopback server sending what a broken or malicious server could, and bounds its time.
Memory is measured as the growth of peak RSS in a child process making one call."""

from __future__ import annotations

import base64
import functools
import gzip
import json
import pickle
import socket
import struct
import time
import traceback
import zlib
from typing import Any

import httpx
import pytest
from _hostile import call_in_child, hostile_server, read_request, respond
from _wrapper_helpers import PNG, generation_body

from nebula_images import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    Client,
    ResponseValidationError,
)

MiB = 1 << 20
CAP = MiB  # max_response_bytes of the memory tests
# A peak growth well under any expansion measured before the fixes (64-256 MB) and
# well over the client's own needs (the cap, one decompression step, first-call imports).
PEAK_LIMIT_MB = 24


BOMB_SIZE = 128 * MiB


@functools.cache
def raw_deflate_bomb() -> bytes:
    """BOMB_SIZE spaces as raw deflate data (~130 KB; compressed once per session)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(b" " * BOMB_SIZE) + compressor.flush()


def bomb(encoding: str) -> bytes:
    """The bomb wrapped as gzip (RFC 1952) or zlib-deflate (RFC 1950) data."""
    raw = raw_deflate_bomb()
    if encoding == "gzip":
        crc = zlib.crc32(b" " * BOMB_SIZE)
        trailer = struct.pack("<II", crc, BOMB_SIZE & 0xFFFFFFFF)
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + raw + trailer
    adler = zlib.adler32(b" " * BOMB_SIZE)
    return b"\x78\xda" + raw + struct.pack(">I", adler)


def test_the_bombs_are_what_they_claim() -> None:
    for encoding in ("gzip", "deflate"):
        data = bomb(encoding)
        assert len(data) < 200_000
        inflate = zlib.decompressobj(zlib.MAX_WBITS | (16 if encoding == "gzip" else 0))
        assert len(inflate.decompress(data, 2 * MiB)) == 2 * MiB


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_single_encoding_bomb_is_decompressed_in_bounded_steps(encoding: str) -> None:
    bomb_body = bomb(encoding)
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Encoding: {encoding}\r\nContent-Length: {len(bomb_body)}".encode()
    )
    with hostile_server(lambda conn: respond(conn, head, bomb_body)) as url:
        outcome = call_in_child(url, max_response_bytes=CAP)
    assert outcome["error"] == "ResponseValidationError", outcome
    assert "max_response_bytes" in outcome["message"]
    assert outcome["peak_growth_mb"] < PEAK_LIMIT_MB, outcome


def test_stacked_gzip_is_refused_before_any_expansion() -> None:
    stacked = gzip.compress(bomb("gzip"), 9)  # ~1 KB on the wire
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Encoding: gzip, gzip\r\nContent-Length: {len(stacked)}".encode()
    )
    with hostile_server(lambda conn: respond(conn, head, stacked)) as url:
        outcome = call_in_child(url, max_response_bytes=256 * MiB)  # the default cap
    assert outcome["error"] == "ResponseValidationError", outcome
    assert "stacked content encodings" in outcome["message"]
    assert outcome["peak_growth_mb"] < PEAK_LIMIT_MB, outcome


def test_gzip_answer_within_the_cap_still_works() -> None:
    body = gzip.compress(json.dumps(generation_body()).encode())
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Encoding: gzip\r\nContent-Length: {len(body)}".encode()
    )
    with (
        hostile_server(lambda conn: respond(conn, head, body)) as url,
        Client(api_key="ak_test_key_0000", base_url=url, max_retries=0) as client,
    ):
        assert client.images.generate("x").images[0].data == PNG


def test_buffer_grows_with_bytes_received_not_content_length() -> None:
    def stall(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {200 * MiB}\r\n\r\n".encode()
            + b'{"model": "m", '
        )
        time.sleep(5)  # then stall; the client's read timeout ends it

    with hostile_server(stall) as url:
        outcome = call_in_child(url, read_timeout=1.0)
    assert outcome["error"] == "APITimeoutError", outcome
    assert outcome["peak_growth_mb"] < PEAK_LIMIT_MB, outcome


def drip_headers(conn: socket.socket) -> None:
    """Headers one byte a second, for at most 15 s."""
    read_request(conn)
    for byte in b"HTTP/1.1 200 OK\r\n"[:15]:
        conn.sendall(bytes([byte]))
        time.sleep(1)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_deadline_bounds_slow_headers(mode: str) -> None:
    with hostile_server(drip_headers) as url:
        outcome = call_in_child(url, mode=mode, deadline=2)
    assert outcome["error"] == "APITimeoutError", outcome
    assert 1.9 < outcome["seconds"] < 3.5, outcome


KEY = "ak_" + "k" * 45  # 48 characters, as long as the JWTs the spec allows (or more)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nX-Echo " + KEY.encode() + b"\r\n\r\n",  # no colon: illegal
        b"HTTP/1.1 2xx " + KEY.encode() + b"\r\n\r\n",  # illegal status line
    ],
    ids=["header", "status-line"],
)
def test_no_chained_exception_carries_an_echoed_key(answer: bytes) -> None:
    def echo(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(answer)

    with (
        hostile_server(echo) as url,
        Client(api_key=KEY, base_url=url, max_retries=0) as client,
        pytest.raises(APIConnectionError) as info,
    ):
        client.images.generate("x")
    chain: list[BaseException] = []
    pending: list[BaseException | None] = [info.value]
    while pending:
        exc = pending.pop()
        if exc is not None and exc not in chain:
            chain.append(exc)
            pending += [exc.__cause__, exc.__context__]
    assert len(chain) >= 2  # the redacted transport error stays chained, for debugging
    for exc in chain:
        assert KEY not in str(exc) and KEY not in repr(exc), type(exc)
    assert KEY not in "".join(traceback.format_exception(info.value))
    assert "[redacted]" in str(info.value)


def test_non_json_error_body_is_redacted_then_cut() -> None:
    text = b"x" * 1980 + KEY.encode() + b"y" * 100  # the key across the 2,000-byte cut
    head = b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
    head += f"Content-Length: {len(text)}".encode()
    with (
        hostile_server(lambda conn: respond(conn, head, text)) as url,
        Client(api_key=KEY, base_url=url, max_retries=0) as client,
        pytest.raises(APIStatusError) as info,
    ):
        client.images.generate("x")
    body = info.value.body
    assert isinstance(body, str)
    assert body == "x" * 1980 + "[redacted]" + "y" * 10  # redacted, then cut at 2,000 bytes
    for shown in (body, str(info.value), pickle.dumps(info.value).decode("latin-1")):
        assert KEY[:8] not in shown and "kkkkkkkk" not in shown


def test_more_images_than_a_call_can_produce_is_a_typed_error() -> None:
    item = {"timings": {"inference": 1}, "index": 0, "b64_json": base64.b64encode(PNG).decode()}
    document: dict[str, Any] = {**generation_body(), "data": [item] * 1000}
    body = json.dumps(document).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}".encode()
    with (
        hostile_server(lambda conn: respond(conn, head, body)) as url,
        Client(api_key="ak_test_key_0000", base_url=url, max_retries=0) as client,
        pytest.raises(ResponseValidationError, match="more than 8 images"),
    ):
        client.images.generate("x")


@pytest.mark.parametrize("raised", [TypeError("hook bug"), KeyError("hook bug")])
@pytest.mark.parametrize("event", ["request", "response"])
def test_a_user_hook_exception_propagates_unchanged(raised: Exception, event: str) -> None:
    calls: list[str] = []

    def hook(_: Any) -> None:
        calls.append(event)
        raise raised

    body = json.dumps(generation_body()).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}".encode()
    with (
        hostile_server(lambda conn: respond(conn, head, body)) as url,
        Client(
            api_key="ak_test_key_0000",
            base_url=url,
            retry_ambiguous=True,
            http_client=httpx.Client(event_hooks={event: [hook]}),
        ) as client,
        pytest.raises(type(raised)) as info,
    ):
        client.images.generate("x")
    assert info.value is raised  # not an APIError, not retried
    assert not isinstance(info.value, APIError) and calls == [event]


def test_only_the_response_is_a_response_error() -> None:
    # A body of the wrong shape makes the generated models raise KeyError/TypeError:
    # that one is the response's doing, so it is a typed, ambiguous error.
    body = json.dumps({"model": "m", "object": "list", "data": [{}], "status": "success"})
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}".encode()
    with (
        hostile_server(lambda conn: respond(conn, head, body.encode())) as url,
        Client(api_key="ak_test_key_0000", base_url=url, max_retries=0) as client,
        pytest.raises(ResponseValidationError, match="contract") as info,
    ):
        client.images.generate("x")
    assert info.value.may_have_been_billed


def test_timeout_error_names_the_deadline() -> None:
    with hostile_server(drip_headers) as url:
        started = time.monotonic()
        with (
            Client(api_key="ak_test_key_0000", base_url=url, max_retries=0) as client,
            pytest.raises(APITimeoutError, match="deadline"),
        ):
            client.images.generate("x", deadline=1)
        assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, deflate", "identity, gzip, gzip"])
def test_unknown_or_stacked_encodings_are_refused(encoding: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Accept-Encoding"] == "gzip, deflate"  # what we can read
        body = gzip.compress(json.dumps(generation_body()).encode())
        return httpx.Response(200, headers={"Content-Encoding": encoding}, content=iter([body]))

    with (
        Client(
            api_key="ak_test_key_0000",
            base_url="http://127.0.0.1:9/api/v1",
            max_retries=0,
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        ) as client,
        pytest.raises(ResponseValidationError, match="content encoding"),
    ):
        client.images.generate("x")


def test_a_hook_exception_propagates_unchanged_under_a_deadline_too() -> None:
    raised = KeyError("hook bug")

    def hook(_: Any) -> None:
        raise raised

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=generation_body())

    http = httpx.Client(transport=httpx.MockTransport(handler), event_hooks={"response": [hook]})
    with (
        Client(
            api_key="ak_test_key_0000",
            base_url="http://127.0.0.1:9/api/v1",
            retry_ambiguous=True,
            deadline=30,
            http_client=http,
        ) as client,
        pytest.raises(KeyError) as info,
    ):
        client.images.generate("x")
    assert info.value is raised

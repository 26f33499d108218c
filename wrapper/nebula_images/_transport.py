"""A transport wrapper: per-attempt timeouts, a capped body read, and image decoding
before the generated client parses the JSON.

Why a transport: the generated ``sync_detailed`` reads the body and parses it with
``response.json()``, which would hold the raw body, the parsed base64 strings and
then the decoded bytes at once (~3.7x the image size). Here the body is read once
into a buffer (capped), each ``b64_json`` string is decoded straight from that buffer
and replaced by ``""``, and only the small remaining JSON goes on to the generated
parser: peak ~2.3x. The decoded images travel back to the caller through a context
variable (same thread for sync, same task for async), so concurrent calls never mix.
"""

from __future__ import annotations

import contextvars
import json
import re
import time
from typing import Any

import attrs
import httpx

from ._encoding import decode_base64_strict

__all__ = [
    "ATTEMPT",
    "AsyncCappedTransport",
    "AttemptContext",
    "CappedTransport",
    "install",
    "parse_json",
]

_B64_FIELD = re.compile(rb'"b64_json"\s*:\s*"')
# Headers that describe the body as it came over the wire, not the body handed on.
_BODY_HEADERS = (b"content-encoding", b"content-length", b"transfer-encoding")


class BodyTooLargeError(Exception):
    """The response body is larger than the configured cap (internal)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"response body larger than {limit} bytes")


@attrs.define
class AttemptContext:
    """What one attempt asks of the transport, and what the transport saw."""

    timeout: httpx.Timeout | None = None
    deadline: float | None = None  # time.monotonic() value; reading stops there
    max_body: int = 0
    extract_images: bool = False
    sent: bool = False
    status: int | None = None
    headers: httpx.Headers | None = None
    body: bytes = b""
    images: list[bytes | ValueError] | None = None


ATTEMPT: contextvars.ContextVar[AttemptContext | None] = contextvars.ContextVar(
    "nebula_images_attempt", default=None
)


class _BodyBuffer:
    """Collects a body up to a cap, checking the deadline between chunks."""

    def __init__(self, ctx: AttemptContext, request: httpx.Request, headers: httpx.Headers) -> None:
        self._ctx = ctx
        self._request = request
        self._size = 0  # bytes received so far
        # Growing a bytearray reallocates in place for large blocks (mremap), so
        # the body is held once; a Content-Length over the cap fails before reading.
        self._buffer = bytearray()
        length = headers.get("content-length")
        expected = int(length) if length and length.isdigit() else None
        if expected is not None and ctx.max_body and expected > ctx.max_body:
            raise BodyTooLargeError(ctx.max_body)
        if expected and "content-encoding" not in headers:
            # A known size gets one exact allocation: growth steps overshoot by up to 1/8.
            self._buffer = bytearray(expected)

    def feed(self, chunk: bytes) -> None:
        ctx = self._ctx
        end = self._size + len(chunk)
        if ctx.max_body and end > ctx.max_body:
            raise BodyTooLargeError(ctx.max_body)
        if ctx.deadline is not None and time.monotonic() > ctx.deadline:
            raise httpx.ReadTimeout(
                "the call's deadline ran out while reading", request=self._request
            )
        if end <= len(self._buffer):
            # Through a memoryview: a bytearray slice assignment would copy the chunk first.
            with memoryview(self._buffer) as view:
                view[self._size : end] = chunk
        else:  # no Content-Length, or more than it said
            del self._buffer[self._size :]
            self._buffer += chunk
        self._size = end

    def finish(self, response: httpx.Response) -> httpx.Response:
        ctx = self._ctx
        body = self._buffer
        self._buffer = bytearray()
        del body[self._size :]  # a body shorter than its Content-Length: truncated
        content: bytes
        if ctx.extract_images and response.status_code == 200:
            content, ctx.images = _extract_images(body)
        else:
            content = bytes(body)
        del body
        ctx.body = content  # status and headers: recorded by _start_body
        # Raw (bytes) pairs: no decoding and re-encoding of every header.
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _BODY_HEADERS]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=content,
            extensions=response.extensions,
            request=self._request,
        )


def _extract_images(body: bytearray) -> tuple[bytes, list[bytes | ValueError]]:
    """Decode every ``b64_json`` string in place of the JSON parser; return the JSON
    with those strings emptied and the decoded images (or errors) in order."""
    images: list[bytes | ValueError] = []
    pieces: list[bytes] = []
    view = memoryview(body)
    position = 0
    try:
        for match in _B64_FIELD.finditer(body):
            start = match.end()
            end = body.find(b'"', start)
            if end < 0:
                break  # broken JSON: the parser will say so
            pieces.append(bytes(view[position:start]))
            text: bytes | memoryview = view[start:end]
            if body.find(b"\\", start, end) >= 0:
                # JSON escapes such as "\/" (rare): unescape this one string first.
                text = bytes(text).replace(b"\\/", b"/")
            try:
                images.append(decode_base64_strict(text))
            except ValueError as exc:
                images.append(exc)
            del text
            position = end
        pieces.append(bytes(view[position:]))
    finally:
        view.release()
    return b"".join(pieces), images


def parse_json(content: bytes | bytearray | str) -> Any:
    """The JSON document in a body; ValueError for any body that is not one.

    ``json.loads`` raises RecursionError (not ValueError) for deep nesting such as
    ``[[[[...``; that is one more unreadable body, not a crash."""
    try:
        return json.loads(content)
    except RecursionError as exc:
        raise ValueError("the JSON is nested too deeply to read") from exc


def _apply_timeout(request: httpx.Request, ctx: AttemptContext | None) -> None:
    if ctx is not None:
        ctx.sent = True
        if ctx.timeout is not None:
            request.extensions["timeout"] = ctx.timeout.as_dict()


def _start_body(
    ctx: AttemptContext | None, max_body: int, request: httpx.Request, response: httpx.Response
) -> _BodyBuffer:
    """Record what the attempt saw of ``response`` and start collecting its body."""
    if ctx is None:
        ctx = AttemptContext(max_body=max_body)
    ctx.status, ctx.headers = response.status_code, response.headers
    ctx.max_body = ctx.max_body or max_body
    return _BodyBuffer(ctx, request, response.headers)


class CappedTransport(httpx.BaseTransport):
    """Wraps a sync transport (see the module docstring)."""

    def __init__(self, inner: httpx.BaseTransport, max_body: int) -> None:
        self.inner = inner
        self.max_body = max_body

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        ctx = ATTEMPT.get()
        _apply_timeout(request, ctx)
        response = self.inner.handle_request(request)
        try:
            buffer = _start_body(ctx, self.max_body, request, response)
            # iter_bytes undoes any Content-Encoding (gzip) and maps transport errors.
            for chunk in response.iter_bytes():
                buffer.feed(chunk)
        finally:
            response.close()
        return buffer.finish(response)

    def close(self) -> None:
        self.inner.close()


class AsyncCappedTransport(httpx.AsyncBaseTransport):
    """Wraps an async transport (see the module docstring)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, max_body: int) -> None:
        self.inner = inner
        self.max_body = max_body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        ctx = ATTEMPT.get()
        _apply_timeout(request, ctx)
        response = await self.inner.handle_async_request(request)
        try:
            buffer = _start_body(ctx, self.max_body, request, response)
            async for chunk in response.aiter_bytes():
                buffer.feed(chunk)
        finally:
            await response.aclose()
        return buffer.finish(response)

    async def aclose(self) -> None:
        await self.inner.aclose()


def install(client: httpx.Client | httpx.AsyncClient, max_body: int) -> None:
    """Wrap the transports of an httpx client (its default one and its proxy mounts).

    httpx has no public hook to wrap a transport of an existing client, so this uses
    the ``_transport``/``_mounts`` attributes of the pinned httpx 0.28; a client of
    another shape is left as is and the wrapper falls back to the generated parser.
    """
    inner: type[Any]
    capped: type[CappedTransport | AsyncCappedTransport]
    if isinstance(client, httpx.AsyncClient):
        inner, capped = httpx.AsyncBaseTransport, AsyncCappedTransport
    else:
        inner, capped = httpx.BaseTransport, CappedTransport

    def wraps(transport: object) -> bool:
        return isinstance(transport, inner) and not isinstance(transport, capped)

    default: Any = getattr(client, "_transport", None)
    if wraps(default):
        client._transport = capped(default, max_body)
    mounts: dict[Any, Any] = getattr(client, "_mounts", None) or {}
    for pattern, transport in mounts.items():
        if wraps(transport):
            mounts[pattern] = capped(transport, max_body)

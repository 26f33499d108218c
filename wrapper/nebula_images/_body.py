"""Reading an answer's body: bounded content decoding, the size cap, the deadline, and
images decoded out of the JSON before the JSON parser sees it.

Why by hand: httpx's own reading decodes ``Content-Encoding`` in one unbounded step per
network chunk (a 1.8 KB ``gzip, gzip`` body becomes 1 GiB before any cap is checked), and
the generated client would hold the raw body, the parsed base64 strings and the decoded
bytes at once. Here the raw bytes (``Response.iter_raw``, public) are decompressed in
steps of at most ``STEP`` bytes, each step checked against ``max_response_bytes`` before it
is kept; stacked or unknown encodings are refused; the buffer grows with the bytes
received, never with what ``Content-Length`` announces. Each ``b64_json`` string is then
decoded straight from the buffer and replaced by ``""``, so only the small remaining JSON
goes to the parser.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx

from ._encoding import decode_base64_strict

__all__ = [
    "STEP",
    "BodyError",
    "BodyReader",
    "BodyTooLargeError",
    "EncodingError",
    "TooManyImagesError",
    "extract_images",
    "parse_json",
]

STEP = 64 * 1024  # the most a decompression step may produce before the cap is checked
_B64_FIELD = re.compile(rb'"b64_json"\s*:\s*"')
_IDENTITY = {"", "identity"}


class BodyError(Exception):
    """An answer's body cannot be used (internal; becomes a ResponseValidationError)."""


class BodyTooLargeError(BodyError):
    """The body is larger than ``max_response_bytes``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"response body larger than {limit} bytes")


class EncodingError(BodyError):
    """A ``Content-Encoding`` the client refuses (stacked, unknown) or a corrupt stream."""


class TooManyImagesError(BodyError):
    """More images than one call can produce."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"more than {limit} images in one answer")


class _Zlib:
    """gzip or deflate, decompressed in steps of at most ``STEP`` output bytes."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._first = True
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)

    def steps(self, data: bytes) -> Iterator[bytes]:
        """The decompressed output of ``data``, one bounded piece at a time."""
        while True:
            try:
                out = self._inflate.decompress(data, STEP)
            except zlib.error as exc:
                if self._gzip or not self._first:
                    raise EncodingError(f"the {self._name} body is corrupt ({exc})") from None
                # "deflate" is sent both zlib-wrapped and raw (as httpx also accepts).
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                continue
            self._first = False
            data = self._inflate.unconsumed_tail
            if out:
                yield out
            # Output may still be pending inside zlib when it filled a whole step.
            if not data and len(out) < STEP:
                return

    @property
    def _name(self) -> str:
        return "gzip" if self._gzip else "deflate"


def _decoder(headers: httpx.Headers) -> _Zlib | None:
    """The decoder of the answer's Content-Encoding: None for identity."""
    encodings = [
        value.strip().lower()
        for value in headers.get_list("content-encoding", split_commas=True)
        if value.strip().lower() not in _IDENTITY
    ]
    if not encodings:
        return None
    if len(encodings) > 1:
        # Each layer multiplies the expansion (gzip, gzip: 1.8 KB -> 1 GiB); the client
        # asks for one layer at most (Accept-Encoding), so more is refused outright.
        raise EncodingError(f"stacked content encodings are refused: {', '.join(encodings)}")
    if encodings[0] not in ("gzip", "x-gzip", "deflate"):
        raise EncodingError(f"unsupported content encoding {encodings[0]!r}")
    return _Zlib(encodings[0])


class BodyReader:
    """Collects one body: raw chunks in, decoded bytes kept up to a cap, the deadline
    checked between chunks."""

    ACCEPT_ENCODING = "gzip, deflate"  # what the client asks for: what _decoder reads

    def __init__(
        self,
        response: httpx.Response,
        *,
        max_bytes: int,
        deadline: float | None,
    ) -> None:
        self._request = response.request
        self._max = max_bytes
        self._deadline = deadline
        self._decoder = _decoder(response.headers)
        self._buffer = bytearray()
        self._size = 0  # bytes kept; the buffer may be longer once sized
        length = response.headers.get("content-length")
        expected = int(length) if length and length.isdigit() else None
        if max_bytes and expected is not None and expected > max_bytes:
            raise BodyTooLargeError(max_bytes)  # refused before reading anything
        # The announced length sizes the buffer once half of it has arrived, never
        # before: memory follows the bytes received (at most twice them), and an honest
        # body is then held in one exact allocation (growth steps overshoot by 1/8).
        self._expected = expected if self._decoder is None else None

    def feed(self, raw: bytes) -> None:
        """Take one raw chunk from the network."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise httpx.ReadTimeout(
                "the call's deadline ran out while reading", request=self._request
            )
        if self._decoder is None:
            self._keep(raw)
            return
        for piece in self._decoder.steps(raw):
            self._keep(piece)

    def _keep(self, piece: bytes) -> None:
        end = self._size + len(piece)
        if self._max and end > self._max:
            raise BodyTooLargeError(self._max)
        if self._expected is not None and 2 * end >= self._expected >= end:
            sized = bytearray(self._expected)
            sized[: self._size] = self._buffer
            self._buffer, self._expected = sized, None
        if end <= len(self._buffer):
            # Through a memoryview: a bytearray slice assignment would copy the piece first.
            with memoryview(self._buffer) as view:
                view[self._size : end] = piece
        else:  # not sized yet, or more than Content-Length said
            del self._buffer[self._size :]
            self._buffer += piece
        self._size = end

    def feed_decoded(self, content: bytes) -> None:
        """Take a body httpx has already read and decoded (a response built in memory,
        as ``httpx.MockTransport`` returns them): only the cap applies."""
        self._keep(content)

    def finish(self) -> bytearray:
        """The decoded body; the reader is empty afterwards."""
        if self._decoder is not None:
            for piece in self._decoder.steps(b""):
                self._keep(piece)
        body, self._buffer = self._buffer, bytearray()
        del body[self._size :]  # a body shorter than its Content-Length: truncated
        return body


def extract_images(body: bytearray, max_images: int) -> tuple[bytes, list[bytes | ValueError]]:
    """Decode every ``b64_json`` string in place of the JSON parser; return the JSON
    with those strings emptied and the decoded images (or errors) in order.

    More than ``max_images`` strings raise TooManyImagesError before the extra ones are
    decoded (a hostile answer can hold a million tiny images)."""
    images: list[bytes | ValueError] = []
    pieces: list[bytes] = []
    view = memoryview(body)
    position = 0
    try:
        for match in _B64_FIELD.finditer(body):
            if len(images) == max_images:
                raise TooManyImagesError(max_images)
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

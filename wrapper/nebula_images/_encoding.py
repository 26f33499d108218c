"""Image bytes in and out: input images/masks to base64, strict base64 decoding,
format sniffing and reading a picture's size from its header (no Pillow needed)."""

from __future__ import annotations

import base64
import binascii
import os
import stat
import struct
from io import BytesIO
from pathlib import Path
from typing import Any

from nebula_images_rules import OTHER_MODEL

from ._errors import ValidationError

__all__ = [
    "ImageInput",
    "decode_base64_strict",
    "encode_input_image",
    "image_size",
    "read_image_file",
    "sniff_format",
]

# A path, raw file bytes or a PIL image (typed loosely so Pillow stays optional).
ImageInput = str | os.PathLike[str] | bytes | bytearray | memoryview | Any

# Base64 text of an input image, at most (the spec's Base64Image.maxLength), read from the
# generated rows directly: the typed model table (attrs) loads on the first call.
MAX_INPUT_BASE64_CHARS: int = OTHER_MODEL["parameters"]["image"].get("max_length", 25165824)
MAX_INPUT_BYTES = MAX_INPUT_BASE64_CHARS // 4 * 3


def sniff_format(data: bytes | bytearray | memoryview) -> str | None:
    """ "png", "jpeg" or "webp" from the magic bytes, else None."""
    head = bytes(data[:12])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes | bytearray | memoryview) -> tuple[int, int] | None:
    """(width, height) read from a PNG, JPEG or WebP header, or None when unreadable."""
    try:
        fmt = sniff_format(data)
        if fmt == "png" and len(data) >= 24:
            width, height = struct.unpack(">II", bytes(data[16:24]))
            return int(width), int(height)
        if fmt == "jpeg":
            return _jpeg_size(bytes(data[: 1 << 20]))
        if fmt == "webp":
            return _webp_size(bytes(data[:64]))
    except (struct.error, IndexError):
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        # Start-of-frame markers (baseline, progressive, ...) carry the size.
        if marker in {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L":
        b0, b1, b2, b3 = data[21:25]
        width = 1 + (((b1 & 0x3F) << 8) | b0)
        height = 1 + (((b3 & 0x0F) << 10) | (b2 << 2) | ((b1 & 0xC0) >> 6))
        return width, height
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    return None


def _is_pil_image(value: object) -> bool:
    # Checked by module name so that Pillow is never imported for a non-PIL input.
    return type(value).__module__.startswith("PIL.") and hasattr(value, "save")


def read_image_file(path: str | os.PathLike[str], field: str) -> bytes:
    """The bytes of a regular file of at most ``MAX_INPUT_BYTES``, else a ValidationError.

    A device (``/dev/zero``), a FIFO or a socket is refused before any read: such a
    "file" never ends or blocks forever. O_NONBLOCK keeps ``open`` itself from waiting
    for a FIFO's writer; it changes nothing for a regular file. At most one byte past
    the limit is read, so a file that grows while being read is still caught.
    """
    fix = "pass a path to a PNG/JPEG/WebP file, its bytes, or a PIL image"
    shown = repr(os.fspath(path))[:300]
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ValidationError(field, f"file {shown} does not exist", fix) from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValidationError(field, f"cannot read {shown}: {reason}", fix) from None
    with os.fdopen(fd, "rb", buffering=0) as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValidationError(field, f"{shown} is not a regular file", fix)
        if info.st_size > MAX_INPUT_BYTES:
            raise _too_large(field, info.st_size)
        chunks: list[bytes] = []
        size = 0
        try:
            while size <= MAX_INPUT_BYTES:
                chunk = file.read(MAX_INPUT_BYTES + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise ValidationError(field, f"cannot read {shown}: {exc.strerror}", fix) from None
    if size > MAX_INPUT_BYTES:
        raise _too_large(field, size)
    return b"".join(chunks)


def _too_large(field: str, size: int) -> ValidationError:
    return ValidationError(
        field,
        f"is {size} bytes, more than the API's {MAX_INPUT_BYTES} bytes",
        "pass a smaller or more compressed picture",
    )


def input_bytes(value: ImageInput, field: str) -> bytes:
    """The file bytes of an ``image=``/``mask=`` argument, checked to be JPEG, PNG or WebP."""
    fix = "pass a path to a PNG/JPEG/WebP file, its bytes, or a PIL image"
    data: bytes
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    elif isinstance(value, str | os.PathLike):
        path = Path(value)
        if isinstance(value, str) and len(value) > 4096:
            raise ValidationError(
                field, "a very long string is not a file path (base64 text?)", fix
            )
        data = read_image_file(path, field)
    elif _is_pil_image(value):
        buffer = BytesIO()
        value.save(buffer, format="PNG")
        data = buffer.getvalue()
    else:
        raise ValidationError(field, f"unsupported type {type(value).__name__}", fix)
    if sniff_format(data) is None:
        raise ValidationError(field, "is not a PNG, JPEG or WebP picture", fix)
    if len(data) > MAX_INPUT_BYTES:
        raise _too_large(field, len(data))
    return data


def encode_input_image(value: ImageInput, field: str) -> tuple[str, tuple[int, int] | None]:
    """Base64 text of an input picture and its (width, height) when readable."""
    data = input_bytes(value, field)
    return base64.b64encode(data).decode("ascii"), image_size(data)


def decode_base64_strict(text: str | bytes | bytearray | memoryview) -> bytes:
    """Decode standard padded base64, refusing anything else (raises ValueError)."""
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64: {exc}") from None

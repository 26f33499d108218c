"""Real PNGs for the mock: decoding the inpainting inputs and rendering the output.

An image is a function of (model, prompt, negative_prompt, seed, size): a hash of
those picks a two-colour gradient, its direction and a few shapes, and the prompt is
written on it, so another prompt or seed is visibly another picture. Drawing happens
on a small canvas that is then resized, and PNGs are written with little compression,
because a mock must be fast rather than pretty.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import textwrap
import warnings
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

#: Input pictures the inpainting model reads (the spec: JPEG, PNG or WebP).
INPUT_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
#: Refuse inputs above this many pixels, so a tiny compressed file cannot exhaust memory.
MAX_INPUT_PIXELS = 4096 * 4096
_CANVAS = 192  # longest side of the drawing canvas before the resize


class InputImageError(ValueError):
    """An ``image`` or ``mask`` field is not a base64-encoded JPEG, PNG or WebP picture."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


@dataclass(frozen=True, slots=True)
class InpaintInputs:
    """The decoded inputs of an inpainting request."""

    image: Image.Image
    mask: Image.Image


def decode_input_image(field: str, value: str) -> Image.Image:
    """Decode one base64 field strictly (standard alphabet, padded) into an RGB picture."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputImageError(
            field, "not valid base64 (standard alphabet, padded, no data: prefix)"
        ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(raw))
            if picture.format not in INPUT_FORMATS:
                raise InputImageError(
                    field, f"not a JPEG, PNG or WebP image (got {picture.format or 'unknown'})"
                )
            if picture.width * picture.height > MAX_INPUT_PIXELS:
                raise InputImageError(field, f"larger than {MAX_INPUT_PIXELS} pixels")
            picture.load()
    except InputImageError:
        raise
    except Exception:  # Pillow raises many types for corrupt files; all mean "not an image".
        raise InputImageError(field, "not a valid base64-encoded JPEG, PNG or WebP image") from None
    return picture


def decode_inpaint_inputs(image_b64: str, mask_b64: str) -> InpaintInputs:
    """Decode ``image`` and ``mask`` and check that they have the same size."""
    image = decode_input_image("image", image_b64)
    mask = decode_input_image("mask", mask_b64)
    if image.size != mask.size:
        raise InputImageError(
            "mask",
            f"must be the size of image ({image.width}x{image.height}), "
            f"got {mask.width}x{mask.height}",
        )
    return InpaintInputs(image=image, mask=mask)


def render_png(
    *,
    model: str,
    prompt: str,
    negative_prompt: str | None,
    seed: int,
    width: int,
    height: int,
    inpaint: InpaintInputs | None = None,
) -> bytes:
    """A PNG of exactly ``width`` x ``height``, the same bytes for the same arguments."""
    digest = hashlib.sha256(
        json.dumps([model, prompt, negative_prompt, seed, width, height]).encode()
    ).digest()
    scale = _CANVAS / max(width, height)
    small = (max(8, round(width * scale)), max(8, round(height * scale)))

    # Rotate with room to spare, then keep the centre square that the rotated gradient
    # covers at any angle (side 256 / sqrt(2)), so no corner is left unfilled.
    gradient = Image.linear_gradient("L").rotate(digest[0] * 360 / 256, expand=True)
    cx, cy, half = gradient.width // 2, gradient.height // 2, 90
    gradient = gradient.crop((cx - half, cy - half, cx + half, cy + half))
    gradient = gradient.resize(small, Image.Resampling.BILINEAR)
    picture = ImageOps.colorize(gradient, black=_colour(digest, 1), white=_colour(digest, 4))
    draw = ImageDraw.Draw(picture)
    for i in range(5):
        b = digest[7 + i * 5 : 12 + i * 5]
        x0, y0 = b[0] * small[0] // 256, b[1] * small[1] // 256
        size = 6 + b[2] * min(small) // 512
        box = (x0, y0, x0 + size, y0 + size)
        fill = _colour(digest, 7 + i * 5 + 2)
        if b[3] % 2:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    picture = picture.resize((width, height), Image.Resampling.BILINEAR)

    if inpaint is None:
        _write_caption(picture, prompt, seed)
    else:
        # White mask pixels are repainted with the generated picture, black ones kept;
        # the caption goes inside the repainted box, clear of the input's own caption.
        original = inpaint.image.convert("RGB").resize((width, height))
        mask = inpaint.mask.convert("L").resize((width, height))
        box = mask.getbbox() or (0, 0, width, height)
        region = picture.crop(box)
        _write_caption(region, prompt, seed)
        picture.paste(region, box[:2])
        picture = Image.composite(picture, original, mask)
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _colour(digest: bytes, offset: int) -> tuple[int, int, int]:
    return (digest[offset % 32], digest[(offset + 1) % 32], digest[(offset + 2) % 32])


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _write_caption(picture: Image.Image, prompt: str, seed: int) -> None:
    width, height = picture.size
    size = max(8, min(width, height) // 24)
    chars_per_line = max(8, int(width / (size * 0.6)))
    lines = textwrap.wrap(prompt, chars_per_line)[:3] or [""]
    lines.append(f"seed {seed}")
    draw = ImageDraw.Draw(picture)
    font = _font(size)
    y = size // 2
    for line in lines:
        # A dark outline keeps the text readable on any gradient.
        draw.text(
            (size // 2, y), line, font=font, fill="white", stroke_width=1, stroke_fill="black"
        )
        y += int(size * 1.3)

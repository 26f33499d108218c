"""Typed results: Image, GenerationResult and ModelInfo."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ._encoding import image_size
from ._output import file_extension, image_file_name, write_atomically

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = ["GenerationResult", "Image", "ModelInfo"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@attrs.frozen(repr=False, eq=False)
class Image:
    """One generated picture: decoded, checked bytes plus what the server said about it."""

    data: bytes
    format: str
    index: int
    inference_seconds: float | None = None
    seed: int | None = None
    request_id: str | None = None
    idempotency_key: str | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) from the file header, or None when unreadable."""
        return image_size(self.data)

    @property
    def extension(self) -> str:
        """The file extension for ``format`` ("png", "jpg" or "webp")."""
        return file_extension(self.format)

    def default_filename(self) -> str:
        """A file name unique per call and index: ``nebula-<key>.png``, ``nebula-<key>-1.png``."""
        stem = _UNSAFE.sub("_", self.idempotency_key or self.request_id or "image")[:80]
        return image_file_name(f"nebula-{stem}", self.index, self.extension)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the bytes to ``path`` (a directory gets a generated name); return the Path."""
        target = Path(path)
        if target.is_dir() or str(path).endswith(("/", os.sep)):
            target.mkdir(parents=True, exist_ok=True)
            target = target / self.default_filename()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, self.data)
        return target

    def to_pil(self) -> PILImage:
        """The picture as a PIL image (needs Pillow: ``pip install 'nebula-images[pil]'``)."""
        try:
            from PIL import Image as PILModule
        except ImportError as exc:
            raise ImportError(
                "Image.to_pil() needs Pillow: pip install 'nebula-images[pil]'"
            ) from exc
        from io import BytesIO

        picture = PILModule.open(BytesIO(self.data))
        picture.load()
        return picture

    def _repr_png_(self) -> bytes | None:
        """What Jupyter shows: the picture itself (PNG as is, others through Pillow)."""
        if self.format == "png":
            return self.data
        try:
            from io import BytesIO

            buffer = BytesIO()
            self.to_pil().save(buffer, format="PNG")
        except (ImportError, OSError, ValueError):
            return None  # no Pillow or unreadable bytes: the notebook falls back to repr
        return buffer.getvalue()

    def __repr__(self) -> str:
        size = self.size
        dims = f"{size[0]}x{size[1]}" if size else "size unknown"
        return (
            f"Image(index={self.index}, format={self.format!r}, {dims}, seed={self.seed}, "
            f"{len(self.data)} bytes)"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return NotImplemented
        return (self.index, self.format, self.data) == (other.index, other.format, other.data)

    __hash__ = None  # type: ignore[assignment]


@attrs.frozen
class GenerationResult:
    """The outcome of one ``images.generate`` call."""

    images: tuple[Image, ...]
    model: str
    request_id: str | None
    idempotency_key: str
    retries: int
    parameters: Mapping[str, Any]
    message: str = ""
    elapsed_seconds: float = 0.0

    @property
    def image(self) -> Image:
        """The first image (most calls make exactly one)."""
        return self.images[0]

    def save_all(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write every image into ``directory`` (created if missing); return the paths."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        return [image.save(folder / image.default_filename()) for image in self.images]


@attrs.frozen
class ModelInfo:
    """One entry of ``GET /serverless/models``."""

    name: str
    type: str
    alias: str | None = None
    description: str | None = None
    price: float | None = None
    context_length: int | None = None
    max_completion_tokens: int | None = None
    huggingface_url: str | None = None

    @property
    def is_image_model(self) -> bool:
        """True for models that generate images (``model_type == "Image"``)."""
        return self.type.lower() == "image"

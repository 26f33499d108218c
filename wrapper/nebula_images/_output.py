"""Where pictures go: one atomic writer, one naming rule, one sidecar layout.

``Image.save``, the batch store and the CLI all write through this module:

* :func:`write_atomically`: a temp file in the same directory, fsync, rename. Readers
  see the old file or the whole new one; files follow the umask like any other file.
* :func:`file_extension` and :func:`image_file_name`: one extension map and one rule
  for the names of the images of one call (``stem.png``, ``stem-1.png``, ...).
* :func:`result_record`: the one metadata layout (batch sidecars, ``generate --json``).
* :class:`FileStore` is what a store needs from the place files live;
  :class:`LocalFolder` is the local directory. Another backend (object storage) plugs
  in by implementing the same few methods.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "FileStore",
    "LocalFolder",
    "convert_image",
    "file_extension",
    "format_for_extension",
    "image_file_name",
    "is_plain_name",
    "open_folder",
    "result_record",
    "slug",
    "write_atomically",
]

# Image format -> file extension, where they differ; and back.
_EXTENSIONS = {"jpeg": "jpg"}
_FORMATS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}
_NOT_EXTENSION = re.compile(r"[^a-z0-9]+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# ".NAME.tmp-PID-RANDOM": what write_atomically leaves behind when killed mid-write.
_TEMP_NAME = re.compile(r"\.tmp-([0-9]{1,10})-[0-9a-f]{8}\Z", re.ASCII)
_LARGEST_PID = 1 << 22  # Linux's pid_max ceiling; anything larger is not one of ours
SIDECAR_FORMAT = 2


def file_extension(image_format: str | None) -> str:
    """The file extension, without a dot, for an image format: "png", "jpg" or "webp".

    Case and a leading dot are ignored, no format means PNG, and anything but letters
    and digits is dropped, so an odd format string never puts a path separator into a
    file name.
    """
    fmt = _NOT_EXTENSION.sub("", (image_format or "").strip().lower())
    return _EXTENSIONS.get(fmt, fmt) or "png"


def format_for_extension(extension: str) -> str | None:
    """The image format a file extension names ("png", "jpeg", "webp"), or None."""
    return _FORMATS.get(extension.strip().lstrip(".").lower())


def convert_image(data: bytes, image_format: str) -> bytes:
    """``data`` re-encoded as ``image_format`` through Pillow (ImportError without it)."""
    from io import BytesIO

    from PIL import Image as PILImage

    with PILImage.open(BytesIO(data)) as opened:
        opened.load()
        picture: PILImage.Image = opened
        if image_format == "jpeg" and picture.mode not in ("RGB", "L"):
            picture = picture.convert("RGB")  # JPEG has no alpha channel
        buffer = BytesIO()
        picture.save(buffer, format=image_format.upper())
    return buffer.getvalue()


def slug(text: str, limit: int = 48) -> str:
    """A readable, file-name-safe stand-in for ``text``: "a-red-fox-in-snow"."""
    return _NOT_SLUG.sub("-", text.lower()).strip("-")[:limit].rstrip("-") or "image"


def image_file_name(stem: str, position: int, extension: str) -> str:
    """The name of image ``position`` of one call: ``stem.png``, then ``stem-1.png``..."""
    return f"{stem}.{extension}" if position == 0 else f"{stem}-{position}.{extension}"


def is_plain_name(name: object) -> bool:
    """True for a file name with no directory part: what a store may write or remove."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
        and os.path.basename(name) == name
    )


def temp_name_for(name: str) -> str:
    """A hidden temp name next to ``name``, owned by this process."""
    return f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def temp_owner(name: str) -> int | None:
    """The process id in a temp name of ours; None for any other name (foreign, odd)."""
    if not name.startswith("."):
        return None
    match = _TEMP_NAME.search(name)
    if match is None:
        return None
    pid = int(match.group(1))
    return pid if 0 < pid < _LARGEST_PID else None


def write_atomically(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    """Write ``data`` to ``path``: temp file in the same directory, fsync, rename.

    The same directory keeps the rename on one filesystem, so readers see the old file
    or the whole new one and a killed run leaves only a hidden temp file. The temp file
    is created with mode 0666 less the umask, like any file. With ``overwrite=False``
    an existing ``path`` raises FileExistsError and is left as it is.
    """
    tmp = path.with_name(temp_name_for(path.name))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if path exists, even when another process races us
            tmp.unlink()
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


# --- the place files live ---


class FileStore(Protocol):
    """What an output store needs from the place its files live.

    Names are plain file names (no directory part); implementations refuse others.
    """

    def location(self, name: str) -> Path | str:
        """Where ``name`` is, for results and messages (a Path, or a URL)."""
        ...

    def read(self, name: str) -> bytes | None:
        """The file's bytes, or None when it does not exist or cannot be read."""
        ...

    def exists(self, name: str) -> bool: ...

    def write(self, name: str, data: bytes) -> None:
        """Write the whole file so that no reader ever sees part of it."""
        ...

    def create(self, name: str, data: bytes) -> bool:
        """Write the file only if it does not exist yet; False when it did."""
        ...

    def remove(self, name: str) -> None:
        """Remove the file; a missing file is fine."""
        ...

    def append_line(self, name: str, line: str) -> None:
        """Add one line of text at the end of the file (created if missing)."""
        ...

    def flush(self) -> None:
        """Make appended lines visible to readers (at the latest: now)."""
        ...

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """A section no other process runs at the same time on this place."""
        ...

    def remove_stale_temp_files(self) -> None:
        """Drop what writers killed mid-write left behind; ignore anything else."""
        ...


def open_folder(output_dir: str | os.PathLike[str]) -> FileStore:
    """The place an ``output_dir`` names: a local directory, or any fsspec URL
    (``s3://bucket/prefix``; the ``cloud`` extra). ``file://`` URLs are local."""
    text = os.fspath(output_dir)
    if "://" not in text:
        return LocalFolder(text)
    if text.startswith("file://"):
        return LocalFolder(text.removeprefix("file://"))
    from ._fsspec_folder import FsspecFolder

    return FsspecFolder(text)


def _checked(name: str) -> str:
    if not is_plain_name(name):
        raise ValueError(f"not a plain file name: {name!r}")
    return name


class LocalFolder:
    """A local directory as a :class:`FileStore` (created if missing)."""

    LOCK_NAME = ".nebula-batch.lock"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"output_dir {os.fspath(directory)!r} exists and is not a directory")
        self.directory.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalFolder({os.fspath(self.directory)!r})"

    def location(self, name: str) -> Path:
        return self.directory / _checked(name)

    def read(self, name: str) -> bytes | None:
        try:
            return self.location(name).read_bytes()
        except OSError:
            return None

    def exists(self, name: str) -> bool:
        return self.location(name).is_file()

    def write(self, name: str, data: bytes) -> None:
        write_atomically(self.location(name), data)

    def create(self, name: str, data: bytes) -> bool:
        try:
            write_atomically(self.location(name), data, overwrite=False)
        except FileExistsError:
            return False
        return True

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.location(name).unlink()

    def flush(self) -> None:
        return None  # append_line writes through at once

    def append_line(self, name: str, line: str) -> None:
        # One write() of an O_APPEND file: lines of concurrent writers never interleave.
        fd = os.open(self.location(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, (line.replace("\n", " ") + "\n").encode())
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        import fcntl  # POSIX; imported here so that importing this module stays cheap

        fd = os.open(self.directory / self.LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def remove_stale_temp_files(self) -> None:
        with os.scandir(self.directory) as entries:
            for entry in entries:
                pid = temp_owner(entry.name)
                if pid is not None and not _process_alive(pid):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


# --- the one metadata layout ---


class _ImageLike(Protocol):
    @property
    def data(self) -> bytes: ...
    @property
    def format(self) -> str: ...
    @property
    def inference_seconds(self) -> float | None: ...
    @property
    def seed(self) -> int | None: ...


class ResultLike(Protocol):
    """What a record is made from (``GenerationResult``)."""

    @property
    def images(self) -> Sequence[_ImageLike]: ...
    @property
    def model(self) -> str | None: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def idempotency_key(self) -> str | None: ...
    @property
    def retries(self) -> int: ...
    @property
    def parameters(self) -> Mapping[str, Any]: ...


def jsonable(value: object) -> object:
    """``json.dumps(default=...)``: bytes by their digest, paths as text, else repr."""
    if isinstance(value, bytes | bytearray):
        return {"sha256": hashlib.sha256(bytes(value)).hexdigest(), "bytes": len(value)}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def result_record(result: ResultLike, prompt: str, files: Sequence[str]) -> dict[str, Any]:
    """The one metadata layout of a generation: batch sidecars and ``generate --json``.

    ``files[i]`` is where image ``i`` went ("-" for standard output).
    """
    images = result.images
    return {
        "format": SIDECAR_FORMAT,
        "prompt": prompt,
        "model": result.model,
        "seed": images[0].seed if images else None,
        "parameters": dict(result.parameters),
        "request_id": result.request_id,
        "idempotency_key": result.idempotency_key,
        "retries": result.retries,
        "files": list(files),
        "images": [
            {
                "file": file,
                "format": image.format,
                "bytes": len(image.data),
                "seed": image.seed,
                "inference_seconds": image.inference_seconds,
            }
            for file, image in zip(files, images, strict=True)
        ],
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }

"""An output folder behind any fsspec URL: ``s3://bucket/prefix``, ``gs://...``, ``memory://``.

Needs the ``cloud`` extra (``pip install 'nebula-images[cloud]'``: fsspec and s3fs; add
gcsfs for ``gs://``). Credentials come from where the backend looks for them (for S3:
the environment, ``~/.aws`` profiles, instance roles; ``AWS_ENDPOINT_URL`` for an S3
compatible server); nothing here reads, logs or stores them.

The guarantees of a local folder hold:

* a reader never sees part of a file: object stores (S3, GCS, Azure, memory) make an
  object visible only once its upload is complete, so a file is one put; any other
  backend gets a hidden temp name first, then a move;
* the batch id is created at most once: with a create-only-if-absent put where the
  backend has one (S3's ``If-None-Match``), else a put followed by a re-read, so two
  processes that race end up with the first id written;
* the manifest, which object stores cannot append to, is rewritten with the lines
  gathered so far every ``MANIFEST_FLUSH_LINES`` items and when the batch ends. On S3
  the rewrite is conditional (``If-Match`` the version read, ``If-None-Match`` for a
  first one): when another process wrote it in between, the put is refused and the
  lines are merged into the newer version, so processes sharing a prefix lose none.
  Other object stores get a plain read-then-write (a concurrent writer can drop lines
  there; the sidecars, which decide what is done, are not affected).
"""

from __future__ import annotations

import contextlib
import errno
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from ._output import is_plain_name, temp_name_for

__all__ = ["FsspecFolder"]

# Where a single put is atomic: the object appears whole or not at all.
_ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})
MANIFEST_FLUSH_LINES = 200
# Where a put can be made conditional on the object's ETag (s3fs passes IfMatch and
# IfNoneMatch to PutObject; AWS S3 and compatible servers answer 412 when it changed).
_CONDITIONAL_PUT = frozenset({"s3", "s3a"})
# A manifest rewrite refused this many times in a row (writers keep racing) fails.
_MANIFEST_ATTEMPTS = 20


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        raise ImportError(
            "an output_dir URL needs fsspec: pip install 'nebula-images[cloud]'"
        ) from None
    return fsspec


class FsspecFolder:
    """A :class:`~nebula_images._output.FileStore` on an fsspec filesystem."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        fsspec = _fsspec()
        # No instance cache: another process (or test) may have changed the objects,
        # and a cached instance would answer from its listing cache.
        self.fs, root = fsspec.core.url_to_fs(
            url, skip_instance_cache=True, **dict(storage_options or {})
        )
        self.url = url.rstrip("/")
        self.root = str(root).rstrip("/")
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self._atomic_put = bool(_ATOMIC_PUT & set(protocols))
        self._conditional_put = bool(_CONDITIONAL_PUT & set(protocols))
        self._lock = threading.Lock()
        self._pending: dict[str, list[str]] = {}
        with contextlib.suppress(FileExistsError):
            self.fs.makedirs(self.root, exist_ok=True)

    def __repr__(self) -> str:
        return f"FsspecFolder({self.url!r})"

    def _path(self, name: str) -> str:
        if not is_plain_name(name):
            raise ValueError(f"not a plain file name: {name!r}")
        return f"{self.root}/{name}"

    def location(self, name: str) -> str:
        self._path(name)
        return f"{self.url}/{name}"

    def read(self, name: str) -> bytes | None:
        try:
            data = self.fs.cat_file(self._path(name))
        except (FileNotFoundError, OSError):
            return None
        return bytes(data)

    def exists(self, name: str) -> bool:
        try:
            return bool(self.fs.isfile(self._path(name)))
        except OSError:
            return False

    def write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        if self._atomic_put:
            self.fs.pipe_file(path, data)
            return
        tmp = self._path(temp_name_for(name))
        try:
            self.fs.pipe_file(tmp, data)
            self.fs.mv(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.rm_file(tmp)
            raise

    def create(self, name: str, data: bytes) -> bool:
        """Write ``name`` only if it does not exist; False when it already did."""
        path = self._path(name)
        try:
            with self.fs.open(path, "xb") as handle:  # S3: a put with If-None-Match: *
                handle.write(data)
        except FileExistsError:
            return False
        except (NotImplementedError, ValueError):
            if self.fs.exists(path):
                return False
            self.write(name, data)
        return True

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(name))

    def append_line(self, name: str, line: str) -> None:
        with self._lock:
            lines = self._pending.setdefault(name, [])
            lines.append(line.replace("\n", " "))
            if len(lines) >= MANIFEST_FLUSH_LINES:
                self._flush_locked(name)

    def flush(self) -> None:
        with self._lock:
            for name in list(self._pending):
                self._flush_locked(name)

    def _flush_locked(self, name: str) -> None:
        lines = self._pending.pop(name, [])
        if not lines:
            return
        added = "".join(f"{line}\n" for line in lines).encode()
        for _ in range(_MANIFEST_ATTEMPTS):
            before, etag = self._read_versioned(name)
            # No condition where the backend has none, or the object no ETag.
            if not self._conditional_put or (before and etag is None):
                self.write(name, before + added)
                return
            if self._put_if_unchanged(name, before + added, etag):
                return
        raise OSError(
            errno.EAGAIN,
            f"{self.location(name)} kept changing under other writers; "
            f"{len(lines)} manifest line(s) not written (the sidecars are)",
        )

    def _read_versioned(self, name: str) -> tuple[bytes, str | None]:
        """The object's bytes and the ETag they had; (b"", None) when it is absent.
        Without conditional puts the ETag is of no use: a plain read, no HEAD."""
        if not self._conditional_put:
            return self.read(name) or b"", None
        path = self._path(name)
        self.fs.invalidate_cache(path)  # a listing cached earlier holds an old ETag
        try:
            etag = self.fs.info(path).get("ETag")
        except FileNotFoundError:
            return b"", None
        data = self.read(name)
        if data is None:  # removed since: create it
            return b"", None
        return data, str(etag) if etag else None

    def _put_if_unchanged(self, name: str, data: bytes, etag: str | None) -> bool:
        """Put ``data`` if the object still has ``etag`` (None: still absent); False
        when another writer changed it since it was read."""
        path = self._path(name)
        try:
            if etag is None:
                self.fs.pipe_file(path, data, mode="create")  # If-None-Match: *
            else:
                self.fs.pipe_file(path, data, IfMatch=etag)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno == errno.EINVAL and "precondition" in str(exc).lower():
                return False  # s3fs's 412 PreconditionFailed for If-Match
            raise
        return True

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        # No cross-process lock on an object store; the batch id is created with
        # create() instead (see BatchStore). Threads of this process still take turns.
        with self._lock:
            yield

    def remove_stale_temp_files(self) -> None:
        # Object stores write no temp files. For the others, a temp name's pid says
        # nothing about a process on another machine: such names are ignored, not removed.
        return None

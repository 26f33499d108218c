"""Batch generation: bounded concurrency, input order, partial success, resumable output.

``generate_many_sync`` (threads) and ``generate_many_async`` (tasks) back
``client.images.generate_many(...)``. Both:

* consume ``requests`` lazily: at most ``concurrency`` calls run at once and at most
  ``2 * concurrency`` items are held (running or finished but waiting for an earlier
  one), so a million-line input never sits in memory;
* yield one outcome per input item, in input order, as soon as the head is done: the
  ``GenerationResult`` of the client, a :class:`BatchError` for an item that failed
  (partial success), or a :class:`BatchSkipped` for an item found done on disk;
* with ``fail_fast=True`` stop starting new items at the first failure and raise it
  when its slot comes up (the items before it are still yielded);
* send a deterministic ``Idempotency-Key`` per item (namespace, position, parameters),
  so a re-run after a crash is answered from the server's cache instead of billed again;
* with ``output_dir`` write each image as it finishes (temp file, then ``os.replace``)
  and a sidecar JSON last, which marks the item done: a re-run skips items whose
  sidecar has the same parameter hash and whose files exist;
* stop promptly when cancelled (the iterator closed, Ctrl-C, the consuming task
  cancelled): nothing new starts; running threads finish and save on their own (they
  are daemons, so the process can still exit at once), running tasks are cancelled.
  What finished is on disk, and what was billed but not saved comes back free on the
  next run, through the same idempotency key.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import functools
import hashlib
import json
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs

from ._encoding import read_image_file

__all__ = [
    "BatchError",
    "BatchProgress",
    "BatchRequest",
    "BatchSkipped",
    "generate_many_async",
    "generate_many_sync",
]

MANIFEST_NAME = ".nebula-batch.json"
SIDECAR_FORMAT = 1

# Per-call options that change how a call is made, not what is generated: they stay
# out of the parameter hash so that, e.g., a longer timeout on a re-run still resumes.
_CALL_OPTIONS = frozenset({"idempotency_key", "timeout", "deadline", "retry_ambiguous"})
# Input pictures given as paths hash by their content, so an edited file is regenerated.
_BLOB_FIELDS = frozenset({"image", "mask"})
# Image format -> file extension, where they differ.
_EXTENSIONS = {"jpeg": "jpg"}
_NOT_EXTENSION = re.compile(r"[^a-z0-9]+")
# Aliases accepted in per-item dicts (the wire name, as JSONL files tend to use it).
_ALIASES = {"model_name": "model"}


# --- what the engine needs from a client (structural, so _client.py can import us) ---


class _ImageLike(Protocol):
    @property
    def data(self) -> bytes: ...
    @property
    def format(self) -> str: ...
    @property
    def inference_seconds(self) -> float | None: ...
    @property
    def seed(self) -> int | None: ...


class _ResultLike(Protocol):
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


R_co = TypeVar("R_co", bound=_ResultLike, covariant=True)
R = TypeVar("R", bound=_ResultLike)


class _SyncImages(Protocol[R_co]):
    def generate(self, *args: Any, **kwargs: Any) -> R_co: ...


class _AsyncImages(Protocol[R_co]):
    def generate(self, *args: Any, **kwargs: Any) -> Awaitable[R_co]: ...


class _SyncClient(Protocol[R_co]):
    """Anything with ``.images.generate(prompt, **params) -> result`` (``Client``)."""

    @property
    def images(self) -> _SyncImages[R_co]: ...


class _AsyncClient(Protocol[R_co]):
    """Anything with ``await .images.generate(prompt, **params)`` (``AsyncClient``)."""

    @property
    def images(self) -> _AsyncImages[R_co]: ...


# A Client or its ``client.images`` resource: both work.
SyncClientLike = _SyncClient[R_co] | _SyncImages[R_co]
AsyncClientLike = _AsyncClient[R_co] | _AsyncImages[R_co]


def _sync_images(client: SyncClientLike[R]) -> _SyncImages[R]:
    images = getattr(client, "images", None)
    return images if images is not None else client  # type: ignore[return-value]


def _async_images(client: AsyncClientLike[R]) -> _AsyncImages[R]:
    images = getattr(client, "images", None)
    return images if images is not None else client  # type: ignore[return-value]


# --- public value classes ---


@attrs.frozen
class BatchRequest:
    """One typed batch item: a prompt plus the parameters that differ from the defaults."""

    prompt: str
    model: str | None = None
    negative_prompt: str | None = None
    num_steps: int | None = None
    guidance_scale: float | None = None
    width: int | None = None
    height: int | None = None
    seed: int | None = None
    image: Any = attrs.field(default=None, repr=False)  # a path, bytes or a PIL image
    mask: Any = attrs.field(default=None, repr=False)
    idempotency_key: str | None = None


@attrs.frozen
class BatchError:
    """One batch item that failed; it takes the item's slot in the output order."""

    index: int
    exception: Exception
    # repr=False: a request may hold a multi-megabyte image blob.
    request: Mapping[str, Any] = attrs.field(repr=False, factory=dict)

    @property
    def message(self) -> str:
        """The error as one line, for logs and the CLI."""
        text = str(self.exception).strip().splitlines()
        return text[0] if text else type(self.exception).__name__


@attrs.frozen
class BatchSkipped:
    """One batch item already done by an earlier run (found in ``output_dir``)."""

    index: int
    paths: tuple[Path, ...]
    metadata: Mapping[str, Any] = attrs.field(repr=False)
    request: Mapping[str, Any] = attrs.field(repr=False, factory=dict)


@attrs.frozen
class BatchProgress:
    """A progress snapshot passed to ``on_progress`` after each change."""

    done: int  # generated in this run
    failed: int
    skipped: int  # already on disk from an earlier run
    total: int | None  # None when the input has no len()
    elapsed: float  # seconds since the batch started
    rate: float  # items generated per second in this run
    eta: float | None  # seconds left, when total and rate are known

    @property
    def finished(self) -> int:
        """Items with an outcome: done, failed or skipped."""
        return self.done + self.failed + self.skipped


ProgressCallback = Callable[[BatchProgress], None]
RequestItem = str | Mapping[str, Any] | Any


# --- items: normalisation, hashing, keys ---


@attrs.frozen
class _Item:
    index: int
    prompt: str
    params: Mapping[str, Any]  # everything passed to generate() except the prompt
    param_hash: str

    @property
    def request(self) -> dict[str, Any]:
        return {"prompt": self.prompt, **self.params}


def _to_mapping(raw: object) -> dict[str, Any]:
    if isinstance(raw, str):
        return {"prompt": raw}
    if isinstance(raw, Mapping):
        return dict(raw)
    to_dict = getattr(raw, "to_dict", None)  # generated request models
    if callable(to_dict):
        value = to_dict()
        if isinstance(value, Mapping):
            return dict(value)
    if attrs.has(type(raw)):
        return attrs.asdict(raw, recurse=False)  # type: ignore[arg-type]
    raise TypeError(
        f"batch item must be a prompt string, a dict or a request object, got {type(raw).__name__}"
    )


def _canonical(value: object) -> object:
    """A JSON-able, stable stand-in for a parameter value (blobs by their digest)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"sha256": hashlib.sha256(bytes(value)).hexdigest()}
    if isinstance(value, str) and len(value) > 1024:
        return {"sha256": hashlib.sha256(value.encode()).hexdigest()}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    # An unknown object hashes by repr: at worst a resume regenerates, never skips wrongly.
    return repr(value)


def _blob_digest(value: object) -> object:
    if isinstance(value, str | os.PathLike) and len(os.fspath(value)) <= 4096:
        try:
            return {"sha256": hashlib.sha256(read_image_file(value, "image")).hexdigest()}
        except (OSError, ValueError):
            pass  # not a readable file: the client will say so; hash the text
    return _canonical(value)


def parameter_hash(prompt: str, params: Mapping[str, Any]) -> str:
    """The hash that identifies what an item generates (call options excluded)."""
    material = {
        k: _blob_digest(v) if k in _BLOB_FIELDS else _canonical(v)
        for k, v in params.items()
        if k not in _CALL_OPTIONS and v is not None
    }
    material["prompt"] = prompt
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def idempotency_key_for(namespace: str, index: int, param_hash: str) -> str:
    """A deterministic Idempotency-Key: same batch, position and parameters, same key."""
    digest = hashlib.sha256(f"{namespace}\n{index}\n{param_hash}".encode()).hexdigest()
    return f"nbatch-{digest[:40]}"


def _prepare(index: int, raw: object, defaults: Mapping[str, Any], namespace: str) -> _Item:
    fields = _to_mapping(raw)
    for alias, name in _ALIASES.items():
        if alias in fields:
            if name in fields:
                raise ValueError(f"batch item {index}: give {name!r} or {alias!r}, not both")
            fields[name] = fields.pop(alias)
    # None means "not set" everywhere, so a None field never hides a default.
    merged = {**defaults, **{k: v for k, v in fields.items() if v is not None}}
    prompt = merged.pop("prompt", None)
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"batch item {index}: 'prompt' must be a non-empty string")
    digest = parameter_hash(prompt, merged)
    if merged.get("idempotency_key") is None:
        merged["idempotency_key"] = idempotency_key_for(namespace, index, digest)
    return _Item(index=index, prompt=prompt, params=merged, param_hash=digest)


# --- resumable output ---


def file_extension(image_format: str | None) -> str:
    """The file extension, without a dot, for an image format: "png", "jpg" or "webp".

    The one rule for the batch's files and the CLI's: case and a leading dot are
    ignored, no format means PNG, and anything but letters and digits is dropped, so
    an odd format string can never put a path separator into a file name.
    """
    fmt = _NOT_EXTENSION.sub("", (image_format or "").strip().lower())
    return _EXTENSIONS.get(fmt, fmt) or "png"


def _jsonable(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return {"sha256": hashlib.sha256(bytes(value)).hexdigest(), "bytes": len(value)}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def _atomic_write(path: Path, data: bytes) -> None:
    # Same directory, so os.replace is a rename on one filesystem: readers see the
    # old file or the whole new one, and a killed run leaves only a hidden temp file.
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
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


class _OutputStore:
    """The output directory: a manifest with the batch id, then image files + sidecars."""

    def __init__(self, directory: Path, batch_id: str | None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        manifest_path = directory / MANIFEST_NAME
        stored: str | None = None
        try:
            stored = json.loads(manifest_path.read_text(encoding="utf-8")).get("batch_id")
        except (OSError, ValueError, AttributeError):
            stored = None
        # The batch id salts the idempotency keys: a fresh directory means fresh images,
        # the same directory means the same keys (so a re-run is not billed again).
        self.batch_id = batch_id or stored or uuid.uuid4().hex
        if stored != self.batch_id:
            manifest = {"format": SIDECAR_FORMAT, "batch_id": self.batch_id}
            _atomic_write(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode())
        self._remove_stale_temp_files()

    def _remove_stale_temp_files(self) -> None:
        # A run killed mid-write leaves ".NAME.tmp-PID-RANDOM"; drop those of dead runs.
        for path in self.directory.glob(".*.tmp-*"):
            pid_text = path.name.rsplit(".tmp-", 1)[1].split("-", 1)[0]
            if pid_text.isdigit() and not _process_alive(int(pid_text)):
                with contextlib.suppress(OSError):
                    path.unlink()

    def stem(self, index: int) -> str:
        return f"{index:06d}"

    def sidecar_path(self, index: int) -> Path:
        return self.directory / f"{self.stem(index)}.json"

    def _read_sidecar(self, index: int) -> dict[str, Any] | None:
        try:
            data = json.loads(self.sidecar_path(index).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def lookup(self, item: _Item) -> BatchSkipped | None:
        """The item's earlier outcome when its sidecar matches and its files exist."""
        meta = self._read_sidecar(item.index)
        if meta is None or meta.get("param_hash") != item.param_hash:
            return None
        names = meta.get("files")
        if not isinstance(names, list) or not names:
            return None
        paths = tuple(self.directory / str(name) for name in names)
        if not all(p.is_file() for p in paths):
            return None
        return BatchSkipped(index=item.index, paths=paths, metadata=meta, request=item.request)

    def save(self, item: _Item, result: _ResultLike) -> list[Path]:
        """Write the images, then the sidecar (the sidecar is the commit marker)."""
        previous = self._read_sidecar(item.index)
        paths: list[Path] = []
        for position, image in enumerate(result.images):
            suffix = "" if position == 0 else f"_{position}"
            ext = file_extension(image.format)
            path = self.directory / f"{self.stem(item.index)}{suffix}.{ext}"
            _atomic_write(path, image.data)
            paths.append(path)
        meta = {
            "format": SIDECAR_FORMAT,
            "index": item.index,
            "param_hash": item.param_hash,
            "prompt": item.prompt,
            "model": result.model,
            "parameters": dict(result.parameters),
            "seed": result.images[0].seed if result.images else None,
            "seeds": [image.seed for image in result.images],
            "request_id": result.request_id,
            "idempotency_key": result.idempotency_key,
            "inference_seconds": [image.inference_seconds for image in result.images],
            "retries": result.retries,
            "files": [p.name for p in paths],
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        text = json.dumps(meta, indent=2, sort_keys=True, default=_jsonable) + "\n"
        _atomic_write(self.sidecar_path(item.index), text.encode())
        # A changed item may have had more images before; drop the ones now stale.
        if previous and isinstance(previous.get("files"), list):
            for name in set(map(str, previous["files"])) - {p.name for p in paths}:
                with contextlib.suppress(OSError):
                    (self.directory / name).unlink()
        return paths


# --- progress ---


class _Progress:
    def __init__(self, total: int | None, callback: ProgressCallback | None) -> None:
        self.total = total
        self.callback = callback
        self.started = time.monotonic()
        self.done = self.failed = self.skipped = 0

    def report(self) -> None:
        if self.callback is None:
            return
        elapsed = time.monotonic() - self.started
        generated = self.done + self.failed
        rate = generated / elapsed if elapsed > 0 else 0.0
        eta: float | None = None
        if self.total is not None and rate > 0:
            eta = max(0, self.total - generated - self.skipped) / rate
        self.callback(
            BatchProgress(
                done=self.done,
                failed=self.failed,
                skipped=self.skipped,
                total=self.total,
                elapsed=elapsed,
                rate=rate,
                eta=eta,
            )
        )


def _total_of(requests: object) -> int | None:
    try:
        return len(requests)  # type: ignore[arg-type]
    except TypeError:
        return None


def _check_options(concurrency: int, output_dir: str | os.PathLike[str] | None) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
    if output_dir is not None and Path(output_dir).exists() and not Path(output_dir).is_dir():
        raise ValueError(f"output_dir {os.fspath(output_dir)!r} exists and is not a directory")


# --- the reorder window: what the thread and task runners share ---


# A slot in the reorder window: either a finished outcome or a pending call.
@attrs.define
class _Slot:
    index: int
    item: _Item | None
    raw: object
    outcome: object = None  # BatchError | BatchSkipped, when known without a call
    pending: Any = None  # concurrent.futures.Future or asyncio.Task


def _error_slot(index: int, raw: object, exc: Exception) -> _Slot:
    request = dict(raw) if isinstance(raw, Mapping) else {"prompt": raw}
    return _Slot(index=index, item=None, raw=raw, outcome=BatchError(index, exc, request))


@attrs.define
class _ReorderWindow:
    """The bookkeeping both runners share; only how a call runs and is awaited differs.

    It holds at most ``2 * concurrency`` slots in input order, counts outcomes for the
    progress callback and decides when to stop starting items (``fail_fast``). A
    pending call is a ``concurrent.futures.Future`` or an ``asyncio.Task``: both answer
    ``done()``, ``cancelled()``, ``exception()`` and ``result()`` alike.
    """

    concurrency: int
    fail_fast: bool
    store: _OutputStore | None
    namespace: str
    progress: _Progress
    defaults: Mapping[str, Any]
    slots: collections.deque[_Slot] = attrs.field(init=False, factory=collections.deque)
    running: set[Any] = attrs.field(init=False, factory=set)
    exhausted: bool = attrs.field(init=False, default=False)  # the input has no more items
    # fail_fast saw a failure: start nothing new.
    _stopping: bool = attrs.field(init=False, default=False)
    _next_index: int = attrs.field(init=False, default=0)
    # An outcome or a slot since the last progress report.
    _changed: bool = attrs.field(init=False, default=False)

    def collect_finished(self) -> None:
        """Count every call that finished since the last look.

        Done before refilling: a finished call must free its place even if it was
        never waited for.
        """
        finished = [pending for pending in self.running if pending.done()]
        for pending in finished:
            self.running.discard(pending)
            if not pending.cancelled() and pending.exception() is None:
                self.progress.done += 1
            else:
                self._fail()
        self._changed = self._changed or bool(finished)

    def wants_more(self) -> bool:
        """Whether to read another input item now."""
        return (
            not (self.exhausted or self._stopping)
            and len(self.slots) < 2 * self.concurrency
            and len(self.running) < self.concurrency
        )

    def admit(self, raw: object, start: Callable[[_Item], Any]) -> None:
        """Take the next input item; ``start`` begins its call when one is needed."""
        slot = self._new_slot(self._next_index, raw)
        self._next_index += 1
        if slot.item is not None and slot.outcome is None:
            slot.pending = start(slot.item)
            self.running.add(slot.pending)
        self.slots.append(slot)
        self._changed = True

    def _new_slot(self, index: int, raw: object) -> _Slot:
        try:
            item = _prepare(index, raw, self.defaults, self.namespace)
        except Exception as exc:
            self._fail()
            return _error_slot(index, raw, exc)
        slot = _Slot(index=index, item=item, raw=raw)
        if self.store is not None:
            skipped = self.store.lookup(item)
            if skipped is not None:
                self.progress.skipped += 1
                slot.outcome = skipped
        return slot

    def _fail(self) -> None:
        self.progress.failed += 1
        self._stopping = self._stopping or self.fail_fast

    def report_changes(self) -> None:
        if self._changed:
            self.progress.report()
            self._changed = False

    def pop_ready(self) -> _Slot | None:
        """The head slot once its outcome is known (None: wait for a call to finish)."""
        head = self.slots[0]
        if head.pending is None or head.pending.done():
            return self.slots.popleft()
        return None

    def settle(self, slot: _Slot) -> Any:
        """The slot's outcome to yield; with ``fail_fast`` a failure is raised instead."""
        if slot.pending is not None:
            exc = slot.pending.exception()  # raises CancelledError if cancelled elsewhere
            if exc is None:
                return slot.pending.result()
            if not isinstance(exc, Exception):
                raise exc
            assert slot.item is not None
            slot.outcome = BatchError(slot.index, exc, slot.item.request)
        if isinstance(slot.outcome, BatchError) and self.fail_fast:
            error = slot.outcome.exception
            error.add_note(f"(batch item {slot.index})")
            raise error
        return slot.outcome


def _open_window(
    requests: object,
    concurrency: int,
    fail_fast: bool,
    output_dir: str | os.PathLike[str] | None,
    on_progress: ProgressCallback | None,
    batch_id: str | None,
    defaults: Mapping[str, Any],
) -> _ReorderWindow:
    # Run when generate_many_* is called, not on first iteration: bad options fail at once.
    _check_options(concurrency, output_dir)
    store = _OutputStore(Path(output_dir), batch_id) if output_dir is not None else None
    namespace = store.batch_id if store is not None else (batch_id or "")
    progress = _Progress(_total_of(requests), on_progress)
    return _ReorderWindow(concurrency, fail_fast, store, namespace, progress, defaults)


def _save_to(store: _OutputStore | None, item: _Item, result: R) -> R:
    if store is not None:
        store.save(item, result)  # small local writes; not worth a thread hop in async
    return result


# --- threads ---


class _DaemonPool:
    """A minimal thread pool with daemon workers.

    ThreadPoolExecutor joins its workers at interpreter exit, so after Ctrl-C the CLI
    would hang until every in-flight generation returned; daemon workers let it exit.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._queue: queue.SimpleQueue[
            tuple[concurrent.futures.Future[Any], Callable[[], Any]] | None
        ] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put((future, fn))
        if len(self._threads) < self._size:
            thread = threading.Thread(target=self._work, name="nebula-batch", daemon=True)
            thread.start()
            self._threads.append(thread)
        return future

    def _work(self) -> None:
        while (task := self._queue.get()) is not None:
            future, fn = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    def shutdown(self) -> None:
        """Cancel what has not started; running calls finish (and save) on their own."""
        with contextlib.suppress(queue.Empty):
            while True:
                task = self._queue.get_nowait()
                if task is not None:
                    task[0].cancel()
        for _ in self._threads:
            self._queue.put(None)


def generate_many_sync(
    client: SyncClientLike[R],
    requests: Iterable[RequestItem],
    *,
    concurrency: int = 8,
    fail_fast: bool = False,
    output_dir: str | os.PathLike[str] | None = None,
    on_progress: ProgressCallback | None = None,
    batch_id: str | None = None,
    **defaults: Any,
) -> Iterator[R | BatchError | BatchSkipped]:
    """Generate one result per item of ``requests`` on threads, in input order.

    ``requests`` holds prompts, dicts of per-item parameters (``prompt`` required) or
    request objects; ``defaults`` apply to every item. See the module docstring for
    ordering, failures, resume and cancellation. ``batch_id`` names the batch in the
    idempotency keys (default: kept in ``output_dir``, or none without one).
    """
    window = _open_window(
        requests, concurrency, fail_fast, output_dir, on_progress, batch_id, defaults
    )
    return _run_sync(client, iter(requests), window)


def _run_sync(
    client: SyncClientLike[R], source: Iterator[object], window: _ReorderWindow
) -> Iterator[R | BatchError | BatchSkipped]:
    images = _sync_images(client)

    def call(item: _Item) -> R:
        return _save_to(window.store, item, images.generate(item.prompt, **item.params))

    pool = _DaemonPool(window.concurrency)

    def start(item: _Item) -> concurrent.futures.Future[Any]:
        return pool.submit(functools.partial(call, item))

    try:
        while True:
            window.collect_finished()
            while window.wants_more():
                try:
                    raw = next(source)
                except StopIteration:
                    window.exhausted = True
                    break
                window.admit(raw, start)
            window.report_changes()
            if not window.slots:
                return  # refilling added nothing: the input is exhausted or we are stopping
            head = window.pop_ready()
            if head is not None:
                yield window.settle(head)
                continue
            concurrent.futures.wait(window.running, return_when=concurrent.futures.FIRST_COMPLETED)
    finally:
        pool.shutdown()


# --- tasks ---


def generate_many_async(
    client: AsyncClientLike[R],
    requests: Iterable[RequestItem] | AsyncIterable[RequestItem],
    *,
    concurrency: int = 8,
    fail_fast: bool = False,
    output_dir: str | os.PathLike[str] | None = None,
    on_progress: ProgressCallback | None = None,
    batch_id: str | None = None,
    **defaults: Any,
) -> AsyncIterator[R | BatchError | BatchSkipped]:
    """Like :func:`generate_many_sync`, on asyncio tasks; ``requests`` may be async.

    Cancelling the consuming task cancels the running calls (finished images stay on
    disk). Close the iterator when leaving early: ``async with aclosing(...)``.
    """
    window = _open_window(
        requests, concurrency, fail_fast, output_dir, on_progress, batch_id, defaults
    )
    return _run_async(client, requests, window)


async def _run_async(
    client: AsyncClientLike[R],
    requests: Iterable[RequestItem] | AsyncIterable[RequestItem],
    window: _ReorderWindow,
) -> AsyncIterator[R | BatchError | BatchSkipped]:
    images = _async_images(client)

    async def call(item: _Item) -> R:
        return _save_to(window.store, item, await images.generate(item.prompt, **item.params))

    def start(item: _Item) -> asyncio.Task[R]:
        return asyncio.create_task(call(item))

    async_source = aiter(requests) if isinstance(requests, AsyncIterable) else None
    sync_source = iter(requests) if not isinstance(requests, AsyncIterable) else None
    try:
        while True:
            window.collect_finished()
            while window.wants_more():
                try:
                    if async_source is not None:
                        raw: object = await anext(async_source)
                    else:
                        assert sync_source is not None
                        raw = next(sync_source)
                except (StopIteration, StopAsyncIteration):
                    window.exhausted = True
                    break
                window.admit(raw, start)
            window.report_changes()
            if not window.slots:
                return
            head = window.pop_ready()
            if head is not None:
                yield window.settle(head)
                continue
            await asyncio.wait(window.running, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in window.running:
            task.cancel()
        if window.running:
            await asyncio.gather(*window.running, return_exceptions=True)

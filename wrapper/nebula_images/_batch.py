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
* know each item by its content: its identity is a digest of what it asks for (model,
  every parameter, input pictures by their content, prompt) and its occurrence number
  among identical items, never its position. The ``Idempotency-Key`` (salted with the
  folder's batch id) and the file names (``<slug-of-prompt>-<short identity>.png``)
  derive from it, so a re-run with items reordered, inserted or deleted generates only
  the new ones, and a crash's billed-but-unsaved items come back from the server's
  cache instead of being billed again;
* with ``output_dir`` write each image as it finishes (``nebula_images._batch_store``:
  atomic writes, a sidecar JSON last, which marks the item done, and a manifest): a
  re-run skips items whose sidecar names this identity and whose files exist;
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
)
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs

from ._batch_request import BatchRequest
from ._batch_store import BatchStore, StoredItem
from ._output import ResultLike, open_folder, slug

__all__ = [
    "BatchError",
    "BatchProgress",
    "BatchRequest",
    "BatchSkipped",
    "generate_many_async",
    "generate_many_sync",
]

# Per-call options that change how a call is made, not what is generated: they stay
# out of an item's identity so that, e.g., a longer timeout on a re-run still resumes.
_CALL_OPTIONS = frozenset({"idempotency_key", "timeout", "deadline", "retry_ambiguous"})
# Input pictures given as paths count by their content, so an edited file is regenerated.
_BLOB_FIELDS = frozenset({"image", "mask"})
# Hex digits of the identity in file names: readable, and 48 bits keep twins apart.
_SHORT_DIGEST = 12
# Aliases accepted in per-item dicts (the wire name, as JSONL files tend to use it).
_ALIASES = {"model_name": "model"}


# --- what the engine needs from a client (structural, so _client.py can import us) ---


R_co = TypeVar("R_co", bound=ResultLike, covariant=True)
R = TypeVar("R", bound=ResultLike)


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
    paths: tuple[Path | str, ...]  # Paths; URLs for an fsspec output_dir
    metadata: Mapping[str, Any] = attrs.field(repr=False)
    request: Mapping[str, Any] = attrs.field(repr=False, factory=dict)


@attrs.frozen
class BatchProgress:
    """A progress snapshot passed to ``on_progress`` after each change."""

    generated: int  # generated in this run
    failed: int
    skipped: int  # already done by an earlier run (found in output_dir)
    total: int | None  # None when the input has no len()
    elapsed: float  # seconds since the batch started
    rate: float  # items generated per second in this run (skipped ones do not count)
    eta: float | None  # seconds left, when total and rate are known

    @property
    def finished(self) -> int:
        """Items with an outcome: generated, failed or skipped."""
        return self.generated + self.failed + self.skipped


ProgressCallback = Callable[[BatchProgress], None]
RequestItem = str | Mapping[str, Any] | Any


# --- items: normalisation, identity, keys ---


@attrs.frozen
class _Item:
    index: int  # position in this run's input
    prompt: str
    params: Mapping[str, Any]  # everything passed to generate() except the prompt
    stored: StoredItem  # identity and file names: what it asks for, not where it sits

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
    """An input picture by its content: a file edited in place is a different item."""
    if isinstance(value, str | os.PathLike) and len(os.fspath(value)) <= 4096:
        path = Path(value)
        try:
            if path.is_file():  # a regular file only: never a FIFO or a device
                digest = hashlib.sha256()
                with path.open("rb") as handle:
                    for chunk in iter(functools.partial(handle.read, 1 << 20), b""):
                        digest.update(chunk)
                return {"sha256": digest.hexdigest()}
        except (OSError, ValueError):
            pass  # not a readable file: the client will say so; hash the text
    to_bytes = getattr(value, "tobytes", None)  # a PIL image: its pixels and mode
    if callable(to_bytes) and hasattr(value, "mode") and hasattr(value, "size"):
        pixels = to_bytes()
        if isinstance(pixels, bytes):
            return {"pil": [value.mode, list(value.size), hashlib.sha256(pixels).hexdigest()]}
    return _canonical(value)


def content_digest(prompt: str, params: Mapping[str, Any]) -> str:
    """The digest of what an item asks for: the model, every parameter (input pictures
    by their content) and the prompt. Call options (timeouts...) stay out of it."""
    material = {
        k: _blob_digest(v) if k in _BLOB_FIELDS else _canonical(v)
        for k, v in params.items()
        if k not in _CALL_OPTIONS and v is not None
    }
    material["prompt"] = prompt
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def item_identity(content: str, occurrence: int) -> str:
    """An item's identity: what it asks for and which of its identical twins it is."""
    return hashlib.sha256(f"{content}#{occurrence}".encode()).hexdigest()


def idempotency_key_for(namespace: str, identity: str) -> str:
    """A deterministic Idempotency-Key: same batch and same item, same key, wherever the
    item sits in the input."""
    digest = hashlib.sha256(f"{namespace}\n{identity}".encode()).hexdigest()
    return f"nbatch-{digest[:40]}"


class _Occurrences:
    """How many identical items came before, per content digest.

    Holds one small int per distinct item (a 64-bit prefix of its digest), not the items.
    """

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}

    def next(self, content: str) -> int:
        key = int(content[:16], 16)
        count = self._seen.get(key, 0)
        self._seen[key] = count + 1
        return count


def _prepare(
    index: int,
    raw: object,
    defaults: Mapping[str, object],
    namespace: str,
    occurrences: _Occurrences,
) -> _Item:
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
    content = content_digest(prompt, merged)
    occurrence = occurrences.next(content)
    identity = item_identity(content, occurrence)
    if merged.get("idempotency_key") is None:
        merged["idempotency_key"] = idempotency_key_for(namespace, identity)
    stored = StoredItem(
        identity=identity,
        stem=f"{slug(prompt)}-{identity[:_SHORT_DIGEST]}",
        prompt=prompt,
        occurrence=occurrence,
    )
    return _Item(index=index, prompt=prompt, params=merged, stored=stored)


# --- progress ---


class _Progress:
    def __init__(self, total: int | None, callback: ProgressCallback | None) -> None:
        self.total = total
        self.callback = callback
        self.started = time.monotonic()
        self.generated = self.failed = self.skipped = 0

    def report(self) -> None:
        if self.callback is None:
            return
        elapsed = time.monotonic() - self.started
        # Only generated items make the rate: skipped ones cost no time, failed ones
        # produced nothing.
        rate = self.generated / elapsed if elapsed > 0 else 0.0
        eta: float | None = None
        if self.total is not None and rate > 0:
            eta = max(0, self.total - self.generated - self.failed - self.skipped) / rate
        self.callback(
            BatchProgress(
                generated=self.generated,
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


def _check_concurrency(concurrency: int) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")


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
    store: BatchStore | None
    namespace: str
    progress: _Progress
    defaults: Mapping[str, object]
    slots: collections.deque[_Slot] = attrs.field(init=False, factory=collections.deque)
    running: set[Any] = attrs.field(init=False, factory=set)
    occurrences: _Occurrences = attrs.field(init=False, factory=_Occurrences)
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
                self.progress.generated += 1
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
            item = _prepare(index, raw, self.defaults, self.namespace, self.occurrences)
        except Exception as exc:
            self._fail()
            return _error_slot(index, raw, exc)
        slot = _Slot(index=index, item=item, raw=raw)
        if self.store is not None:
            found = self.store.lookup(item.stored)
            if found is not None:
                self.progress.skipped += 1
                slot.outcome = BatchSkipped(
                    index=index, paths=found.paths, metadata=found.metadata, request=item.request
                )
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
    defaults: Mapping[str, object],
) -> _ReorderWindow:
    # Run when generate_many_* is called, not on first iteration: bad options fail at once.
    _check_concurrency(concurrency)
    store = None
    if output_dir is not None:
        store = BatchStore(open_folder(output_dir), batch_id, new_id=uuid.uuid4().hex)
    namespace = store.batch_id if store is not None else (batch_id or "")
    progress = _Progress(_total_of(requests), on_progress)
    return _ReorderWindow(concurrency, fail_fast, store, namespace, progress, defaults)


def _save_to(store: BatchStore | None, item: _Item, result: R) -> R:
    if store is not None:
        store.save(item.stored, result)  # small local writes; not worth a thread hop in async
    return result


def _generate_sync(images: _SyncImages[R], item: _Item) -> R:
    """The one place the batch calls the client (sync)."""
    return images.generate(item.prompt, **item.params)


async def _generate_async(images: _AsyncImages[R], item: _Item) -> R:
    """The one place the batch calls the client (async)."""
    return await images.generate(item.prompt, **item.params)


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
    defaults: Mapping[str, object] | None = None,
) -> Iterator[R | BatchError | BatchSkipped]:
    """Generate one result per item of ``requests`` on threads, in input order.

    ``requests`` holds prompts, dicts of per-item parameters (``prompt`` required) or
    request objects; ``defaults`` (parameter name -> value) apply to every item. See
    the module docstring for ordering, failures, resume and cancellation. ``batch_id``
    names the batch in the idempotency keys (default: kept in ``output_dir``, or none
    without one).
    """
    window = _open_window(
        requests, concurrency, fail_fast, output_dir, on_progress, batch_id, defaults or {}
    )
    return _run_sync(client, iter(requests), window)


def _run_sync(
    client: SyncClientLike[R], source: Iterator[object], window: _ReorderWindow
) -> Iterator[R | BatchError | BatchSkipped]:
    images = _sync_images(client)

    def call(item: _Item) -> R:
        return _save_to(window.store, item, _generate_sync(images, item))

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
        if window.store is not None:
            window.store.close()


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
    defaults: Mapping[str, object] | None = None,
) -> AsyncIterator[R | BatchError | BatchSkipped]:
    """Like :func:`generate_many_sync`, on asyncio tasks; ``requests`` may be async.

    Cancelling the consuming task cancels the running calls (finished images stay on
    disk). Close the iterator when leaving early: ``async with aclosing(...)``.
    """
    window = _open_window(
        requests, concurrency, fail_fast, output_dir, on_progress, batch_id, defaults or {}
    )
    return _run_async(client, requests, window)


async def _run_async(
    client: AsyncClientLike[R],
    requests: Iterable[RequestItem] | AsyncIterable[RequestItem],
    window: _ReorderWindow,
) -> AsyncIterator[R | BatchError | BatchSkipped]:
    images = _async_images(client)

    async def call(item: _Item) -> R:
        return _save_to(window.store, item, await _generate_async(images, item))

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
        if window.store is not None:
            window.store.close()

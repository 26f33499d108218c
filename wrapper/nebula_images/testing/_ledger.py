"""The billing ledger and the idempotency store behind it.

Every generation that "ran" (a normal answer or a billed fault) is one
``LedgerEntry``. A request that repeats an ``Idempotency-Key`` of the same API key
within the window gets the stored first result and adds no entry; with another body
it is refused (``IdempotencyKeyReused``), as Stripe does.

The store is bounded: results older than the window are dropped on every store and
lookup, and past ``max_results`` or ``max_result_bytes`` the oldest go first (a key
evicted early is then billed again, which a mock may afford; its memory may not grow).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

#: Bounds of the idempotency store (a 1024x1024 result is about 67 KB).
MAX_STORED_RESULTS = 10_000
MAX_STORED_BYTES = 256 * 1024 * 1024


class IdempotencyKeyReused(Exception):
    """The key was first used with another request body."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One billed generation."""

    idempotency_key: str | None
    model: str
    request_id: str
    billed_at: float  # Unix time
    prompt: str
    width: int
    height: int
    seed: int | None
    outcome: str  # "ok" or the kind of the billed fault that followed the generation

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as served by ``GET /_mock/ledger``."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class StoredResult:
    """The first result of an idempotency key: the 200 body and when it was made."""

    body: bytes
    request_id: str
    created_at: float  # on the ledger's monotonic clock
    fingerprint: str | None = None  # of the request body that made it


class Ledger:
    """Thread-safe record of billed generations plus the idempotency store."""

    def __init__(
        self,
        *,
        max_results: int = MAX_STORED_RESULTS,
        max_result_bytes: int = MAX_STORED_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock``: the monotonic clock the idempotency window counts with (tests fake
        it to let the window pass without waiting)."""
        self._lock = threading.Lock()
        self._entries: list[LedgerEntry] = []
        # Insertion order is age order: eviction pops from the front.
        self._results: dict[tuple[str, str], StoredResult] = {}
        self._result_bytes = 0
        self._max_results = max_results
        self._max_result_bytes = max_result_bytes
        self._clock = clock
        self._replayed = 0

    @property
    def stored_bytes(self) -> int:
        """Bytes of result bodies held by the idempotency store."""
        with self._lock:
            return self._result_bytes

    @property
    def entries(self) -> list[LedgerEntry]:
        """Billed generations, oldest first (a copy)."""
        with self._lock:
            return list(self._entries)

    @property
    def billed(self) -> int:
        """How many generations were billed."""
        with self._lock:
            return len(self._entries)

    @property
    def replayed(self) -> int:
        """How many requests were answered from the idempotency store (not billed)."""
        with self._lock:
            return self._replayed

    def bill(self, entry: LedgerEntry) -> None:
        """Record one billed generation."""
        with self._lock:
            self._entries.append(entry)

    def lookup(
        self, scope: str, key: str, window_seconds: float, fingerprint: str | None = None
    ) -> StoredResult | None:
        """The stored result for ``key`` if it is younger than the window, and count the
        replay; raises ``IdempotencyKeyReused`` when it was made from another body."""
        with self._lock:
            self._evict(window_seconds)
            stored = self._results.get((scope, key))
            if stored is None:
                return None
            if stored.fingerprint != fingerprint and None not in (stored.fingerprint, fingerprint):
                raise IdempotencyKeyReused(key)
            self._replayed += 1
            return stored

    def store(
        self,
        scope: str,
        key: str,
        body: bytes,
        request_id: str,
        *,
        fingerprint: str | None = None,
        window_seconds: float | None = None,
    ) -> None:
        """Keep ``body`` as the first result of ``key`` (made from the body ``fingerprint``)."""
        with self._lock:
            if window_seconds is not None:
                self._evict(window_seconds)
            self._drop((scope, key))
            self._results[(scope, key)] = StoredResult(body, request_id, self._clock(), fingerprint)
            self._result_bytes += len(body)
            while self._results and (
                len(self._results) > self._max_results
                or self._result_bytes > self._max_result_bytes
            ):
                self._drop(next(iter(self._results)))

    def _evict(self, window_seconds: float) -> None:
        """Drop the results older than the window (the oldest are first)."""
        expired_before = self._clock() - window_seconds
        while self._results:
            oldest = next(iter(self._results))
            if self._results[oldest].created_at >= expired_before:
                break
            self._drop(oldest)

    def _drop(self, slot: tuple[str, str]) -> None:
        stored = self._results.pop(slot, None)
        if stored is not None:
            self._result_bytes -= len(stored.body)

    def clear(self) -> None:
        """Forget every entry and stored result."""
        with self._lock:
            self._entries.clear()
            self._results.clear()
            self._result_bytes = 0
            self._replayed = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot, as served by ``GET /_mock/ledger``."""
        with self._lock:
            return {
                "billed": len(self._entries),
                "replayed": self._replayed,
                "entries": [e.to_dict() for e in self._entries],
            }

"""The billing ledger and the idempotency store behind it.

Every generation that "ran" (a normal answer or a billed fault) is one
``LedgerEntry``. A request that repeats an ``Idempotency-Key`` of the same API key
within the window gets the stored first result and adds no entry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


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


class Ledger:
    """Thread-safe record of billed generations plus the idempotency store."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock``: the monotonic clock the idempotency window counts with (tests fake
        it to let the window pass without waiting)."""
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: list[LedgerEntry] = []
        self._results: dict[tuple[str, str], StoredResult] = {}
        self._replayed = 0

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

    def lookup(self, scope: str, key: str, window_seconds: float) -> StoredResult | None:
        """The stored result for ``key`` if it is younger than the window, and count the replay."""
        now = self._clock()
        with self._lock:
            stored = self._results.get((scope, key))
            if stored is None:
                return None
            if now - stored.created_at > window_seconds:
                del self._results[(scope, key)]
                return None
            self._replayed += 1
            return stored

    def store(self, scope: str, key: str, body: bytes, request_id: str) -> None:
        """Keep ``body`` as the first result of ``key``."""
        with self._lock:
            self._results[(scope, key)] = StoredResult(body, request_id, self._clock())

    def clear(self) -> None:
        """Forget every entry and stored result."""
        with self._lock:
            self._entries.clear()
            self._results.clear()
            self._replayed = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot, as served by ``GET /_mock/ledger``."""
        with self._lock:
            return {
                "billed": len(self._entries),
                "replayed": self._replayed,
                "entries": [e.to_dict() for e in self._entries],
            }

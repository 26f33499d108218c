"""Per-key request limits over a sliding minute and a sliding day, like the vendor's tiers."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

Period = Literal["minute", "day"]

#: The length of each window. Both slide: a request counts for exactly this long.
WINDOW_SECONDS: Mapping[Period, float] = {"minute": 60.0, "day": 24 * 3600.0}


@dataclass(frozen=True, slots=True)
class RateLimited:
    """A refused request: which limit it hit and the whole seconds until one slot frees."""

    period: Period
    limit: int
    retry_after: int

    @property
    def message(self) -> str:
        """The error message the mock answers with, e.g. "... 200 requests per day"."""
        requests = "request" if self.limit == 1 else "requests"
        return f"Rate limit exceeded: {self.limit} {requests} per {self.period}"


class RateLimiter:
    """Counts the requests of each key in each window it is asked about; thread-safe.

    ``clock`` is a monotonic clock in seconds; tests pass a fake one to let a day pass.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, Period], deque[float]] = {}

    def acquire(self, key: str, limits: Mapping[Period, int]) -> RateLimited | None:
        """Count one request against every limit, or none if any refuses it.

        Returns None when allowed; else the refusal with the longest wait (the one a
        client must sit out), so a request both limits refuse reports the daily one.
        """
        now = self._clock()
        with self._lock:
            refusals: list[RateLimited] = []
            for period, limit in limits.items():
                hits = self._hits.setdefault((key, period), deque())
                window = WINDOW_SECONDS[period]
                while hits and hits[0] <= now - window:
                    hits.popleft()
                if len(hits) >= limit:
                    # After a limit is lowered more than one request may have to leave.
                    frees_at = hits[len(hits) - limit] + window
                    wait = max(1, math.ceil(frees_at - now))
                    refusals.append(RateLimited(period, limit, wait))
            if refusals:
                return max(refusals, key=lambda refusal: refusal.retry_after)
            for period in limits:
                self._hits[(key, period)].append(now)
            return None

    def clear(self) -> None:
        """Forget every count."""
        with self._lock:
            self._hits.clear()

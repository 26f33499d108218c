"""Per-key request rate limit over a sliding minute, like the vendor's account tiers."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateLimiter:
    """Counts requests per key over the last 60 s; thread-safe."""

    WINDOW_SECONDS = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def acquire(self, key: str, per_minute: int) -> int | None:
        """Count one request; None if allowed, else the whole seconds to wait (>= 1)."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= per_minute:
                return max(1, math.ceil(hits[0] + self.WINDOW_SECONDS - now))
            hits.append(now)
            return None

    def clear(self) -> None:
        """Forget every count."""
        with self._lock:
            self._hits.clear()

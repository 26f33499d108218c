"""Client-side rate limiting: ``rate_limit=`` requests per minute, shared by all
threads of a Client or all tasks of an AsyncClient.

Both limiters space requests evenly (a leaky bucket of capacity one), so no window
of 60 s ever holds more than the configured count, whatever window the server uses:
a batch never triggers a 429 on its own.

* async: ``aiolimiter.AsyncLimiter`` (well kept, asyncio-native, fair FIFO waiters).
* threads: aiolimiter is asyncio-only and the thread-safe options on PyPI
  (pyrate-limiter, limits) bring storage backends we do not need, so this is a
  20-line reservation limiter under a lock; it takes the client's injectable
  clock and sleep, so tests measure its waits without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["AsyncRateLimiter", "RateLimiter"]


class RateLimiter:
    """Thread-safe: at most ``per_minute`` acquisitions per minute, evenly spaced."""

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.per_minute = per_minute
        self.interval = 60.0 / per_minute
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_free: float | None = None

    def acquire(self, max_wait: float | None = None) -> float | None:
        """Wait for a slot; return the seconds waited, or None (without waiting or
        taking a slot) when the wait would exceed ``max_wait``."""
        with self._lock:
            now = self._clock()
            slot = now if self._next_free is None else max(now, self._next_free)
            wait = slot - now
            if max_wait is not None and wait > max_wait:
                return None
            self._next_free = slot + self.interval
        if wait > 0:
            self._sleep(wait)
        return wait


class AsyncRateLimiter:
    """Async: at most ``per_minute`` acquisitions per minute, evenly spaced (aiolimiter)."""

    def __init__(self, per_minute: float) -> None:
        self.per_minute = per_minute
        import aiolimiter  # only clients with rate_limit= pay for importing it

        # Capacity 1 refilled every 60/per_minute s: even spacing, no initial burst.
        self._limiter = aiolimiter.AsyncLimiter(1, 60.0 / per_minute)

    async def acquire(self, max_wait: float | None = None) -> float | None:
        """Wait for a slot; return the seconds waited, or None when the wait would
        exceed ``max_wait`` (the slot is then not taken)."""
        import asyncio

        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            if max_wait is None:
                await self._limiter.acquire()
            else:
                async with asyncio.timeout(max(max_wait, 0)):
                    await self._limiter.acquire()
        except TimeoutError:
            return None
        return loop.time() - started

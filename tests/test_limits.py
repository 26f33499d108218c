"""Client-side rate limiting: a burst stays within rate_limit, shared by threads and tasks."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from _wrapper_helpers import FakeClock

from nebula_images import APITimeoutError, AsyncClient, Client
from nebula_images._limits import AsyncRateLimiter, RateLimiter


def test_sync_limiter_spaces_evenly_with_fake_clock() -> None:
    clock = FakeClock(advance=False)
    limiter = RateLimiter(60, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(4)]
    assert waits == [0, 1, 2, 3]  # reservations one second apart at 60/min
    clock.now = 10.0
    assert limiter.acquire() == 0
    assert limiter.acquire(max_wait=0.5) is None  # would wait 1 s: refused, no slot taken
    assert limiter.acquire() == 1
    assert clock.sleeps == [1, 2, 3, 1]


def test_sync_limited_burst_takes_the_configured_time(nebula_mock: Any) -> None:
    started = time.monotonic()
    with (
        Client(
            api_key=nebula_mock.api_key, base_url=nebula_mock.base_url, rate_limit=600
        ) as client,
        ThreadPoolExecutor(5) as pool,
    ):
        list(pool.map(lambda i: client.images.generate(f"p{i}", width=64, height=64), range(5)))
    elapsed = time.monotonic() - started
    assert elapsed >= 0.4 - 0.02  # 5 requests at 10/s: 4 gaps of 0.1 s
    assert nebula_mock.requests_seen == 5


async def test_async_limited_burst_takes_the_configured_time(nebula_mock: Any) -> None:
    started = time.monotonic()
    async with AsyncClient(
        api_key=nebula_mock.api_key, base_url=nebula_mock.base_url, rate_limit=600
    ) as client:
        await asyncio.gather(
            *(client.images.generate(f"p{i}", width=64, height=64) for i in range(5))
        )
    elapsed = time.monotonic() - started
    assert elapsed >= 0.4 - 0.02
    assert nebula_mock.requests_seen == 5


async def test_async_limiter_refuses_past_max_wait() -> None:
    limiter = AsyncRateLimiter(60)
    assert await limiter.acquire() is not None
    assert await limiter.acquire(max_wait=0.05) is None


@pytest.mark.parametrize("rate", [120])
def test_burst_never_triggers_server_429(nebula_mock: Any, rate: int) -> None:
    """The mock enforces the same per-minute rate; the limited client never sees a 429."""
    nebula_mock.configure(rate_limit_per_minute=rate)
    seen: list[int | None] = []
    with (
        Client(
            api_key=nebula_mock.api_key,
            base_url=nebula_mock.base_url,
            rate_limit=rate,
            on_response=lambda e: seen.append(e.status),
        ) as client,
        ThreadPoolExecutor(4) as pool,
    ):
        list(pool.map(lambda i: client.images.generate(f"p{i}", width=64, height=64), range(4)))
    assert seen == [200] * 4


def test_rate_limit_wait_past_deadline_fails_fast(nebula_mock: Any) -> None:
    with Client(
        api_key=nebula_mock.api_key, base_url=nebula_mock.base_url, rate_limit=6, deadline=1
    ) as client:
        client.images.generate("first", width=64, height=64)
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match="rate_limit"):
            client.images.generate("second", width=64, height=64)
        assert time.monotonic() - started < 0.5
    assert nebula_mock.requests_seen == 1

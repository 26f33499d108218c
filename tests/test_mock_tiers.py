"""The mock's rate limits by account tier: per minute, per day, tiers, overrides, reset."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from nebula_images import Client, RateLimitError
from nebula_images.testing import MockConfig, MockServer
from nebula_images.testing._config import TIERS, TierLimits
from nebula_images.testing._ratelimit import RateLimiter

DAY = 24 * 3600
BODY = {"model_name": "black-forest-labs/FLUX.1-schnell", "prompt": "x", "width": 64, "height": 64}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def timed_server(clock: Clock) -> Iterator[MockServer]:
    """A mock whose rate limits count on ``clock``, so a day can pass in no time."""
    with MockServer(clock=clock) as server:
        yield server


@pytest.fixture
def mock(timed_server: MockServer, clock: Clock) -> MockServer:
    """Here ``mock`` (and conftest's ``mock_http`` on it) is the fake-clock mock, reset."""
    timed_server.reset(config=timed_server.initial_config)
    clock.now = 1000.0
    return timed_server


def models(http: httpx.Client) -> httpx.Response:
    return http.get("/serverless/models")


def assert_limited(response: httpx.Response, wait: int, message: str) -> None:
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(wait)
    assert response.json() == {
        "message": message,
        "status": "failed",
        "data": None,
        "retry_after": wait,
    }


# -- per-day limit -------------------------------------------------------------------


def test_per_day_limit_refuses_after_n_until_the_oldest_leaves(
    mock: MockServer, mock_http: httpx.Client, clock: Clock
) -> None:
    mock.configure(rate_limit_per_day=2)
    assert mock_http.post("/images/generation", json=BODY).status_code == 200  # t = 1000
    clock.now += 3600
    assert models(mock_http).status_code == 200  # t = 4600
    clock.now += 3600
    refused = mock_http.post("/images/generation", json=BODY)  # t = 8200
    assert_limited(refused, DAY - 7200, "Rate limit exceeded: 2 requests per day")
    assert mock.ledger.billed == 1  # refused before it ran
    clock.now = 1000 + DAY - 0.5
    assert_limited(models(mock_http), 1, "Rate limit exceeded: 2 requests per day")
    clock.now = 1000 + DAY  # the first request leaves the sliding 24 h window
    assert models(mock_http).status_code == 200
    clock.now += 1  # the next slot frees when the t = 4600 request leaves
    assert_limited(models(mock_http), 3599, "Rate limit exceeded: 2 requests per day")
    assert mock.requests_seen == 6


def test_per_day_limit_counts_per_key(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.configure(rate_limit_per_day=1)
    assert models(mock_http).status_code == 200
    assert_limited(models(mock_http), DAY, "Rate limit exceeded: 1 request per day")
    other = {"Authorization": "Bearer ak_another_user"}
    assert httpx.get(f"{mock.base_url}/serverless/models", headers=other).status_code == 200


def test_the_minute_limit_frees_first_and_refusals_do_not_count(
    mock: MockServer, mock_http: httpx.Client, clock: Clock
) -> None:
    mock.configure(rate_limit_per_minute=2, rate_limit_per_day=4)
    assert [models(mock_http).status_code for _ in range(2)] == [200, 200]
    clock.now += 20
    assert_limited(models(mock_http), 40, "Rate limit exceeded: 2 requests per minute")
    assert_limited(models(mock_http), 40, "Rate limit exceeded: 2 requests per minute")
    clock.now += 40
    # The two refusals were not counted: two more fit in this minute and this day.
    assert [models(mock_http).status_code for _ in range(2)] == [200, 200]
    # Both limits now refuse: the answer names the one that must be sat out, the day.
    assert_limited(models(mock_http), DAY - 60, "Rate limit exceeded: 4 requests per day")


def test_lowering_a_limit_waits_for_enough_requests_to_leave() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    for t in (0, 10, 20):
        clock.now = t
        assert limiter.acquire("k", {"minute": 3}) is None
    clock.now = 30
    refused = limiter.acquire("k", {"minute": 1})
    assert refused is not None and refused.retry_after == 50  # the t = 20 request must leave
    assert limiter.acquire("k", {}) is None  # no limits: nothing counted, nothing refused


def test_reset_clears_the_day_counts(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.configure(rate_limit_per_day=1)
    assert models(mock_http).status_code == 200
    assert models(mock_http).status_code == 429
    mock.reset()
    assert models(mock_http).status_code == 200
    assert models(mock_http).status_code == 429
    assert httpx.post(f"{mock.url}/_mock/reset", json={}, timeout=10).status_code == 200
    assert models(mock_http).status_code == 200
    assert mock.config.rate_limit_per_day == 1  # reset keeps the settings


# -- tiers -----------------------------------------------------------------------------


def test_tiers_are_the_vendors() -> None:
    assert {name: (t.per_minute, t.per_day) for name, t in TIERS.items()} == {
        "tier1": (60, 200),
        "tier2": (300, 1000),
        "tier3": (600, 2000),
        "tier4": (1500, None),
        "tier5": (3000, None),
    }


def test_limits_are_off_by_default() -> None:
    config = MockConfig()
    assert config.tier is None and config.rate_limit_per_day is None
    assert config.rate_limits == TierLimits(per_minute=None, per_day=None)


@pytest.mark.parametrize(
    ("name", "canonical"), [("entry", "tier1"), ("Tier3", "tier3"), (" tier5 ", "tier5")]
)
def test_tier_names_and_alias(name: str, canonical: str) -> None:
    config = MockConfig(tier=name)
    assert config.tier == canonical
    assert config.rate_limits == TIERS[canonical]


@pytest.mark.parametrize("bad", ["gold", "tier6", "", 3])
def test_unknown_tier_names_the_choices(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"tier: unknown tier .*tier1, tier2.*entry"):
        MockConfig(tier=bad)


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "100"])
def test_bad_per_day_values_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="rate_limit_per_day must be an integer >= 1"):
        MockConfig(rate_limit_per_day=bad)


def test_explicit_values_override_the_tier() -> None:
    assert MockConfig(tier="entry", rate_limit_per_day=5).rate_limits == TierLimits(60, 5)
    assert MockConfig(tier="tier4", rate_limit_per_minute=7).rate_limits == TierLimits(7, None)
    assert MockConfig(tier="tier5", rate_limit_per_day=9).rate_limits == TierLimits(3000, 9)
    assert MockConfig(rate_limit_per_day=4).rate_limits == TierLimits(None, 4)


def test_entry_tier_from_python_is_enforced(
    mock: MockServer, mock_http: httpx.Client, clock: Clock
) -> None:
    """60 a minute, then 200 a day: the day's limit is reached in the fourth minute."""
    assert mock.configure(tier="entry").tier == "tier1"
    started = clock.now
    for minute, count in enumerate((60, 60, 60, 20)):
        clock.now = started + 60 * minute
        assert [models(mock_http).status_code for _ in range(count)] == [200] * count
    assert_limited(models(mock_http), DAY - 180, "Rate limit exceeded: 200 requests per day")
    assert mock.requests_seen == 201


def test_entry_tier_minute_limit(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.configure(tier="entry")
    assert all(models(mock_http).status_code == 200 for _ in range(60))
    assert_limited(models(mock_http), 60, "Rate limit exceeded: 60 requests per minute")


def test_explicit_value_overrides_the_tier_on_a_running_mock(
    mock: MockServer, mock_http: httpx.Client
) -> None:
    mock.configure(tier="tier2", rate_limit_per_day=2)
    assert [models(mock_http).status_code for _ in range(3)] == [200, 200, 429]
    assert mock.config.rate_limits == TierLimits(300, 2)
    mock.configure(rate_limit_per_day=None)  # back to the tier's 1000
    assert models(mock_http).status_code == 200
    mock.configure(tier=None)  # and off
    assert mock.config.rate_limits == TierLimits(None, None)


def test_tier_over_the_control_path(mock: MockServer, mock_http: httpx.Client) -> None:
    url = f"{mock.url}/_mock/config"
    config = httpx.post(url, json={"tier": "entry", "rate_limit_per_day": 1}, timeout=10).json()
    assert config["tier"] == "tier1"
    assert config["rate_limit_per_day"] == 1 and config["rate_limit_per_minute"] is None
    assert config["rate_limits_in_force"] == {"per_minute": 60, "per_day": 1}
    assert httpx.get(url, timeout=10).json()["tier"] == "tier1"
    assert models(mock_http).status_code == 200
    assert_limited(models(mock_http), DAY, "Rate limit exceeded: 1 request per day")
    for bad, field in (({"tier": "gold"}, "tier"), ({"rate_limit_per_day": "5"}, "per_day")):
        refused = httpx.post(url, json=bad, timeout=10)
        assert refused.status_code == 400 and field in refused.json()["message"]
    assert mock.config.tier == "tier1"  # a refused change changes nothing
    off = httpx.post(url, json={"tier": None, "rate_limit_per_day": None}, timeout=10).json()
    assert off["rate_limits_in_force"] == {"per_minute": None, "per_day": None}
    assert models(mock_http).status_code == 200


def test_tier_from_the_command_line() -> None:
    options = ["--port", "0", "--tier", "entry", "--rate-limit-per-day", "5"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nebula_images.testing", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(6)]
        match = re.search(r"(http://127\.0\.0\.1:\d+)/api/v1", banner[0])
        assert match, banner
        assert any("rate limits per key (tier1): 60/min, 5/day" in line for line in banner)
        config = httpx.get(f"{match.group(1)}/_mock/config", timeout=10).json()
        assert config["tier"] == "tier1" and config["rate_limit_per_day"] == 5
        assert config["rate_limits_in_force"] == {"per_minute": 60, "per_day": 5}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_command_line_help_lists_the_tiers_and_refuses_unknown_ones() -> None:
    command = [sys.executable, "-m", "nebula_images.testing"]
    out = subprocess.run([*command, "--help"], capture_output=True, text=True, check=True)
    help_text = " ".join(out.stdout.split())
    for line in (
        "tier1 (alias entry): 60/min, 200/day",
        "tier2: 300/min, 1000/day",
        "tier3: 600/min, 2000/day",
        "tier4: 1500/min, no daily limit",
        "tier5: 3000/min, no daily limit",
    ):
        assert line in help_text
    assert "--rate-limit-per-day" in help_text and "not a calendar day" in help_text
    bad = subprocess.run([*command, "--tier", "gold"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "unknown tier 'gold'" in bad.stderr and "tier5" in bad.stderr


# -- through the wrapper -----------------------------------------------------------------


def test_client_fails_at_once_when_the_day_is_used_up(nebula_mock: MockServer) -> None:
    nebula_mock.configure(rate_limit_per_day=1)
    with Client(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        client.images.generate("first", width=64, height=64)
        seen = nebula_mock.requests_seen
        started = time.monotonic()
        with pytest.raises(RateLimitError) as caught:
            client.images.generate("second", width=64, height=64)
        elapsed = time.monotonic() - started
    error = caught.value
    assert elapsed < 5  # the wrapper's max_retry_wait (60 s) refuses a day's wait at once
    assert error.status == 429 and error.attempts == 1
    assert error.retry_after is not None and DAY - 10 <= error.retry_after <= DAY
    assert "1 request per day" in str(error)
    assert not error.may_have_been_billed
    assert nebula_mock.requests_seen == seen + 1  # one request, no retries
    assert nebula_mock.ledger.billed == 1

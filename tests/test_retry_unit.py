"""Retries over MockTransport with a fake clock: failure classes, Retry-After in every
form, backoff, max_retry_wait, the deadline, hooks; plus two short real waits."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, TypeVar

import httpx
import pytest
from _wrapper_helpers import BASE, MODELS_BODY, FakeClock, generation_body
from hypothesis import given, settings
from hypothesis import strategies as st

from nebula_images import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    BadRequestError,
    Client,
    InternalServerError,
    RateLimitError,
    RequestEvent,
)
from nebula_images._retry import parse_retry_after

C = TypeVar("C", Client, AsyncClient)
OK_BODY = generation_body()


class Script:
    """Answers requests from a list of outcomes (a Response factory or an exception)."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if self.outcomes else 200
        if isinstance(outcome, type) and issubclass(outcome, Exception):
            raise outcome("scripted", request=request)
        if isinstance(outcome, httpx.Response):
            return outcome
        body = MODELS_BODY if request.url.path.endswith("/models") else OK_BODY
        if outcome == 200:
            return httpx.Response(
                200, json=body, headers={"X-Request-ID": f"req-{len(self.requests)}"}
            )
        return httpx.Response(outcome, json={"message": f"status {outcome}", "status": "failed"})

    @property
    def keys(self) -> list[str | None]:
        return [r.headers.get("Idempotency-Key") for r in self.requests]


def status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(
        code, json={"message": f"status {code}", "status": "failed"}, headers=headers
    )


def on_fake_time(client: C, clock: FakeClock, sleep: Any) -> C:
    """``client`` with its clocks and sleep replaced, so waits are measured, not taken."""
    client._clock = clock
    client._sleep = sleep
    client._wallclock = lambda: 1_700_000_000.0
    return client


def scripted(script: Script, **kwargs: Any) -> Client:
    http = httpx.Client(transport=httpx.MockTransport(script))
    return Client(api_key="ak_retry", base_url=BASE, http_client=http, **kwargs)


def ascripted(script: Script, **kwargs: Any) -> AsyncClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(script))
    return AsyncClient(api_key="ak_retry", base_url=BASE, http_client=http, **kwargs)


def make(script: Script, clock: FakeClock, **kwargs: Any) -> Client:
    return on_fake_time(scripted(script, **kwargs), clock, clock.sleep)


def amake(script: Script, clock: FakeClock, **kwargs: Any) -> AsyncClient:
    return on_fake_time(ascripted(script, **kwargs), clock, clock.asleep)


# --- Retry-After in every form ------------------------------------------------------


def test_parse_retry_after_forms() -> None:
    now = 1_700_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 7, tz=UTC), usegmt=True)
    assert parse_retry_after({"Retry-After": "3"}, None, now=lambda: now) == 3
    assert parse_retry_after({"Retry-After": "1.5"}, None, now=lambda: now) == 1.5
    assert parse_retry_after({"Retry-After": date}, None, now=lambda: now) == pytest.approx(7)
    assert parse_retry_after({"retry-after-ms": "250"}, None, now=lambda: now) == 0.25
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}, None) == 0.25
    assert parse_retry_after({}, b'{"message": "x", "retry_after": 4}') == 4
    assert parse_retry_after({"Retry-After": "2"}, b'{"retry_after": 4}') == 2
    past = format_datetime(datetime.fromtimestamp(now - 50, tz=UTC), usegmt=True)
    assert parse_retry_after({"Retry-After": past}, None, now=lambda: now) == 0
    for junk in ("soon", "-1", "nan", ""):
        assert parse_retry_after({"Retry-After": junk}, None) is None
    assert parse_retry_after({}, b"not json") is None
    assert parse_retry_after({}, b'{"retry_after": "4"}') is None


def test_parse_retry_after_ignores_waits_no_float_can_hold() -> None:
    huge = b'{"retry_after": 1' + b"0" * 400 + b"}"  # an int past the float range
    assert parse_retry_after({}, huge) is None
    assert parse_retry_after({"Retry-After": "9" * 400}, None) is None  # inf
    assert parse_retry_after({}, b'{"retry_after": 1e999}') is None
    assert parse_retry_after({}, b'{"retry_after": 10}') == 10


def test_parse_retry_after_survives_deeply_nested_bodies() -> None:
    # json.loads raises RecursionError here, not ValueError.
    assert parse_retry_after({}, b'{"a": ' * 100_000) is None
    assert parse_retry_after({}, b'{"retry_after": 3, "x": ' + b"[" * 100_000) is None


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "3"}, None, 3.0),
        ({"Retry-After": "Tue, 14 Nov 2023 22:13:25 GMT"}, None, 5.0),  # wallclock 22:13:20
        ({"retry-after-ms": "1500"}, None, 1.5),
        ({}, {"message": "slow", "status": "failed", "retry_after": 2.5}, 2.5),
    ],
)
def test_429_waits_what_the_server_asks(
    headers: dict[str, str], body: Any, expected: float
) -> None:
    clock = FakeClock(1000.0)
    answer = httpx.Response(
        429, json=body or {"message": "slow", "status": "failed"}, headers=headers
    )
    script = Script(answer, 200)
    events: list[RequestEvent] = []
    with make(script, clock, on_retry=events.append) as client:
        result = client.images.generate("x")
    assert clock.sleeps == [pytest.approx(expected)]
    assert result.retries == 1 and len(script.requests) == 2
    assert script.keys[0] == script.keys[1] == result.idempotency_key
    assert (
        events[0].wait == pytest.approx(expected)
        and events[0].status == 429
        and events[0].attempt == 1
    )


def test_wait_longer_than_max_retry_wait_fails_at_once() -> None:
    clock = FakeClock(1000.0)
    script = Script(status(429, **{"Retry-After": "120"}), 200)
    with make(script, clock) as client, pytest.raises(RateLimitError) as info:
        client.images.generate("x")
    assert clock.sleeps == [] and len(script.requests) == 1
    assert info.value.retry_after == 120 and info.value.status == 429
    assert "max_retry_wait=60" in str(info.value)


def test_wait_past_the_deadline_fails_at_once() -> None:
    clock = FakeClock(1000.0)
    script = Script(status(429, **{"Retry-After": "10"}), 200)
    with make(script, clock, deadline=5) as client, pytest.raises(RateLimitError) as info:
        client.images.generate("x")
    assert clock.sleeps == [] and info.value.retry_after == 10 and "deadline" in str(info.value)


def test_custom_max_retry_wait() -> None:
    clock = FakeClock(1000.0)
    script = Script(status(429, **{"Retry-After": "3"}), 200)
    with make(script, clock, max_retry_wait=2) as client, pytest.raises(RateLimitError) as info:
        client.images.generate("x")
    assert clock.sleeps == [] and len(script.requests) == 1
    assert "max_retry_wait=2" in str(info.value)


@pytest.mark.parametrize("header", ["Retry-After", "retry-after-ms"])
def test_retry_after_equal_to_max_retry_wait_is_waited(header: str) -> None:
    """The limit is inclusive: a server asking for exactly max_retry_wait gets its wait."""
    clock = FakeClock(1000.0)
    value = "3" if header == "Retry-After" else "3000"
    script = Script(status(429, **{header: value}), 200)
    with make(script, clock, max_retry_wait=3) as client:
        result = client.images.generate("x")
    assert clock.sleeps == [3.0] and len(script.requests) == 2 and result.retries == 1


# --- failure classes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "first", [429, httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout], ids=str
)
def test_never_started_is_retried_by_default(first: Any) -> None:
    clock = FakeClock(1000.0)
    script = Script(first, 200)
    with make(script, clock) as client:
        result = client.images.generate("x")
    assert result.retries == 1 and len(script.requests) == 2 and len(set(script.keys)) == 1
    assert len(clock.sleeps) == 1 and 0 < clock.sleeps[0] <= 1.0  # first backoff ~0.5 s + jitter


@pytest.mark.parametrize(
    ("first", "error"),
    [
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),  # the vendor documents no 503: it may have started
        (504, InternalServerError),
        (408, APIStatusError),  # the same for 408
        (httpx.ReadTimeout, APITimeoutError),
        (httpx.WriteTimeout, APITimeoutError),
        (httpx.RemoteProtocolError, APIConnectionError),
        (httpx.ReadError, APIConnectionError),
    ],
    ids=str,
)
def test_ambiguous_is_not_retried_by_default(first: Any, error: type[Exception]) -> None:
    clock = FakeClock(1000.0)
    script = Script(first, 200)
    with make(script, clock) as client, pytest.raises(error) as info:
        client.images.generate("x", idempotency_key="amb-1")
    assert len(script.requests) == 1 and clock.sleeps == []
    assert info.value.may_have_been_billed and info.value.idempotency_key == "amb-1"  # type: ignore[attr-defined]
    assert "may have run and been billed" in str(info.value)


@pytest.mark.parametrize("where", ["client", "call"])
def test_retry_ambiguous_opts_in(where: str) -> None:
    clock = FakeClock(1000.0)
    script = Script(500, httpx.ReadTimeout, 200)
    kwargs = {"retry_ambiguous": True} if where == "client" else {}
    with make(script, clock, **kwargs) as client:
        result = client.images.generate(
            "x", **({"retry_ambiguous": True} if where == "call" else {})
        )
    assert result.retries == 2 and len(set(script.keys)) == 1 and len(clock.sleeps) == 2
    assert clock.sleeps[1] > clock.sleeps[0] * 1.2 or clock.sleeps[1] >= 1.0  # exponential


def test_models_list_retries_ambiguous_failures() -> None:
    clock = FakeClock(1000.0)
    script = Script(500, httpx.ReadTimeout, 200)
    with make(script, clock) as client:
        assert client.models.list() == []
    assert len(script.requests) == 3
    assert script.keys == [None, None, None]


def test_pool_timeout_never_started_and_not_billed() -> None:
    """No connection came free: nothing was sent, so nothing can have been billed."""
    clock = FakeClock(1000.0)
    script = Script(httpx.PoolTimeout, httpx.PoolTimeout, httpx.PoolTimeout)
    with make(script, clock, max_retries=2) as client, pytest.raises(APITimeoutError) as info:
        client.images.generate("x")
    assert len(script.requests) == 3 and len(clock.sleeps) == 2
    assert info.value.may_have_been_billed is False


@pytest.mark.parametrize("retry_ambiguous", [False, True])
def test_501_is_final(retry_ambiguous: bool) -> None:
    """501 Not Implemented: the server will never do it; retrying cannot help."""
    clock = FakeClock(1000.0)
    script = Script(501, 200)
    with (
        make(script, clock, retry_ambiguous=retry_ambiguous) as client,
        pytest.raises(APIStatusError) as info,
    ):
        client.images.generate("x")
    assert len(script.requests) == 1 and clock.sleeps == []
    assert info.value.status == 501
    assert info.value.may_have_been_billed is False


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_4xx_never_retried(code: int) -> None:
    clock = FakeClock(1000.0)
    script = Script(code, 200)
    with make(script, clock, retry_ambiguous=True) as client, pytest.raises(APIStatusError):
        client.images.generate("x")
    with make(Script(code, 200), clock) as client, pytest.raises(APIStatusError):
        client.models.list()
    assert len(script.requests) == 1 and clock.sleeps == []


def test_max_retries_bounds_attempts() -> None:
    clock = FakeClock(1000.0)
    script = Script(429, 429, 429, 429, 200)
    with make(script, clock, max_retries=2) as client, pytest.raises(RateLimitError) as info:
        client.images.generate("x")
    assert len(script.requests) == 3 and info.value.attempts == 3 and len(clock.sleeps) == 2
    script0 = Script(429, 200)
    with make(script0, clock, max_retries=0) as client, pytest.raises(RateLimitError):
        client.images.generate("x")
    assert len(script0.requests) == 1


def test_deadline_stops_backoff() -> None:
    clock = FakeClock(1000.0)
    script = Script(429, 429, 429, 200)
    with (
        make(script, clock, max_retries=5, deadline=1.2) as client,
        pytest.raises(RateLimitError) as info,
    ):
        client.images.generate("x")
    assert sum(clock.sleeps) < 1.2 and "deadline" in str(info.value)


def test_per_call_deadline_overrides_client() -> None:
    clock = FakeClock(1000.0)
    script = Script(status(429, **{"Retry-After": "3"}), 200)
    with make(script, clock, deadline=1) as client:
        assert client.images.generate("x", deadline=10).retries == 1


def test_hooks_see_every_attempt() -> None:
    clock = FakeClock(1000.0)
    script = Script(status(429, **{"Retry-After": "2", "X-Request-ID": "req-429"}), 200)
    log: list[tuple[str, RequestEvent]] = []
    with make(
        script,
        clock,
        on_request=lambda e: log.append(("request", e)),
        on_retry=lambda e: log.append(("retry", e)),
        on_response=lambda e: log.append(("response", e)),
    ) as client:
        result = client.images.generate("x")
    assert [(n, e.attempt) for n, e in log] == [
        ("request", 1),
        ("response", 1),
        ("retry", 1),
        ("request", 2),
        ("response", 2),
    ]
    assert {e.idempotency_key for _, e in log} == {result.idempotency_key}
    assert log[1][1].status == 429 and log[1][1].request_id == "req-429"
    assert log[2][1].wait == 2 and log[4][1].status == 200 and log[4][1].request_id == "req-2"


async def test_async_retry_mirrors_sync() -> None:
    clock = FakeClock(1000.0)
    script = Script(status(429, **{"retry-after-ms": "700"}), 500, 200)
    async with amake(script, clock) as client:
        with pytest.raises(InternalServerError) as info:
            await client.images.generate("x")
    assert clock.sleeps == [pytest.approx(0.7)] and len(script.requests) == 2
    assert info.value.attempts == 2 and info.value.may_have_been_billed
    script2 = Script(500, 200)
    async with amake(script2, clock, retry_ambiguous=True) as client:
        assert (await client.images.generate("x")).retries == 1
    assert len(set(script2.keys)) == 1


def test_caller_key_reused_on_every_attempt() -> None:
    clock = FakeClock(1000.0)
    script = Script(httpx.ConnectError, 429, 200)
    with make(script, clock) as client:
        result = client.images.generate("x", idempotency_key="mine-123")
    assert script.keys == ["mine-123"] * 3 and result.idempotency_key == "mine-123"


# --- a couple of short real waits -----------------------------------------------------


def test_real_wait_honours_retry_after_ms() -> None:
    script = Script(status(429, **{"retry-after-ms": "300"}), 200)
    client = scripted(script)
    started = time.monotonic()
    with client:
        result = client.images.generate("x")
    elapsed = time.monotonic() - started
    assert result.retries == 1 and 0.3 <= elapsed < 2.0


async def test_real_async_wait_honours_retry_after() -> None:
    script = Script(status(429, **{"Retry-After": "0.3"}), 200)
    client = ascripted(script)
    started = time.monotonic()
    async with client:
        result = await client.images.generate("x")
    elapsed = time.monotonic() - started
    assert result.retries == 1 and 0.3 <= elapsed < 2.0


def test_bad_request_has_no_retry_even_for_models() -> None:
    with make(Script(400), FakeClock(1000.0)) as client, pytest.raises(BadRequestError):
        client.models.list()


def test_error_json_has_idempotency_key() -> None:
    script = Script(500)
    with make(script, FakeClock(1000.0)) as client, pytest.raises(InternalServerError) as info:
        client.images.generate("x")
    assert info.value.idempotency_key == json.loads(json.dumps(script.keys[0]))


# --- properties ---------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    header=st.one_of(st.none(), st.text(max_size=40)),
    millis=st.one_of(st.none(), st.text(max_size=12)),
    body=st.one_of(st.none(), st.binary(max_size=60)),
)
def test_parse_retry_after_never_raises_and_is_never_negative(
    header: str | None, millis: str | None, body: bytes | None
) -> None:
    headers = {}
    if header is not None:
        headers["Retry-After"] = header
    if millis is not None:
        headers["retry-after-ms"] = millis
    value = parse_retry_after(headers, body)
    assert value is None or value >= 0


@settings(max_examples=100, deadline=None)
@given(seconds=st.integers(min_value=0, max_value=10**6))
def test_delta_seconds_round_trip(seconds: int) -> None:
    assert parse_retry_after({"Retry-After": str(seconds)}, None) == seconds

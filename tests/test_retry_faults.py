"""Issue 5's fault table against the mock server: for every fault class, sync and async,
default settings and retry_ambiguous=True: requests seen, generations billed, waits,
one idempotency key across attempts, the deadline, the error class and message."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from nebula_images import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    Client,
    GenerationFailedError,
    InternalServerError,
    RateLimitError,
    RequestEvent,
    ResponseValidationError,
    UnprocessableEntityError,
)
from nebula_images._retry import default_backoff
from nebula_images.testing import Fault

# fault name -> (fault factory, expected default outcome, expected outcome with retry_ambiguous)
# An outcome is ("ok", requests seen, billed) or (error class, requests seen, billed).
FAULTS: dict[str, tuple[Any, tuple[Any, int, int], tuple[Any, int, int]]] = {
    "503 + Retry-After: 0.2": (
        lambda: Fault.status(503, retry_after=0.2),
        ("ok", 2, 1),
        ("ok", 2, 1),
    ),
    "429 + Retry-After: 0.2": (
        lambda: Fault.status(429, retry_after=0.2),
        ("ok", 2, 1),
        ("ok", 2, 1),
    ),
    "408": (lambda: Fault.status(408), ("ok", 2, 1), ("ok", 2, 1)),
    "500 (billed)": (
        lambda: Fault.status(500, billed=True),
        (InternalServerError, 1, 1),
        ("ok", 2, 1),
    ),
    "502 (not billed)": (lambda: Fault.status(502), (InternalServerError, 1, 0), ("ok", 2, 1)),
    "504 (billed)": (
        lambda: Fault.status(504, billed=True),
        (InternalServerError, 1, 1),
        ("ok", 2, 1),
    ),
    "close before read": (Fault.close_before_read, (APIConnectionError, 1, 0), ("ok", 2, 1)),
    "close after read (billed)": (Fault.close_after_read, (APIConnectionError, 1, 1), ("ok", 2, 1)),
    "truncated body (billed)": (Fault.truncated_body, (APIConnectionError, 1, 1), ("ok", 2, 1)),
    "invalid JSON (billed)": (Fault.invalid_json, (ResponseValidationError, 1, 1), ("ok", 2, 1)),
    "invalid base64 (billed)": (
        Fault.invalid_base64,
        (ResponseValidationError, 1, 1),
        ("ok", 2, 1),
    ),
    "200 status failed": (
        Fault.failed_status,
        (GenerationFailedError, 1, 0),
        (GenerationFailedError, 1, 0),
    ),
    "422": (
        lambda: Fault.status(422),
        (UnprocessableEntityError, 1, 0),
        (UnprocessableEntityError, 1, 0),
    ),
    "429 + Retry-After: 120": (
        lambda: Fault.status(429, retry_after=120),
        (RateLimitError, 1, 0),
        (RateLimitError, 1, 0),
    ),
}

RESULTS: dict[tuple[str, str, bool], str] = {}


def new_client(mock: Any, mode: str, retry_ambiguous: bool, **kwargs: Any) -> Any:
    events: list[RequestEvent] = []
    cls = Client if mode == "sync" else AsyncClient
    client = cls(
        api_key=mock.api_key,
        base_url=mock.base_url,
        retry_ambiguous=retry_ambiguous,
        on_request=events.append,
        on_retry=events.append,
        **kwargs,
    )
    client._backoff = default_backoff(0.05, 0.2)  # keep real backoff waits short
    return client, events


def run(client: Any, mode: str, **kwargs: Any) -> Any:
    if mode == "sync":
        with client:
            return client.images.generate("a red fox", width=64, height=64, **kwargs)

    async def go() -> Any:
        async with client:
            return await client.images.generate("a red fox", width=64, height=64, **kwargs)

    return asyncio.run(go())


@pytest.mark.parametrize("retry_ambiguous", [False, True], ids=["default", "retry_ambiguous"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault(nebula_mock: Any, fault: str, mode: str, retry_ambiguous: bool) -> None:
    factory, default, opted = FAULTS[fault]
    expected, seen, billed = opted if retry_ambiguous else default
    nebula_mock.faults.push(factory())
    client, events = new_client(nebula_mock, mode, retry_ambiguous)
    started = time.monotonic()
    outcome: Any
    try:
        result = run(client, mode)
        outcome = "ok"
        assert result.images[0].format == "png" and result.retries == seen - 1
        key = result.idempotency_key
    except Exception as exc:
        outcome = exc
        key = exc.idempotency_key  # type: ignore[attr-defined]
        assert isinstance(exc, expected), repr(exc)
        assert key and key in str(exc)
        if exc.may_have_been_billed:  # type: ignore[attr-defined]
            assert "may have run and been billed" in str(exc)
    elapsed = time.monotonic() - started
    waits = [e.wait for e in events if e.wait is not None]
    requests = [e for e in events if e.wait is None]
    if expected == "ok":
        assert outcome == "ok", repr(outcome)
    assert nebula_mock.requests_seen == seen
    assert nebula_mock.ledger.billed == billed <= 1
    assert len(requests) == seen and {e.idempotency_key for e in events} == {key}
    assert {entry.idempotency_key for entry in nebula_mock.ledger.entries} <= {key}
    if "Retry-After: 0.2" in fault:
        assert waits == [pytest.approx(0.2)] and elapsed >= 0.2
    name = "ok" if outcome == "ok" else type(outcome).__name__
    RESULTS[(fault, mode, retry_ambiguous)] = f"{name}, seen {seen}, billed {billed}" + (
        f", waited {sum(waits):.2f}s" if waits else ""
    )


@pytest.mark.parametrize("retry_ambiguous", [False, True], ids=["default", "retry_ambiguous"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_deadline_respected_on_a_slow_generation(
    nebula_mock: Any, mode: str, retry_ambiguous: bool
) -> None:
    nebula_mock.faults.push(Fault.delay(2.0))
    client, _ = new_client(nebula_mock, mode, retry_ambiguous)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        run(client, mode, deadline=0.5)
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 1.5, elapsed
    assert info.value.may_have_been_billed and nebula_mock.requests_seen == 1
    RESULTS[("delay 2 s, deadline 0.5 s", mode, retry_ambiguous)] = (
        f"APITimeoutError after {elapsed:.2f}s, seen 1, billed {nebula_mock.ledger.billed} (server finished anyway)"
    )


@pytest.mark.parametrize("retry_ambiguous", [False, True], ids=["default", "retry_ambiguous"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_connection_refused_is_retried_then_fails(mode: str, retry_ambiguous: bool) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = (Client if mode == "sync" else AsyncClient)(
        api_key="ak_x",
        base_url=f"http://127.0.0.1:{port}/api/v1",
        max_retries=2,
        retry_ambiguous=retry_ambiguous,
    )
    client._backoff = default_backoff(0.01, 0.02)
    with pytest.raises(APIConnectionError, match="could not connect") as info:
        run(client, mode)
    assert info.value.attempts == 3 and not info.value.may_have_been_billed
    RESULTS[("connection refused", mode, retry_ambiguous)] = (
        "APIConnectionError after 3 attempts, seen 0, billed 0"
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_http_date_retry_after_is_honoured(nebula_mock: Any, mode: str) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    when = datetime.now(tz=UTC).replace(microsecond=0) + timedelta(seconds=2)
    nebula_mock.faults.push(Fault.status(503, retry_after=format_datetime(when, usegmt=True)))
    client, events = new_client(nebula_mock, mode, False)
    started = time.monotonic()
    result = run(client, mode)
    elapsed = time.monotonic() - started
    waits = [e.wait for e in events if e.wait is not None]
    assert result.retries == 1 and nebula_mock.requests_seen == 2 and nebula_mock.ledger.billed == 1
    assert len(waits) == 1 and 0 <= waits[0] <= 2.0 and elapsed >= waits[0]
    # the retry went out no earlier than the date the server gave (1 s resolution)
    assert time.time() >= when.timestamp() - 0.05
    RESULTS[("503 + Retry-After: HTTP-date (+1..2 s)", mode, False)] = (
        f"ok, seen 2, billed 1, waited {waits[0]:.2f}s"
    )


def test_replay_after_billed_fault_returns_first_result(nebula_mock: Any) -> None:
    nebula_mock.faults.push(Fault.status(500, billed=True))
    with Client(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        with pytest.raises(InternalServerError) as info:
            client.images.generate("a red fox", width=64, height=64)
        again = client.images.generate(
            "a red fox", width=64, height=64, idempotency_key=info.value.idempotency_key
        )
    assert nebula_mock.ledger.billed == 1 and again.idempotency_key == info.value.idempotency_key


def test_write_fault_table() -> None:
    """Writes the table of this run (FAULT_TABLE=path) for the issue's closing note."""
    rows = [
        "| fault | sync default | sync retry_ambiguous | async default | async retry_ambiguous |",
        "|---|---|---|---|---|",
    ]
    names = list(dict.fromkeys(name for name, _, _ in RESULTS))
    for name in names:
        cells = [
            RESULTS.get((name, mode, amb), "-")
            for mode in ("sync", "async")
            for amb in (False, True)
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    target = os.environ.get("FAULT_TABLE")
    if target:
        Path(target).write_text("\n".join(rows) + "\n", encoding="utf-8")

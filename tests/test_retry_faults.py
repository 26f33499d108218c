"""The fault table against the mock server, run both ways: against a server that honours
``Idempotency-Key`` (the mock's default) and one that ignores it (the vendor documents
no such header). For every fault class, sync and async, default settings and
``retry_ambiguous=True``: the outcome, requests seen, generations billed, the waits, one
idempotency key across attempts. Under the default settings no fault class bills twice,
whichever server; ``retry_ambiguous=True`` bills twice exactly where a fault had run and
the server ignores the key.

``FAULT_TABLE=path pytest tests/test_retry_faults.py`` writes the table (the expected
outcomes below, which the parametrized tests check one by one) as Markdown.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nebula_images import (
    APIConnectionError,
    APIStatusError,
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

# The server's behaviour: the value of the mock's ignore_idempotency_key.
SERVERS = {"key honoured": False, "key ignored": True}


@dataclass(frozen=True)
class Outcome:
    """What one call ends with: "ok" or an error class, requests seen, generations billed."""

    result: type[Exception] | str
    seen: int
    billed: int

    def cell(self) -> str:
        name = self.result if isinstance(self.result, str) else self.result.__name__
        return f"{name}, seen {self.seen}, billed {self.billed}"


@dataclass(frozen=True)
class Row:
    """One fault class: the fault, the outcome under the default settings (the same on
    both servers: nothing that may have run is retried) and with retry_ambiguous=True
    against each server."""

    fault: Callable[[], Fault]
    default: Outcome
    honoured: Outcome
    ignored: Outcome

    def expected(self, retry_ambiguous: bool, ignore_key: bool) -> Outcome:
        if not retry_ambiguous:
            return self.default
        return self.ignored if ignore_key else self.honoured


def row(
    fault: Callable[[], Fault],
    default: tuple[Any, int, int],
    honoured: tuple[Any, int, int],
    ignored: tuple[Any, int, int] | None = None,
) -> Row:
    return Row(fault, Outcome(*default), Outcome(*honoured), Outcome(*(ignored or honoured)))


OK = "ok"
FAULTS: dict[str, Row] = {
    # never started: retried by default, billed once in every world
    "429 + Retry-After: 0.2": row(
        lambda: Fault.status(429, retry_after=0.2), (OK, 2, 1), (OK, 2, 1)
    ),
    "429 + Retry-After: 120 (past max_retry_wait)": row(
        lambda: Fault.status(429, retry_after=120), (RateLimitError, 1, 0), (RateLimitError, 1, 0)
    ),
    # ambiguous (the client cannot tell), and in fact it had not run: safe to retry
    "close before read (had not run)": row(
        Fault.close_before_read, (APIConnectionError, 1, 0), (OK, 2, 1)
    ),
    "503 + Retry-After: 0.2 (had not run)": row(
        lambda: Fault.status(503, retry_after=0.2), (InternalServerError, 1, 0), (OK, 2, 1)
    ),
    "408 (had not run)": row(lambda: Fault.status(408), (APIStatusError, 1, 0), (OK, 2, 1)),
    "502 (had not run)": row(lambda: Fault.status(502), (InternalServerError, 1, 0), (OK, 2, 1)),
    # ambiguous, and it had run: a retry bills twice on a server that ignores the key
    "503 (had run and billed)": row(
        lambda: Fault.status(503, billed=True),
        (InternalServerError, 1, 1),
        (OK, 2, 1),
        (OK, 2, 2),
    ),
    "500 (had run and billed)": row(
        lambda: Fault.status(500, billed=True),
        (InternalServerError, 1, 1),
        (OK, 2, 1),
        (OK, 2, 2),
    ),
    "504 (had run and billed)": row(
        lambda: Fault.status(504, billed=True),
        (InternalServerError, 1, 1),
        (OK, 2, 1),
        (OK, 2, 2),
    ),
    "close after read (billed)": row(
        Fault.close_after_read, (APIConnectionError, 1, 1), (OK, 2, 1), (OK, 2, 2)
    ),
    "truncated body (billed)": row(
        Fault.truncated_body, (APIConnectionError, 1, 1), (OK, 2, 1), (OK, 2, 2)
    ),
    "invalid JSON (billed)": row(
        Fault.invalid_json, (ResponseValidationError, 1, 1), (OK, 2, 1), (OK, 2, 2)
    ),
    "invalid base64 (billed)": row(
        Fault.invalid_base64, (ResponseValidationError, 1, 1), (OK, 2, 1), (OK, 2, 2)
    ),
    # final: never retried
    "200 failure body": row(
        Fault.failed_status, (GenerationFailedError, 1, 0), (GenerationFailedError, 1, 0)
    ),
    "422": row(
        lambda: Fault.status(422),
        (UnprocessableEntityError, 1, 0),
        (UnprocessableEntityError, 1, 0),
    ),
}
# Checked by their own tests below; listed here for the table.
CONNECTION_REFUSED = Outcome(APIConnectionError, 0, 0)  # after 3 attempts
SLOW_PAST_DEADLINE = Outcome(APITimeoutError, 1, 1)  # the server finished anyway


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


def assert_never_billed_twice(mock: Any) -> None:
    per_key = Counter(entry.idempotency_key for entry in mock.ledger.entries)
    assert all(count == 1 for count in per_key.values()), per_key


# Both clients against the mock as it is; the sync one against a server that ignores the
# key too (the retry decisions are the same code for both clients).
RUNS = [("sync", "key honoured"), ("async", "key honoured"), ("sync", "key ignored")]


@pytest.mark.parametrize("retry_ambiguous", [False, True], ids=["default", "retry_ambiguous"])
@pytest.mark.parametrize(("mode", "server"), RUNS, ids=[f"{m}-{s}" for m, s in RUNS])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault(nebula_mock: Any, fault: str, mode: str, retry_ambiguous: bool, server: str) -> None:
    ignore_key = SERVERS[server]
    expected = FAULTS[fault].expected(retry_ambiguous, ignore_key)
    nebula_mock.configure(ignore_idempotency_key=ignore_key)
    nebula_mock.faults.push(FAULTS[fault].fault())
    client, events = new_client(nebula_mock, mode, retry_ambiguous)
    started = time.monotonic()
    outcome: Any
    try:
        result = run(client, mode)
        outcome = OK
        assert result.images[0].format == "png" and result.retries == expected.seen - 1
        key = result.idempotency_key
    except Exception as exc:
        outcome = exc
        key = exc.idempotency_key  # type: ignore[attr-defined]
        assert type(exc) is expected.result, repr(exc)
        assert key and key in str(exc)
        if exc.may_have_been_billed:  # type: ignore[attr-defined]
            assert "may have run and been billed" in str(exc)
    elapsed = time.monotonic() - started
    waits = [e.wait for e in events if e.wait is not None]
    requests = [e for e in events if e.wait is None]
    if expected.result == OK:
        assert outcome == OK, repr(outcome)
    assert nebula_mock.requests_seen == expected.seen
    assert nebula_mock.ledger.billed == expected.billed
    assert len(requests) == expected.seen and {e.idempotency_key for e in events} == {key}
    assert {entry.idempotency_key for entry in nebula_mock.ledger.entries} <= {key}
    if not retry_ambiguous:
        assert_never_billed_twice(nebula_mock)  # whichever server, whatever the fault
    if "Retry-After: 0.2" in fault and expected.seen == 2:
        assert waits == [pytest.approx(0.2)] and elapsed >= 0.2


@pytest.mark.parametrize("retry_ambiguous", [False, True], ids=["default", "retry_ambiguous"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_deadline_respected_on_a_slow_generation(
    nebula_mock: Any, mode: str, retry_ambiguous: bool
) -> None:
    # Against a server that ignores the key (the harsher world): nothing is retried
    # past the deadline, so the one generation that ran is the only charge.
    nebula_mock.configure(ignore_idempotency_key=True)
    nebula_mock.faults.push(Fault.delay(2.0))
    client, _ = new_client(nebula_mock, mode, retry_ambiguous)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        run(client, mode, deadline=0.5)
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 1.5, elapsed
    assert info.value.may_have_been_billed
    assert nebula_mock.requests_seen == SLOW_PAST_DEADLINE.seen
    assert nebula_mock.ledger.billed == SLOW_PAST_DEADLINE.billed  # billed as it ran
    assert_never_billed_twice(nebula_mock)


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
    assert type(info.value) is CONNECTION_REFUSED.result
    assert info.value.attempts == 3 and not info.value.may_have_been_billed


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_http_date_retry_after_is_honoured(nebula_mock: Any, mode: str) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    when = datetime.now(tz=UTC).replace(microsecond=0) + timedelta(seconds=2)
    nebula_mock.faults.push(Fault.status(429, retry_after=format_datetime(when, usegmt=True)))
    client, events = new_client(nebula_mock, mode, False)
    started = time.monotonic()
    result = run(client, mode)
    elapsed = time.monotonic() - started
    waits = [e.wait for e in events if e.wait is not None]
    assert result.retries == 1 and nebula_mock.requests_seen == 2 and nebula_mock.ledger.billed == 1
    assert len(waits) == 1 and 0 <= waits[0] <= 2.0 and elapsed >= waits[0]
    # the retry went out no earlier than the date the server gave (1 s resolution)
    assert time.time() >= when.timestamp() - 0.05


@pytest.mark.parametrize("server", list(SERVERS))
def test_a_later_call_with_the_key_of_a_billed_fault(nebula_mock: Any, server: str) -> None:
    """Retrying by hand with the error's key: the first result again on a server that
    honours the key, a second charge on one that ignores it."""
    nebula_mock.configure(ignore_idempotency_key=SERVERS[server])
    nebula_mock.faults.push(Fault.status(500, billed=True))
    with Client(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        with pytest.raises(InternalServerError) as info:
            client.images.generate("a red fox", width=64, height=64)
        again = client.images.generate(
            "a red fox", width=64, height=64, idempotency_key=info.value.idempotency_key
        )
    assert again.idempotency_key == info.value.idempotency_key
    assert nebula_mock.ledger.billed == (2 if SERVERS[server] else 1)
    assert nebula_mock.ledger.replayed == (0 if SERVERS[server] else 1)


# -- the table -----------------------------------------------------------------------------


def fault_table() -> str:
    """The expected outcomes as Markdown, one row a fault class."""
    rows = [
        "| fault | default (either server) | retry_ambiguous, key honoured "
        "| retry_ambiguous, key ignored |",
        "|---|---|---|---|",
    ]
    for name, spec in FAULTS.items():
        cells = (spec.default, spec.honoured, spec.ignored)
        rows.append(f"| {name} | " + " | ".join(c.cell() for c in cells) + " |")
    for name, outcome in (
        ("connection refused (3 attempts)", CONNECTION_REFUSED),
        ("delay 2 s, deadline 0.5 s", SLOW_PAST_DEADLINE),
    ):
        rows.append(f"| {name} | " + " | ".join([outcome.cell()] * 3) + " |")
    return "\n".join(rows) + "\n"


def test_fault_table_is_consistent_with_the_mock_faults(tmp_path: Path) -> None:
    """The table's billing follows from what each fault does: a fault that ran is billed
    once; a retry that succeeds is a new charge unless the server replays the key."""
    for name, spec in FAULTS.items():
        ran = spec.fault().billed
        assert spec.default.billed <= 1, name  # no double bill by default, either server
        for outcome, ignores in ((spec.honoured, False), (spec.ignored, True)):
            retried_ok = outcome.result == OK and outcome.seen == 2
            expected = int(ran) + int(retried_ok) if ignores else int(ran or retried_ok)
            assert outcome.billed == expected, (name, ignores)
    double = [name for name, spec in FAULTS.items() if spec.ignored.billed == 2]
    assert double == [name for name, spec in FAULTS.items() if "billed" in name]
    table = fault_table()
    assert table.count("\n") == len(FAULTS) + 4
    target = os.environ.get("FAULT_TABLE")
    if target:
        Path(target).write_text(table, encoding="utf-8")


def test_readme_retry_table_matches_the_retry_classes() -> None:
    """The README's table names each status in the row of its class."""
    import re

    from nebula_images._retry import Failure, status_failure

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "billed" in line]
    expected = [Failure.NEVER_STARTED, Failure.AMBIGUOUS]
    assert len(rows) >= len(expected), rows
    for line, failure in zip(rows, expected, strict=False):
        statuses = [int(code) for code in re.findall(r"\b([45]\d\d)\b", line.split("|")[1])]
        assert statuses and all(status_failure(code) is failure for code in statuses), line
    final = next(line for line in readme.splitlines() if line.startswith("| 200 failure body"))
    codes = [int(c) for c in re.findall(r"\b(5\d\d)\b", final.split("|")[1])]
    assert codes == [501] and status_failure(501) is Failure.FINAL

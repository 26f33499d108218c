"""Retries that do not bill twice by default: failure classes, Retry-After, backoff, deadline.

The default settings must not bill twice even if the spec's assumptions are wrong: the
vendor documents no ``Idempotency-Key`` (a server may ignore it) and no 5xx or 408
(a 503 or 408 may come after the generation started). So a failure is retried by
default only when the request certainly never ran:

* **never started**: the connection was refused or never made (``ConnectError``, DNS,
  ``ConnectTimeout``), no pooled connection came free (``PoolTimeout``: nothing was
  sent), or 429 (the vendor's rate limit refuses the request before it runs). Retried
  by default, honouring ``Retry-After``.
* **ambiguous**: the request was sent and may have run and been billed: 408, 500,
  502, 503, 504 (and any other 5xx but 501), a read or write timeout, a connection
  dropped after sending, a truncated or unreadable 200. Retried only with
  ``retry_ambiguous=True``, which is safe only against a server that honours the
  ``Idempotency-Key`` (the local mock does; the vendor documents no such header).
* **final**: other 4xx, 501, a 200 failure body (``GenerationFailure``), a body over
  ``max_response_bytes``. Never retried.

Outcome of one fault followed by success, in generations billed (the mock's fault
table, ``tests/test_retry_faults.py``, runs every row both ways):

=============================  ==========  ======================  ======================
class                          default     retry_ambiguous, key    retry_ambiguous, key
                                           honoured                ignored
=============================  ==========  ======================  ======================
never started (connect, 429)   retried, 1  retried, 1              retried, 1
ambiguous, had not run         error, 0    retried, 1              retried, 1
ambiguous, had run             error, 1    retried, 1 (replayed)   retried, **2**
final                          error, 0-1  error, 0-1              error, 0-1
=============================  ==========  ======================  ======================

The idempotent, free ``GET /serverless/models`` retries every class but final.

Backoff goes through **tenacity** rather than stamina (which wraps tenacity): its
``Retrying``/``AsyncRetrying`` take a ``sleep`` callable, so tests drive the waits
with a fake clock and measure them, a custom ``wait`` can return the server's
Retry-After instead of the backoff, ``stop`` sees the chosen wait (to refuse one past
the deadline) and the hooks are per client. Stamina's knobs are global (its testing
switch and instrumentation hooks) and it cannot report the waits it takes.

tenacity is imported only once an attempt has failed in a way that may be retried:
a call that succeeds at once (the common case) never builds or imports the retry
machinery, which keeps both ``import`` and the per-call overhead low.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from ._body import parse_json
from ._errors import APIError, APITimeoutError, RateLimitError

if TYPE_CHECKING:
    import tenacity

__all__ = [
    "Budget",
    "Failure",
    "RetryPolicy",
    "failure_of",
    "mark",
    "parse_retry_after",
    "retry_after_of",
]


class Failure(enum.Enum):
    """How safe it is to repeat a failed attempt."""

    NEVER_STARTED = "never started"
    AMBIGUOUS = "ambiguous"
    FINAL = "final"


def mark(error: APIError, failure: Failure) -> APIError:
    """Tag an error with its failure class."""
    error._failure = failure  # type: ignore[attr-defined]
    return error


def failure_of(error: BaseException) -> Failure:
    """The failure class of an error (FINAL when untagged)."""
    failure = getattr(error, "_failure", Failure.FINAL)
    return failure if isinstance(failure, Failure) else Failure.FINAL


def status_failure(status: int) -> Failure:
    """The failure class of an HTTP error status."""
    if status == 429:
        # The vendor's rate limit answers 429 to a request it refused: nothing ran.
        return Failure.NEVER_STARTED
    if status == 408 or (status >= 500 and status != 501):
        # 408 and 503 usually mean "not started", but the vendor documents neither and a
        # proxy or worker may send them after the generation began: only a server that
        # honours the Idempotency-Key makes their retry safe (retry_ambiguous=True).
        return Failure.AMBIGUOUS
    return Failure.FINAL


def _number(value: str | float) -> float | None:
    """``value`` as seconds to wait: a finite number >= 0, else None."""
    try:
        number = float(value)
    except (ValueError, OverflowError):  # OverflowError: an int past the float range
        return None
    return number if math.isfinite(number) and number >= 0 else None


def parse_retry_after(
    headers: Mapping[str, str] | None,
    body: bytes | None,
    *,
    now: Callable[[], float] = time.time,
) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` (delta seconds or an
    HTTP-date) or a JSON body's ``retry_after``, in that order; None when absent."""
    document: Any = None
    if body and body.lstrip().startswith(b"{"):
        try:
            document = parse_json(body)
        except ValueError:
            document = None
    return retry_after_of(headers, document, now=now)


def retry_after_of(
    headers: Mapping[str, str] | None,
    document: Any,
    *,
    now: Callable[[], float] = time.time,
) -> float | None:
    """``parse_retry_after`` for a body already parsed (``document``: its JSON, or None)."""
    if headers is not None:
        lowered = {k.lower(): v for k, v in headers.items()}
        millis = lowered.get("retry-after-ms")
        if millis is not None and (value := _number(millis.strip())) is not None:
            return value / 1000
        header = lowered.get("retry-after")
        if header is not None:
            header = header.strip()
            if (value := _number(header)) is not None:
                return value
            try:
                when = parsedate_to_datetime(header)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(when.timestamp() - now(), 0.0)
    field: Any = document.get("retry_after") if isinstance(document, dict) else None
    if isinstance(field, int | float) and not isinstance(field, bool):
        return _number(field)
    return None


class Budget:
    """The time budget of one call: the deadline, on an injectable monotonic clock."""

    def __init__(self, deadline: float | None, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.started = clock()
        self.deadline = deadline
        self.ends_at = None if deadline is None else self.started + deadline

    def remaining(self) -> float | None:
        """Seconds left, or None without a deadline."""
        return None if self.ends_at is None else self.ends_at - self.clock()

    def elapsed(self) -> float:
        """Seconds since the call started."""
        return self.clock() - self.started

    def expired_error(self, *, attempts: int, idempotency_key: str | None) -> APITimeoutError:
        """The error for a call whose deadline ran out before an attempt could start."""
        error = APITimeoutError(
            f"the call's deadline of {self.deadline:g} s ran out after {attempts} attempt(s); "
            "raise deadline= or try again later",
            idempotency_key=idempotency_key,
            attempts=attempts,
        )
        mark(error, Failure.FINAL)
        return error


class RetryPolicy:
    """The retry decisions of one call, as tenacity ``retry``/``wait``/``stop`` callables."""

    def __init__(
        self,
        *,
        max_retries: int,
        retry_ambiguous: bool,
        max_retry_wait: float,
        budget: Budget,
        backoff: tenacity.wait.wait_base | None,
        on_retry: Callable[[APIError, int, float], None],
    ) -> None:
        self.max_retries = max_retries
        self.retry_ambiguous = retry_ambiguous
        self.max_retry_wait = max_retry_wait
        self.budget = budget
        self.backoff = backoff if backoff is not None else default_backoff()
        self.notify_retry = on_retry
        self.refusal: tuple[str, float] | None = None

    def _error(self, state: tenacity.RetryCallState) -> APIError | None:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return None
        error = outcome.exception()
        return error if isinstance(error, APIError) else None

    def allows(self, error: APIError | None, attempt: int) -> bool:
        """True when ``error``, the failure of attempt number ``attempt``, may be retried."""
        if error is None or attempt > self.max_retries:
            return False
        failure = failure_of(error)
        return failure is Failure.NEVER_STARTED or (
            failure is Failure.AMBIGUOUS and self.retry_ambiguous
        )

    def retry(self, state: tenacity.RetryCallState) -> bool:
        return self.allows(self._error(state), state.attempt_number)

    def wait(self, state: tenacity.RetryCallState) -> float:
        error = self._error(state)
        requested = error.retry_after if error is not None else None
        chosen = requested if requested is not None else self.backoff(state)
        remaining = self.budget.remaining()
        if requested is not None and requested > self.max_retry_wait:
            self.refusal = (f"more than max_retry_wait={self.max_retry_wait:g} s", requested)
            return 0.0
        if remaining is not None and chosen >= remaining:
            what = "the server asked to wait" if requested is not None else "the next backoff is"
            self.refusal = (
                f"{what} {chosen:.3g} s, past the call's deadline ({max(remaining, 0):.3g} s left)",
                chosen,
            )
            return 0.0
        return chosen

    def stop(self, state: tenacity.RetryCallState) -> bool:
        return self.refusal is not None

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        error = self._error(state)
        if error is not None:
            self.notify_retry(error, state.attempt_number, state.upcoming_sleep)

    def options(self) -> dict[str, Any]:
        """Keyword arguments of ``tenacity.Retrying``/``AsyncRetrying`` (all but sleep)."""
        return {
            "retry": self.retry,
            "wait": self.wait,
            "stop": self.stop,
            "before_sleep": self.before_sleep,
            "reraise": True,
        }

    def finish(self, error: APIError, attempts: int) -> APIError:
        """The error to raise once retrying stops, with the attempt count and any refusal."""
        error.attempts = attempts
        if self.refusal is None:
            return error
        reason, wait = self.refusal
        if error.retry_after is not None:
            # Fail at once with a rate-limit error that carries the wait asked for.
            limited = RateLimitError(
                f"{error.message}; not retried: the server asked to wait {wait:g} s, {reason}",
                status=getattr(error, "status", 429),
                body=getattr(error, "body", None),
                request_id=error.request_id,
                idempotency_key=error.idempotency_key,
                may_have_been_billed=error.may_have_been_billed,
                attempts=attempts,
                retry_after=wait,
            )
            mark(limited, Failure.FINAL)
            limited.__cause__ = error
            return limited
        error.message = f"{error.message}; not retried: {reason}"
        return error


def default_backoff(initial: float = 0.5, maximum: float = 8.0) -> tenacity.wait.wait_base:
    """Exponential backoff with jitter: ~initial, 2x, 4x ... capped at ``maximum``."""
    import tenacity

    return tenacity.wait_exponential_jitter(
        multiplier=initial, max=maximum, exp_base=2, jitter=initial
    )

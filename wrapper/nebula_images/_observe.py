"""Observability of a call: the package's log lines and the on_request / on_retry /
on_response hooks, for every attempt and retry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from ._auth import BearerAuth, redact
from ._call import Call
from ._logging import REDACTED, logger

if TYPE_CHECKING:
    from ._config import Hook, Settings
    from ._errors import APIError

__all__ = ["Observer"]


class Observer:
    """Logs and announces the attempts of one client's calls."""

    def __init__(self, settings: Settings, auth: BearerAuth, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._auth = auth
        self._clock = clock

    def _emit(
        self,
        hook: Hook | None,
        call: Call,
        *,
        attempt: int,
        request_id: str | None = None,
        status: int | None = None,
        elapsed: float = 0.0,
        wait: float | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Call ``hook`` with a RequestEvent (built only when a hook is set)."""
        if hook is None:
            return
        from ._hooks import RequestEvent  # only clients with hooks pay for the class

        event = RequestEvent(
            operation=call.operation,
            attempt=attempt,
            idempotency_key=call.idempotency_key,
            request_id=request_id,
            status=status,
            elapsed=elapsed,
            wait=wait,
            error=error,
        )
        # A failing observability hook must not change what a call does (for example
        # lose a result that was already billed), so its error is logged, not raised.
        try:
            hook(event)
        except Exception:
            logger.exception("a nebula_images hook raised; the call goes on")

    def started(self, call: Call) -> float:
        """Count and announce an attempt; its start time."""
        call.attempts += 1
        logger.debug(
            "%s attempt %d (idempotency_key=%s)",
            call.operation,
            call.attempts,
            call.idempotency_key,
        )
        self._emit(self._settings.on_request, call, attempt=call.attempts)
        return self._clock()

    def request(self, request: httpx.Request) -> None:
        """The debug line of a request about to be sent."""
        if logger.isEnabledFor(logging.DEBUG):
            headers = redact(request.headers)
            if self._auth.applies_to(request.url):  # the auth adds it when sending
                headers["authorization"] = REDACTED
            logger.debug("HTTP %s %s headers=%s", request.method, request.url, headers)

    def ended(
        self,
        call: Call,
        started: float,
        status: int | None,
        request_id: str | None,
        error: APIError | None,
    ) -> None:
        elapsed = self._clock() - started
        logger.info(
            "%s attempt %d -> %s in %.3f s (request_id=%s, idempotency_key=%s)",
            call.operation,
            call.attempts,
            status if status is not None else type(error).__name__,
            elapsed,
            request_id,
            call.idempotency_key,
        )
        self._emit(
            self._settings.on_response,
            call,
            attempt=call.attempts,
            request_id=request_id,
            status=status,
            elapsed=elapsed,
            error=error,
        )

    def retrying(self, call: Call, error: APIError, attempt: int, wait: float) -> None:
        logger.info(
            "%s attempt %d failed (%s); retrying in %.2f s (idempotency_key=%s)",
            call.operation,
            attempt,
            type(error).__name__,
            wait,
            call.idempotency_key,
        )
        self._emit(
            self._settings.on_retry,
            call,
            attempt=attempt,
            request_id=error.request_id,
            status=getattr(error, "status", None),
            elapsed=call.budget.elapsed(),
            wait=wait,
            error=error,
        )

"""Error classification: every failed attempt becomes one typed error of ``_errors``,
marked with its failure class (never started / may have run / final, see ``_retry``).

Inputs are what an attempt saw (``Call``, ``Answer``, an exception of the exchange);
everything shown of the answer passes through the ``Redactor`` first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import httpx

from ._body import BodyTooLargeError, parse_json
from ._call import Answer, Call, Redactor
from ._config import ENV_API_KEY
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    GenerationFailedError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from ._retry import Failure, mark, retry_after_of, status_failure

__all__ = ["Classifier", "server_message"]

_STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    413: BadRequestError,
    415: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
_STATUS_ADVICE: Mapping[int, str] = {
    401: f"check the key in {ENV_API_KEY} (or api_key=)",
    403: "check the account's credit and permissions",
    404: "the served model ids: client.models.list() or `nebula-images models`",
    429: "slow down, or pass rate_limit= to the client",
}


def server_message(body: Any) -> str | None:
    """The ``message`` a server put in an error body, when it is text."""
    if isinstance(body, dict):
        message = body.get("message")
        return message if isinstance(message, str) and message else None
    if isinstance(body, str):
        return body.strip()[:200] or None
    return None


class Classifier:
    """Builds the typed error of a failed attempt."""

    def __init__(
        self, redactor: Redactor, *, base_url: str, wallclock: Callable[[], float]
    ) -> None:
        self._redactor = redactor
        self._base_url = base_url
        self._wallclock = wallclock  # for Retry-After given as an HTTP date

    def from_exception(self, call: Call, exc: Exception, answer: Answer) -> APIError:
        """A typed error for an exception raised while sending or reading."""
        key = call.idempotency_key
        request_id = self._redactor.request_id(answer.headers)
        reason = self._redactor.text(str(exc))
        error: APIError
        if isinstance(exc, BodyTooLargeError):
            error = ResponseValidationError(
                f"the response body is larger than max_response_bytes={exc.limit}; "
                "raise max_response_bytes= on the client",
                request_id=request_id,
                idempotency_key=key,
                may_have_been_billed=call.generation,
            )
            return mark(error, Failure.FINAL)
        if isinstance(exc, httpx.TimeoutException):
            started = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            error = APITimeoutError(
                f"{type(exc).__name__}: no answer in time ({reason or 'timed out'}); "
                "raise timeout= or deadline= if the model needs longer",
                request_id=request_id,
                idempotency_key=key,
                may_have_been_billed=call.generation and started,
            )
            return mark(error, Failure.AMBIGUOUS if started else Failure.NEVER_STARTED)
        if isinstance(exc, httpx.ConnectError):
            error = APIConnectionError(
                f"could not connect to {self._base_url} ({reason}); "
                "check the network and NEBULA_BASE_URL",
                idempotency_key=key,
            )
            return mark(error, Failure.NEVER_STARTED)
        if isinstance(exc, httpx.HTTPError):
            when = "while reading the answer" if answer.status is not None else "after sending"
            error = APIConnectionError(
                f"the connection failed {when} ({type(exc).__name__}: {reason})",
                request_id=request_id,
                idempotency_key=key,
                may_have_been_billed=call.generation,
            )
            return mark(error, Failure.AMBIGUOUS)
        # A BodyError: an encoding refused or corrupt, too many images.
        return self.off_contract(call, f"the response is not usable: {reason}", request_id)

    def off_contract(
        self, call: Call, problem: str, request_id: str | None
    ) -> ResponseValidationError:
        """The error of an answer that breaks the API's contract (a generation may
        have run: the same idempotency key replays it)."""
        error = ResponseValidationError(
            f"{self._redactor.text(problem)}; the answer is not usable",
            request_id=request_id,
            idempotency_key=call.idempotency_key,
            may_have_been_billed=call.generation,
        )
        return cast(ResponseValidationError, mark(error, Failure.AMBIGUOUS))

    def failed(self, call: Call, body: Mapping[str, Any], request_id: str | None) -> APIError:
        """The error of a 200 whose body says ``"status": "failed"``."""
        shown = self._redactor.value(dict(body))
        message = server_message(shown) or "the server reported a failure"
        error = GenerationFailedError(
            f"{message} (a 200 answer with status 'failed')",
            status=200,
            body=shown,
            request_id=request_id,
            idempotency_key=call.idempotency_key,
        )
        return mark(error, Failure.FINAL)

    def status(self, call: Call, answer: Answer, request_id: str | None) -> APIError:
        """The typed error of an error status, documented or not, read from the raw
        body (the generated ``Error`` does not check the types of its fields)."""
        status, content = answer.status, answer.body
        assert status is not None
        body: Any = None
        try:
            body = parse_json(content) if content else None
        except ValueError:
            body = self._redactor.error_text(content)
        # Only a JSON document's retry_after counts; redaction leaves numbers as they are.
        retry_after = retry_after_of(answer.headers, body, now=self._wallclock)
        body = self._redactor.value(body)
        message = server_message(body) or httpx.codes.get_reason_phrase(status) or "error"
        failure = status_failure(status)
        cls = _STATUS_ERRORS.get(status) or (
            InternalServerError if status >= 500 else APIStatusError
        )
        advice = _STATUS_ADVICE.get(status)
        if advice:
            message = f"{message.rstrip('.')}; {advice}"
        error = cls(
            message,
            status=status,
            body=body,
            request_id=request_id,
            idempotency_key=call.idempotency_key,
            may_have_been_billed=call.generation and failure is Failure.AMBIGUOUS,
            retry_after=retry_after,
        )
        return mark(error, failure)

    @staticmethod
    def limiter_timeout(call: Call, per_minute: float) -> APITimeoutError:
        error = APITimeoutError(
            f"the client-side rate_limit ({per_minute:g}/min) would delay this request past "
            "the call's deadline; raise deadline= or rate_limit=",
            idempotency_key=call.idempotency_key,
            attempts=call.attempts,
        )
        return cast(APITimeoutError, mark(error, Failure.FINAL))

"""The exceptions of nebula_images: catch ``NebulaError`` for all of them.

::

    NebulaError                          base of everything this package raises
    ├── ValidationError                  bad input caught before any request (names field + fix)
    └── APIError                         a call failed (request id, idempotency key, attempts)
        ├── APIStatusError               an error status (status, message, body)
        │   ├── BadRequestError          400 (also 413, 415): the body could not be read
        │   ├── AuthenticationError      401: set NEBULA_API_KEY to a valid key
        │   ├── PermissionDeniedError    403: the account may not use the model (e.g. no credit)
        │   ├── NotFoundError            404: unknown model id
        │   ├── UnprocessableEntityError 422: a field breaks the schema
        │   ├── RateLimitError           429, or a Retry-After longer than allowed (retry_after)
        │   ├── InternalServerError      5xx: the server failed
        │   └── GenerationFailedError    200 whose body says "status": "failed"
        ├── APIConnectionError           no usable answer: connection refused, reset, dropped
        │   └── APITimeoutError          a timeout or the call's deadline
        └── ResponseValidationError      an answer that breaks the contract (JSON, base64, size)

Every ``APIError`` has ``idempotency_key`` (generations), ``request_id`` (when the
server sent one), ``attempts`` and ``may_have_been_billed``: ``True`` when a
generation request was sent and its outcome is unknown. Retry such a call with the
same ``idempotency_key`` to get its result without paying twice.

Whatever an error shows of an answer (message, ``request_id``, ``body``) has passed
through ``redacted`` first, so a server that echoes the API key cannot leak it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "GenerationFailedError",
    "InternalServerError",
    "NebulaError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "UnprocessableEntityError",
    "ValidationError",
]


class NebulaError(Exception):
    """Base class of every exception raised by nebula_images."""


class ValidationError(NebulaError, ValueError):
    """An argument is invalid; nothing was sent. ``field`` names it, ``fix`` says what to do."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. Fix: {fix}")


class APIError(NebulaError):
    """A call to the API failed after the retries it was allowed."""

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        may_have_been_billed: bool = False,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.may_have_been_billed = may_have_been_billed
        self.attempts = attempts
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def retries(self) -> int:
        """How many retries were made before giving up."""
        return max(self.attempts - 1, 0)

    def __str__(self) -> str:
        parts = [self.message]
        if self.may_have_been_billed and self.idempotency_key:
            parts.append(
                "The generation may have run and been billed: retry with "
                f"idempotency_key={self.idempotency_key!r} to get its result "
                "without paying twice (or pass retry_ambiguous=True)"
            )
        details = []
        if self.request_id:
            details.append(f"request_id={self.request_id}")
        if self.idempotency_key:
            details.append(f"idempotency_key={self.idempotency_key}")
        if self.attempts > 1:
            details.append(f"attempts={self.attempts}")
        if self.retry_after is not None:
            details.append(f"retry_after={self.retry_after:g}s")
        text = ". ".join(p.rstrip(".") for p in parts) + "."
        return f"{text} ({', '.join(details)})" if details else text

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through their args by default, which would drop the
        # keyword attributes; keep them so errors survive multiprocessing.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[APIError], state: dict[str, Any]) -> APIError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class APIStatusError(APIError):
    """The API answered with an error status; ``status``, ``body`` and the server's message."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: Any = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        may_have_been_billed: bool = False,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.body = body
        super().__init__(
            message,
            request_id=request_id,
            idempotency_key=idempotency_key,
            may_have_been_billed=may_have_been_billed,
            attempts=attempts,
            retry_after=retry_after,
        )

    def __str__(self) -> str:
        return f"HTTP {self.status}: {super().__str__()}"


class BadRequestError(APIStatusError):
    """400 (or 413/415): the server could not read the request body."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, malformed or unknown; set NEBULA_API_KEY."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but the account may not use this (for example no credit)."""


class NotFoundError(APIStatusError):
    """404: the server does not serve this model id."""


class UnprocessableEntityError(APIStatusError):
    """422: the request breaks the schema; the message names the field."""


class RateLimitError(APIStatusError):
    """429, or a server-requested wait longer than allowed; ``retry_after`` has the wait."""


class InternalServerError(APIStatusError):
    """5xx: the server or an upstream worker failed."""


class GenerationFailedError(APIStatusError):
    """A 200 whose body says ``"status": "failed"``: the server reports the generation failed."""


class APIConnectionError(APIError):
    """No usable answer: the connection was refused, reset or dropped."""


class APITimeoutError(APIConnectionError):
    """A timeout of an attempt, or the call's deadline, ran out."""


class ResponseValidationError(APIError):
    """The answer breaks the contract: not JSON, bad base64, too large or the wrong shape."""


def redacted(value: Any, redact_text: Callable[[str], str]) -> Any:
    """``value`` (server text or a JSON document of any shape) with ``redact_text``
    applied to every string in it, dict keys included.

    Containers are copied with an explicit stack rather than recursion: a body nested
    as deep as the JSON parser allows must not raise RecursionError here."""
    if isinstance(value, str):
        return redact_text(value)
    if not isinstance(value, list | dict):
        return value
    copy: list[Any] = []
    pending: list[tuple[Any, list[Any] | dict[Any, Any]]] = [([value], copy)]
    while pending:
        source, target = pending.pop()
        items: Iterable[tuple[Any, Any]] = (
            source.items() if isinstance(source, dict) else enumerate(source)
        )
        for key, item in items:
            if isinstance(item, str):
                item = redact_text(item)
            elif isinstance(item, list | dict):
                child: list[Any] | dict[Any, Any] = [] if isinstance(item, list) else {}
                pending.append((item, child))
                item = child
            if isinstance(target, dict):
                target[redact_text(key) if isinstance(key, str) else key] = item
            else:
                target.append(item)
    return copy[0]

"""What every part of the request pipeline shares: one call's state, one attempt's
answer, the type aliases, and the one redaction of the API key.

The lowest module of the client: ``_classify``, ``_results``, ``_observe``,
``_pipeline`` and ``_client`` import it, it imports none of them (data flows one way:
a call is prepared, sent, its answer read, then classified or turned into a result).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import httpx

from ._errors import redacted

if TYPE_CHECKING:
    from ._auth import BearerAuth
    from ._images import GenerationResult, ModelInfo
    from ._models_table import ModelRules
    from ._retry import Budget
    from ._validation import PreparedBody

__all__ = [
    "ERROR_TEXT_LIMIT",
    "Answer",
    "BuildRequest",
    "Call",
    "Operation",
    "Outcome",
    "Redactor",
]

Operation = Literal["generate", "list_models"]
# A string: the result classes (attrs) load on the first call, with the generated client.
Outcome: TypeAlias = "GenerationResult | list[ModelInfo]"
# Builds one attempt's request with the httpx client and that attempt's timeout.
BuildRequest = Callable[[httpx.Client | httpx.AsyncClient, httpx.Timeout], httpx.Request]
# What of a non-JSON error body an error keeps, in bytes, cut after redaction.
ERROR_TEXT_LIMIT = 2000


class Call:
    """The state of one logical call across its attempts.

    A plain class, not attrs: ``from nebula_images import Client`` defines it, and an
    attrs class costs a code generation at import."""

    __slots__ = (
        "attempts",
        "budget",
        "build",
        "idempotency_key",
        "operation",
        "parse",
        "prepared",
        "retry_ambiguous",
        "timeout",
    )

    def __init__(
        self,
        *,
        operation: Operation,
        budget: Budget,
        retry_ambiguous: bool,
        build: BuildRequest,
        parse: Callable[[Any], object],
        idempotency_key: str | None = None,
        prepared: PreparedBody | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.operation = operation
        self.budget = budget
        self.retry_ambiguous = retry_ambiguous
        self.build = build  # the generated module's build_request, arguments bound
        self.parse = parse  # its parse_document for a 200
        self.idempotency_key = idempotency_key
        self.prepared = prepared
        self.timeout = timeout
        self.attempts = 0

    @property
    def rules(self) -> ModelRules:
        from ._models_table import DEFAULT_MODEL, rules_for

        return self.prepared.rules if self.prepared else rules_for(DEFAULT_MODEL)

    @property
    def generation(self) -> bool:
        return self.operation == "generate"


class Answer:
    """What one attempt got back: status and headers, then the body read (its images
    already decoded out of it for a 200 generation)."""

    __slots__ = ("body", "headers", "images", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self.body = b""
        self.images: list[bytes | ValueError] | None = None


class Redactor:
    """The one filter for everything of an answer that reaches an error, a log line or
    a result: the API key becomes ``[redacted]``."""

    def __init__(self, auth: BearerAuth) -> None:
        self._auth = auth

    def text(self, text: str) -> str:
        return self._auth.redact(text)

    def value(self, value: Any) -> Any:
        """``value`` (text, or a JSON document of any shape) without the key."""
        return redacted(value, self._auth.redact)

    def request_id(self, headers: Mapping[str, str] | None) -> str | None:
        """The answer's X-Request-ID, redacted (a server may echo anything there)."""
        request_id = headers.get("x-request-id") if headers is not None else None
        return None if request_id is None else self._auth.redact(request_id)

    def error_text(self, content: bytes) -> str:
        """A non-JSON error body as text: redacted whole, then cut to ERROR_TEXT_LIMIT
        bytes (cut first, a key across the cut would keep all but its last characters)."""
        text = self._auth.redact(content.decode("utf-8", "replace"))
        return text.encode("utf-8")[:ERROR_TEXT_LIMIT].decode("utf-8", "ignore")

    def cause(self, exc: BaseException) -> BaseException | None:
        """The exception to chain under a wrapper error: a copy of a transport error with
        its message redacted and no chain or traceback of its own (a server can echo the
        key into a status line or header, which httpx and h11 quote in their messages)."""
        if not isinstance(exc, httpx.HTTPError):
            return None
        text = self._auth.redact(str(exc))
        try:
            copy: BaseException = type(exc)(text)
        except TypeError:  # a subclass with another constructor
            copy = httpx.TransportError(text)
        return copy

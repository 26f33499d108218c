"""Client and AsyncClient: composition over the generated client.

The generated ``generate_image`` / ``list_models`` functions do the HTTP calls; this
layer checks arguments against the per-model table, configures the httpx client
(auth scoped to the base URL, per-attempt timeouts, a capped and memory-lean body
read), retries through tenacity without ever billing twice, and turns every answer,
documented or not, into a typed result or one of the errors of ``_errors``: the
fields it reads are checked against the spec's types, and all it shows of an answer
passes through one redaction of the API key (``_BaseClient._redact``).
Shared logic lives in ``_BaseClient``; only I/O differs between the two clients
(as in httpx): construction, the limiter wait, the send, the retry sleep and close.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
import uuid
from collections.abc import (
    Awaitable,
    Callable,
    Mapping,
)
from datetime import timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, Self, TypeVar, cast

import attrs
import httpx

from nebula_images_api import models as generated_models
from nebula_images_api.api.images import generate_image
from nebula_images_api.api.models import list_models
from nebula_images_api.client import AuthenticatedClient
from nebula_images_api.models import (
    GeneratedImage,
    GenerationFailure,
    ImageGenerationResponse,
    ModelListResponse,
    ServerlessModel,
)
from nebula_images_api.types import Response, Unset

from ._auth import BearerAuth, may_use_env_proxies, redact
from ._config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_POOL_TIMEOUT,
    DEFAULT_WRITE_TIMEOUT,
    ENV_API_KEY,
    Hook,
    Settings,
    TimeoutArg,
    attempt_timeout,
    call_timeout,
    resolve_api_key,
    resolve_settings,
    seconds,
)
from ._encoding import decode_base64_strict, sniff_format
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
    ValidationError,
    redacted,
)
from ._images import GenerationResult, Image, ModelInfo
from ._logging import REDACTED, configure_from_env, logger
from ._models_table import DEFAULT_MODEL, GENERIC, MODELS, ModelRules, rules_for
from ._retry import (
    Budget,
    Failure,
    RetryPolicy,
    mark,
    retry_after_of,
    status_failure,
)
from ._transport import ATTEMPT, AttemptContext, BodyTooLargeError, install, parse_json
from ._validation import PreparedBody, check_idempotency_key, prepare_body
from .resources import AsyncImages, AsyncModels, Images, Models

if TYPE_CHECKING:
    import contextvars

    import tenacity

    from ._limits import AsyncRateLimiter, RateLimiter

__all__ = ["AsyncClient", "Client"]

Operation = Literal["generate", "list_models"]
Outcome = GenerationResult | list[ModelInfo]
_R = TypeVar("_R")
_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)
# Request schema name -> its generated class, for every schema of the spec's oneOf.
_REQUEST_MODELS: Mapping[str, Any] = {
    rules.schema: getattr(generated_models, rules.schema) for rules in (*MODELS.values(), GENERIC)
}
# AuthenticatedClient prints its token in its repr; the real key lives in BearerAuth,
# so the generated client only ever holds this placeholder.
_TOKEN_PLACEHOLDER = "set-by-nebula_images-auth"  # noqa: S105 (not a secret)
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
_USER_AGENT = "nebula-images/0.1.0 (python-httpx)"
_DEFAULT_HTTP_TIMEOUT = httpx.Timeout(
    connect=DEFAULT_CONNECT_TIMEOUT,
    read=180.0,
    write=DEFAULT_WRITE_TIMEOUT,
    pool=DEFAULT_POOL_TIMEOUT,
)
_LIST_TIMEOUT = httpx.Timeout(30.0, connect=DEFAULT_CONNECT_TIMEOUT)
# What sending or parsing one attempt may raise; each becomes a typed APIError.
# RecursionError: the generated parser's json.loads on a deeply nested body.
_SEND_ERRORS = (
    httpx.HTTPError,
    BodyTooLargeError,
    ValueError,
    KeyError,
    TypeError,
    RecursionError,
)
_T = TypeVar("_T")


def _cause(exc: BaseException) -> BaseException | None:
    """The exception to chain under a wrapper error: transport errors only. A parser's
    ValueError/TypeError may quote the response (an echoed key included); its redacted
    text is already in the wrapper error's message, so it is not chained."""
    return exc if isinstance(exc, httpx.HTTPError | BodyTooLargeError) else None


# -- reading the fields of an answer with the spec's types ---------------------------
# The generated models' from_dict copies values without checking their types, so the
# fields the wrapper reads go through these readers: a value the spec does not allow
# becomes a ResponseValidationError instead of a result carrying the wrong type.


class _OffContractError(ValueError):
    """A field of an answer breaks the type or minimum the spec gives it (internal)."""

    def __init__(self, where: str, value: object, expected: str) -> None:
        # Numbers are shown, anything else only by its type: a string could be the
        # echoed key and a container could be deep or huge.
        shown = (
            repr(value)[:40]
            if value is None or isinstance(value, bool | int | float)
            else f"a {type(value).__name__}"
        )
        super().__init__(f"{where} is {shown}, expected {expected}")


def _text(value: object, where: str) -> str:
    if isinstance(value, str):
        return value
    raise _OffContractError(where, value, "a string")


def _integer(value: object, where: str, *, minimum: int | None = None) -> int:
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (minimum is None or value >= minimum)
    ):
        return value
    bound = "" if minimum is None else f" >= {minimum}"
    raise _OffContractError(where, value, f"an integer{bound}")


def _number(value: object, where: str, *, minimum: float | None = None) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer past the float range
            number = math.inf
        if math.isfinite(number) and (minimum is None or number >= minimum):
            return number
    bound = "" if minimum is None else f" >= {minimum:g}"
    raise _OffContractError(where, value, f"a finite number{bound}")


def _optional(read: Callable[[object, str], _T], value: object, where: str) -> _T | None:
    """``read(value)``, or None for an absent field or a null."""
    return None if value is None or isinstance(value, Unset) else read(value, where)


def _image_fields(item: GeneratedImage, where: str) -> tuple[int, float, int | None]:
    """``index``, ``timings.inference`` and ``seed`` of one image of a 200, checked."""
    _text(item.b64_json, f"{where}.b64_json")  # decoded later (mostly by the transport)
    return (
        _integer(item.index, f"{where}.index", minimum=0),
        _number(item.timings.inference, f"{where}.timings.inference", minimum=0),
        # A null seed reads as absent: the vendor does not document the field and the
        # spec says clients must not require it.
        _optional(_integer, item.seed, f"{where}.seed"),
    )


def _model_info(model: ServerlessModel, where: str, redact: Callable[[str], str]) -> ModelInfo:
    """One entry of the model list, checked, its text passed through ``redact``."""

    def text(value: object, path: str) -> str:
        return redact(_text(value, path))

    def optional(read: Callable[[object, str], _T], field: str) -> _T | None:
        return _optional(read, getattr(model, field), f"{where}.{field}")

    return ModelInfo(
        name=text(model.model_name, f"{where}.model_name"),
        type=text(model.model_type, f"{where}.model_type"),
        alias=optional(text, "model_alias"),
        description=optional(text, "description"),
        price=optional(_number, "price"),
        context_length=optional(_integer, "context_length"),
        max_completion_tokens=optional(_integer, "max_completion_tokens"),
        huggingface_url=optional(text, "huggingface_url"),
    )


def _server_message(body: Any) -> str | None:
    """The ``message`` a server put in an error body, when it is text."""
    if isinstance(body, dict):
        message = body.get("message")
        return message if isinstance(message, str) and message else None
    if isinstance(body, str):
        return body.strip()[:200] or None
    return None


@attrs.define
class _Call:
    """The state of one logical call across its attempts."""

    operation: Operation
    budget: Budget
    retry_ambiguous: bool
    endpoint: ModuleType  # the generated module: its sync_detailed / asyncio_detailed
    arguments: dict[str, Any]  # keyword arguments of that function besides client=
    idempotency_key: str | None = None
    prepared: PreparedBody | None = None
    timeout: httpx.Timeout | None = None
    attempts: int = 0

    @property
    def rules(self) -> ModelRules:
        return self.prepared.rules if self.prepared else rules_for(DEFAULT_MODEL)


def _replaying(first: APIError, attempt: Callable[[_Call], _R]) -> Callable[[_Call], _R]:
    """``attempt``, except that its first run raises ``first`` (already caught).

    The first attempt of a call runs outside tenacity, so a call that succeeds never
    builds (or imports) the retry machinery. Once it failed, tenacity takes over from
    a replay of that failure, with the same decisions as if it had run it itself."""
    pending = [first]

    def run(call: _Call) -> _R:
        if pending:
            raise pending.pop()
        return attempt(call)

    if not inspect.iscoroutinefunction(attempt):
        return run

    # AsyncRetrying awaits only what a coroutine function returns.
    async def run_async(call: _Call) -> Any:
        return await cast(Awaitable[Any], run(call))

    return cast(Callable[[_Call], _R], run_async)


class _BaseClient(Generic[_HttpT]):
    """Everything of a client that does no I/O."""

    _http_class: type[_HttpT]  # httpx.Client or httpx.AsyncClient
    _other_class = ""  # the other client of the pair, for the error message
    _limiter: RateLimiter | AsyncRateLimiter | None

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: TimeoutArg = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: _HttpT | None = None,
        deadline: float | timedelta | None = None,
        retry_ambiguous: bool = False,
        rate_limit: float | None = None,
        max_retry_wait: float | timedelta = DEFAULT_MAX_RETRY_WAIT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        on_request: Hook | None = None,
        on_retry: Hook | None = None,
        on_response: Hook | None = None,
    ) -> None:
        configure_from_env()
        self._settings: Settings = resolve_settings(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            deadline=deadline,
            retry_ambiguous=retry_ambiguous,
            rate_limit=rate_limit,
            max_retry_wait=max_retry_wait,
            max_response_bytes=max_response_bytes,
            on_request=on_request,
            on_retry=on_retry,
            on_response=on_response,
        )
        self._auth = BearerAuth(resolve_api_key(api_key), self._settings.base_url)
        # Time sources, replaceable in tests so waits are measured without sleeping.
        self._clock: Callable[[], float] = time.monotonic
        self._wallclock: Callable[[], float] = time.time
        # None: tenacity's jittered exponential backoff, built on the first retry.
        self._backoff: tenacity.wait.wait_base | None = None
        self._closed = False
        kind = self._http_class.__name__
        if http_client is not None and not isinstance(http_client, self._http_class):
            raise ValidationError(
                "http_client",
                f"expected an httpx.{kind}, got {type(http_client).__name__}",
                f"pass httpx.{kind}(...) (use {self._other_class} for an "
                f"httpx.{self._other_class})",
            )
        self._owns_http = http_client is None
        self._http: _HttpT = http_client or self._http_class(
            timeout=_DEFAULT_HTTP_TIMEOUT,
            headers={"User-Agent": _USER_AGENT},
            trust_env=may_use_env_proxies(self._settings.base_url),
        )
        self._http.base_url = httpx.URL(self._settings.base_url)
        self._http.auth = self._auth
        install(self._http, self._settings.max_response_bytes)
        self._api = AuthenticatedClient(base_url=self._settings.base_url, token=_TOKEN_PLACEHOLDER)
        self._bind()

    def _bind(self) -> None:
        """Attach the I/O side: the generated client, request logging, sleep, limiter."""
        raise NotImplementedError

    def _add_request_hook(self, hook: Callable[[httpx.Request], Any]) -> None:
        hooks: dict[str, list[Callable[..., Any]]] = self._http.event_hooks
        hooks["request"] = [*hooks.get("request", []), hook]
        self._http.event_hooks = hooks

    # -- public read-only settings -------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API's base URL; the key is sent nowhere else."""
        return self._settings.base_url

    @property
    def max_retries(self) -> int:
        """Retries allowed per call."""
        return self._settings.max_retries

    @property
    def rate_limit(self) -> float | None:
        """Client-side requests per minute, or None."""
        return self._settings.rate_limit

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._settings.base_url!r}, "
            f"max_retries={self._settings.max_retries}, api_key={REDACTED})"
        )

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            f"{type(self).__name__} cannot be pickled: it holds the API key and open "
            "connections; create a new client in the other process"
        )

    def __getstate__(self) -> NoReturn:
        self.__reduce__()

    # -- preparing calls -----------------------------------------------------------

    def _budget(self, deadline: float | timedelta | None) -> Budget:
        limit = seconds(deadline, "deadline") if deadline is not None else self._settings.deadline
        return Budget(limit, self._clock)

    def _prepare_generation(
        self,
        prompt: str,
        *,
        model: str | None,
        parameters: Mapping[str, object],
        idempotency_key: str | None,
        timeout: TimeoutArg,
        deadline: float | timedelta | None,
        retry_ambiguous: bool | None,
    ) -> _Call:
        key = (
            check_idempotency_key(idempotency_key)
            if idempotency_key is not None
            else str(uuid.uuid4())
        )
        prepared = prepare_body(
            prompt=prompt,
            model=model if model is not None else DEFAULT_MODEL,
            parameters=parameters,
            idempotency_key=key,
        )
        body = _REQUEST_MODELS[prepared.rules.schema].from_dict(prepared.body)
        return _Call(
            operation="generate",
            budget=self._budget(deadline),
            retry_ambiguous=self._settings.retry_ambiguous
            if retry_ambiguous is None
            else bool(retry_ambiguous),
            endpoint=generate_image,
            arguments={"body": body, "idempotency_key": key},
            idempotency_key=key,
            prepared=prepared,
            timeout=call_timeout(timeout) or self._settings.timeout,
        )

    def _prepare_list(self) -> _Call:
        # GET /serverless/models is idempotent and free: every failure class retries.
        return _Call(
            operation="list_models",
            budget=self._budget(None),
            retry_ambiguous=True,
            endpoint=list_models,
            arguments={},
            timeout=self._settings.timeout or _LIST_TIMEOUT,
        )

    def _attempt_context(self, call: _Call) -> AttemptContext:
        remaining = call.budget.remaining()
        deadline_at = None if remaining is None else time.monotonic() + remaining
        return AttemptContext(
            timeout=attempt_timeout(call.timeout, call.rules.timeout_seconds, remaining),
            deadline=deadline_at,
            max_body=self._settings.max_response_bytes,
            extract_images=call.operation == "generate",
        )

    def _policy(self, call: _Call) -> RetryPolicy:
        def notify(error: APIError, attempt: int, wait: float) -> None:
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

        return RetryPolicy(
            max_retries=self._settings.max_retries,
            retry_ambiguous=call.retry_ambiguous,
            max_retry_wait=self._settings.max_retry_wait,
            budget=call.budget,
            backoff=self._backoff,
            on_retry=notify,
        )

    def _retry_plan(
        self, call: _Call, error: APIError, attempt: Callable[[_Call], _R]
    ) -> tuple[RetryPolicy, Callable[[_Call], _R]]:
        """After a failed first attempt: the policy and what tenacity runs next, or
        the final error raised at once when the failure may not be retried."""
        policy = self._policy(call)
        if not policy.allows(error, 1):
            self._raise_final(call, policy, error)
        return policy, _replaying(error, attempt)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this client is closed; create a new one")

    def _redact(self, value: Any) -> Any:
        """``value`` (text, or a JSON document of any shape) without the API key: the one
        filter for everything of an answer that reaches an error, a log line or a result."""
        return redacted(value, self._auth.redact)

    def _request_id(self, headers: Mapping[str, str] | None) -> str | None:
        """The answer's X-Request-ID, redacted (a server may echo anything there)."""
        request_id = headers.get("x-request-id") if headers is not None else None
        return None if request_id is None else self._auth.redact(request_id)

    # -- hooks and logging -----------------------------------------------------------

    def _emit(self, hook: Hook | None, call: _Call, **fields: Any) -> None:
        """Call ``hook`` with a RequestEvent (built only when a hook is set)."""
        if hook is None:
            return
        from ._hooks import RequestEvent  # only clients with hooks pay for the class

        event = RequestEvent(
            operation=call.operation, idempotency_key=call.idempotency_key, **fields
        )
        # A failing observability hook must not change what a call does (for example
        # lose a result that was already billed), so its error is logged, not raised.
        try:
            hook(event)
        except Exception:
            logger.exception("a nebula_images hook raised; the call goes on")

    def _start_attempt(
        self, call: _Call
    ) -> tuple[AttemptContext, float, contextvars.Token[AttemptContext | None]]:
        """Count and announce an attempt; its transport context, start time and the
        token that ends the context (``ATTEMPT.reset``) once the attempt is over."""
        call.attempts += 1
        logger.debug(
            "%s attempt %d (idempotency_key=%s)",
            call.operation,
            call.attempts,
            call.idempotency_key,
        )
        self._emit(self._settings.on_request, call, attempt=call.attempts)
        ctx = self._attempt_context(call)
        return ctx, self._clock(), ATTEMPT.set(ctx)

    def _attempt_failed(
        self, call: _Call, exc: BaseException, ctx: AttemptContext, started: float
    ) -> APIError:
        """The typed error of an attempt whose send or parse raised ``exc``."""
        error = self._error_from_exception(call, exc, ctx)
        self._after_attempt(call, started, ctx.status, error.request_id, error)
        return error

    def _attempt_answered(
        self, call: _Call, response: Response[Any], ctx: AttemptContext, started: float
    ) -> Outcome:
        """The result of an attempt that got an answer, or its typed error."""
        request_id = self._request_id(response.headers)
        try:
            result = self._interpret(call, response, ctx, request_id)
        except APIError as error:
            self._after_attempt(call, started, int(response.status_code), error.request_id, error)
            raise
        self._after_attempt(call, started, 200, request_id, None)
        return result

    def _after_attempt(
        self,
        call: _Call,
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

    @staticmethod
    def _log_request(request: httpx.Request) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "HTTP %s %s headers=%s", request.method, request.url, redact(request.headers)
            )

    def _deadline_check(self, call: _Call) -> float | None:
        remaining = call.budget.remaining()
        if remaining is not None and remaining <= 0:
            raise call.budget.expired_error(
                attempts=call.attempts, idempotency_key=call.idempotency_key
            )
        return remaining

    def _limiter_timeout(self, call: _Call, per_minute: float) -> APITimeoutError:
        error = APITimeoutError(
            f"the client-side rate_limit ({per_minute:g}/min) would delay this request past "
            "the call's deadline; raise deadline= or rate_limit=",
            idempotency_key=call.idempotency_key,
            attempts=call.attempts,
        )
        return cast(APITimeoutError, mark(error, Failure.FINAL))

    # -- turning answers into results or errors --------------------------------------

    def _error_from_exception(
        self, call: _Call, exc: BaseException, ctx: AttemptContext
    ) -> APIError:
        """A typed error for an exception raised while sending or parsing."""
        key = call.idempotency_key
        generation = call.operation == "generate"
        request_id = self._request_id(ctx.headers)
        reason = self._redact(str(exc))
        error: APIError
        if isinstance(exc, BodyTooLargeError):
            error = ResponseValidationError(
                f"the response body is larger than max_response_bytes={exc.limit}; "
                "raise max_response_bytes= on the client",
                request_id=request_id,
                idempotency_key=key,
                may_have_been_billed=generation,
            )
            return mark(error, Failure.FINAL)
        if isinstance(exc, httpx.TimeoutException):
            started = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            error = APITimeoutError(
                f"{type(exc).__name__}: no answer in time ({reason or 'timed out'}); "
                "raise timeout= or deadline= if the model needs longer",
                request_id=request_id,
                idempotency_key=key,
                may_have_been_billed=generation and started,
            )
            return mark(error, Failure.AMBIGUOUS if started else Failure.NEVER_STARTED)
        if isinstance(exc, httpx.ConnectError):
            error = APIConnectionError(
                f"could not connect to {self._settings.base_url} ({reason}); "
                "check the network and NEBULA_BASE_URL",
                idempotency_key=key,
            )
            return mark(error, Failure.NEVER_STARTED)
        if isinstance(exc, httpx.HTTPError):
            when = "while reading the answer" if ctx.status is not None else "after sending"
            error = APIConnectionError(
                f"the connection failed {when} ({type(exc).__name__}: {reason})",
                request_id=request_id,
                idempotency_key=key,
                may_have_been_billed=generation,
            )
            return mark(error, Failure.AMBIGUOUS)
        # ValueError/KeyError/TypeError/RecursionError from the generated parser: a
        # body off contract.
        if ctx.status is not None and ctx.status != 200:
            return self._status_error(call, ctx.status, ctx.headers, ctx.body, request_id)
        if (
            ctx.status == 200
            and (failed := self._failed_body(call, ctx.body, request_id)) is not None
        ):
            return failed
        return self._off_contract(
            call,
            f"the response does not match the API's contract ({type(exc).__name__}: "
            f"{reason[:200]})",
            request_id,
        )

    def _off_contract(
        self, call: _Call, problem: str, request_id: str | None
    ) -> ResponseValidationError:
        """The error of an answer that breaks the API's contract (a generation may
        have run: the same idempotency key replays it)."""
        error = ResponseValidationError(
            f"{self._redact(problem)}; the answer is not usable",
            request_id=request_id,
            idempotency_key=call.idempotency_key,
            may_have_been_billed=call.operation == "generate",
        )
        return cast(ResponseValidationError, mark(error, Failure.AMBIGUOUS))

    def _failed(self, call: _Call, body: Mapping[str, Any], request_id: str | None) -> APIError:
        """The error of a 200 whose body says ``"status": "failed"``."""
        shown = self._redact(dict(body))
        message = _server_message(shown) or "the server reported a failure"
        error = GenerationFailedError(
            f"{message} (a 200 answer with status 'failed')",
            status=200,
            body=shown,
            request_id=request_id,
            idempotency_key=call.idempotency_key,
        )
        return mark(error, Failure.FINAL)

    def _failed_body(self, call: _Call, content: bytes, request_id: str | None) -> APIError | None:
        """The error of an off-contract 200 body that still says ``"status": "failed"``."""
        try:
            parsed = parse_json(content)
        except ValueError:
            return None
        if isinstance(parsed, dict) and parsed.get("status") == "failed":
            return self._failed(call, parsed, request_id)
        return None

    def _status_error(
        self,
        call: _Call,
        status: int,
        headers: Mapping[str, str] | None,
        content: bytes,
        request_id: str | None,
    ) -> APIError:
        """The typed error of an error status, documented or not, read from the raw
        body (the generated ``Error`` does not check the types of its fields)."""
        body: Any = None
        try:
            body = parse_json(content) if content else None
        except ValueError:
            # Redacted before it is cut short, so that no part of the key survives.
            body = self._redact(content[:2000].decode("utf-8", "replace"))[:500]
        # Only a JSON document's retry_after counts; redaction leaves numbers as they are.
        retry_after = retry_after_of(headers, body, now=self._wallclock)
        body = self._redact(body)
        message = _server_message(body) or httpx.codes.get_reason_phrase(status) or "error"
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
            may_have_been_billed=call.operation == "generate" and failure is Failure.AMBIGUOUS,
            retry_after=retry_after,
        )
        return mark(error, failure)

    def _interpret(
        self, call: _Call, response: Response[Any], ctx: AttemptContext, request_id: str | None
    ) -> GenerationResult | list[ModelInfo]:
        status = int(response.status_code)
        parsed = response.parsed
        if status != 200:
            raise self._status_error(call, status, response.headers, response.content, request_id)
        if call.operation == "list_models":
            if not isinstance(parsed, ModelListResponse):
                raise self._error_from_exception(call, ValueError("unexpected body"), ctx)
            if parsed.status == "failed":
                raise self._failed(call, parsed.to_dict(), request_id)
            try:
                return [
                    _model_info(model, f"data.models[{i}]", self._auth.redact)
                    for i, model in enumerate(parsed.data.models)
                ]
            except _OffContractError as exc:
                raise self._off_contract(
                    call, f"the response breaks the API's contract: {exc}", request_id
                ) from None
        if isinstance(parsed, GenerationFailure):  # the spec's failure body on a 200
            raise self._failed(call, parsed.to_dict(), request_id)
        if not isinstance(parsed, ImageGenerationResponse):
            raise self._error_from_exception(call, ValueError("unexpected body"), ctx)
        return self._generation_result(call, parsed, ctx, request_id)

    def _generation_result(
        self,
        call: _Call,
        parsed: ImageGenerationResponse,
        ctx: AttemptContext,
        request_id: str | None,
    ) -> GenerationResult:
        def invalid(problem: str) -> ResponseValidationError:
            return self._off_contract(call, problem, request_id)

        assert call.idempotency_key is not None and call.prepared is not None
        decoded_list = ctx.images
        ctx.images = None
        if not parsed.data:
            raise invalid("the answer has no images")
        try:
            model = self._auth.redact(_text(parsed.model, "model"))
            message = self._auth.redact(_text(parsed.message, "message"))
            checked = [_image_fields(item, f"data[{i}]") for i, item in enumerate(parsed.data)]
        except _OffContractError as exc:
            raise invalid(f"the response breaks the API's contract: {exc}") from None
        if decoded_list is not None and len(decoded_list) != len(checked):
            # The transport decodes the b64_json strings in body order: one per image,
            # or the decoded bytes could land on the wrong image.
            raise invalid(
                f"the response breaks the API's contract: {len(decoded_list)} b64_json "
                f"strings for {len(checked)} images"
            )
        requested_seed = call.prepared.parameters.get("seed")
        images: list[Image] = []
        for position, (item, (index, inference, seed)) in enumerate(
            zip(parsed.data, checked, strict=True)
        ):
            decoded: bytes | ValueError
            if decoded_list is not None:
                decoded = decoded_list[position]
            else:
                try:
                    decoded = decode_base64_strict(item.b64_json)
                except ValueError as exc:
                    decoded = exc
            item.b64_json = ""  # drop the base64 text as soon as it is decoded
            if isinstance(decoded, ValueError):
                raise invalid(f"image {index}: b64_json is not valid base64 ({decoded})")
            fmt = sniff_format(decoded)
            if fmt is None:
                raise invalid(f"image {index}: the decoded bytes are not a PNG, JPEG or WebP file")
            images.append(
                Image(
                    data=decoded,
                    format=fmt,
                    index=index,
                    inference_seconds=inference,
                    seed=seed if seed is not None else requested_seed,
                    request_id=request_id,
                    idempotency_key=call.idempotency_key,
                )
            )
        return GenerationResult(
            images=tuple(sorted(images, key=lambda image: image.index)),
            model=model,
            request_id=request_id,
            idempotency_key=call.idempotency_key,
            retries=call.attempts - 1,
            parameters=dict(call.prepared.parameters),
            message=message,
            elapsed_seconds=call.budget.elapsed(),
        )

    def _raise_final(self, call: _Call, policy: RetryPolicy, error: APIError) -> NoReturn:
        final = policy.finish(error, call.attempts)
        if final is error:
            raise error
        raise final from error


_ARGS_DOC = """
    Args:
        api_key: the API key; default the environment variable NEBULA_API_KEY.
            Kept out of every repr, log line and error; sent only under base_url.
        base_url: default NEBULA_BASE_URL, else https://api.nebulablock.com/api/v1.
        timeout: per attempt: seconds or an httpx.Timeout. Default: connect 10 s,
            read the model's time from the per-model table (60-180 s).
        max_retries: retries per call (default 2) of failures that are safe to retry.
        http_client: an httpx client to send with (proxies, transport, limits). Its
            base URL, auth and transport are configured for this API; it is not
            closed by close().
        deadline: seconds for a whole call, retries and waits included.
        retry_ambiguous: also retry failures after which a generation may have run
            (read timeout, dropped connection, 500/502/504); safe when the server
            honours Idempotency-Key. GET /serverless/models always retries them.
        rate_limit: client-side requests per minute, shared by all threads/tasks.
        max_retry_wait: the longest server-requested wait honoured (default 60 s);
            a longer one fails at once with RateLimitError carrying retry_after.
        max_response_bytes: cap on a response body (default 256 MiB).
        on_request, on_retry, on_response: hooks called with a RequestEvent;
            an exception in a hook is logged and ignored.
"""


class Client(_BaseClient[httpx.Client]):
    """Synchronous client: ``with Client() as client: client.images.generate("...")``."""

    _http_class = httpx.Client
    _other_class = "AsyncClient"

    def _bind(self) -> None:
        self._add_request_hook(self._auth.strip_outside_base)
        self._add_request_hook(self._log_request)
        self._api = self._api.set_httpx_client(self._http)
        self._sleep: Callable[[float], None] = time.sleep
        self._limiter: RateLimiter | None = None
        if self._settings.rate_limit:
            from ._limits import RateLimiter  # only clients with rate_limit= need it

            self._limiter = RateLimiter(
                self._settings.rate_limit,
                clock=lambda: self._clock(),
                sleep=lambda wait: self._sleep(wait),
            )
        self.images = Images(self)
        self.models = Models(self)

    def close(self) -> None:
        """Close the connections (a caller's own http_client is left open)."""
        if not self._closed:
            self._closed = True
            if self._owns_http:
                self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _attempt(self, call: _Call) -> Outcome:
        remaining = self._deadline_check(call)
        # The limiter comes first so that on_request fires when the request really goes.
        if self._limiter is not None:
            if self._limiter.acquire(remaining) is None:
                raise self._limiter_timeout(call, self._limiter.per_minute)
            self._deadline_check(call)
        ctx, started, token = self._start_attempt(call)
        try:
            response = call.endpoint.sync_detailed(client=self._api, **call.arguments)
        except _SEND_ERRORS as exc:
            raise self._attempt_failed(call, exc, ctx, started) from _cause(exc)
        finally:
            ATTEMPT.reset(token)
        return self._attempt_answered(call, response, ctx, started)

    def _run(self, call: _Call) -> Outcome:
        self._check_open()
        try:
            return self._attempt(call)
        except APIError as error:
            first = error
        policy, attempt = self._retry_plan(call, first, self._attempt)
        import tenacity  # loaded by the first retry only

        retrying = tenacity.Retrying(sleep=lambda wait: self._sleep(wait), **policy.options())
        try:
            return retrying(attempt, call)
        except APIError as error:
            self._raise_final(call, policy, error)


class AsyncClient(_BaseClient[httpx.AsyncClient]):
    """Asynchronous client: ``async with AsyncClient() as c: await c.images.generate("...")``."""

    _http_class = httpx.AsyncClient
    _other_class = "Client"

    def _bind(self) -> None:
        self._add_request_hook(self._auth.astrip_outside_base)
        self._add_request_hook(self._alog_request)
        self._api = self._api.set_async_httpx_client(self._http)
        import asyncio  # here, not at the top: the sync Client never needs asyncio

        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._limiter: AsyncRateLimiter | None = None
        if self._settings.rate_limit:
            from ._limits import AsyncRateLimiter  # only clients with rate_limit= need it

            self._limiter = AsyncRateLimiter(self._settings.rate_limit)
        self.images = AsyncImages(self)
        self.models = AsyncModels(self)

    async def _alog_request(self, request: httpx.Request) -> None:
        self._log_request(request)

    async def close(self) -> None:
        """Close the connections (a caller's own http_client is left open)."""
        if not self._closed:
            self._closed = True
            if self._owns_http:
                await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _attempt(self, call: _Call) -> Outcome:
        import asyncio

        remaining = self._deadline_check(call)
        # The limiter comes first so that on_request fires when the request really goes.
        if self._limiter is not None:
            if await self._limiter.acquire(remaining) is None:
                raise self._limiter_timeout(call, self._limiter.per_minute)
            remaining = self._deadline_check(call)
        ctx, started, token = self._start_attempt(call)
        try:
            # asyncio.timeout makes the deadline hard even for a drip-fed body.
            async with asyncio.timeout(remaining):
                response = await call.endpoint.asyncio_detailed(client=self._api, **call.arguments)
        except TimeoutError as exc:
            converted: Exception = httpx.ReadTimeout("the call's deadline ran out")
            if not ctx.sent:
                converted = httpx.PoolTimeout("the call's deadline ran out before sending")
            raise self._attempt_failed(call, converted, ctx, started) from exc
        except _SEND_ERRORS as exc:
            raise self._attempt_failed(call, exc, ctx, started) from _cause(exc)
        finally:
            ATTEMPT.reset(token)
        return self._attempt_answered(call, response, ctx, started)

    async def _run(self, call: _Call) -> Outcome:
        self._check_open()
        try:
            return await self._attempt(call)
        except APIError as error:
            first = error
        policy, attempt = self._retry_plan(call, first, self._attempt)
        import tenacity  # loaded by the first retry only

        retrying = tenacity.AsyncRetrying(sleep=lambda wait: self._sleep(wait), **policy.options())
        try:
            return cast(Outcome, await retrying(attempt, call))
        except APIError as error:
            self._raise_final(call, policy, error)


# One argument list for both clients, appended so that help(Client) shows it.
Client.__doc__ = f"{Client.__doc__}\n{_ARGS_DOC}"
AsyncClient.__doc__ = f"{AsyncClient.__doc__}\n{_ARGS_DOC}"

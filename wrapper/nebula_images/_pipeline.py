"""The request pipeline without its I/O: prepare a call, build each attempt's request,
read its answer into a result or a typed error, and plan the retries.

One call flows one way through the modules::

    _pipeline (prepare, build)  ->  _client (send, read: the only I/O)
        ->  _body (capped, decoded)  ->  _results (typed result)  |  _classify (typed error)

``_call`` holds what they share; ``_observe`` logs and calls the hooks. The generated
``generate_image`` / ``list_models`` modules build each request (``build_request``) and
type each answer (``parse_document``); the httpx client, a caller's or our own, is only
read: auth, timeout and URL go with each request.
"""

from __future__ import annotations

import functools
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar, cast

import httpx

from ._auth import BearerAuth, may_use_env_proxies
from ._body import BodyError, BodyReader
from ._call import Answer, Call, Outcome, Redactor
from ._classify import Classifier
from ._config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_POOL_TIMEOUT,
    DEFAULT_WRITE_TIMEOUT,
    Hook,
    Settings,
    TimeoutArg,
    attempt_timeout,
    call_timeout,
    resolve_api_key,
    resolve_settings,
    seconds,
)
from ._errors import APIError, ValidationError
from ._logging import REDACTED, configure_from_env
from ._observe import Observer
from ._results import ResultReader
from ._retry import Budget, RetryPolicy

if TYPE_CHECKING:
    import tenacity

__all__ = ["EXCHANGE_ERRORS", "BaseClient"]

_R = TypeVar("_R")
_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)
_USER_AGENT = "nebula-images/0.1.0 (python-httpx)"
_DEFAULT_HTTP_TIMEOUT = httpx.Timeout(
    connect=DEFAULT_CONNECT_TIMEOUT,
    read=180.0,
    write=DEFAULT_WRITE_TIMEOUT,
    pool=DEFAULT_POOL_TIMEOUT,
)
_LIST_TIMEOUT = httpx.Timeout(30.0, connect=DEFAULT_CONNECT_TIMEOUT)
# What sending and reading one attempt may raise because of the network or the answer;
# each becomes a typed APIError. Anything else (a bug, a user's httpx event hook or auth
# raising TypeError/KeyError) propagates unchanged: it is not the response's doing.
EXCHANGE_ERRORS = (httpx.HTTPError, BodyError)


@functools.cache
def _request_models() -> Mapping[str, Any]:
    """Request schema name -> its generated class, for every schema of the spec's oneOf.

    The generated package (attrs classes) loads on the first call, not at import:
    ``from nebula_images import Client`` stays close to ``import httpx``."""
    from nebula_images_api import models as generated_models

    from ._models_table import GENERIC, MODELS

    return {
        rules.schema: getattr(generated_models, rules.schema)
        for rules in (*MODELS.values(), GENERIC)
    }


def _replaying(first: APIError, attempt: Callable[[Call], _R]) -> Callable[[Call], _R]:
    """``attempt``, except that its first run raises ``first`` (already caught).

    The first attempt of a call runs outside tenacity, so a call that succeeds never
    builds (or imports) the retry machinery. Once it failed, tenacity takes over from
    a replay of that failure, with the same decisions as if it had run it itself."""
    pending = [first]

    def run(call: Call) -> _R:
        if pending:
            raise pending.pop()
        return attempt(call)

    if not inspect.iscoroutinefunction(attempt):
        return run

    # AsyncRetrying awaits only what a coroutine function returns.
    async def run_async(call: Call) -> Any:
        return await cast(Awaitable[Any], run(call))

    return cast(Callable[[Call], _R], run_async)


class BaseClient(Generic[_HttpT]):
    """Everything of a client that does no I/O (Client and AsyncClient add the I/O)."""

    _http_class: type[_HttpT]  # httpx.Client or httpx.AsyncClient
    _other_class = ""  # the other client of the pair, for the error message

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
        # A caller's httpx client is only read: every request carries its own auth,
        # timeout and absolute URL, so two Clients can share one httpx client.
        self._http: _HttpT = http_client or self._http_class(
            timeout=_DEFAULT_HTTP_TIMEOUT,
            headers={"User-Agent": _USER_AGENT},
            trust_env=may_use_env_proxies(self._settings.base_url),
        )
        self._redactor = Redactor(self._auth)
        self._observer = Observer(self._settings, self._auth, lambda: self._clock())
        self._classifier = Classifier(
            self._redactor, base_url=self._settings.base_url, wallclock=lambda: self._wallclock()
        )
        self._results = ResultReader(self._redactor, self._classifier)
        self._bind()

    def _bind(self) -> None:
        """Attach the I/O side: sleep, limiter, resources."""
        raise NotImplementedError

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
    ) -> Call:
        # The model table and the checks (attrs) load with the generated client, on the
        # first call: importing the client defines no attrs class (bench: import).
        from ._models_table import DEFAULT_MODEL
        from ._validation import check_idempotency_key, prepare_body

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
        from nebula_images_api.api.images import generate_image

        body = _request_models()[prepared.rules.schema].from_dict(prepared.body)
        base_url = self._settings.base_url

        def build(http: httpx.Client | httpx.AsyncClient, timeout: httpx.Timeout) -> httpx.Request:
            return generate_image.build_request(
                http_client=http, base_url=base_url, timeout=timeout, body=body, idempotency_key=key
            )

        def parse(document: Any) -> object:
            return generate_image.parse_document(status_code=200, document=document)

        return Call(
            operation="generate",
            budget=self._budget(deadline),
            retry_ambiguous=self._settings.retry_ambiguous
            if retry_ambiguous is None
            else bool(retry_ambiguous),
            build=build,
            parse=parse,
            idempotency_key=key,
            prepared=prepared,
            timeout=call_timeout(timeout) or self._settings.timeout,
        )

    def _prepare_list(self) -> Call:
        from nebula_images_api.api.models import list_models

        base_url = self._settings.base_url

        def build(http: httpx.Client | httpx.AsyncClient, timeout: httpx.Timeout) -> httpx.Request:
            return list_models.build_request(http_client=http, base_url=base_url, timeout=timeout)

        def parse(document: Any) -> object:
            return list_models.parse_document(status_code=200, document=document)

        # GET /serverless/models is idempotent and free: every failure class retries.
        return Call(
            operation="list_models",
            budget=self._budget(None),
            retry_ambiguous=True,
            build=build,
            parse=parse,
            timeout=self._settings.timeout or _LIST_TIMEOUT,
        )

    # -- one attempt -----------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this client is closed; create a new one")

    def _deadline_check(self, call: Call) -> float | None:
        remaining = call.budget.remaining()
        if remaining is not None and remaining <= 0:
            raise call.budget.expired_error(
                attempts=call.attempts, idempotency_key=call.idempotency_key
            )
        return remaining

    def _request(self, call: Call, remaining: float | None) -> httpx.Request:
        """The request of one attempt: its timeout capped by what is left of the deadline."""
        timeout = attempt_timeout(call.timeout, call.rules.timeout_seconds, remaining)
        request = call.build(self._http, timeout)
        # Only what _body can decode, whatever decoders httpx has installed.
        request.headers["Accept-Encoding"] = BodyReader.ACCEPT_ENCODING
        self._observer.request(request)
        return request

    def _next_hop(self, response: httpx.Response, hops: int) -> httpx.Request | None:
        """The redirect to follow after ``response`` (when the httpx client follows
        redirects), without the key outside the base URL; None when there is none.

        The client sends with ``follow_redirects=False`` and follows here: httpx would
        copy the key to every same-origin hop, and a request hook to take it back off
        would change the caller's httpx client."""
        hop = response.next_request
        if hop is None or not self._http.follow_redirects:
            return None
        if hops >= self._http.max_redirects:
            raise httpx.TooManyRedirects("too many redirects", request=response.request)
        self._auth.strip_outside_base(hop)
        return hop

    def _reader(
        self, response: httpx.Response, answer: Answer, deadline: float | None
    ) -> BodyReader:
        """Record the status and headers of ``response``; a reader for its body."""
        answer.status, answer.headers = response.status_code, response.headers
        return BodyReader(response, max_bytes=self._settings.max_response_bytes, deadline=deadline)

    def _attempt_failed(
        self, call: Call, exc: Exception, answer: Answer, started: float
    ) -> tuple[APIError, BaseException | None]:
        """The typed error of an attempt whose exchange raised ``exc`` and the cause to
        chain under it; raise them outside the ``except`` block, so that nothing chained
        quotes the answer unredacted."""
        error = self._classifier.from_exception(call, exc, answer)
        self._observer.ended(call, started, answer.status, error.request_id, error)
        return error, self._redactor.cause(exc)

    def _attempt_answered(self, call: Call, answer: Answer, started: float) -> Outcome:
        """The result of an attempt that got an answer, or its typed error."""
        request_id = self._redactor.request_id(answer.headers)
        try:
            result = self._results.read(call, answer, request_id)
        except APIError as error:
            self._observer.ended(call, started, answer.status, error.request_id, error)
            raise
        self._observer.ended(call, started, 200, request_id, None)
        return result

    # -- retries ---------------------------------------------------------------------

    def _retry_plan(
        self, call: Call, error: APIError, attempt: Callable[[Call], _R]
    ) -> tuple[RetryPolicy, Callable[[Call], _R]]:
        """After a failed first attempt: the policy and what tenacity runs next, or
        the final error raised at once when the failure may not be retried."""

        def notify(error: APIError, attempt: int, wait: float) -> None:
            self._observer.retrying(call, error, attempt, wait)

        policy = RetryPolicy(
            max_retries=self._settings.max_retries,
            retry_ambiguous=call.retry_ambiguous,
            max_retry_wait=self._settings.max_retry_wait,
            budget=call.budget,
            backoff=self._backoff,
            on_retry=notify,
        )
        if not policy.allows(error, 1):
            self._raise_final(call, policy, error)
        return policy, _replaying(error, attempt)

    def _raise_final(self, call: Call, policy: RetryPolicy, error: APIError) -> NoReturn:
        final = policy.finish(error, call.attempts)
        if final is error:
            raise error
        raise final from error

"""Client and AsyncClient: the I/O of the request pipeline, one line for one line.

Everything that does no I/O lives in ``_pipeline.BaseClient`` (as in httpx); here each
client sends a request, reads its body (``_body``), sleeps between retries and waits
for the limiter, the sync one in its thread and the async one in its task.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Self, TypeVar, cast

import httpx

from ._call import Answer, Call, Outcome
from ._errors import APIError
from ._pipeline import EXCHANGE_ERRORS, BaseClient
from ._results import finish_body
from .resources import AsyncImages, AsyncModels, Images, Models

if TYPE_CHECKING:
    from ._limits import AsyncRateLimiter, RateLimiter

__all__ = ["AsyncClient", "Client"]

_T = TypeVar("_T")


class _DeadlineExceeded(Exception):
    """The sync exchange did not finish within the call's deadline (internal)."""


def _within(seconds: float, exchange: Callable[[], _T]) -> _T:
    """``exchange()`` run in a helper thread, waited for at most ``seconds``.

    httpx's sync timeouts bound each socket read, so a server sending its headers one
    byte a second never trips them; only a wait from another thread bounds the whole
    exchange, as ``asyncio.timeout`` does for AsyncClient. An abandoned exchange stops
    at its next body chunk (the reader checks the same deadline) or its next timeout."""
    outcome: list[_T] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(exchange())
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="nebula-images-exchange", daemon=True).start()
    if not done.wait(seconds):
        raise _DeadlineExceeded
    if failure:
        raise failure[0]
    return outcome[0]


_ARGS_DOC = """
    Args:
        api_key: the API key; default the environment variable NEBULA_API_KEY.
            Kept out of every repr, log line and error; sent only under base_url.
        base_url: default NEBULA_BASE_URL, else https://api.nebulablock.com/api/v1.
        timeout: per attempt: seconds or an httpx.Timeout. Default: connect 10 s,
            read the model's time from the per-model table (60-180 s).
        max_retries: retries per call (default 2) of failures that are safe to retry.
        http_client: an httpx client to send with (proxies, transport, limits). It is
            only read, never changed (the key goes with each request, not on it), so
            several clients may share one; it is not closed by close().
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


class Client(BaseClient[httpx.Client]):
    """Synchronous client: ``with Client() as client: client.images.generate("...")``."""

    _http_class = httpx.Client
    _other_class = "AsyncClient"

    def _bind(self) -> None:
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

    def _attempt(self, call: Call) -> Outcome:
        remaining = self._deadline_check(call)
        # The limiter comes first so that on_request fires when the request really goes.
        if self._limiter is not None:
            if self._limiter.acquire(remaining) is None:
                raise self._classifier.limiter_timeout(call, self._limiter.per_minute)
            self._deadline_check(call)
        started = self._observer.started(call)
        request = self._request(call, remaining)
        answer = Answer()
        failure: Exception | None = None
        try:
            if remaining is None:
                self._exchange(call, request, answer, None)
            else:
                deadline = time.monotonic() + remaining
                _within(remaining, lambda: self._exchange(call, request, answer, deadline))
        except _DeadlineExceeded:
            failure = httpx.ReadTimeout("the call's deadline ran out", request=request)
        except EXCHANGE_ERRORS as exc:
            failure = exc
        if failure is not None:  # raised out here: no __context__ quoting the answer
            error, cause = self._attempt_failed(call, failure, answer, started)
            raise error from cause
        return self._attempt_answered(call, answer, started)

    def _exchange(
        self, call: Call, request: httpx.Request, answer: Answer, deadline: float | None
    ) -> None:
        """Send ``request`` and read its answer into ``answer``."""
        response = self._http.send(request, auth=self._auth, stream=True, follow_redirects=False)
        try:
            hops = 0
            while (hop := self._next_hop(response, hops)) is not None:
                response.close()
                hops += 1
                response = self._http.send(
                    hop, auth=self._auth, stream=True, follow_redirects=False
                )
            reader = self._reader(response, answer, deadline)
            if response.is_stream_consumed:
                reader.feed_decoded(response.content)
            else:
                for chunk in response.iter_raw():
                    reader.feed(chunk)
            body = reader.finish()
        finally:
            response.close()
        finish_body(call, answer, body)

    def _run(self, call: Call) -> Outcome:
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


class AsyncClient(BaseClient[httpx.AsyncClient]):
    """Asynchronous client: ``async with AsyncClient() as c: await c.images.generate("...")``."""

    _http_class = httpx.AsyncClient
    _other_class = "Client"

    def _bind(self) -> None:
        import asyncio  # here, not at the top: the sync Client never needs asyncio

        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._limiter: AsyncRateLimiter | None = None
        if self._settings.rate_limit:
            from ._limits import AsyncRateLimiter  # only clients with rate_limit= need it

            self._limiter = AsyncRateLimiter(self._settings.rate_limit)
        self.images = AsyncImages(self)
        self.models = AsyncModels(self)

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

    async def _attempt(self, call: Call) -> Outcome:
        import asyncio

        remaining = self._deadline_check(call)
        # The limiter comes first so that on_request fires when the request really goes.
        if self._limiter is not None:
            if await self._limiter.acquire(remaining) is None:
                raise self._classifier.limiter_timeout(call, self._limiter.per_minute)
            remaining = self._deadline_check(call)
        started = self._observer.started(call)
        request = self._request(call, remaining)
        answer = Answer()
        failure: Exception | None = None
        deadline = None if remaining is None else time.monotonic() + remaining
        # asyncio.timeout makes the deadline hard, headers and a drip-fed body included.
        limit = asyncio.timeout(remaining)
        try:
            async with limit:
                await self._exchange(call, request, answer, deadline)
        except TimeoutError:
            if not limit.expired():
                raise  # not the deadline's doing
            failure = httpx.ReadTimeout("the call's deadline ran out", request=request)
        except EXCHANGE_ERRORS as exc:
            failure = exc
        if failure is not None:  # raised out here: no __context__ quoting the answer
            error, cause = self._attempt_failed(call, failure, answer, started)
            raise error from cause
        return self._attempt_answered(call, answer, started)

    async def _exchange(
        self, call: Call, request: httpx.Request, answer: Answer, deadline: float | None
    ) -> None:
        """Send ``request`` and read its answer into ``answer``."""
        response = await self._http.send(
            request, auth=self._auth, stream=True, follow_redirects=False
        )
        try:
            hops = 0
            while (hop := self._next_hop(response, hops)) is not None:
                await response.aclose()
                hops += 1
                response = await self._http.send(
                    hop, auth=self._auth, stream=True, follow_redirects=False
                )
            reader = self._reader(response, answer, deadline)
            if response.is_stream_consumed:
                reader.feed_decoded(response.content)
            else:
                async for chunk in response.aiter_raw():
                    reader.feed(chunk)
            body = reader.finish()
        finally:
            await response.aclose()
        finish_body(call, answer, body)

    async def _run(self, call: Call) -> Outcome:
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

"""The mock's ASGI application: routing, auth, limits, faults, generation, control path.

Order of checks for an API request (each answered with the spec's ``Error`` body):
unknown path 404 -> wrong method 405 (+ ``Allow``) -> auth 401 -> rate limits 429 ->
queued fault -> body size 413 -> content type 415 -> unreadable body 400 -> schema 422
-> unknown model 404 -> inpainting inputs 400 -> idempotency replay (409 when the key
was first used with another body) or generation.

The control path ``/_mock/...`` (faults, ledger, config, reset, stats) is not in the
spec and needs no key, so it answers only what can only come from this machine's own
tools: a loopback client with no proxy forwarding header (a local proxy relaying a
remote client connects from loopback too, and uvicorn with ``FORWARDED_ALLOW_IPS=*``
rewrites the client from that header), a loopback ``Host`` (DNS rebinding), no foreign
``Origin`` and JSON bodies only (a cross-site form or ``text/plain`` POST needs no CORS
preflight, an ``application/json`` one does and gets none). Control bodies are typed,
at most 1 MiB, and every refusal is a 4xx with the API's ``Error`` body.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import threading
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ._config import CONFIGURABLE, MockConfig, is_loopback_host
from ._faults import Fault, FaultQueue, FaultSpecError, failure_body
from ._images import InpaintInputs, InputImageError, decode_inpaint_inputs, render_png
from ._ledger import IdempotencyKeyReused, Ledger, LedgerEntry
from ._ratelimit import RateLimiter
from ._validation import RequestRejected, SpecValidator

_JSON = "application/json"
#: Headers a proxy adds when it relays a client: their presence means "not from here".
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")
_MAX_CONTROL_BODY = 1024 * 1024
#: Bounds of the fault queue over HTTP: one push, and everything queued.
MAX_FAULT_TIMES = 1000
MAX_QUEUED_FAULTS = 10_000
_DEFAULT_FAULT_MESSAGES = {
    400: "Bad request",
    401: "Invalid or missing API key: send Authorization: Bearer <NEBULA_API_KEY>",
    403: "Insufficient balance: top up your account to use serverless models",
    404: "Not found",
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Model is overloaded, try again shortly",
    504: "Gateway timeout",
}


class SimulatedDisconnect(ConnectionError):
    """Raised to the ASGI server when a fault drops a connection it cannot close directly."""


@dataclass(frozen=True, slots=True)
class _Generation:
    """A validated generation request, with the values that will run."""

    model: str
    prompt: str
    negative_prompt: str | None
    seed: int
    width: int
    height: int
    inpaint: InpaintInputs | None
    fingerprint: str  # of the request body, to tell a reused Idempotency-Key apart


class MockApp:
    """The ASGI app; one instance holds the state of one mock server."""

    def __init__(
        self, config: MockConfig | None = None, *, clock: Callable[[], float] | None = None
    ) -> None:
        """``clock``: the monotonic clock the rate limits and the idempotency window count
        with (tests fake it)."""
        self._config = config or MockConfig()
        self.validator = SpecValidator()
        self.faults = FaultQueue()
        self.ledger = Ledger(clock=clock or time.monotonic)
        self._rate = RateLimiter(clock or time.monotonic)
        self._counter_lock = threading.Lock()
        self._requests_seen = 0
        self._key_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._key_users: dict[tuple[str, str], int] = {}
        self._methods = self.validator.operation_methods()
        self._models_body = self._catalogue()

    # -- state, shared with MockServer and the control path ------------------------

    @property
    def config(self) -> MockConfig:
        """The settings in force."""
        return self._config

    @property
    def requests_seen(self) -> int:
        """API requests that reached the mock (faulted and rejected ones included)."""
        with self._counter_lock:
            return self._requests_seen

    def configure(self, **changes: Any) -> MockConfig:
        """Change settings of the running mock (see ``CONFIGURABLE``)."""
        unknown = sorted(set(changes) - CONFIGURABLE)
        if unknown:
            raise ValueError(
                f"{unknown[0]}: not a setting configure() changes; "
                f"choose from {', '.join(sorted(CONFIGURABLE))}"
            )
        # MockConfig checks every value's type (a lone string is not a set of keys).
        self._config = self._config.replace(**changes)
        return self._config

    def reset(self) -> None:
        """Clear faults, ledger, idempotency store, counters and the rate limiter."""
        self.faults.clear()
        self.ledger.clear()
        self._rate.clear()
        with self._counter_lock:
            self._requests_seen = 0

    def stats(self) -> dict[str, Any]:
        """Counters for ``GET /_mock/stats``."""
        return {
            "requests_seen": self.requests_seen,
            "billed": self.ledger.billed,
            "replayed": self.ledger.replayed,
            "faults_pending": len(self.faults),
        }

    # -- ASGI ----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = f"req_{uuid.uuid4().hex}"
        path: str = scope["path"]
        if path == "/_mock" or path.startswith("/_mock/"):
            response = await self._control(scope, receive, path, request_id)
            await response(scope, receive, send)
            return
        base = self._config.base_path
        op_path = path[len(base) :] if path.startswith(base + "/") else None
        methods = self._methods.get(op_path) if op_path is not None else None
        with self._counter_lock:
            self._requests_seen += 1
        if methods is None:
            response = _error(404, f"No such path: {path[:200]}", request_id)
        elif scope["method"] not in methods:
            response = _error(
                405,
                f"Method {scope['method']} not allowed on {op_path}; use {', '.join(methods)}",
                request_id,
                headers={"Allow": ", ".join(methods)},
            )
        else:
            assert op_path is not None
            await self._api(op_path, scope, receive, send, request_id)
            return
        await response(scope, receive, send)

    async def _api(
        self, op_path: str, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> None:
        headers = Headers(scope=scope)
        config = self._config
        key = _bearer_token(headers.get("authorization"))
        if key is None or not config.accepts_key(key):
            what = "missing" if key is None else "unknown"
            await _error(
                401,
                f"Invalid or {what} API key: send Authorization: Bearer <NEBULA_API_KEY>",
                request_id,
            )(scope, receive, send)
            return
        key_id = hashlib.sha256(key.encode()).hexdigest()[:16]  # never keep the key itself
        limits = config.rate_limits.by_period()
        refused = self._rate.acquire(key_id, limits) if limits else None
        if refused is not None:
            await _error(
                429,
                refused.message,
                request_id,
                headers={"Retry-After": str(refused.retry_after)},
                retry_after=refused.retry_after,
            )(scope, receive, send)
            return
        fault = self.faults.pop()
        if fault is not None and fault.kind == "close_before_read":
            await _drop_connection(send)
            return
        if fault is not None and fault.kind == "status" and not fault.billed:
            await _fault_error(fault, request_id)(scope, receive, send)
            return
        if op_path == "/serverless/models":
            await self._deliver(fault, self._models_body, request_id, scope, receive, send)
            return
        try:
            body = await _read_body(
                scope, receive, headers, config.max_body_bytes, config.body_timeout_seconds
            )
            generation = self._parse_generation(op_path, scope, headers, body)
            response_body = await self._generate_once(
                generation, headers.get("idempotency-key"), key_id, fault, request_id
            )
        except RequestRejected as exc:
            await _rejection(exc, request_id)(scope, receive, send)
            return
        await self._deliver(fault, response_body, request_id, scope, receive, send)

    def _parse_generation(
        self, op_path: str, scope: Scope, headers: Headers, body: bytes
    ) -> _Generation:
        content_type = headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type != _JSON and not media_type.endswith("+json"):
            raise RequestRejected(
                415, f"Content-Type must be application/json, got {content_type[:100]!r}"
            )
        if not body.strip():
            raise RequestRejected(400, "body: empty; send a JSON object")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestRejected(400, "body: not UTF-8; send a UTF-8 JSON object") from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            # ValueError covers an integer of more than 4,300 digits.
            raise RequestRejected(400, "body: not valid JSON; send a JSON object") from None
        if not isinstance(data, dict):
            raise RequestRejected(400, f"body: must be a JSON object, got {_kind(data)}")
        if self._config.validate:
            self.validator.validate(scope["method"], op_path, headers, body)
        model = data.get("model_name")
        info = self.validator.models.get(model) if isinstance(model, str) else None
        if info is None and (self._config.validate or not isinstance(model, str)):
            shown = model[:200] if isinstance(model, str) else model
            raise RequestRejected(
                404, f"model_name: unknown model {shown!r}; see GET /serverless/models"
            )
        seed = _int_or(data.get("seed"), -1)
        if seed < 0:
            seed = random.randrange(2**32)
        inpaint = None
        if isinstance(data.get("image"), str) and isinstance(data.get("mask"), str):
            try:
                inpaint = decode_inpaint_inputs(data["image"], data["mask"])
            except InputImageError as exc:
                raise RequestRejected(400, str(exc)) from None
        elif info is not None and info.kind == "inpainting":
            raise RequestRejected(422, "image: required field is missing")
        # A size left out: an inpainting keeps its input's, else the vendor examples' 1024
        # (the spec lists no default values; the server decides).
        width = _int_or(data.get("width"), inpaint.image.width if inpaint else 1024)
        height = _int_or(data.get("height"), inpaint.image.height if inpaint else 1024)
        negative = data.get("negative_prompt")
        prompt = data.get("prompt")
        return _Generation(
            model=str(model),
            prompt=prompt if isinstance(prompt, str) else "",
            negative_prompt=negative if isinstance(negative, str) else None,
            seed=seed,
            width=max(8, min(width, 4096)),
            height=max(8, min(height, 4096)),
            inpaint=inpaint,
            fingerprint=_fingerprint(data),
        )

    async def _generate_once(
        self,
        generation: _Generation,
        idempotency_key: str | None,
        key_id: str,
        fault: Fault | None,
        request_id: str,
    ) -> bytes:
        """The 200 body: a stored first result for a repeated key, else a new (billed) run."""
        if idempotency_key is None or self._config.ignore_idempotency_key:
            return await self._run(generation, idempotency_key, fault, request_id)
        # One lock per key: of two concurrent requests with one key, only one runs.
        slot = (key_id, idempotency_key)
        lock = self._key_locks.setdefault(slot, asyncio.Lock())
        self._key_users[slot] = self._key_users.get(slot, 0) + 1
        try:
            async with lock:
                window = self._config.idempotency_window_seconds
                try:
                    stored = self.ledger.lookup(
                        key_id, idempotency_key, window, generation.fingerprint
                    )
                except IdempotencyKeyReused:
                    raise RequestRejected(
                        409,
                        "Idempotency-Key: this key was first used with another request body; "
                        "send the same body to get its result, or use a new key",
                    ) from None
                if stored is not None:
                    return stored.body
                body = await self._run(generation, idempotency_key, fault, request_id)
                if fault is None or fault.billed:
                    self.ledger.store(
                        key_id,
                        idempotency_key,
                        body,
                        request_id,
                        fingerprint=generation.fingerprint,
                        window_seconds=window,
                    )
                return body
        finally:
            # Drop the lock with its last user, so that many keys do not pile up locks.
            self._key_users[slot] -= 1
            if self._key_users[slot] == 0:
                del self._key_users[slot], self._key_locks[slot]

    async def _run(
        self,
        generation: _Generation,
        idempotency_key: str | None,
        fault: Fault | None,
        request_id: str,
    ) -> bytes:
        config = self._config
        if config.latency_seconds is not None:
            simulated = config.latency_seconds
        else:
            base = config.inference_seconds.get(generation.model, 10.0)
            simulated = base * config.inference_time_factor
        started = time.perf_counter()
        # Rendering runs in a worker thread so that the event loop keeps serving.
        png = await asyncio.to_thread(
            render_png,
            model=generation.model,
            prompt=generation.prompt,
            negative_prompt=generation.negative_prompt,
            seed=generation.seed,
            width=generation.width,
            height=generation.height,
            inpaint=generation.inpaint,
        )
        elapsed = time.perf_counter() - started
        if simulated > elapsed:
            await asyncio.sleep(simulated - elapsed)
        if fault is None or fault.billed:
            self.ledger.bill(
                LedgerEntry(
                    idempotency_key=idempotency_key,
                    model=generation.model,
                    request_id=request_id,
                    billed_at=time.time(),
                    prompt=generation.prompt,
                    width=generation.width,
                    height=generation.height,
                    seed=generation.seed,
                    outcome="ok" if fault is None else fault.kind,
                )
            )
        body = {
            "model": generation.model,
            "object": "list",
            "data": [
                {
                    "timings": {"inference": round(max(simulated, elapsed), 6)},
                    "index": 0,
                    "b64_json": base64.b64encode(png).decode("ascii"),
                    "seed": generation.seed,
                }
            ],
            "message": "Image generated successfully",
            "status": "success",
        }
        return json.dumps(body, separators=(",", ":")).encode()

    async def _deliver(
        self,
        fault: Fault | None,
        body: bytes,
        request_id: str,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Send the 200 ``body``, or what the fault makes of it."""
        kind = fault.kind if fault is not None else None
        if fault is not None and kind == "delay":
            await asyncio.sleep(fault.seconds)
        if fault is not None and kind == "status":
            await _fault_error(fault, request_id)(scope, receive, send)
            return
        if kind == "close_after_read":
            await _drop_connection(send)
            return
        if kind == "truncated_body":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", _JSON.encode()),
                        (b"content-length", str(len(body)).encode()),
                        (b"x-request-id", request_id.encode()),
                    ],
                }
            )
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            await _drop_connection(send)
            return
        if kind == "invalid_json":
            body = body[: len(body) // 2] + b"<<not json"
        elif kind == "invalid_base64":
            data = json.loads(body)
            if "data" in data and isinstance(data["data"], list):
                for item in data["data"]:
                    item["b64_json"] = "%%% not base64 %%%"
            body = json.dumps(data, separators=(",", ":")).encode()
        elif fault is not None and kind == "failed_status":
            body = failure_body(fault)
        await _raw(200, body, request_id)(scope, receive, send)

    def _catalogue(self) -> bytes:
        """The models list: the spec's example catalogue plus every model the mock serves."""
        operation = self.validator.spec["paths"]["/serverless/models"]["get"]
        content = operation["responses"]["200"]["content"][_JSON]
        examples = [e["value"] for e in content.get("examples", {}).values()]
        listed: dict[str, dict[str, Any]] = {}
        for example in examples:
            for row in example.get("data", {}).get("models", []):
                listed[row["model_name"]] = dict(row)
        for name, info in self.validator.models.items():
            listed.setdefault(
                name,
                {
                    "model_name": name,
                    "model_alias": name.rsplit("/", 1)[-1],
                    "model_type": "Image",
                    "context_length": None,
                    "max_completion_tokens": None,
                    "description": f"{info.kind} (served by the local mock)",
                    "price": None,
                    "huggingface_url": None,
                },
            )
        body = {
            "data": {"models": list(listed.values())},
            "message": "Models retrieved successfully",
            "status": "success",
        }
        return json.dumps(body).encode()

    # -- control path --------------------------------------------------------------

    async def _control(
        self, scope: Scope, receive: Receive, path: str, request_id: str
    ) -> Response:
        headers = Headers(scope=scope)
        refusal = _control_refusal(scope, headers)
        if refusal is not None:
            status, message = refusal
            # 404 to a remote client: it learns nothing of a control path.
            return _error(status, message or f"No such path: {path[:200]}", request_id)
        routes: dict[str, dict[str, Callable[[Any], Awaitable[Any] | Any]]] = {
            "/_mock/faults": {
                "GET": lambda _: {"faults": [f.to_dict() for f in self.faults.pending]},
                "POST": self._push_faults,
                "DELETE": self._clear_faults,
            },
            "/_mock/ledger": {"GET": lambda _: self.ledger.to_dict()},
            "/_mock/reset": {"POST": self._reset_over_http},
            "/_mock/config": {
                "GET": lambda _: self._config.public_dict(),
                "POST": lambda data: (self.configure(**_object(data)), self._config.public_dict())[
                    1
                ],
            },
            "/_mock/stats": {"GET": lambda _: self.stats()},
        }
        handlers = routes.get(path.rstrip("/"))
        if handlers is None:
            return _error(404, f"No such control path: {path[:200]}; see /_mock/stats", request_id)
        handler = handlers.get(scope["method"])
        if handler is None:
            return _error(
                405,
                f"Method {scope['method']} not allowed on {path}",
                request_id,
                headers={"Allow": ", ".join(handlers)},
            )
        data: Any = None
        try:
            if scope["method"] == "POST":
                raw = await _read_body(
                    scope,
                    receive,
                    headers,
                    _MAX_CONTROL_BODY,
                    self._config.body_timeout_seconds,
                )
                try:
                    data = json.loads(raw) if raw.strip() else {}
                except (ValueError, RecursionError):  # bad JSON, UTF-8, 4,300+ digit ints
                    return _error(400, "body: not valid JSON", request_id)
            result = handler(data)
        except (FaultSpecError, ValueError, TypeError, RecursionError) as exc:
            return _error(400, str(exc)[:500], request_id)
        except RequestRejected as exc:
            return _rejection(exc, request_id)
        return _raw(200, json.dumps(result).encode(), request_id)

    def _clear_faults(self, _: Any) -> dict[str, Any]:
        self.faults.clear()
        return {"faults": []}

    def _reset_over_http(self, _: Any) -> dict[str, Any]:
        self.reset()
        return self.stats()

    def _push_faults(self, data: Any) -> dict[str, Any]:
        items = data.get("faults", data) if isinstance(data, dict) else data
        items = [items] if isinstance(items, dict) else items
        if not isinstance(items, list) or not items:
            raise FaultSpecError('body: a fault object, a list of them, or {"faults": [...]}')
        parsed: list[tuple[Fault, int]] = []
        for item in items:
            if not isinstance(item, dict):
                raise FaultSpecError("faults: each fault must be an object with a 'kind'")
            times = item.get("times", 1)
            if (
                not isinstance(times, int)
                or isinstance(times, bool)
                or not 1 <= times <= MAX_FAULT_TIMES
            ):
                raise FaultSpecError(f"times: must be an integer from 1 to {MAX_FAULT_TIMES}")
            parsed.append((Fault.from_dict(item), times))
        queued = len(self.faults) + sum(times for _, times in parsed)
        if queued > MAX_QUEUED_FAULTS:
            raise FaultSpecError(
                f"faults: the queue holds at most {MAX_QUEUED_FAULTS} faults; "
                f"this would make {queued} (DELETE /_mock/faults clears it)"
            )
        for fault, times in parsed:
            self.faults.push(fault, times)
        return {"faults": [f.to_dict() for f in self.faults.pending]}


def _control_refusal(scope: Scope, headers: Headers) -> tuple[int, str | None] | None:
    """Why a control request is refused (status, message; None: "No such path"), or None."""
    client = scope.get("client")
    if client is not None and not is_loopback_host(client[0]):
        return 404, None
    if any(name in headers for name in _PROXY_HEADERS):
        return 404, None  # relayed by a proxy: the real client is elsewhere
    if not is_loopback_host(_url_host(f"//{headers.get('host', '')}")):
        return 403, "Host: the control path answers requests to 127.0.0.1/localhost only"
    origin = headers.get("origin")
    if origin is not None and not is_loopback_host(_url_host(origin)):
        return 403, "Origin: the control path takes no requests from web pages of other sites"
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if scope["method"] == "POST" and media_type != _JSON:
        return 415, "Content-Type: control requests must be application/json"
    return None


def _url_host(url: str) -> str:
    """The host of ``url`` without brackets or port; "" when it has none or is malformed."""
    try:
        return urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _fingerprint(data: Any) -> str:
    """A digest of a parsed request body; key order and spacing do not change it."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("body: must be a JSON object of settings")
    return data


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _int_or(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return default


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def _error(
    status: int,
    message: str,
    request_id: str,
    *,
    headers: Mapping[str, str] | None = None,
    retry_after: float | None = None,
) -> Response:
    body: dict[str, Any] = {"message": message, "status": "failed", "data": None}
    if retry_after is not None:
        body["retry_after"] = retry_after
    return _raw(status, json.dumps(body).encode(), request_id, headers)


def _raw(
    status: int, body: bytes, request_id: str, headers: Mapping[str, str] | None = None
) -> Response:
    all_headers = {"X-Request-ID": request_id, **(headers or {})}
    return Response(body, status_code=status, media_type=_JSON, headers=all_headers)


def _rejection(exc: RequestRejected, request_id: str) -> Response:
    """The ``Error`` answer of a refused request; after a 408 the connection is closed
    (the rest of the body may still be on its way)."""
    headers = {"Connection": "close"} if exc.status == 408 else None
    return _error(exc.status, exc.message, request_id, headers=headers)


def _fault_error(fault: Fault, request_id: str) -> Response:
    message = fault.message or _DEFAULT_FAULT_MESSAGES.get(fault.status_code, "Simulated failure")
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
    retry_after = None
    if fault.retry_after is not None and fault.retry_after.replace(".", "", 1).isdigit():
        retry_after = float(fault.retry_after)
    if fault.status_code < 400:
        return _raw(fault.status_code, b'{"message":"ok","status":"success"}', request_id, headers)
    return _error(fault.status_code, message, request_id, headers=headers, retry_after=retry_after)


async def _read_body(
    scope: Scope, receive: Receive, headers: Headers, limit: int, seconds: float
) -> bytes:
    """The request body; 413 as soon as the header or the stream passes ``limit``,
    408 when the whole body has not arrived ``seconds`` after its head."""
    declared = headers.get("content-length")
    too_large = RequestRejected(413, f"Request body is larger than {limit} bytes")
    # A 19+ digit length is over any limit (and int() refuses 4,300+ digits).
    if (
        declared is not None
        and declared.isdigit()
        and (len(declared) > 18 or int(declared) > limit)
    ):
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            while True:
                message: Message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise RequestRejected(408, f"Request body did not arrive within {seconds:g} s") from None
    return b"".join(chunks)


async def _drop_connection(send: Send) -> None:
    """Close the TCP connection without (finishing) an answer, as a failing proxy would."""
    # uvicorn's ``send`` is a bound method of its per-request cycle, which owns the
    # transport; ASGI has no "abort" message, so this is the one way to cut the line.
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise SimulatedDisconnect("the mock dropped the connection (fault injection)")
    transport.close()
    # Tell uvicorn the peer is gone so that it does not try to answer 500 itself.
    cycle.disconnected = True  # type: ignore[union-attr]
    await asyncio.sleep(0)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

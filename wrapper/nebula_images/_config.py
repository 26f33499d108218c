"""Settings of a client as one small value object, resolved from arguments and environment."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from ._errors import ValidationError

if TYPE_CHECKING:
    from ._hooks import RequestEvent

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_WAIT",
    "DEFAULT_POOL_TIMEOUT",
    "DEFAULT_WRITE_TIMEOUT",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "Hook",
    "Settings",
    "attempt_timeout",
    "call_timeout",
    "is_visible_ascii",
    "resolve_api_key",
    "resolve_settings",
    "seconds",
]

ENV_API_KEY = "NEBULA_API_KEY"
ENV_BASE_URL = "NEBULA_BASE_URL"
DEFAULT_BASE_URL = "https://api.nebulablock.com/api/v1"
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RETRY_WAIT = 60.0
# Connect fails fast (nothing is billed before it); reads wait for the model.
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_WRITE_TIMEOUT = 60.0
DEFAULT_POOL_TIMEOUT = 30.0
# A 2048x2048 PNG is ~12 MiB, ~16 MiB as base64; leave room for several images.
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024

Hook = Callable[["RequestEvent"], object]
TimeoutArg = float | int | timedelta | httpx.Timeout | None
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


# A dataclass, not attrs: ``from nebula_images import Client`` defines it, and attrs
# (which the generated models need) then loads on the first call instead.
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Everything a client needs besides its key (which lives in the auth object)."""

    base_url: str
    timeout: httpx.Timeout | None
    max_retries: int
    deadline: float | None
    retry_ambiguous: bool
    rate_limit: float | None
    max_retry_wait: float
    max_response_bytes: int
    on_request: Hook | None = dataclasses.field(default=None, repr=False)
    on_retry: Hook | None = dataclasses.field(default=None, repr=False)
    on_response: Hook | None = dataclasses.field(default=None, repr=False)


def seconds(value: float | int | timedelta | None, field: str) -> float | None:
    """A duration argument as float seconds, checked to be positive."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(
            field, f"expected seconds as a number, got {type(value).__name__}", "pass a float"
        )
    if not math.isfinite(value) or value <= 0:
        raise ValidationError(
            field, f"must be a positive number of seconds, got {value!r}", "pass a value > 0"
        )
    return float(value)


def call_timeout(value: TimeoutArg) -> httpx.Timeout | None:
    """A ``timeout=`` argument (client or call) as an httpx.Timeout."""
    if value is None or isinstance(value, httpx.Timeout):
        return value
    total = seconds(value, "timeout")
    assert total is not None
    return httpx.Timeout(total, connect=min(total, DEFAULT_CONNECT_TIMEOUT))


@functools.cache
def _model_timeout(read: float) -> httpx.Timeout:
    # One per model read time (a handful), not one per attempt.
    return httpx.Timeout(
        connect=DEFAULT_CONNECT_TIMEOUT,
        read=read,
        write=DEFAULT_WRITE_TIMEOUT,
        pool=DEFAULT_POOL_TIMEOUT,
    )


def attempt_timeout(
    configured: httpx.Timeout | None, model_read_timeout: float, remaining: float | None
) -> httpx.Timeout:
    """The timeout of one attempt: the caller's, else connect short and read per model,
    every phase capped by what is left of the deadline."""
    base = configured or _model_timeout(model_read_timeout)
    if remaining is None:
        return base

    def cap(phase: float | None) -> float:
        return max(min(phase, remaining), 0.001) if phase is not None else max(remaining, 0.001)

    return httpx.Timeout(
        connect=cap(base.connect), read=cap(base.read), write=cap(base.write), pool=cap(base.pool)
    )


def _base_url(value: str | None) -> str:
    url = value or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        # Not chained, and the text not quoted: a malformed URL may still hold a password.
        raise ValidationError(
            "base_url", "is not a URL", f"pass a URL such as {DEFAULT_BASE_URL}"
        ) from None
    if parsed.userinfo:
        # A password in the URL would show in reprs, errors and logs; the API takes
        # the key as a bearer token, never as URL credentials.
        raise ValidationError(
            "base_url",
            "contains credentials (user:password@); they would leak into logs and errors",
            "drop the user:password@ part and pass the key as api_key= or NEBULA_API_KEY",
        )
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise ValidationError(
            "base_url", f"{url!r} is not an http(s) URL", f"pass a URL such as {DEFAULT_BASE_URL}"
        )
    if parsed.scheme == "http" and parsed.host not in _LOOPBACK_HOSTS:
        # The key would travel in clear text; only a local mock may use plain http.
        raise ValidationError(
            "base_url",
            f"{url!r} would send the API key unencrypted",
            "use https://, or http:// only for 127.0.0.1/localhost",
        )
    return url.rstrip("/")


def _count(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(field, f"must be an integer >= 0, got {value!r}", "pass e.g. 2")
    return value


def _byte_cap(value: int, field: str) -> int:
    # 0 would read as "no cap" further down; a cap is a positive size.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            field, f"must be a number of bytes >= 1, got {value!r}", "pass e.g. 268435456"
        )
    return value


def is_visible_ascii(text: str) -> bool:
    """True when every character is printable ASCII other than space (a header token)."""
    return all("!" <= ch <= "~" for ch in text)


def resolve_api_key(value: str | None) -> str:
    """The key from the argument or NEBULA_API_KEY; raises naming the variable when absent."""
    key = value if value is not None else os.environ.get(ENV_API_KEY)
    if not key or not key.strip():
        raise ValidationError(
            "api_key",
            "no API key was given",
            f"set the environment variable {ENV_API_KEY} or pass api_key=...",
        )
    key = key.strip()
    if not is_visible_ascii(key):
        raise ValidationError(
            "api_key", "contains spaces or non-ASCII characters", f"check {ENV_API_KEY}"
        )
    return key


def resolve_settings(
    *,
    base_url: str | None,
    timeout: TimeoutArg,
    max_retries: int,
    deadline: float | int | timedelta | None,
    retry_ambiguous: bool,
    rate_limit: float | int | None,
    max_retry_wait: float | int | timedelta,
    max_response_bytes: int,
    on_request: Hook | None,
    on_retry: Hook | None,
    on_response: Hook | None,
) -> Settings:
    """Check and normalise the constructor arguments of Client/AsyncClient."""
    if rate_limit is not None and (
        isinstance(rate_limit, bool)
        or not isinstance(rate_limit, int | float)
        or not math.isfinite(rate_limit)
        or rate_limit <= 0
    ):
        raise ValidationError(
            "rate_limit", f"must be requests per minute > 0, got {rate_limit!r}", "pass e.g. 60"
        )
    for name, hook in (
        ("on_request", on_request),
        ("on_retry", on_retry),
        ("on_response", on_response),
    ):
        if hook is not None and not callable(hook):
            raise ValidationError(
                name, "is not callable", "pass a function taking one RequestEvent"
            )
    wait = seconds(max_retry_wait, "max_retry_wait")
    assert wait is not None
    return Settings(
        base_url=_base_url(base_url),
        timeout=call_timeout(timeout),
        max_retries=_count(max_retries, "max_retries"),
        deadline=seconds(deadline, "deadline"),
        retry_ambiguous=bool(retry_ambiguous),
        rate_limit=float(rate_limit) if rate_limit is not None else None,
        max_retry_wait=wait,
        max_response_bytes=_byte_cap(max_response_bytes, "max_response_bytes"),
        on_request=on_request,
        on_retry=on_retry,
        on_response=on_response,
    )

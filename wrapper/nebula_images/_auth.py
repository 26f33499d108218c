"""The API key: kept out of every repr, pickle and log, sent only to the base URL."""

from __future__ import annotations

from collections.abc import Generator
from typing import NoReturn

import httpx

from ._redaction import REDACTED, redact_secret

__all__ = ["BearerAuth", "redact"]


class BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <key>`` to requests under the configured base URL only.

    An httpx ``Auth`` rather than a default header, so that a request to any other
    URL through the same httpx client (a caller's own client, a redirect) never
    carries the key.
    """

    __slots__ = ("_base", "_key")

    def __init__(self, key: str, base_url: str) -> None:
        self._key = key
        base = httpx.URL(base_url.rstrip("/") + "/")
        self._base = (base.scheme, base.host, base.port, base.path)

    def applies_to(self, url: httpx.URL) -> bool:
        """True when ``url`` is under the base URL (same scheme, host, port, path prefix)."""
        scheme, host, port, path = self._base
        return (
            url.scheme == scheme
            and url.host == host
            and url.port == port
            and (url.path + "/").startswith(path)
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.applies_to(request.url):
            request.headers["Authorization"] = f"Bearer {self._key}"
        yield request

    def redact(self, text: str) -> str:
        """``text`` with the key replaced by ``[redacted]``."""
        return redact_secret(text, self._key)

    def __repr__(self) -> str:
        return f"BearerAuth(key={REDACTED})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("the API key is not picklable; build a new client in the other process")


def redact(headers: httpx.Headers | dict[str, str]) -> dict[str, str]:
    """Headers for a log line, with Authorization (and cookies) redacted."""
    return {
        key: (
            REDACTED if key.lower() in ("authorization", "cookie", "proxy-authorization") else value
        )
        for key, value in headers.items()
    }

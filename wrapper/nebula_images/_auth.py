"""The API key: kept out of every repr, pickle and log, sent only to the base URL.

Only to the base URL means: same scheme, host and port, and a path under the base
path with a slash boundary (``/api/v1`` is not a prefix of ``/api/v1evil``). The key
travels over https, or over plain http straight to loopback (``_config`` refuses any
other plain-http base URL), never through an environment proxy in clear text.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import NoReturn

import httpx

from ._redaction import REDACTED, redact_secret

__all__ = ["BearerAuth", "may_use_env_proxies", "redact"]


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

    def strip_outside_base(self, request: httpx.Request) -> None:
        """Drop the key from a request outside the base URL: an httpx request hook.

        The auth flow runs once per call, before redirects; a caller's client that
        follows redirects copies the header to every same-origin hop, whatever its
        path. Request hooks run for every hop, so this one takes the key back off.
        """
        if "Authorization" in request.headers and not self.applies_to(request.url):
            del request.headers["Authorization"]

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


def may_use_env_proxies(base_url: str) -> bool:
    """Whether a client the wrapper builds may take proxies from the environment.

    Only for https: a proxy then sees a CONNECT tunnel, never the key. A plain-http
    base URL is a loopback mock; through ``HTTP_PROXY`` the proxy would read the key
    in clear text (and could not reach this machine's loopback anyway), so such a
    client goes straight to it.
    """
    return httpx.URL(base_url).scheme == "https"

"""MockServer: the mock app served by uvicorn in a background thread.

uvicorn closes a keep-alive connection only once it has answered on it, and any byte
received stops that timer: a client that connects and sends nothing, or sends its
headers a byte a second, holds a connection forever. ``_HeadDeadlineProtocol`` gives
each request head a deadline (the body has its own, in the app).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._app import MockApp
from ._config import CONFIGURABLE, MockConfig
from ._faults import FaultQueue
from ._ledger import Ledger


class MockServerError(RuntimeError):
    """The mock server could not start or stop."""


class _HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head is not complete
    ``head_timeout`` seconds after the connection opened or the head's first byte came."""

    head_timeout = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_timer()  # the head is complete; the app times the body
        elif self._head_timer is None and not self.transport.is_closing():
            self._arm_head_timer()  # the first bytes of a next request on a kept-alive line

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def _protocol(head_timeout: float) -> type[H11Protocol]:
    """The protocol class uvicorn instantiates per connection, with this head deadline."""
    return type("MockHttpProtocol", (_HeadDeadlineProtocol,), {"head_timeout": head_timeout})


class MockServer:
    """A running mock: ``with MockServer() as mock: mock.base_url, mock.faults, ...``."""

    def __init__(
        self,
        config: MockConfig | None = None,
        *,
        start_timeout: float = 10.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock``: a monotonic clock for the rate limits (tests fake it to let a day pass)."""
        self.app = MockApp(config, clock=clock)
        #: The settings it started with; ``reset(config=mock.initial_config)`` restores them.
        self.initial_config = self.app.config
        self._start_timeout = start_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        state = f"url={self.url!r}" if self._port is not None else "stopped"
        return f"<MockServer {state}>"

    # -- lifetime ------------------------------------------------------------------

    def start(self) -> MockServer:
        """Bind the configured host and port (0 = a free port) and serve in a thread."""
        if self._thread is not None:
            raise MockServerError("the mock server is already running")
        config = self.app.config
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this: without it, a small answer written in two parts
        # waits ~40 ms for Nagle's algorithm and the peer's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((config.host, config.port))
        except OSError as exc:
            sock.close()
            raise MockServerError(f"cannot bind {config.host}:{config.port}: {exc}") from None
        self._port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                log_level="error",
                access_log=False,
                lifespan="off",
                http=_protocol(config.header_timeout_seconds),
                timeout_keep_alive=config.keep_alive_seconds,  # type: ignore[arg-type]
                # Never trust X-Forwarded-For (FORWARDED_ALLOW_IPS=* would let any client
                # pose as loopback); the app also refuses relayed control requests.
                proxy_headers=False,
            )
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="nebula-mock", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise MockServerError("the mock server did not start")
            time.sleep(0.005)
        self._server, self._thread, self._sock = server, thread, sock
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
        self._server = self._thread = None

    def __enter__(self) -> MockServer:
        return self.start() if self._thread is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the handle tests use ------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise MockServerError("the mock server is not started; use it in a with block")
        return self._port

    @property
    def url(self) -> str:
        """``http://HOST:PORT``, the root where ``/_mock/...`` lives."""
        host = self.app.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:PORT/api/v1``."""
        return self.url + self.app.config.base_path

    @property
    def api_key(self) -> str:
        """A key the mock accepts."""
        return self.app.config.a_valid_key()

    @property
    def config(self) -> MockConfig:
        """The settings in force."""
        return self.app.config

    @property
    def faults(self) -> FaultQueue:
        """The fault queue: ``mock.faults.push(Fault.status(503))``."""
        return self.app.faults

    @property
    def ledger(self) -> Ledger:
        """The billing ledger: ``mock.ledger.billed``, ``mock.ledger.entries``."""
        return self.app.ledger

    @property
    def requests_seen(self) -> int:
        """API requests that reached the mock (faulted ones included)."""
        return self.app.requests_seen

    def configure(self, **changes: Any) -> MockConfig:
        """Change settings while running: ``inference_time_factor``, ``latency_seconds``,
        ``tier``, ``rate_limit_per_minute``, ``rate_limit_per_day``, ``validate``,
        ``idempotency_window_seconds``, ``ignore_idempotency_key``, ... (an explicit
        limit overrides the tier's; set it back to None to use the tier's again).
        """
        return self.app.configure(**changes)

    def reset(self, *, config: MockConfig | None = None) -> None:
        """Clear faults, ledger, counters and the rate limiter (and restore ``config``)."""
        self.app.reset()
        if config is not None:
            self.app.configure(**{name: getattr(config, name) for name in CONFIGURABLE})

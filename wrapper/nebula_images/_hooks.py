"""The event passed to on_request / on_retry / on_response hooks."""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["RequestEvent"]


@attrs.frozen
class RequestEvent:
    """One step of a call, for observability hooks.

    ``on_request``: before an attempt is sent (``status`` and ``request_id`` None).
    ``on_response``: after an attempt got an answer or failed (``error`` set on failure).
    ``on_retry``: before waiting ``wait`` seconds ahead of attempt ``attempt + 1``.
    """

    operation: Literal["generate", "list_models"]
    attempt: int
    idempotency_key: str | None
    request_id: str | None = None
    status: int | None = None
    elapsed: float = 0.0
    wait: float | None = None
    error: BaseException | None = None

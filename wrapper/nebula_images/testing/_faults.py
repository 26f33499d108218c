"""Fault injection: a queue of scripted outcomes for the next API requests.

Each API request (under the base path, authenticated) takes the next fault off the
queue, if any. Whether the fault's request is billed says whether the generation
"ran" before things went wrong, which is what a client's retry logic has to guess:

=====================  ======================================================  ======
kind                   what the client sees                                    billed
=====================  ======================================================  ======
status                 an error status with the API's Error body               option
delay                  the normal answer, ``seconds`` late                     yes
close_before_read      the connection drops before the body is read            no
close_after_read       the connection drops after the generation ran          yes
truncated_body         a 200 whose body stops half way (connection drops)      yes
invalid_json           a 200 whose body is not JSON                            yes
invalid_base64         a 200 whose ``b64_json`` is not base64                  yes
failed_status          a 200 with the failure body (``failure_body``)          no
=====================  ======================================================  ======

The failure body is exactly the vendor's error shape, ``{"message": ..., "status":
"failed", "data": null}``, which the spec's 200 admits as ``GenerationFailure``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: The message of a ``failed_status`` fault that names none.
DEFAULT_FAILURE_MESSAGE = "Image generation failed on the worker"

FaultKind = Literal[
    "status",
    "delay",
    "close_before_read",
    "close_after_read",
    "truncated_body",
    "invalid_json",
    "invalid_base64",
    "failed_status",
]
FAULT_KINDS: tuple[str, ...] = (
    "status",
    "delay",
    "close_before_read",
    "close_after_read",
    "truncated_body",
    "invalid_json",
    "invalid_base64",
    "failed_status",
)


class FaultSpecError(ValueError):
    """A fault description (from Python or the control path) is not valid."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted outcome; build it with the class methods, not the constructor."""

    kind: FaultKind
    status_code: int = 200
    retry_after: str | None = None
    seconds: float = 0.0
    billed: bool = False
    message: str | None = None

    @classmethod
    def status(
        cls,
        status_code: int,
        *,
        retry_after: str | float | None = None,
        billed: bool = False,
        message: str | None = None,
    ) -> Fault:
        """Answer ``status_code`` with an Error body (and ``Retry-After`` if given).

        ``billed=True``: the generation ran and was billed before the error, so a
        retry with the same Idempotency-Key gets the stored result, not a new charge.
        """
        if not 200 <= status_code <= 599:
            raise FaultSpecError(f"status: {status_code} is not an HTTP status (200-599)")
        ra = None if retry_after is None else _format_retry_after(retry_after)
        return cls(
            "status", status_code=status_code, retry_after=ra, billed=billed, message=message
        )

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait ``seconds``, then answer normally (billed)."""
        if seconds < 0:
            raise FaultSpecError(f"seconds: must be >= 0, got {seconds}")
        return cls("delay", seconds=float(seconds), billed=True)

    @classmethod
    def close_before_read(cls) -> Fault:
        """Drop the connection without reading the request body (not billed)."""
        return cls("close_before_read")

    @classmethod
    def close_after_read(cls) -> Fault:
        """Run and bill the generation, then drop the connection without answering."""
        return cls("close_after_read", billed=True)

    @classmethod
    def truncated_body(cls) -> Fault:
        """Run and bill, then send half the 200 body and drop the connection."""
        return cls("truncated_body", billed=True)

    @classmethod
    def invalid_json(cls) -> Fault:
        """Run and bill, then answer 200 with a body that is not JSON."""
        return cls("invalid_json", billed=True)

    @classmethod
    def invalid_base64(cls) -> Fault:
        """Run and bill, then answer 200 with a ``b64_json`` that is not base64."""
        return cls("invalid_base64", billed=True)

    @classmethod
    def failed_status(cls, message: str | None = None) -> Fault:
        """Answer 200 with the failure body ``{"message", "status": "failed", "data":
        null}`` (the generation failed; not billed)."""
        return cls("failed_status", message=message)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the one ``POST /_mock/faults`` accepts."""
        data: dict[str, Any] = {"kind": self.kind, "billed": self.billed}
        if self.kind == "status":
            data["status"] = self.status_code
            if self.retry_after is not None:
                data["retry_after"] = self.retry_after
        if self.kind == "delay":
            data["seconds"] = self.seconds
        if self.message is not None:
            data["message"] = self.message
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Parse the JSON form (``{"kind": "status", "status": 503, ...}``)."""
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            raise FaultSpecError(f"kind: must be one of {', '.join(FAULT_KINDS)}; got {kind!r}")
        allowed = {"kind", "times", "billed"} | {
            "status": {"status", "retry_after", "message"},
            "delay": {"seconds"},
            "failed_status": {"message"},
        }.get(kind, set())
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise FaultSpecError(f"{unknown[0]}: fault kind {kind!r} does not take this field")
        fault: Fault
        if kind == "status":
            code = data.get("status")
            if not isinstance(code, int) or isinstance(code, bool):
                raise FaultSpecError("status: required, an integer HTTP status")
            billed = data.get("billed", False)
            if not isinstance(billed, bool):
                raise FaultSpecError("billed: must be true or false")
            return cls.status(
                code,
                retry_after=_optional(data, "retry_after", (str, int, float)),
                billed=billed,
                message=_optional(data, "message", (str,)),
            )
        if kind == "delay":
            seconds = data.get("seconds")
            if not isinstance(seconds, int | float) or isinstance(seconds, bool):
                raise FaultSpecError("seconds: required, a number of seconds")
            fault = cls.delay(float(seconds))
        elif kind == "failed_status":
            fault = cls.failed_status(_optional(data, "message", (str,)))
        else:
            fault = getattr(cls, str(kind))()
        if "billed" in data and data["billed"] is not fault.billed:
            fixed = "always" if fault.billed else "never"
            raise FaultSpecError(f"billed: fault kind {kind!r} is {fixed} billed")
        return fault


def failure_body(fault: Fault) -> bytes:
    """The 200 body of a ``failed_status`` fault: the vendor's error shape, exactly."""
    body = {"message": fault.message or DEFAULT_FAILURE_MESSAGE, "status": "failed", "data": None}
    return json.dumps(body, separators=(",", ":")).encode()


def _optional(data: Mapping[str, Any], name: str, types: tuple[type, ...]) -> Any:
    value = data.get(name)
    if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
        raise FaultSpecError(f"{name}: wrong type {type(value).__name__}")
    return value


def _format_retry_after(value: str | float) -> str:
    if isinstance(value, str):
        if not value or len(value) > 64:
            raise FaultSpecError("retry_after: 1 to 64 characters (seconds or an HTTP-date)")
        return value
    if value < 0:
        raise FaultSpecError("retry_after: must be >= 0")
    return str(int(value)) if float(value).is_integer() else str(value)


class FaultQueue:
    """Thread-safe FIFO of faults: tests push, the server pops one per API request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()

    def push(self, fault: Fault, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` API requests (after those already queued)."""
        if not isinstance(fault, Fault):
            raise TypeError(f"fault: expected a Fault, got {type(fault).__name__}")
        if times < 1:
            raise FaultSpecError(f"times: must be >= 1, got {times}")
        with self._lock:
            self._queue.extend([fault] * times)

    def pop(self) -> Fault | None:
        """The next fault, or None when the queue is empty."""
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> list[Fault]:
        """The faults still queued, next first."""
        with self._lock:
            return list(self._queue)

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

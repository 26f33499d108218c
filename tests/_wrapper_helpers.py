"""Helpers shared by the wrapper's tests: a tiny PNG, canned API bodies and a fake clock."""

from __future__ import annotations

import base64
from typing import Any

BASE = "http://127.0.0.1:9/api/v1"
# An 8x8 PNG: the smallest picture the wrapper accepts as a generated image.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAGUlEQVR42mNkYGhQYGDARCwMCgxYweCUAABobwJednxjlwAAAABJRU5ErkJggg=="
)
MODELS_BODY: dict[str, Any] = {"data": {"models": []}, "message": "ok", "status": "success"}


def generation_body(
    payload: bytes = PNG, *, model: str = "m", b64: str | None = None
) -> dict[str, Any]:
    """A successful POST /images/generation body with one image (``b64`` overrides
    the encoded ``payload``, e.g. to send broken base64)."""
    return {
        "model": model,
        "object": "list",
        "data": [
            {
                "timings": {"inference": 1},
                "index": 0,
                "b64_json": base64.b64encode(payload).decode() if b64 is None else b64,
            }
        ],
        "message": "ok",
        "status": "success",
    }


class FakeClock:
    """A monotonic clock the test controls; ``sleep`` records each wait and, when
    ``advance`` is true, moves the time on by it (else the test moves time itself)."""

    def __init__(self, now: float = 0.0, *, advance: bool = True) -> None:
        self.now = now
        self.advance = advance
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.advance:
            self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

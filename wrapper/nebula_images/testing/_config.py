"""MockConfig: the knobs of the mock server, a small immutable value object."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: The body limit the spec decides (413 above it).
MAX_BODY_BYTES = 32 * 1024 * 1024

#: Seconds one generation takes on the real service (FLUX.1 schnell at 1024x1024 is
#: about 13 s per the vendor); scaled by ``inference_time_factor``, 0 in tests.
DEFAULT_INFERENCE_SECONDS: Mapping[str, float] = MappingProxyType(
    {
        "stabilityai/stable-diffusion-xl-base-1.0": 8.0,
        "black-forest-labs/FLUX.1-schnell": 13.0,
        "Bytedance-Seedream-3.0": 15.0,
        "black-forest-labs/FLUX.1-Fill-dev": 20.0,
    }
)

#: Requests per minute of the vendor's account tiers, for ``rate_limit_per_minute``.
RATE_LIMIT_TIERS: tuple[int, ...] = (60, 300, 600, 1500, 3000)

DEFAULT_API_KEY = "ak_mock_0123456789"


@dataclass(frozen=True, slots=True)
class MockConfig:
    """How the mock behaves; change a running mock with ``MockServer.configure``.

    ``api_keys=None`` accepts any key that starts with ``ak_`` (the vendor's key
    prefix); a set accepts exactly those keys.
    """

    host: str = "127.0.0.1"
    port: int = 0
    base_path: str = "/api/v1"
    api_keys: frozenset[str] | None = field(default=None, repr=False)  # secrets: not in repr
    inference_time_factor: float = 0.0
    inference_seconds: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_INFERENCE_SECONDS)
    )
    latency_seconds: float | None = None
    rate_limit_per_minute: int | None = None
    validate: bool = True
    idempotency_window_seconds: float = 24 * 3600.0
    max_body_bytes: int = MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if self.api_keys is not None:
            object.__setattr__(self, "api_keys", frozenset(self.api_keys))
        if not self.base_path.startswith("/") and self.base_path != "":
            raise ValueError(f"base_path must start with '/', got {self.base_path!r}")
        object.__setattr__(self, "base_path", self.base_path.rstrip("/"))
        if self.inference_time_factor < 0:
            raise ValueError("inference_time_factor must be >= 0")
        if self.latency_seconds is not None and self.latency_seconds < 0:
            raise ValueError("latency_seconds must be >= 0 or None")
        if self.rate_limit_per_minute is not None and self.rate_limit_per_minute < 1:
            raise ValueError("rate_limit_per_minute must be >= 1 or None (off)")
        if self.idempotency_window_seconds <= 0:
            raise ValueError("idempotency_window_seconds must be > 0")

    def replace(self, **changes: Any) -> MockConfig:
        """A copy with ``changes`` applied (unknown names raise TypeError)."""
        return dataclasses.replace(self, **changes)

    def accepts_key(self, key: str) -> bool:
        """Whether ``key`` is an API key this mock accepts."""
        if self.api_keys is None:
            return key.startswith("ak_") and len(key) > len("ak_")
        return key in self.api_keys

    def a_valid_key(self) -> str:
        """A key the mock accepts, for handing to tests and the start-up banner."""
        if self.api_keys is None or DEFAULT_API_KEY in self.api_keys:
            return DEFAULT_API_KEY
        return min(self.api_keys)

    def public_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready data, without the accepted keys themselves."""
        return {
            "base_path": self.base_path,
            "api_keys": "any ak_ key" if self.api_keys is None else f"{len(self.api_keys)} keys",
            "inference_time_factor": self.inference_time_factor,
            "inference_seconds": dict(self.inference_seconds),
            "latency_seconds": self.latency_seconds,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "validate": self.validate,
            "idempotency_window_seconds": self.idempotency_window_seconds,
            "max_body_bytes": self.max_body_bytes,
        }


#: The settings that ``configure`` (Python or ``POST /_mock/config``) may change.
CONFIGURABLE = frozenset(
    {
        "inference_time_factor",
        "inference_seconds",
        "latency_seconds",
        "rate_limit_per_minute",
        "validate",
        "idempotency_window_seconds",
        "api_keys",
    }
)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""MockConfig: the knobs of the mock server, a small immutable value object."""

from __future__ import annotations

import dataclasses
import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._ratelimit import Period

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


@dataclass(frozen=True, slots=True)
class TierLimits:
    """The per-key request limits of one account tier (None: no limit)."""

    per_minute: int | None
    per_day: int | None

    def describe(self) -> str:
        """E.g. "60/min, 200/day" or "1500/min, no daily limit"."""
        minute = "no per-minute limit" if self.per_minute is None else f"{self.per_minute}/min"
        day = "no daily limit" if self.per_day is None else f"{self.per_day}/day"
        return f"{minute}, {day}"

    def by_period(self) -> dict[Period, int]:
        """The limits that are on, keyed as ``RateLimiter.acquire`` takes them."""
        limits: dict[Period, int] = {}
        if self.per_minute is not None:
            limits["minute"] = self.per_minute
        if self.per_day is not None:
            limits["day"] = self.per_day
        return limits


#: The vendor's account tiers (facts.md "Rate limits"), lowest first. The vendor names
#: only the first ("entry"); the others are numbered in order.
TIERS: Mapping[str, TierLimits] = MappingProxyType(
    {
        "tier1": TierLimits(per_minute=60, per_day=200),
        "tier2": TierLimits(per_minute=300, per_day=1000),
        "tier3": TierLimits(per_minute=600, per_day=2000),
        "tier4": TierLimits(per_minute=1500, per_day=None),
        "tier5": TierLimits(per_minute=3000, per_day=None),
    }
)

#: Other names accepted for a tier.
TIER_ALIASES: Mapping[str, str] = MappingProxyType({"entry": "tier1"})


def tier_choices() -> str:
    """The tier names with their limits, one line each, for help texts and errors."""
    aliases = {canonical: alias for alias, canonical in TIER_ALIASES.items()}
    return "\n".join(
        f"{name}{f' (alias {aliases[name]})' if name in aliases else ''}: {limits.describe()}"
        for name, limits in TIERS.items()
    )


def canonical_tier(name: object) -> str | None:
    """``name`` as a key of ``TIERS`` (case-insensitive, aliases resolved); None stays None."""
    if name is None:
        return None
    if isinstance(name, str):
        lowered = name.strip().lower()
        lowered = TIER_ALIASES.get(lowered, lowered)
        if lowered in TIERS:
            return lowered
    names = ", ".join([*TIERS, *TIER_ALIASES])
    raise ValueError(f"tier: unknown tier {name!r}; choose one of {names}, or None (no limits)")


DEFAULT_API_KEY = "ak_mock_0123456789"
#: More keys than any test needs; bounds what ``POST /_mock/config`` can make the mock hold.
MAX_API_KEYS = 10_000


def _key_set(keys: object) -> frozenset[str] | None:
    """``api_keys`` as a set of non-empty strings (a lone string is not a set of keys)."""
    if keys is None:
        return None
    if isinstance(keys, str | bytes) or not isinstance(keys, list | tuple | set | frozenset):
        raise ValueError(
            f"api_keys must be a list of key strings or null, got {type(keys).__name__}"
        )
    if len(keys) > MAX_API_KEYS:
        raise ValueError(f"api_keys: at most {MAX_API_KEYS} keys")
    if not all(isinstance(key, str) and key and len(key) <= 1024 for key in keys):
        raise ValueError("api_keys: every key must be a non-empty string of at most 1024 chars")
    return frozenset(keys)


def _seconds(value: object, name: str, *, minimum: float | None, none_ok: bool = False) -> None:
    """Check a number setting: a finite int/float (not a bool), >= ``minimum`` or else > 0."""
    if value is None and none_ok:
        return
    number = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer past the float range
            number = math.inf
    if not math.isfinite(number) or (number < minimum if minimum is not None else number <= 0):
        bound = f">= {minimum:g}" if minimum is not None else "> 0"
        shown = f"{number:g}" if not math.isnan(number) else f"a {type(value).__name__}"
        raise ValueError(f"{name} must be a finite number {bound}, got {shown}")


@dataclass(frozen=True, slots=True)
class MockConfig:
    """How the mock behaves; change a running mock with ``MockServer.configure``.

    ``api_keys=None`` accepts any key that starts with ``ak_`` (the vendor's key
    prefix); a set accepts exactly those keys.

    Rate limits count per API key and answer 429 with ``Retry-After``. ``tier`` picks
    an account tier of ``TIERS`` ("tier1" = "entry" ... "tier5"); ``rate_limit_per_minute``
    and ``rate_limit_per_day``, when not None, override that tier's value. Both windows
    slide: a request counts for the 60 s, or the 24 h, after it was accepted (not a
    calendar day), so ``Retry-After`` is the time until enough counted requests leave.
    Refused requests do not count. All three default to None: no limits.

    ``ignore_idempotency_key=True`` plays a server that ignores ``Idempotency-Key`` (the
    vendor documents no such header): every request that runs is billed, a repeated
    key replays nothing. The ledger still records each request's key.
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
    tier: str | None = None
    rate_limit_per_minute: int | None = None
    rate_limit_per_day: int | None = None
    validate: bool = True
    idempotency_window_seconds: float = 24 * 3600.0
    ignore_idempotency_key: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    #: A connection must deliver a whole request head within this (slow-header clients).
    header_timeout_seconds: float = 10.0
    #: A request body must arrive within this once its head has (408 after it).
    body_timeout_seconds: float = 30.0
    #: An idle keep-alive connection is closed after this. Longer than httpx's 5 s pool
    #: expiry, so that a client never reuses a connection the mock is just closing.
    keep_alive_seconds: float = 30.0

    def __post_init__(self) -> None:
        # Every field is checked by type: ``POST /_mock/config`` hands JSON values here.
        object.__setattr__(self, "api_keys", _key_set(self.api_keys))
        if not isinstance(self.host, str) or not isinstance(self.base_path, str):
            raise ValueError("host and base_path must be strings")
        if not isinstance(self.port, int) or isinstance(self.port, bool):
            raise ValueError(f"port must be an integer, got {self.port!r}")
        if not self.base_path.startswith("/") and self.base_path != "":
            raise ValueError(f"base_path must start with '/', got {self.base_path!r}")
        object.__setattr__(self, "base_path", self.base_path.rstrip("/"))
        _seconds(self.inference_time_factor, "inference_time_factor", minimum=0)
        if self.latency_seconds is not None:
            _seconds(self.latency_seconds, "latency_seconds", minimum=0, none_ok=True)
        if not isinstance(self.inference_seconds, Mapping) or not all(
            isinstance(name, str) for name in self.inference_seconds
        ):
            raise ValueError("inference_seconds must be an object of model name -> seconds")
        for name, value in self.inference_seconds.items():
            _seconds(value, f"inference_seconds[{name[:100]!r}]", minimum=0)
        object.__setattr__(self, "inference_seconds", dict(self.inference_seconds))
        if not isinstance(self.validate, bool):
            raise ValueError(f"validate must be true or false, got {self.validate!r}")
        object.__setattr__(self, "tier", canonical_tier(self.tier))
        for name in ("rate_limit_per_minute", "rate_limit_per_day"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise ValueError(
                    f"{name} must be an integer >= 1 or None (the tier's), got {value!r}"
                )
        for name in (
            "idempotency_window_seconds",
            "header_timeout_seconds",
            "body_timeout_seconds",
            "keep_alive_seconds",
        ):
            _seconds(getattr(self, name), name, minimum=None)
        if (
            not isinstance(self.max_body_bytes, int)
            or isinstance(self.max_body_bytes, bool)
            or self.max_body_bytes < 1
        ):
            raise ValueError(f"max_body_bytes must be an integer >= 1, got {self.max_body_bytes!r}")
        if not isinstance(self.ignore_idempotency_key, bool):
            raise ValueError(
                f"ignore_idempotency_key must be true or false, got {self.ignore_idempotency_key!r}"
            )

    def replace(self, **changes: Any) -> MockConfig:
        """A copy with ``changes`` applied (unknown names raise TypeError)."""
        return dataclasses.replace(self, **changes)

    @property
    def rate_limits(self) -> TierLimits:
        """The limits in force: the explicit ones, else the tier's, else none."""
        tier = TIERS[self.tier] if self.tier is not None else TierLimits(None, None)
        minute, day = self.rate_limit_per_minute, self.rate_limit_per_day
        return TierLimits(
            per_minute=tier.per_minute if minute is None else minute,
            per_day=tier.per_day if day is None else day,
        )

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
            "tier": self.tier,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "rate_limit_per_day": self.rate_limit_per_day,
            "rate_limits_in_force": {
                "per_minute": self.rate_limits.per_minute,
                "per_day": self.rate_limits.per_day,
            },
            "validate": self.validate,
            "idempotency_window_seconds": self.idempotency_window_seconds,
            "ignore_idempotency_key": self.ignore_idempotency_key,
            "max_body_bytes": self.max_body_bytes,
        }


#: The settings that ``configure`` (Python or ``POST /_mock/config``) may change.
CONFIGURABLE = frozenset(
    {
        "inference_time_factor",
        "inference_seconds",
        "latency_seconds",
        "tier",
        "rate_limit_per_minute",
        "rate_limit_per_day",
        "validate",
        "idempotency_window_seconds",
        "ignore_idempotency_key",
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

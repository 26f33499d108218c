"""Media types and their schemas."""

from __future__ import annotations

from typing import Any


def is_json(media_type: str) -> bool:
    base = media_type.split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def has_schema(media: Any) -> bool:
    return isinstance(media, dict) and "schema" in media

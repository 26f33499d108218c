"""What the gate reports: one `Change` per breaking change, with where, old vs new and
the side it breaks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from spec_breaking._pointer import segments


class Side(StrEnum):
    """Which existing code a change breaks."""

    REQUESTS = "old clients' requests"
    RESPONSES = "old clients' response parsing"
    NAMES = "generated names"


class Direction(StrEnum):
    """Which way data flows through a schema, so which way a change may not go."""

    REQUEST = "request"  # old clients send it: the new spec must accept all the old did
    RESPONSE = "response"  # old clients parse it: the new spec may not send more than the old

    @property
    def side(self) -> Side:
        return Side.REQUESTS if self is Direction.REQUEST else Side.RESPONSES


@dataclass
class Change:
    """One breaking change. ``pointer`` is in the new spec, or in the old one when
    ``in_old`` (the thing is gone)."""

    pointer: str
    what: str
    old: str
    new: str
    side: Side
    via: list[str] = field(default_factory=list)
    found_by: str = "structure"
    example: str | None = None
    in_old: bool = False
    allowed_by: str | None = None
    subjects: list[str] = field(default_factory=list)  # more names a CHANGELOG may use

    @property
    def key(self) -> tuple[str, str, Side]:
        return (self.pointer, self.what, self.side)

    def names(self) -> set[str]:
        """Identifiers a CHANGELOG entry may use to name this change."""
        found = {self.pointer, self.pointer.removeprefix("#"), *self.subjects}
        found.update(s for s in segments(self.pointer) if _is_identifier(s))
        for trail in self.via:
            leaf = trail.rsplit(".", 1)[-1].rsplit(" ", 1)[-1]
            if _is_identifier(leaf):
                found.add(leaf)
        return found


_STRUCTURAL = {
    "paths",
    "components",
    "schemas",
    "properties",
    "items",
    "prefixItems",
    "oneOf",
    "anyOf",
    "allOf",
    "not",
    "additionalProperties",
    "requestBody",
    "content",
    "schema",
    "responses",
    "parameters",
    "headers",
    "securitySchemes",
    "security",
    "required",
    "get",
    "put",
    "post",
    "delete",
    "patch",
    "head",
    "options",
    "trace",
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "maxProperties",
    "minProperties",
    "multipleOf",
    "enum",
    "const",
    "type",
    "pattern",
    "format",
    "dependentRequired",
    "uniqueItems",
    "operationId",
    "application/json",
    "default",
}


def _is_identifier(segment: str) -> bool:
    return bool(segment) and segment not in _STRUCTURAL and not segment.isdigit()


ABSENT = "(absent)"


def show(value: Any, limit: int = 160) -> str:
    """A short, stable rendering of a spec value for the report. ASCII: generated strings
    may hold lone surrogates, which a UTF-8 terminal cannot print."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."

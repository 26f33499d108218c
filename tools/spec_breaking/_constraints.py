"""Keyword by keyword: is the new schema tighter (accepts less) or looser (accepts more)
than the old one? A request may not get tighter, a response may not get looser."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from spec_breaking._changes import ABSENT, Change, Direction, show
from spec_breaking._pointer import Node, join

_INTEGER_FORMATS = {
    "int32": (Fraction(-(2**31)), Fraction(2**31 - 1)),
    "int64": (Fraction(-(2**63)), Fraction(2**63 - 1)),
}
_NUMERIC_FORMATS = {"int32", "int64", "float", "double"}


@dataclass(frozen=True)
class Pair:
    """An old and a new schema at matching places, and which way the data flows."""

    old: Node
    new: Node
    old_ptr: str
    new_ptr: str
    direction: Direction
    via: str

    def change(
        self, keyword: str, what: str, old: str, new: str, *, tighter: bool, looser: bool
    ) -> Change | None:
        """A change if this direction forbids it: tighter breaks requests, looser responses."""
        breaks = tighter if self.direction is Direction.REQUEST else looser
        if not breaks:
            return None
        in_new = keyword in self.new or keyword not in self.old
        pointer = join(self.new_ptr if in_new else self.old_ptr, keyword)
        return Change(
            pointer=pointer,
            what=what,
            old=old,
            new=new,
            side=self.direction.side,
            via=[self.via],
            in_old=not in_new,
        )


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def allowed_values(schema: Node) -> dict[str, Any] | None:
    """The values ``const``/``enum`` allow, by canonical JSON; ``None`` when unrestricted."""
    found: dict[str, Any] | None = None
    if "enum" in schema and isinstance(schema["enum"], list):
        found = {_canon(v): v for v in schema["enum"]}
    if "const" in schema:
        const = {_canon(schema["const"]): schema["const"]}
        found = const if found is None else {k: v for k, v in found.items() if k in const}
    return found


def _canon(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True)


def types_of(schema: Node) -> set[str] | None:
    """The JSON types a schema admits (``integer`` inside ``number``); ``None`` = any."""
    declared: set[str] | None = None
    raw = schema.get("type")
    if isinstance(raw, str):
        declared = {raw}
    elif isinstance(raw, list):
        declared = {str(t) for t in raw}
    values = allowed_values(schema)
    if values is not None:
        from_values = {json_type(v) for v in values.values()}
        if declared is None:
            return from_values
        return {t for t in from_values if _covers(t, declared)}
    return declared


def _covers(kind: str, kinds: set[str] | None) -> bool:
    return kinds is None or kind in kinds or (kind == "integer" and "number" in kinds)


def _uncovered(a: set[str] | None, b: set[str] | None) -> bool:
    """Whether some value of types ``a`` falls outside types ``b``."""
    if b is None:
        return False
    if a is None:
        return True
    return any(not _covers(t, b) for t in a)


def compare_types(pair: Pair) -> list[Change]:
    old, new = types_of(pair.old), types_of(pair.new)
    tighter, looser = _uncovered(old, new), _uncovered(new, old)
    what = "type changed" if tighter and looser else "type narrowed" if tighter else "type widened"
    change = pair.change(
        "type", what, _show_types(old), _show_types(new), tighter=tighter, looser=looser
    )
    return [change] if change else []


def _show_types(kinds: set[str] | None) -> str:
    return "any" if kinds is None else show(sorted(kinds))


def compare_values(pair: Pair) -> list[Change]:
    """``enum``/``const``: a request may not lose a value, a response may not gain one."""
    old, new = allowed_values(pair.old), allowed_values(pair.new)
    if old == new or (old is not None and new is not None and old.keys() == new.keys()):
        return []
    lost = sorted(old.keys() - new.keys()) if old is not None and new is not None else []
    gained = sorted(new.keys() - old.keys()) if old is not None and new is not None else []
    tighter = new is not None and (old is None or bool(lost))
    looser = old is not None and (new is None or bool(gained))
    keyword = "enum" if "enum" in pair.new or "enum" in pair.old else "const"
    if pair.direction is Direction.REQUEST:
        what = "enum narrowed" if old is not None else "enum added"
        what += f" (no longer accepted: {', '.join(lost)})" if lost else ""
    else:
        what = "enum widened" if new is not None else "enum removed"
        what += f" (values old clients do not know: {', '.join(gained)})" if gained else ""
    change = pair.change(
        keyword, what, _show_values(old), _show_values(new), tighter=tighter, looser=looser
    )
    return [change] if change else []


def _show_values(values: dict[str, Any] | None) -> str:
    return "any value" if values is None else show(list(values.values()))


# (keyword, inclusive, upper) for each kind of bound; numbers also take their format's range.
_BOUNDS: dict[str, tuple[tuple[str, str | None], tuple[str, str | None]]] = {
    "number": (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")),
    "string": (("minLength", None), ("maxLength", None)),
    "array": (("minItems", None), ("maxItems", None)),
    "object": (("minProperties", None), ("maxProperties", None)),
}
Bound = tuple[Fraction, bool, str]  # value, exclusive, the keyword that sets it


def _bound(schema: Node, keywords: tuple[str, str | None], upper: bool, kind: str) -> Bound | None:
    inclusive, exclusive = keywords
    candidates: list[Bound] = []
    if _is_number(schema.get(inclusive)):
        candidates.append((Fraction(str(schema[inclusive])), False, inclusive))
    if exclusive and _is_number(schema.get(exclusive)):
        candidates.append((Fraction(str(schema[exclusive])), True, exclusive))
    if kind == "number" and schema.get("format") in _INTEGER_FORMATS:
        low, high = _INTEGER_FORMATS[schema["format"]]
        candidates.append((high if upper else low, False, "format"))
    if not candidates:
        return None
    if upper:
        return min(candidates, key=lambda b: (b[0], not b[1]))
    return max(candidates, key=lambda b: (b[0], b[1]))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _tighter_bound(old: Bound | None, new: Bound | None, upper: bool) -> bool:
    if new is None:
        return False
    if old is None:
        return True
    if new[0] != old[0]:
        return new[0] < old[0] if upper else new[0] > old[0]
    return new[1] and not old[1]


def _show_bound(bound: Bound | None) -> str:
    if bound is None:
        return "none"
    value = bound[0]
    text = str(value.numerator) if value.denominator == 1 else str(float(value))
    return f"{bound[2]} {text}"


def _bound_label(
    keyword: str, old: Bound | None, new: Bound | None, *, upper: bool, tighter: bool
) -> str:
    if keyword == "format":  # an integer format is a range
        return "format narrows the range" if tighter else "format widens the range"
    if old is None:
        return f"{keyword} added"
    if new is None:
        return f"{keyword} removed"
    up = "lowered" if upper else "raised"
    down = "raised" if upper else "lowered"
    return f"{keyword} {up if tighter else down}"


def compare_bounds(pair: Pair, kinds: set[str] | None) -> list[Change]:
    changes: list[Change] = []
    for kind, (low_keys, high_keys) in _BOUNDS.items():
        if kinds is not None and not any(_covers(k, {kind}) for k in kinds):
            continue
        for keys, upper in ((low_keys, False), (high_keys, True)):
            old, new = _bound(pair.old, keys, upper, kind), _bound(pair.new, keys, upper, kind)
            tighter = _tighter_bound(old, new, upper)
            looser = _tighter_bound(new, old, upper)
            if not (tighter or looser):
                continue
            keyword = (new or old or (Fraction(0), False, keys[0]))[2]
            label = _bound_label(keyword, old, new, upper=upper, tighter=tighter)
            change = pair.change(
                keyword, label, _show_bound(old), _show_bound(new), tighter=tighter, looser=looser
            )
            if change:
                changes.append(change)
    return changes


def compare_multiple_of(pair: Pair) -> list[Change]:
    old, new = pair.old.get("multipleOf"), pair.new.get("multipleOf")
    if not (_is_number(old) or _is_number(new)) or old == new:
        return []

    def divides(step: Any, into: Any) -> bool:
        """Every multiple of ``into`` is a multiple of ``step``."""
        if not _is_number(step):
            return True
        if not _is_number(into):
            return False
        return (Fraction(str(into)) / Fraction(str(step))).denominator == 1

    tighter, looser = not divides(new, old), not divides(old, new)
    what = "multipleOf made stricter" if tighter else "multipleOf relaxed"
    change = pair.change(
        "multipleOf",
        what,
        show(old) if old is not None else ABSENT,
        show(new) if new is not None else ABSENT,
        tighter=tighter,
        looser=looser,
    )
    return [change] if change else []


PatternCheck = Callable[[str, str], bool]


def compare_pattern(pair: Pair, accepts_all: PatternCheck) -> list[Change]:
    """A changed ``pattern`` breaks when a string the giving side allows fails the other;
    ``accepts_all(source, target)`` searches for such a string."""
    old, new = pair.old.get("pattern"), pair.new.get("pattern")
    if old == new:
        return []
    tighter = isinstance(new, str) and not (isinstance(old, str) and accepts_all(old, new))
    looser = isinstance(old, str) and not (isinstance(new, str) and accepts_all(new, old))
    change = pair.change(
        "pattern",
        "pattern changed",
        show(old) if old else ABSENT,
        show(new) if new else ABSENT,
        tighter=tighter,
        looser=looser,
    )
    return [change] if change else []


def regex_is_valid(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def compare_format(pair: Pair, kinds: set[str] | None) -> list[Change]:
    """String formats: a new or different format may reject old values; integer formats
    are ranges and handled with the bounds."""
    old, new = _string_format(pair.old), _string_format(pair.new)
    if old == new or old in _NUMERIC_FORMATS or new in _NUMERIC_FORMATS:
        return []
    if kinds is not None and "string" not in kinds:
        return []
    tighter, looser = new is not None, old is not None
    change = pair.change(
        "format",
        "format changed",
        show(old) if old else ABSENT,
        show(new) if new else ABSENT,
        tighter=tighter,
        looser=looser,
    )
    return [change] if change else []


def _string_format(schema: Node) -> Any:
    """``format: byte`` (OpenAPI 3.0) and ``contentEncoding: base64`` (3.1) say one thing."""
    declared = schema.get("format")
    if declared is None and str(schema.get("contentEncoding", "")).lower() == "base64":
        return "byte"
    return declared


def compare_unique_items(pair: Pair) -> list[Change]:
    old, new = bool(pair.old.get("uniqueItems")), bool(pair.new.get("uniqueItems"))
    if old == new:
        return []
    change = pair.change(
        "uniqueItems", "uniqueItems changed", show(old), show(new), tighter=new, looser=old
    )
    return [change] if change else []


def compare_dependent_required(pair: Pair) -> list[Change]:
    def pairs(schema: Node) -> set[tuple[str, str]]:
        raw = schema.get("dependentRequired")
        if not isinstance(raw, dict):
            return set()
        return {(str(k), str(v)) for k, vs in raw.items() if isinstance(vs, list) for v in vs}

    old, new = pairs(pair.old), pairs(pair.new)
    added, dropped = sorted(new - old), sorted(old - new)
    if not (added or dropped):
        return []
    change = pair.change(
        "dependentRequired",
        "dependentRequired changed",
        show(sorted(old)),
        show(sorted(new)),
        tighter=bool(added),
        looser=bool(dropped),
    )
    return [change] if change else []


def merge_schemas(base: Node, extra: Node) -> Node:
    """Two schemas that both apply, as one (properties and required united)."""
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        elif key == "required" and isinstance(merged.get(key), list):
            merged[key] = sorted(set(merged[key]) | set(value))
        else:
            merged[key] = value
    return merged

"""Boundary probes: every bound, enum value and nullable of a schema, set one at a time
into a generated value. Random generation rarely hits ``maximum: 100`` exactly; a
narrowed bound is only caught by a value on the old boundary."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from math import ceil, floor
from typing import Any

from spec_breaking._pointer import JSON, Node, Resolver

_LONGEST_STRING = 5000  # longer boundary strings cost more than they find
_DEPTH = 5


def probes(resolver: Resolver, schema: JSON, value: JSON, depth: int = 0) -> Iterator[JSON]:
    """Variants of ``value`` with one place set to a boundary of its schema; invalid ones
    are the caller's to drop."""
    node, _, _ = resolver.resolve(schema, "#")
    if not isinstance(node, dict) or depth > _DEPTH:
        return
    yield from boundary_values(node)
    for keyword in ("oneOf", "anyOf", "allOf"):
        for branch in node.get(keyword) or []:
            yield from probes(resolver, branch, value, depth + 1)
    properties = node.get("properties")
    if isinstance(value, dict) and isinstance(properties, dict):
        for name, sub in properties.items():
            for variant in probes(resolver, sub, value.get(name), depth + 1):
                yield {**value, name: variant}
    if isinstance(value, list) and value and "items" in node:
        for variant in probes(resolver, node["items"], value[0], depth + 1):
            yield [variant, *value[1:]]


def boundary_values(schema: Node) -> list[JSON]:
    found: list[JSON] = []
    if "const" in schema:
        found.append(schema["const"])
    if isinstance(schema.get("enum"), list):
        found.extend(schema["enum"])
    raw = schema.get("type")
    kinds = {raw} if isinstance(raw, str) else set(raw) if isinstance(raw, list) else set()
    if "null" in kinds:
        found.append(None)
    if "boolean" in kinds:
        found.extend([True, False])
    if kinds & {"integer", "number"}:
        found.extend(_numbers(schema, integer="number" not in kinds))
    if "string" in kinds:
        for key in ("minLength", "maxLength"):
            length = schema.get(key)
            if isinstance(length, int) and 0 <= length <= _LONGEST_STRING:
                found.append("a" * length)
    return found


def _numbers(schema: Node, *, integer: bool) -> list[Any]:
    step = Fraction(str(schema.get("multipleOf", 1 if integer else 0) or 0))
    low = _fraction(schema.get("minimum"))
    high = _fraction(schema.get("maximum"))
    ex_low, ex_high = (
        _fraction(schema.get("exclusiveMinimum")),
        _fraction(schema.get("exclusiveMaximum")),
    )
    if ex_low is not None and step:
        low = ex_low + step if low is None else max(low, ex_low + step)
    if ex_high is not None and step:
        high = ex_high - step if high is None else min(high, ex_high - step)
    values: list[Fraction] = []
    for bound, inward in ((low, ceil), (high, floor)):
        if bound is None:
            continue
        values.append(Fraction(inward(bound / step)) * step if step else bound)
    return [int(v) if v.denominator == 1 else float(v) for v in values]


def _fraction(value: Any) -> Fraction | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Fraction(str(value))
    return None

"""The safety net: values drawn from one spec, validated against the other.

Request bodies and parameters are drawn from the OLD spec and must validate against the
NEW one (what old clients send must still be accepted); responses are drawn from the
NEW spec and must validate against the OLD one (what old clients parse must still
parse). Values come from Schemathesis's strategy for a request body (a response schema
is sampled by posing it as one), drawn with a fixed Hypothesis seed, plus boundary
probes; a sample is kept only if it is valid where it was drawn from.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from spec_breaking._changes import Change, Direction, show
from spec_breaking._operations import Target
from spec_breaking._pointer import JSON, Node, Resolver, join, lookup
from spec_breaking._probes import probes
from spec_breaking._validation import SpecValidator

_PROBES_PER_SOURCE = 400
# Draws are pure functions of (schema, its refs, count, seed): shared across comparisons
# in one process (the tests compare many edits against one base spec).
_DRAWS: dict[str, list[JSON]] = {}


@dataclass
class SamplingResult:
    changes: list[Change] = field(default_factory=list)
    checked: dict[Direction, int] = field(default_factory=lambda: dict.fromkeys(Direction, 0))
    notes: list[str] = field(default_factory=list)


def sample(
    old: Node, new: Node, targets: list[Target], *, examples: int, seed_value: int
) -> SamplingResult:
    result = SamplingResult()
    validators = {"old": SpecValidator(old), "new": SpecValidator(new)}
    specs = {"old": old, "new": new}
    seen: set[tuple[str, str, str]] = set()
    findings: dict[str, Change] = {}
    for target in targets:
        source_side, dest_side = (
            ("old", "new") if target.direction is Direction.REQUEST else ("new", "old")
        )
        key = (target.direction.value, target.source_ptr, target.dest_ptr)
        if key in seen:
            continue
        seen.add(key)
        source, dest = validators[source_side], validators[dest_side]
        try:
            values = _values(specs[source_side], target.source_ptr, examples, seed_value)
        except Exception as exc:  # a schema Schemathesis cannot generate from: say so
            result.notes.append(f"{target.source_ptr}: not sampled ({type(exc).__name__}: {exc})")
            continue
        for value in values:
            if not source.is_valid(target.source_ptr, value):
                continue
            result.checked[target.direction] += 1
            failure = dest.failure(target.dest_ptr, value)
            if failure is None:
                continue
            finding = _finding(
                target, failure.pointer, value, failure.message, failure.at, dest_side
            )
            known = findings.get(failure.pointer)
            if known is None or len(finding.example or "") < len(known.example or ""):
                # The shortest failing value reads best in the report.
                if known is not None:
                    finding.via = known.via + [v for v in finding.via if v not in known.via]
                findings[failure.pointer] = finding
            elif target.via not in known.via:
                known.via.append(target.via)
    result.changes = list(findings.values())
    return result


def _finding(
    target: Target, pointer: str, value: JSON, message: str, at: str, dest_side: str
) -> Change:
    kind = "request" if target.direction is Direction.REQUEST else "response"
    giving = "old" if dest_side == "new" else "new"
    return Change(
        pointer=pointer,
        what=f"a {kind} valid under the {giving} spec fails the {dest_side} spec",
        old=f"{giving} spec accepts {show(value, 200)}",
        new=f"{dest_side} spec rejects it at {at or '/'}: {message}",
        side=target.direction.side,
        via=[target.via],
        found_by="sampling",
        example=show(value, 200),
        in_old=dest_side == "old",
    )


def _values(spec: Node, pointer: str, examples: int, seed_value: int) -> list[JSON]:
    """Drawn values plus boundary probes for the schema at ``pointer``, branch by branch
    when it is a choice (so every model gets its share of draws)."""
    resolver = Resolver(spec)
    node, resolved_ptr, _ = resolver.resolve(lookup(spec, pointer), pointer)
    parts = [pointer]
    if isinstance(node, dict):
        for keyword in ("oneOf", "anyOf"):
            if isinstance(node.get(keyword), list):
                parts = [join(resolved_ptr, keyword, i) for i in range(len(node[keyword]))]
                break
    values: list[JSON] = []
    for part in parts:
        drawn = _draw(spec, part, examples, seed_value)
        values += drawn
        probed: list[JSON] = []
        for base in drawn[:3] or [None]:
            for variant in probes(resolver, lookup(spec, part), base):
                probed.append(variant)
                if len(probed) >= _PROBES_PER_SOURCE:
                    break
        values += probed
    return values


def _draw(spec: Node, pointer: str, examples: int, seed_value: int) -> list[JSON]:
    node = lookup(spec, pointer)
    refs = _closure(spec, node)
    key = hashlib.sha256(
        json.dumps([node, refs, examples, seed_value], sort_keys=True, default=str).encode()
    ).hexdigest()
    if key not in _DRAWS:
        _DRAWS[key] = _draw_uncached(spec, node, examples, seed_value)
    return copy.deepcopy(_DRAWS[key])


def _draw_uncached(spec: Node, node: JSON, examples: int, seed_value: int) -> list[JSON]:
    # Posed as a request body (Schemathesis generates requests): readOnly/writeOnly would
    # hide properties, so they go.
    components = _without_access_markers(copy.deepcopy(spec.get("components") or {}))
    synthetic: Node = {
        "openapi": "3.1.0",
        "info": {"title": "spec-breaking sample", "version": "0"},
        "paths": {
            "/sample": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _without_access_markers(copy.deepcopy(node)),
                            }
                        },
                    },
                    "responses": {"200": {"description": "sampled"}},
                }
            }
        },
        "components": components,
    }
    operation = schemathesis.openapi.from_dict(synthetic, config=schemathesis.Config())["/sample"][
        "POST"
    ]
    drawn: list[JSON] = []

    @seed(seed_value)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(operation.as_strategy())
    def collect(case: Any) -> None:
        drawn.append(case.body)

    collect()
    return drawn


def _closure(spec: Node, node: JSON) -> dict[str, JSON]:
    """Every local ``$ref`` reachable from ``node``, with what it points to."""
    found: dict[str, JSON] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith("#") and ref not in found:
                try:
                    found[ref] = lookup(spec, ref)
                except (KeyError, IndexError, ValueError, TypeError):
                    found[ref] = None
                stack.append(found[ref])
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return found


def _without_access_markers(node: JSON) -> JSON:
    if isinstance(node, dict):
        return {
            k: _without_access_markers(v)
            for k, v in node.items()
            if k not in ("readOnly", "writeOnly")
        }
    if isinstance(node, list):
        return [_without_access_markers(v) for v in node]
    return node


def pattern_accepts_all(source: str, target: str, seed_value: int = 0) -> bool:
    """Whether strings drawn from regex ``source`` all match ``target`` (a search, as JSON
    Schema's ``pattern`` is); an unreadable pattern proves nothing."""
    try:
        compiled = re.compile(target)
        strategy = st.from_regex(source)
    except (re.error, TypeError, ValueError):
        return False
    misses: list[str] = []

    @seed(seed_value)
    @settings(
        max_examples=100,
        derandomize=False,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def check(text: str) -> None:
        if not compiled.search(text):
            misses.append(text)

    try:
        check()
    except Exception:
        return False
    return not misses

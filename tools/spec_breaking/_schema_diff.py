"""Structural comparison of two schemas, walked in parallel.

``$ref``s are followed on both sides (a renamed component with the same shape is no wire
change; `_names` reports the rename). ``oneOf``/``anyOf`` branches are matched by their
``const`` properties (``model_name``), then ``$ref`` name, then title, never by position;
a branch without a match is tried against every branch of the other side.
"""

from __future__ import annotations

import json
from typing import Any

from spec_breaking import _constraints as kw
from spec_breaking._alternatives import ALTERNATIVES, compare_alternatives
from spec_breaking._changes import Change, Direction, Side
from spec_breaking._pointer import JSON, Node, Resolver, join

# Validation keywords this walk does not reason about; a change to one is noted and left
# to sampling (e.g. `not`: a model added to the fallback's exclusion list is a new model).
_UNANALYSED = (
    "not",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "propertyNames",
    "patternProperties",
)
_OPEN: Node = {}


class SchemaDiff:
    """Compares schemas of an old and a new spec document; collects unanalysed notes."""

    def __init__(self, old_doc: Node, new_doc: Node, accepts_all: kw.PatternCheck) -> None:
        self.old = Resolver(old_doc)
        self.new = Resolver(new_doc)
        self.accepts_all = accepts_all
        self.notes: list[str] = []
        self._active: set[tuple[str, str, Direction]] = set()

    def compare(
        self,
        old_node: JSON,
        old_ptr: str,
        new_node: JSON,
        new_ptr: str,
        direction: Direction,
        via: str,
    ) -> list[Change]:
        old, old_ptr, _ = self.old.resolve(old_node, old_ptr)
        new, new_ptr, _ = self.new.resolve(new_node, new_ptr)
        old, new = _as_schema(old), _as_schema(new)
        if old is None or new is None:
            return self._compare_booleans(old, old_ptr, new, new_ptr, direction, via)
        key = (old_ptr, new_ptr, direction)
        if key in self._active:  # a recursive schema: already being compared
            return []
        self._active.add(key)
        try:
            old, new = self.merge_all_of(old, self.old), self.merge_all_of(new, self.new)
            if any(k in old or k in new for k in ALTERNATIVES):
                return compare_alternatives(self, old, old_ptr, new, new_ptr, direction, via)
            return self._compare_plain(old, old_ptr, new, new_ptr, direction, via)
        finally:
            self._active.discard(key)

    def _compare_booleans(
        self,
        old: Node | None,
        old_ptr: str,
        new: Node | None,
        new_ptr: str,
        direction: Direction,
        via: str,
    ) -> list[Change]:
        """``false`` schemas (accept nothing) against anything else."""
        tighter = new is None and old is not None
        looser = old is None and new is not None
        pair = kw.Pair(old or {}, new or {}, old_ptr, new_ptr, direction, via)
        change = pair.change(
            "",
            "schema now rejects everything" if tighter else "schema now accepts values",
            "false" if old is None else "a schema",
            "false" if new is None else "a schema",
            tighter=tighter,
            looser=looser,
        )
        if change:
            change.pointer = change.pointer.removesuffix("/")
        return [change] if change else []

    def merge_all_of(self, schema: Node, resolver: Resolver) -> Node:
        """``allOf`` parts folded into one schema (properties and required united)."""
        parts = schema.get("allOf")
        if not isinstance(parts, list):
            return schema
        merged: Node = {k: v for k, v in schema.items() if k != "allOf"}
        for part in parts:
            resolved, _, _ = resolver.resolve(part, "#")
            if isinstance(resolved, dict):
                merged = kw.merge_schemas(merged, self.merge_all_of(resolved, resolver))
        return merged

    # -- one schema against one schema ------------------------------------------------

    def _compare_plain(
        self,
        old: Node,
        old_ptr: str,
        new: Node,
        new_ptr: str,
        direction: Direction,
        via: str,
    ) -> list[Change]:
        pair = kw.Pair(old, new, old_ptr, new_ptr, direction, via)
        changes = kw.compare_types(pair)
        old_kinds, new_kinds = kw.types_of(old), kw.types_of(new)
        if changes and (old_kinds is None or new_kinds is None):
            return changes  # a side that takes any value: nothing below it compares
        if old_kinds is not None and new_kinds is not None:
            kinds: set[str] | None = {
                t
                for t in old_kinds | new_kinds
                if kw._covers(t, old_kinds) and kw._covers(t, new_kinds)
            }
            if not kinds:
                return changes  # disjoint types: the type change says it all
        else:
            kinds = new_kinds if old_kinds is None else old_kinds
        changes += kw.compare_values(pair)
        changes += kw.compare_bounds(pair, kinds)
        changes += kw.compare_multiple_of(pair)
        changes += kw.compare_pattern(pair, self.accepts_all)
        changes += kw.compare_format(pair, kinds)
        changes += kw.compare_unique_items(pair)
        changes += kw.compare_dependent_required(pair)
        if kinds is None or "object" in kinds:
            changes += self._compare_object(pair)
        if kinds is None or "array" in kinds:
            changes += self._compare_items(pair)
        for keyword in _UNANALYSED:
            if _canon(old.get(keyword)) != _canon(new.get(keyword)):
                self.notes.append(
                    f"{join(new_ptr, keyword)}: `{keyword}` changed; not analysed "
                    "structurally, covered by sampling"
                )
        return changes

    def _compare_object(self, pair: kw.Pair) -> list[Change]:
        old, new, direction = pair.old, pair.new, pair.direction
        old_props, new_props = _properties(old), _properties(new)
        old_required, new_required = _required(old), _required(new)
        old_extra, new_extra = _extra(old), _extra(new)
        changes: list[Change] = []
        for name in [n for n in old_props if n in new_props]:
            changes += self.compare(
                old_props[name],
                join(pair.old_ptr, "properties", name),
                new_props[name],
                join(pair.new_ptr, "properties", name),
                direction,
                f"{pair.via}.{name}",
            )
        removed = [n for n in old_props if n not in new_props]
        for name in removed:
            where = join(pair.old_ptr, "properties", name)
            if direction is Direction.REQUEST and new_extra is None:
                changes.append(
                    Change(
                        pointer=where,
                        what="request property removed from a closed schema",
                        old=f"`{name}` accepted",
                        new=f"`{name}` rejected (additionalProperties: false)",
                        side=Side.REQUESTS,
                        via=[f"{pair.via}.{name}"],
                        in_old=True,
                    )
                )
            elif direction is Direction.REQUEST and new_extra is not _OPEN:
                changes += self.compare(
                    old_props[name],
                    where,
                    new_extra,
                    join(pair.new_ptr, "additionalProperties"),
                    direction,
                    f"{pair.via}.{name}",
                )
            else:
                required = direction is Direction.RESPONSE and name in old_required
                changes.append(
                    Change(
                        pointer=where,
                        what="response field removed" if required else "property removed",
                        old=f"`{name}`" + (" (required)" if required else " (optional)"),
                        new="absent",
                        side=Side.RESPONSES if required else Side.NAMES,
                        via=[f"{pair.via}.{name}"],
                        in_old=True,
                    )
                )
        if direction is Direction.RESPONSE:
            for name in [n for n in new_props if n not in old_props]:
                where = join(pair.new_ptr, "properties", name)
                if old_extra is None:
                    changes.append(
                        Change(
                            pointer=where,
                            what="response property added to a closed schema",
                            old="absent (additionalProperties: false)",
                            new=f"`{name}`",
                            side=Side.RESPONSES,
                            via=[f"{pair.via}.{name}"],
                        )
                    )
                elif old_extra is not _OPEN:
                    changes += self.compare(
                        old_extra,
                        join(pair.old_ptr, "additionalProperties"),
                        new_props[name],
                        where,
                        direction,
                        f"{pair.via}.{name}",
                    )
        changes += _compare_required(pair, old_required, new_required, old_props, removed)
        changes += self._compare_extra(pair, old_extra, new_extra)
        return changes

    def _compare_extra(
        self, pair: kw.Pair, old_extra: Node | None, new_extra: Node | None
    ) -> list[Change]:
        """``additionalProperties``: closing a request schema or opening a response one."""
        if old_extra is None or new_extra is None:
            change = pair.change(
                "additionalProperties",
                "schema closed (additionalProperties: false)"
                if new_extra is None
                else "schema opened (additionalProperties allowed)",
                "false" if old_extra is None else "allowed",
                "false" if new_extra is None else "allowed",
                tighter=new_extra is None and old_extra is not None,
                looser=old_extra is None and new_extra is not None,
            )
            return [change] if change else []
        if old_extra is _OPEN and new_extra is _OPEN:
            return []
        return self.compare(
            old_extra,
            join(pair.old_ptr, "additionalProperties"),
            new_extra,
            join(pair.new_ptr, "additionalProperties"),
            pair.direction,
            f"{pair.via}.*",
        )

    def _compare_items(self, pair: kw.Pair) -> list[Change]:
        old_items, new_items = pair.old.get("items"), pair.new.get("items")
        if old_items is None and new_items is None:
            return []
        return self.compare(
            _OPEN if old_items is None else old_items,
            join(pair.old_ptr, "items"),
            _OPEN if new_items is None else new_items,
            join(pair.new_ptr, "items"),
            pair.direction,
            f"{pair.via}[]",
        )


def _compare_required(
    pair: kw.Pair,
    old_required: set[str],
    new_required: set[str],
    old_props: Node,
    removed: list[str],
) -> list[Change]:
    changes: list[Change] = []
    if pair.direction is Direction.REQUEST:
        for name in sorted(new_required - old_required):
            changes.append(
                Change(
                    pointer=join(pair.new_ptr, "required"),
                    what="optional property made required"
                    if name in old_props
                    else "required property added",
                    old=f"`{name}` optional" if name in old_props else f"`{name}` absent",
                    new=f"`{name}` required",
                    side=Side.REQUESTS,
                    via=[f"{pair.via}.{name}"],
                )
            )
    else:
        for name in sorted(old_required - new_required - set(removed)):
            changes.append(
                Change(
                    pointer=join(pair.new_ptr, "required"),
                    what="response field made optional",
                    old=f"`{name}` required",
                    new=f"`{name}` optional",
                    side=Side.RESPONSES,
                    via=[f"{pair.via}.{name}"],
                )
            )
    return changes


def _properties(schema: Node) -> Node:
    found = schema.get("properties")
    return found if isinstance(found, dict) else {}


def _required(schema: Node) -> set[str]:
    found = schema.get("required")
    return {r for r in found if isinstance(r, str)} if isinstance(found, list) else set()


def _as_schema(node: JSON) -> Node | None:
    """A schema as a dict; ``true`` is the open schema, ``false`` is ``None``."""
    if node is True:
        return _OPEN
    if isinstance(node, dict):
        return node
    return None


def _extra(schema: Node) -> Node | None:
    """What ``additionalProperties`` admits: ``None`` for a closed schema."""
    if schema.get("additionalProperties") is False or schema.get("unevaluatedProperties") is False:
        return None
    extra = schema.get("additionalProperties", True)
    return _OPEN if extra is True or not isinstance(extra, dict) or not extra else extra


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)

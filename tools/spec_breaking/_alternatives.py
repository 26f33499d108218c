"""``oneOf``/``anyOf``: every value the giving side can produce (old requests, new
responses) must fit a branch of the other side. Branches are matched by their ``const``
properties (``model_name``), then ``$ref`` name, then title, never by position; a branch
without a match is compared with the branch that fits it best."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spec_breaking import _constraints as kw
from spec_breaking._changes import Change, Direction, Side
from spec_breaking._pointer import JSON, Node, Resolver, join

if TYPE_CHECKING:
    from spec_breaking._schema_diff import SchemaDiff

ALTERNATIVES = ("oneOf", "anyOf")


def compare_alternatives(
    diff: SchemaDiff,
    old: Node,
    old_ptr: str,
    new: Node,
    new_ptr: str,
    direction: Direction,
    via: str,
) -> list[Change]:
    olds = _branches(diff, old, old_ptr, diff.old)
    news = _branches(diff, new, new_ptr, diff.new)
    # Each value the giving side can produce must fit some branch of the other side.
    giving, taking = (olds, news) if direction is Direction.REQUEST else (news, olds)
    taking_is_choice = any(k in (new if giving is olds else old) for k in ALTERNATIVES)
    changes: list[Change] = []
    for branch in giving:
        match = _match(branch, taking)
        if match is not None:
            changes += _compare_branch(diff, branch, match, giving is olds, direction, via)
            continue
        best = _best_fit(diff, branch, taking, giving is olds, direction, via)
        # A keyed branch of one choice missing from the other choice is a model removed
        # (requests) or a variant added (responses); anything else is a best fit.
        if taking_is_choice and branch.keyword and branch.has_key():
            if direction is Direction.REQUEST:
                changes.append(
                    Change(
                        pointer=join(new_ptr, branch.keyword),
                        what=f"{branch.keyword} branch removed",
                        old=branch.label,
                        new="no branch with " + branch.describe(),
                        side=Side.REQUESTS if best else Side.NAMES,
                        via=[via],
                        subjects=branch.subjects(),
                    )
                )
            elif best:
                changes.append(
                    Change(
                        pointer=branch.pointer,
                        what="response variant added",
                        old="no branch with " + branch.describe(),
                        new=branch.label,
                        side=Side.RESPONSES,
                        via=[via],
                        subjects=branch.subjects(),
                    )
                )
        else:
            changes += best
    return changes


def _best_fit(
    diff: SchemaDiff,
    branch: Branch,
    candidates: list[Branch],
    giving_is_old: bool,
    direction: Direction,
    via: str,
) -> list[Change]:
    """The changes against the branch that fits best; only its notes are kept."""
    trials: list[tuple[list[Change], list[str]]] = []
    for other in candidates:
        mark = len(diff.notes)
        found = _compare_branch(diff, branch, other, giving_is_old, direction, via)
        trials.append((found, diff.notes[mark:]))
        del diff.notes[mark:]
    if not trials:
        return []
    best, notes = min(trials, key=lambda trial: len(trial[0]))
    diff.notes += notes
    return best


def _compare_branch(
    diff: SchemaDiff,
    giving: Branch,
    other: Branch,
    giving_is_old: bool,
    direction: Direction,
    via: str,
) -> list[Change]:
    old, new = (giving, other) if giving_is_old else (other, giving)
    label = giving.label if giving.label != "(the schema)" else other.label
    trail = via if label == "(the schema)" else f"{via} > {label}"
    return diff.compare(old.schema, old.pointer, new.schema, new.pointer, direction, trail)


def _branches(diff: SchemaDiff, schema: Node, pointer: str, resolver: Resolver) -> list[Branch]:
    keyword = next((k for k in ALTERNATIVES if isinstance(schema.get(k), list)), None)
    if keyword is None:
        return [Branch(schema, pointer, "", None, resolver)]
    siblings = {k: v for k, v in schema.items() if k not in ALTERNATIVES}
    found: list[Branch] = []
    for i, raw in enumerate(schema[keyword]):
        node, branch_ptr, ref_name = resolver.resolve(raw, join(pointer, keyword, i))
        if isinstance(node, dict):
            node = kw.merge_schemas(siblings, diff.merge_all_of(node, resolver))
        found.append(Branch(node, branch_ptr, keyword, ref_name, resolver))
    return found


class Branch:
    """One ``oneOf``/``anyOf`` branch, resolved, with what identifies it."""

    def __init__(
        self,
        schema: JSON,
        pointer: str,
        keyword: str,
        ref_name: str | None,
        resolver: Resolver,
    ) -> None:
        self.schema, self.pointer, self.keyword = schema, pointer, keyword
        self.keys: dict[str, str] = {}
        if isinstance(schema, dict):
            consts = _const_properties(schema, resolver)
            if consts:
                self.keys["const"] = consts
            if isinstance(schema.get("title"), str):
                self.keys["title"] = schema["title"]
        if ref_name:
            self.keys["ref"] = ref_name
        self.label = (
            ref_name or self.keys.get("title") or (self.keys.get("const") or "(the schema)")
        )

    def has_key(self) -> bool:
        return bool(self.keys)

    def subjects(self) -> list[str]:
        return [self.label, *self.keys.values()]

    def describe(self) -> str:
        kind, value = next(iter(self.keys.items()))
        return {"const": value, "ref": f"$ref {value}", "title": f"title {value}"}[kind]


def _match(branch: Branch, candidates: list[Branch]) -> Branch | None:
    for kind in ("const", "ref", "title"):
        if kind not in branch.keys:
            continue
        same = [c for c in candidates if c.keys.get(kind) == branch.keys[kind]]
        if len(same) == 1:
            return same[0]
    return None


def _const_properties(schema: Node, resolver: Resolver) -> str:
    props = schema.get("properties")
    if not isinstance(props, dict):
        return ""
    found: list[str] = []
    for name in sorted(props):
        node, _, _ = resolver.resolve(props[name], "#")
        values = kw.allowed_values(node) if isinstance(node, dict) else None
        if values is not None and len(values) == 1:
            found.append(f"{name}={next(iter(values))}")
    return ", ".join(found)

"""One comparison of an old and a new spec: structure, names, sampling, intent."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from spec_breaking._changes import Change, Direction
from spec_breaking._intent import apply_intent
from spec_breaking._names import compare_names
from spec_breaking._operations import OperationDiff, operations
from spec_breaking._pointer import Node
from spec_breaking._schema_diff import SchemaDiff

DEFAULT_SEED = 20251125
DEFAULT_EXAMPLES = 30


@dataclass
class Comparison:
    changes: list[Change]
    old_version: str
    new_version: str
    operations: int
    schemas: int
    sampled: dict[Direction, int] | None
    seed: int
    notes: list[str] = field(default_factory=list)
    intent: str | None = None

    @property
    def blocking(self) -> list[Change]:
        return [c for c in self.changes if c.allowed_by is None]


def compare_specs(
    old: Node,
    new: Node,
    *,
    changelog: str | None = None,
    changelog_name: str = "CHANGELOG.md",
    sampling: bool = True,
    examples: int = DEFAULT_EXAMPLES,
    seed: int = DEFAULT_SEED,
) -> Comparison:
    from spec_breaking._sampling import pattern_accepts_all, sample  # heavy imports

    schemas = SchemaDiff(old, new, partial(pattern_accepts_all, seed_value=seed))
    surface = OperationDiff(old, new, schemas)
    structural = _merged(surface.run() + compare_names(old, new))
    notes = sorted(set(schemas.notes))
    sampled: dict[Direction, int] | None = None
    if sampling and old == new:  # most commits leave the spec alone: nothing to sample
        notes.append("the two specs are equal: sampling skipped")
    elif sampling:
        result = sample(old, new, surface.targets, examples=examples, seed_value=seed)
        sampled = result.checked
        notes += result.notes
        for finding in result.changes:
            _confirm_or_add(structural, finding)
    old_version = str((old.get("info") or {}).get("version", "?"))
    new_version = str((new.get("info") or {}).get("version", "?"))
    intent = apply_intent(structural, old_version, new_version, changelog, changelog_name)
    return Comparison(
        changes=structural,
        old_version=old_version,
        new_version=new_version,
        operations=len(operations(old)),
        schemas=len((old.get("components") or {}).get("schemas") or {}),
        sampled=sampled,
        seed=seed,
        notes=notes,
        intent=intent,
    )


def _merged(changes: list[Change]) -> list[Change]:
    """One entry per (pointer, what, side): a shared schema reached from many places is
    one change with every place in ``via``."""
    by_key: dict[tuple[str, str, object], Change] = {}
    for change in changes:
        known = by_key.get(change.key)
        if known is None:
            by_key[change.key] = change
        else:
            known.via += [v for v in change.via if v not in known.via]
    return list(by_key.values())


def _confirm_or_add(structural: list[Change], finding: Change) -> None:
    """A sample failing where the walk already found a change confirms it; anywhere else
    it is a change of its own."""
    schema_ptr, keyword = finding.pointer.rsplit("/", 1)
    same_side = [c for c in structural if c.side == finding.side]
    inside = [c for c in same_side if c.pointer.startswith(schema_ptr + "/")]
    related = _RELATED.get(keyword, ())
    ranked = (
        [c for c in same_side if c.pointer == finding.pointer]
        + [c for c in inside if c.pointer.endswith("/" + keyword)]
        + [c for c in inside if any(word in c.what for word in related)]
        + inside
    )
    for change in ranked[:1]:
        if change.example is None:
            change.example = finding.example
            change.found_by = "structure, confirmed by sampling"
        return
    structural.append(finding)


# Which structural findings a failing keyword confirms, beyond its own pointer.
_RELATED: dict[str, tuple[str, ...]] = {
    "required": ("removed", "optional", "required"),
    "additionalProperties": ("removed", "added", "closed", "opened"),
    "oneOf": ("branch", "variant"),
    "anyOf": ("branch", "variant"),
}

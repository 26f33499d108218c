"""The text the gate prints."""

from __future__ import annotations

from spec_breaking._changes import Change, Direction
from spec_breaking._compare import Comparison

_VIA_SHOWN = 4


def render(comparison: Comparison, new_label: str, old_label: str) -> str:
    lines = [
        f"spec-breaking: compared {new_label} (info.version {comparison.new_version})",
        f"  with {old_label} (info.version {comparison.old_version})",
        "  " + _what_ran(comparison),
    ]
    blocking = comparison.blocking
    allowed = [c for c in comparison.changes if c.allowed_by is not None]
    if blocking:
        lines += ["", f"BREAKING: {len(blocking)} change(s) would break existing clients."]
        lines += _entries(blocking)
    if allowed:
        lines += ["", f"Allowed on purpose: {len(allowed)} breaking change(s)."]
        lines += _entries(allowed)
    if comparison.intent:
        lines += ["", comparison.intent]
    if comparison.notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in comparison.notes]
    if blocking:
        lines += [
            "",
            "Fix the spec, or break on purpose: raise info.version's major number and add a "
            "CHANGELOG.md entry for the new version that names each change (its pointer, or "
            "the schema, property, operationId or path).",
        ]
    else:
        lines += ["", "OK: no change breaks existing clients."]
    return "\n".join(lines)


def _what_ran(comparison: Comparison) -> str:
    text = (
        f"structure: {comparison.operations} operation(s), {comparison.schemas} component "
        "schema(s), names"
    )
    if comparison.sampled is None:
        return text + "; sampling: off"
    return text + (
        f"; sampling (seed {comparison.seed}): {comparison.sampled[Direction.REQUEST]} request "
        f"value(s) old->new, {comparison.sampled[Direction.RESPONSE]} response(s) new->old"
    )


def _entries(changes: list[Change]) -> list[str]:
    lines: list[str] = []
    for number, change in enumerate(changes, 1):
        where = change.pointer + ("  (in the old spec)" if change.in_old else "")
        via = ", ".join(change.via[:_VIA_SHOWN])
        if len(change.via) > _VIA_SHOWN:
            via += f", and {len(change.via) - _VIA_SHOWN} more"
        lines += [
            "",
            f"{number:>3}. {change.what}",
            f"     where:  {where}",
            f"     old:    {change.old}",
            f"     new:    {change.new}",
            f"     breaks: {change.side.value}",
            f"     via:    {via}",
            f"     found:  {change.found_by}"
            + (
                f"; e.g. {change.example}"
                if change.example and change.found_by != "sampling"
                else ""
            ),
        ]
        if change.allowed_by:
            lines.append(f"     allowed: {change.allowed_by}")
    return lines

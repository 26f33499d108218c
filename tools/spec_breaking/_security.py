"""Security: a scheme removed or changed (type, scheme, header name, flows) and, per
operation, a requirement old clients no longer meet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spec_breaking._changes import Change, Side, show
from spec_breaking._pointer import Node, components, join

if TYPE_CHECKING:
    from spec_breaking._operations import Operation

# What a security scheme's wire behaviour is made of (descriptions and the bearerFormat
# hint are not).
_SCHEME_FIELDS = ("type", "scheme", "in", "name", "flows", "openIdConnectUrl")


def compare_security_schemes(old: Node, new: Node) -> list[Change]:
    old_schemes = components(old, "securitySchemes")
    new_schemes = components(new, "securitySchemes")
    changes: list[Change] = []
    for name, scheme in old_schemes.items():
        pointer = join("#", "components", "securitySchemes", name)
        if name not in new_schemes:
            changes.append(
                Change(
                    pointer=pointer,
                    what="security scheme removed or renamed",
                    old=name,
                    new="absent",
                    side=Side.REQUESTS,
                    via=[name],
                    in_old=True,
                )
            )
            continue
        old_wire = _wire(scheme)
        new_wire = _wire(new_schemes[name])
        if old_wire != new_wire:
            changes.append(
                Change(
                    pointer=pointer,
                    what="security scheme changed",
                    old=show(old_wire),
                    new=show(new_wire),
                    side=Side.REQUESTS,
                    via=[name],
                )
            )
    return changes


def _wire(scheme: Any) -> dict[str, Any]:
    if not isinstance(scheme, dict):
        return {}
    wire = {k: scheme[k] for k in _SCHEME_FIELDS if k in scheme}
    if isinstance(wire.get("scheme"), str):
        wire["scheme"] = wire["scheme"].lower()  # RFC 7235: case-insensitive
    return wire


def compare_security(
    old_spec: Node, new_spec: Node, old: Operation, new: Operation
) -> list[Change]:
    old_alts = _requirements(old.node.get("security", old_spec.get("security")))
    new_alts = _requirements(new.node.get("security", new_spec.get("security")))
    lost = sorted(old_alts - new_alts)
    if not lost or () in new_alts:  # `{}` among the alternatives: no auth needed
        return []
    where = "security" if "security" in new.node else None
    pointer = join(new.pointer, "security") if where else "#/security"
    return [
        Change(
            pointer=pointer,
            what="security requirement changed",
            old=show([dict(alt) for alt in sorted(old_alts)]),
            new=show([dict(alt) for alt in sorted(new_alts)]),
            side=Side.REQUESTS,
            via=[old.label],
        )
    ]


Requirement = tuple[tuple[str, tuple[str, ...]], ...]


def _requirements(raw: Any) -> set[Requirement]:
    if not isinstance(raw, list):
        return {()}
    found: set[Requirement] = set()
    for alt in raw:
        if isinstance(alt, dict):
            found.add(
                tuple(sorted((str(k), tuple(sorted(map(str, v or [])))) for k, v in alt.items()))
            )
    return found or {()}

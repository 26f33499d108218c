"""Names that generated clients are built from: component schemas (class names) and
security schemes. A rename breaks every generated client even when the wire format is
the same. (operationIds, paths and methods are checked per operation in `_operations`.)"""

from __future__ import annotations

import json
from typing import Any

from spec_breaking._changes import Change, Side, show
from spec_breaking._pointer import Node, join

# What a security scheme's wire behaviour is made of (descriptions are not).
_SCHEME_FIELDS = ("type", "scheme", "in", "name", "bearerFormat", "flows", "openIdConnectUrl")
_ANNOTATIONS = {"description", "title", "example", "examples", "summary", "$comment"}


def compare_names(old: Node, new: Node) -> list[Change]:
    return _schemas(old, new) + _security_schemes(old, new)


def _components(spec: Node, kind: str) -> Node:
    found = (spec.get("components") or {}).get(kind) or {}
    return found if isinstance(found, dict) else {}


def _schemas(old: Node, new: Node) -> list[Change]:
    old_schemas, new_schemas = _components(old, "schemas"), _components(new, "schemas")
    added = [n for n in new_schemas if n not in old_schemas]
    changes: list[Change] = []
    for name, schema in old_schemas.items():
        if name in new_schemas:
            continue
        twins = [n for n in added if _shape(new_schemas[n]) == _shape(schema)]
        changes.append(
            Change(
                pointer=join("#", "components", "schemas", name),
                what="component schema renamed" if len(twins) == 1 else "component schema removed",
                old=name,
                new=twins[0] if len(twins) == 1 else _absent(added),
                side=Side.NAMES,
                via=[name],
                in_old=True,
            )
        )
    return changes


def _absent(added: list[str]) -> str:
    return "absent" + (f" (schemas added: {', '.join(added)})" if added else "")


def _security_schemes(old: Node, new: Node) -> list[Change]:
    old_schemes = _components(old, "securitySchemes")
    new_schemes = _components(new, "securitySchemes")
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


def _shape(schema: Any) -> str:
    """A schema without its annotations and extensions: two equal shapes are one type."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: strip(v)
                for k, v in node.items()
                if k not in _ANNOTATIONS and not str(k).startswith("x-")
            }
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(schema), sort_keys=True)

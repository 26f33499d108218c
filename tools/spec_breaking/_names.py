"""Names that generated clients are built from: component schemas (class names) and
security schemes. A rename breaks every generated client even when the wire format is
the same. (operationIds, paths and methods are checked per operation in `_operations`.)"""

from __future__ import annotations

import json
from typing import Any

from spec_breaking._changes import Change, Side
from spec_breaking._pointer import Node, components, join
from spec_breaking._security import compare_security_schemes

_ANNOTATIONS = {"description", "title", "example", "examples", "summary", "$comment"}


def compare_names(old: Node, new: Node) -> list[Change]:
    return _schemas(old, new) + compare_security_schemes(old, new)


def _schemas(old: Node, new: Node) -> list[Change]:
    old_schemas, new_schemas = components(old, "schemas"), components(new, "schemas")
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

"""JSON pointers into a spec and ``$ref`` resolution that remembers where it landed."""

from __future__ import annotations

from typing import Any

JSON = Any
Node = dict[str, Any]


def escape(segment: str | int) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


def join(pointer: str, *segments: str | int) -> str:
    return pointer + "".join("/" + escape(s) for s in segments)


def unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def segments(pointer: str) -> list[str]:
    body = pointer.removeprefix("#")
    return [unescape(s) for s in body.split("/")[1:]] if body else []


def lookup(document: JSON, pointer: str) -> JSON:
    node = document
    for part in segments(pointer):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


class Resolver:
    """Follows local ``$ref``s (``#/...``) in one spec document; remote refs are left alone."""

    def __init__(self, document: Node) -> None:
        self.document = document

    def resolve(self, node: JSON, pointer: str) -> tuple[JSON, str, str | None]:
        """The definition behind ``node``, its pointer, and the last ``$ref`` followed."""
        ref_name: str | None = None
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref: str = node["$ref"]
            if not ref.startswith("#") or ref in seen:
                break
            seen.add(ref)
            ref_name = segments(ref)[-1] if segments(ref) else ref
            try:
                node, pointer = lookup(self.document, ref), "#" + ref.removeprefix("#")
            except (KeyError, IndexError, ValueError, TypeError):
                break
        return node, pointer, ref_name


def index_by_identity(document: JSON) -> dict[int, str]:
    """Pointer of every dict and list in ``document``, by object identity: a validator's
    error carries the schema object it failed in, and this turns it back into a place."""
    found: dict[int, str] = {}
    stack: list[tuple[JSON, str]] = [(document, "#")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, dict | list) and id(node) not in found:
            found[id(node)] = pointer
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((value, join(pointer, key)) for key, value in items)
    return found


def components(spec: Node, kind: str) -> Node:
    """``components.<kind>`` of a spec, or an empty mapping."""
    found = (spec.get("components") or {}).get(kind) or {}
    return found if isinstance(found, dict) else {}

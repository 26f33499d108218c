"""Provenance of openapi.yaml: which elements the vendor states and which are decided.

An *element* is one claim the spec makes:

* a **node**: an operation, parameter, request body, response, header, security scheme,
  server, schema (a component, a property, an ``items``/``oneOf``/``not``/... subschema)
  or an ``x-`` extension object (and each mapping inside it);
* a **keyword** of a node (or of a reference, beside its ``$ref``): a schema's bounds and rules (``minimum``, ``maxLength``,
  ``pattern``, ``enum``, ``const``, ``default``, ``required``, ``additionalProperties:
  false``, ``dependentRequired``, ``contentMediaType``, ...), the ``required`` flag of a
  parameter, header or request body, a media type under ``content`` (``content/
  application~1json``), and each scalar or list entry of an extension;
* a **reference**: a ``$ref`` where a node would be (a response of an operation, a
  header of a response, a property of a schema, ...): "this operation answers 503",
  "this model takes ``seed``".

Descriptions, titles, summaries, examples, tags and operation ids make no claim of
their own; ``format`` and ``type`` are the type the vendor gives a field.

An element is *marked* (assumed) when ``x-nebula-assumed`` covers it:

* a string marker on a node covers the node and everything inside it;
* a mapping marker ``{relative path: reason}`` on a node covers those keywords or
  children (and everything inside such a child); the node itself stays the vendor's;
* a reference is covered by its parent's marker, by a marker beside the ``$ref``, or
  by its target's (using an assumed thing is an assumption).

A reference that is an item of a list (``oneOf``, ``allOf``, ``parameters``, ...) is
its target and nothing more, so it is documented when its target is; a reference under
a name (``properties/seed``, ``responses/503``, ``headers/Retry-After``) also claims the
name ("SDXL takes ``seed``") and must be listed itself.

Every other element must be on the list of vendor-documented elements
(``provenance/vendor_documented.yaml``), whose pointers may pass through ``$ref``s (so
that they survive a renamed component); a pointer ending in ``/$ref`` names the target.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MARKER = "x-nebula-assumed"
HERE = Path(__file__).resolve().parent / "provenance"
DOCUMENTED_PATH = HERE / "vendor_documented.yaml"
VENDOR_PAGES = (HERE / "vendor" / "Generate_Serverless_Images.md", HERE / "vendor" / "facts.md")

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# Schema keywords that state a rule of their own.
SCHEMA_KEYWORDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "enum",
    "const",
    "default",
    "contentEncoding",
    "contentMediaType",
    "required",
    "dependentRequired",
)
# Schema keywords whose value is one subschema, or a list or map of them.
SUBSCHEMA_ONE = ("items", "not", "contains", "propertyNames", "if", "then", "else")
SUBSCHEMA_LIST = ("oneOf", "anyOf", "allOf", "prefixItems")
SUBSCHEMA_MAP = ("properties", "patternProperties", "dependentSchemas")
# Keys that describe rather than claim.
PROSE = frozenset({"description", "title", "summary"})


@dataclass(frozen=True, slots=True)
class Element:
    """One claim of the spec."""

    pointer: str
    kind: str  # "node", "keyword" or "reference"
    marker: str | None  # pointer of the marker entry that covers it, if any
    reason: str | None  # that marker's reason
    target: str | None = None  # a reference's target pointer
    in_list: bool = False  # a reference that is an item of a list (oneOf, parameters, ...)


@dataclass(frozen=True, slots=True)
class Marked:
    """A node that carries a marker: where it is and the description that must say why."""

    pointer: str
    value: Any
    description: str | None  # the node's own description, else the nearest enclosing one


def escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def ref_pointer(ref: str) -> str:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported, got {ref!r}")
    return ref[1:]


def lookup(spec: Mapping[str, Any], pointer: str) -> Any:
    node: Any = spec
    for segment in pointer.split("/")[1:]:
        node = node[int(segment)] if isinstance(node, list) else node[unescape(segment)]
    return node


def canonical(spec: Mapping[str, Any], pointer: str) -> str:
    """``pointer`` with every ``$ref`` it passes through replaced by its target; a final
    ``/$ref`` segment names the target itself. KeyError when it leads nowhere."""
    node: Any = spec
    where = ""
    for segment in pointer.split("/")[1:]:
        if isinstance(node, dict) and "$ref" in node:
            where = ref_pointer(node["$ref"])
            node = lookup(spec, where)
            if segment == "$ref":
                continue
        if isinstance(node, list):
            node = node[int(segment)]
        elif isinstance(node, dict) and unescape(segment) in node:
            node = node[unescape(segment)]
        else:
            raise KeyError(f"{pointer}: nothing at {where}/{segment}")
        where = f"{where}/{segment}"
    if isinstance(node, dict) and "$ref" in node and pointer.endswith("/$ref"):
        where = ref_pointer(node["$ref"])
    return where


class Walker:
    """Collects every element of a spec and the markers that cover them."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.elements: dict[str, Element] = {}
        self.marked: list[Marked] = []
        self._walk()
        self._resolve_references()

    # -- recording -----------------------------------------------------------------

    def _add(self, element: Element) -> None:
        if element.pointer in self.elements:  # one place, reached once
            raise AssertionError(f"walked twice: {element.pointer}")
        self.elements[element.pointer] = element

    def _cover(
        self, pointer: str, node: Any, inherited: tuple[str, str] | None, description: str | None
    ) -> tuple[tuple[str, str] | None, dict[str, str], str | None]:
        """The marker covering node ``pointer`` (inherited or its own string marker), its
        mapping marker (relative path -> reason) and the description in force."""
        own = node.get(MARKER) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get("description"), str):
            description = node["description"]
        if own is not None:
            self.marked.append(Marked(pointer, own, description))
        if inherited is not None:
            return inherited, {}, description
        if isinstance(own, str):
            return (f"{pointer}/{MARKER}", own), {}, description
        mapping = {str(k): v for k, v in own.items()} if isinstance(own, dict) else {}
        return None, mapping, description

    def _child_cover(
        self,
        pointer: str,
        relative: str,
        cover: tuple[str, str] | None,
        mapping: dict[str, str],
    ) -> tuple[str, str] | None:
        if cover is not None:
            return cover
        if relative in mapping:
            return f"{pointer}/{MARKER}/{escape(relative)}", str(mapping[relative])
        return None

    def _keyword(
        self,
        pointer: str,
        relative: str,
        cover: tuple[str, str] | None,
        mapping: dict[str, str],
    ) -> None:
        marker = self._child_cover(pointer, relative, cover, mapping)
        self._add(
            Element(
                f"{pointer}/{relative}",
                "keyword",
                marker[0] if marker else None,
                marker[1] if marker else None,
            )
        )

    # -- the shapes of OpenAPI -----------------------------------------------------

    def _walk(self) -> None:
        spec = self.spec
        for index, server in enumerate(spec.get("servers", [])):
            self._object("server", f"/servers/{index}", server, None, None)
        for path, item in spec.get("paths", {}).items():
            for method, operation in item.items():
                if method in HTTP_METHODS:
                    pointer = f"/paths/{escape(path)}/{method}"
                    self._object("operation", pointer, operation, None, None)
            for index, parameter in enumerate(item.get("parameters", [])):
                where = f"/paths/{escape(path)}"
                self._child("parameter", where, f"parameters/{index}", parameter, None, {}, None)
        if spec.get("webhooks") or any(
            key in item for item in spec.get("paths", {}).values() for key in ("$ref",)
        ):
            raise AssertionError("webhooks and $ref path items are not walked yet: extend the walk")
        components = spec.get("components", {})
        shapes = {
            "securitySchemes": "securityScheme",
            "parameters": "parameter",
            "requestBodies": "requestBody",
            "responses": "response",
            "headers": "header",
            "schemas": "schema",
        }
        for section, shape in shapes.items():
            for name, node in components.get(section, {}).items():
                pointer = f"/components/{section}/{escape(name)}"
                self._object(shape, pointer, node, None, None)
        for key, value in spec.items():
            if key.startswith("x-") and key != MARKER:
                self._object("extension", f"/{escape(key)}", value, None, None)

    def _child(
        self,
        shape: str,
        parent: str,
        relative: str,
        node: Any,
        cover: tuple[str, str] | None,
        mapping: dict[str, str],
        description: str | None,
    ) -> None:
        """A child object at ``parent/relative``: a reference, or a node of ``shape``."""
        pointer = f"{parent}/{relative}"
        marker = self._child_cover(parent, relative, cover, mapping)
        if isinstance(node, dict) and "$ref" in node:
            own = node.get(MARKER)
            if own is not None:
                self.marked.append(Marked(pointer, own, node.get("description", description)))
                if marker is None and isinstance(own, str):
                    marker = (f"{pointer}/{MARKER}", own)
            self._add(
                Element(
                    pointer,
                    "reference",
                    marker[0] if marker else None,
                    marker[1] if marker else None,
                    target=ref_pointer(node["$ref"]),
                    in_list=relative.rsplit("/", 1)[-1].isdigit(),
                )
            )
            if shape == "schema":
                # OpenAPI 3.1: keywords beside a $ref apply too (`{$ref: ..., default: 4}`).
                mapping_here = own if isinstance(own, dict) else {}
                for key in SCHEMA_KEYWORDS:
                    if key in node:
                        self._keyword(
                            pointer, key, marker, {str(k): v for k, v in mapping_here.items()}
                        )
            return
        self._object(shape, pointer, node, marker, description)

    def _object(
        self,
        shape: str,
        pointer: str,
        node: Any,
        inherited: tuple[str, str] | None,
        description: str | None,
    ) -> None:
        if shape == "schema" and isinstance(node, bool):
            node = {}
        if not isinstance(node, dict):
            raise AssertionError(f"{pointer}: expected an object for a {shape}")
        cover, mapping, description = self._cover(pointer, node, inherited, description)
        self._add(
            Element(pointer, "node", cover[0] if cover else None, cover[1] if cover else None)
        )

        def keyword(relative: str) -> None:
            self._keyword(pointer, relative, cover, mapping)

        def child(child_shape: str, relative: str, value: Any) -> None:
            self._child(child_shape, pointer, relative, value, cover, mapping, description)

        for key, value in node.items():
            if key.startswith("x-") and key != MARKER:
                if isinstance(value, dict):
                    child("extension", escape(key), value)
                else:
                    keyword(escape(key))
        if "callbacks" in node or "links" in node:
            raise AssertionError(f"{pointer}: callbacks and links are not walked yet")
        if shape == "operation":
            for index, parameter in enumerate(node.get("parameters", [])):
                child("parameter", f"parameters/{index}", parameter)
            if "requestBody" in node:
                child("requestBody", "requestBody", node["requestBody"])
            for status, response in node.get("responses", {}).items():
                child("response", f"responses/{escape(str(status))}", response)
        elif shape in ("parameter", "header", "requestBody", "response"):
            if "required" in node:
                keyword("required")
            if "schema" in node:
                child("schema", "schema", node["schema"])
            for name, header in node.get("headers", {}).items():
                child("header", f"headers/{escape(name)}", header)
            for media_type, media in node.get("content", {}).items():
                relative = f"content/{escape(media_type)}"
                keyword(relative)
                if "schema" in media:
                    child("schema", f"{relative}/schema", media["schema"])
        elif shape == "securityScheme":
            for key in ("scheme", "bearerFormat"):
                if key in node:
                    keyword(key)
        elif shape == "schema":
            self._schema(node, keyword, child)
        elif shape == "extension":
            for key, value in node.items():
                if key == MARKER or key in PROSE or key.startswith("x-"):
                    continue
                if isinstance(value, dict):
                    child("extension", escape(str(key)), value)
                else:
                    keyword(escape(str(key)))

    @staticmethod
    def _schema(node: dict[str, Any], keyword: Any, child: Any) -> None:
        for key in SCHEMA_KEYWORDS:
            if key in node:
                keyword(key)
        additional = node.get("additionalProperties")
        if isinstance(additional, bool):
            keyword("additionalProperties")
        elif isinstance(additional, dict):
            child("schema", "additionalProperties", additional)
        for key in SUBSCHEMA_ONE:
            if isinstance(node.get(key), dict | bool):
                child("schema", key, node[key])
        for key in SUBSCHEMA_LIST:
            for index, item in enumerate(node.get(key, [])):
                child("schema", f"{key}/{index}", item)
        for key in SUBSCHEMA_MAP:
            for name, item in node.get(key, {}).items():
                child("schema", f"{key}/{escape(name)}", item)

    def _resolve_references(self) -> None:
        """A reference not covered otherwise takes its target's marker."""
        for pointer, element in list(self.elements.items()):
            if element.kind != "reference" or element.marker is not None:
                continue
            assert element.target is not None
            target = self.elements.get(element.target)
            if target is None:
                raise AssertionError(f"{pointer}: $ref to {element.target}, which is no element")
            if target.marker is not None:
                self.elements[pointer] = Element(
                    pointer,
                    "reference",
                    target.marker,
                    target.reason,
                    element.target,
                    element.in_list,
                )


# -- the vendor-documented list ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Documented:
    """One entry of the list: where it is, and the vendor's words it rests on."""

    element: str
    vendor: str


def load_documented(path: Path = DOCUMENTED_PATH) -> list[Documented]:
    with path.open(encoding="utf-8") as f:
        entries: list[dict[str, str]] = yaml.safe_load(f)
    return [Documented(str(e["element"]), str(e["vendor"])) for e in entries]


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def vendor_text() -> str:
    return normalise("\n".join(page.read_text(encoding="utf-8") for page in VENDOR_PAGES))


def problems(spec: Mapping[str, Any], documented: list[Documented]) -> list[str]:
    """Everything wrong with the provenance of ``spec``; empty when it is all in order."""
    found: list[str] = []
    walker = Walker(spec)
    listed: dict[str, str] = {}
    pages = vendor_text()
    for entry in documented:
        try:
            pointer = canonical(spec, entry.element)
        except (KeyError, IndexError, ValueError) as exc:
            found.append(f"listed but not in the spec: {entry.element} ({exc})")
            continue
        if pointer not in walker.elements:
            found.append(f"listed but not an element: {entry.element} (= {pointer})")
            continue
        if pointer in listed:
            found.append(f"listed twice: {entry.element} and {listed[pointer]} (= {pointer})")
        listed[pointer] = entry.element
        if not entry.vendor.strip() or normalise(entry.vendor) not in pages:
            found.append(f"{entry.element}: the vendor's pages do not say {entry.vendor!r}")
    for pointer, element in walker.elements.items():
        if pointer in listed and element.marker is not None:
            found.append(
                f"listed as the vendor's but marked assumed by {element.marker}: {pointer}"
            )
        if element.in_list and element.target in listed:
            continue  # an item of a list is its target
        if pointer not in listed and element.marker is None:
            found.append(f"neither documented by the vendor nor marked {MARKER}: {pointer}")
    for marked in walker.marked:
        found += marker_problems(marked, walker.elements)
    return found


def marker_problems(marked: Marked, elements: Mapping[str, Element]) -> Iterator[str]:
    """A marker must give one-line reasons, name parts that exist, and stand beside a
    description that says "Decided:"."""
    where = f"{marked.pointer}/{MARKER}"
    reasons: list[str]
    if isinstance(marked.value, str):
        reasons = [marked.value]
    elif isinstance(marked.value, dict) and marked.value:
        reasons = [str(v) if isinstance(v, str) else "" for v in marked.value.values()]
        for relative in marked.value:
            if f"{marked.pointer}/{escape(str(relative))}" not in elements:
                yield f"{where}: names {relative!r}, which is no keyword or child here"
    else:
        yield f"{where}: must be a reason or a map of relative paths to reasons"
        return
    for reason in reasons:
        if not reason.strip() or "\n" in reason.strip() or len(reason) > 200:
            yield f"{where}: each reason is one non-empty line (at most 200 characters)"
    if marked.description is None or "Decided:" not in marked.description:
        yield f"{marked.pointer}: marked {MARKER}, but its description has no 'Decided:' sentence"


def assumed(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(marker pointer, reason) of every marker entry, for the closing note."""
    walker = Walker(spec)
    seen: dict[str, str] = {}
    for element in walker.elements.values():
        if element.marker is not None and element.reason is not None:
            seen.setdefault(element.marker, element.reason)
    return sorted(seen.items())


if __name__ == "__main__":  # python tests/_provenance.py: the assumed elements, one a line
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from conftest import load_spec

    for pointer, reason in assumed(load_spec()):
        print(f"- `{pointer.replace('/' + MARKER, '')}`: {reason}")

"""The spec stays within what the common code generators handle (issue #12).

Each rule below broke a generated client in another language once: Java and Go chose
32-bit integers for seeds up to 2^32-1, Go's generator emitted code that does not
compile for a property typed `null` alone, a component named `Error` shadowed
`java.lang.Error` and TypeScript's global `Error`, and `format: byte` made
datamodel-code-generator decode image bytes as text. `make polyglot` proves the
generated clients; these tests keep the spec from sliding back cheaply.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conftest import resolve

INT32_MAX = 2**31 - 1
# Names that collide with a built-in or standard type in Java, TypeScript, Go or Python.
SHADOWED_NAMES = {
    "Error", "Exception", "Object", "String", "Number", "Integer", "Long", "Boolean",
    "Date", "Map", "Set", "Array", "Record", "Promise", "Response", "Request", "Function",
    "Symbol", "Class", "Void", "Type", "File", "List", "Any", "Optional",
}  # fmt: skip


def walk_schemas(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every mapping under ``node`` that looks like a schema, with its path."""
    if isinstance(node, dict):
        if "type" in node or "format" in node or "contentEncoding" in node:
            yield path, node
        for key, value in node.items():
            yield from walk_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk_schemas(value, f"{path}/{i}")


def test_integers_that_pass_2_31_are_int64(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["Seed"]["maximum"] > INT32_MAX
    assert schemas["Seed"]["format"] == "int64"
    assert "int64" in schemas["Seed"]["description"]
    seed_out = schemas["GeneratedImage"]["properties"]["seed"]
    assert seed_out["format"] == "int64"
    assert "int64" in seed_out["description"]
    for path, schema in walk_schemas(spec["components"]):
        types = schema.get("type")
        is_integer = types == "integer" or (isinstance(types, list) and "integer" in types)
        if is_integer and schema.get("maximum", 0) > INT32_MAX:
            assert schema.get("format") == "int64", path


def test_no_property_is_typed_null_alone(spec: dict[str, Any]) -> None:
    found = [
        path for path, schema in walk_schemas(spec) if schema.get("type") in ("null", ["null"])
    ]
    assert found == []


def test_the_error_body_keeps_its_null_data_without_a_null_only_schema(
    spec: dict[str, Any],
) -> None:
    for name in ("ErrorResponse", "GenerationFailure"):
        body = spec["components"]["schemas"][name]
        assert "type" not in body["properties"]["data"], name  # any value: null included
        assert "`null`" in body["description"], name
    assert "Go" in spec["components"]["schemas"]["ErrorResponse"]["description"]


def test_no_component_shadows_a_language_type(spec: dict[str, Any]) -> None:
    for section in ("schemas", "responses", "parameters", "headers"):
        clashes = set(spec["components"].get(section, {})) & SHADOWED_NAMES
        assert clashes == set(), section
    assert "java.lang.Error" in spec["components"]["schemas"]["ErrorResponse"]["description"]


def test_base64_fields_are_plain_text(spec: dict[str, Any]) -> None:
    byte_formats = [path for path, schema in walk_schemas(spec) if schema.get("format") == "byte"]
    assert byte_formats == []
    schemas = spec["components"]["schemas"]
    fields = [
        schemas["Base64Image"],
        schemas["Base64Mask"],
        schemas["GeneratedImage"]["properties"]["b64_json"],
    ]
    for field in fields:
        assert field["type"] == "string"
        assert field["contentEncoding"] == "base64"
    assert "format: byte" in schemas["GeneratedImage"]["properties"]["b64_json"]["description"]


@pytest.mark.parametrize("status", ["400", "401", "404", "422", "429"])
def test_error_examples_still_send_null_data(spec: dict[str, Any], status: str) -> None:
    responses = spec["paths"]["/images/generation"]["post"]["responses"]
    example = resolve(spec, responses[status])["content"]["application/json"]["example"]
    assert example["status"] == "failed"
    assert example.get("data") is None

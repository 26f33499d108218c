"""The spec itself: valid OpenAPI 3.1, every example valid against its schema, the
per-model table complete."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import SPEC_PATH, load_spec, resolve

KNOWN_MODELS = {
    "stabilityai/stable-diffusion-xl-base-1.0",
    "black-forest-labs/FLUX.1-schnell",
    "Bytedance-Seedream-3.0",
    "black-forest-labs/FLUX.1-Fill-dev",
}


def validator_for(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator that resolves the spec's `#/components/...` refs."""
    registry = Registry().with_resource(
        "urn:spec", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        _rebase_refs(schema), registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _rebase_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: ("urn:spec" + v if k == "$ref" and v.startswith("#") else _rebase_refs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase_refs(v) for v in node]
    return node


def iter_examples(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every (where, schema, example value) pair in the spec."""

    def from_media(where: str, media: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
        schema = media["schema"]
        if "example" in media:
            yield where, schema, media["example"]
        for name, ex in media.get("examples", {}).items():
            yield f"{where} example {name}", schema, ex["value"]

    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody")
            if body:
                for ctype, media in body["content"].items():
                    yield from from_media(f"{method.upper()} {path} request {ctype}", media)
            for status, resp in op["responses"].items():
                resp = resolve(spec, resp)
                for ctype, media in resp.get("content", {}).items():
                    yield from from_media(f"{method.upper()} {path} {status} {ctype}", media)
    for name, resp in spec["components"]["responses"].items():
        for ctype, media in resp.get("content", {}).items():
            yield from from_media(f"components/responses/{name} {ctype}", media)
    for name, param in spec["components"]["parameters"].items():
        if "example" in param:
            yield f"components/parameters/{name}", param["schema"], param["example"]


def test_spec_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_operation_requires_bearer_auth(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    assert spec["security"] == [{"bearerAuth": []}]
    for item in spec["paths"].values():
        for op in item.values():
            assert op.get("security", spec["security"]) == [{"bearerAuth": []}]


def test_examples_exist_for_every_request_and_success_response(spec: dict[str, Any]) -> None:
    wheres = [where for where, _, _ in iter_examples(spec)]
    assert any("POST /images/generation request" in w for w in wheres)
    assert any("POST /images/generation 200" in w for w in wheres)
    assert any("GET /serverless/models 200" in w for w in wheres)
    # One request example per known model.
    body = spec["paths"]["/images/generation"]["post"]["requestBody"]["content"]["application/json"]
    assert {ex["value"]["model_name"] for ex in body["examples"].values()} == KNOWN_MODELS


SPEC = load_spec()
EXAMPLES = list(iter_examples(SPEC))


@pytest.mark.parametrize(("where", "schema", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_each_example_is_valid_against_its_schema(
    where: str, schema: dict[str, Any], value: Any
) -> None:
    errors = sorted(validator_for(SPEC, schema).iter_errors(value), key=str)
    assert not errors, f"{where}: " + "; ".join(e.message for e in errors)


def test_an_invalid_example_would_be_caught(spec: dict[str, Any]) -> None:
    """The example check can fail: a FLUX.1 schnell body with an SDXL-only field is rejected."""
    schema = {"$ref": "#/components/schemas/ImageGenerationRequest"}
    bad = {"model_name": "black-forest-labs/FLUX.1-schnell", "prompt": "x", "negative_prompt": "y"}
    assert list(validator_for(spec, schema).iter_errors(bad))


def test_example_images_decode_to_png(spec: dict[str, Any]) -> None:
    for where, _, value in iter_examples(spec):
        if not isinstance(value, dict):
            continue
        blobs = [value.get("image"), value.get("mask")]
        data = value.get("data")
        if isinstance(data, list):
            blobs += [item.get("b64_json") for item in data]
        for blob in filter(None, blobs):
            assert base64.b64decode(blob, validate=True).startswith(b"\x89PNG\r\n\x1a\n"), where


def test_request_schema_has_one_closed_schema_per_known_model(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    variants = [resolve(spec, v) for v in schemas["ImageGenerationRequest"]["oneOf"]]
    consts = {v["properties"]["model_name"].get("const") for v in variants}
    assert consts - {None} == KNOWN_MODELS
    for variant in variants:
        assert variant["additionalProperties"] is False
        assert {"model_name", "prompt"} <= set(variant["required"])


def test_x_nebula_models_adds_only_what_the_schemas_cannot_say(spec: dict[str, Any]) -> None:
    """The `x-nebula-models` table names the same models as the request schemas and no
    parameter list of its own (those live in the per-model schemas only)."""
    table = spec["x-nebula-models"]["models"]
    assert set(table) == KNOWN_MODELS
    assert spec["x-nebula-models"]["default_model"] in KNOWN_MODELS
    for row in table.values():
        # x- keys (the provenance marker) annotate the row; they are no model data.
        data = {key for key in row if not key.startswith("x-")}
        assert data <= {"kind", "aliases", "timeout_seconds"}, row


def test_base64_fields_declare_their_encoding(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in ("Base64Image", "Base64Mask"):
        assert schemas[name]["contentEncoding"] == "base64"
        assert schemas[name]["format"] == "byte"
    b64_json = schemas["GeneratedImage"]["properties"]["b64_json"]
    assert b64_json["contentEncoding"] == "base64"


def test_documented_error_statuses_use_the_error_body(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/images/generation"]["post"]["responses"]
    expected = {"400", "401", "403", "404", "422", "429", "500", "502", "503", "504"}
    assert expected <= set(responses)
    for status in set(responses) - {"200"}:
        resp = resolve(spec, responses[status])
        schema = resp["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}, status
        assert "X-Request-ID" in resp["headers"], status
    for status in ("429", "503"):
        assert "Retry-After" in resolve(spec, responses[status])["headers"]


def test_idempotency_key_header_is_described_as_an_assumption(spec: dict[str, Any]) -> None:
    params = spec["paths"]["/images/generation"]["post"]["parameters"]
    param = resolve(spec, params[0])
    assert param["name"] == "Idempotency-Key"
    assert param["required"] is False
    assert "x-nebula-assumed" in param
    assert "vendor's pages document no such header" in param["description"]
    assert "billing a second generation" in param["description"]


def test_spec_file_is_the_one_at_the_root() -> None:
    assert SPEC_PATH.name == "openapi.yaml"
    assert SPEC_PATH.parent.joinpath("pyproject.toml").exists()

"""The per-model rules are openapi.yaml's, read through the generated table."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from nebula_images._encoding import MAX_INPUT_BASE64_CHARS
from nebula_images._models_table import (
    ALIASES,
    DEFAULT_MODEL,
    GENERIC,
    MODEL_NAME_MAX_CHARS,
    MODELS,
    PROMPT_MAX_CHARS,
    ModelRules,
    rules_for,
)

from conftest import ROOT, resolve

KEYWORDS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "multipleOf": "multiple_of",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
}


def codegen() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "python_rules", ROOT / "codegen" / "python_rules.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def request_schemas(spec: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    """model id (None for the fallback) -> its request schema in the oneOf."""
    found: dict[str | None, dict[str, Any]] = {}
    for ref in spec["components"]["schemas"]["ImageGenerationRequest"]["oneOf"]:
        schema = resolve(spec, ref)
        found[schema["properties"]["model_name"].get("const")] = schema
    return found


def test_same_models_as_the_spec(spec: dict[str, Any]) -> None:
    schemas = request_schemas(spec)
    assert set(MODELS) == set(schemas) - {None} == set(spec["x-nebula-models"]["models"])
    assert spec["x-nebula-models"]["default_model"] == DEFAULT_MODEL


def test_x_nebula_models_says_only_what_json_schema_cannot(spec: dict[str, Any]) -> None:
    for row in spec["x-nebula-models"]["models"].values():
        # x- keys (the provenance marker) annotate the row; they are no model data.
        data = {key for key in row if not key.startswith("x-")}
        assert data <= {"kind", "aliases", "timeout_seconds"}, row


def check_against_schema(spec: dict[str, Any], rules: ModelRules, schema: dict[str, Any]) -> None:
    assert rules.parameters == frozenset(schema["properties"]) - {"model_name"}
    assert rules.required == frozenset(schema["required"]) - {"model_name"}
    assert dict(rules.together) == {
        k: tuple(v) for k, v in schema.get("dependentRequired", {}).items()
    }
    for name, rule in rules.fields.items():
        resolved = resolve(spec, schema["properties"][name])
        for keyword, attribute in KEYWORDS.items():
            assert getattr(rule, attribute) == resolved.get(keyword), (rules.schema, name, keyword)
        assert rule.enum == (tuple(resolved["enum"]) if "enum" in resolved else None)
        kinds = {"integer": "integer", "number": "number", "string": "string"}
        expected = "image" if resolved.get("contentEncoding") == "base64" else None
        types = resolved["type"] if isinstance(resolved["type"], list) else [resolved["type"]]
        assert rule.type == (expected or kinds[next(t for t in types if t != "null")])
        assert rule.nullable == ("null" in types)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_entry_matches_its_request_schema_and_extension(spec: dict[str, Any], model: str) -> None:
    rules = MODELS[model]
    extension = spec["x-nebula-models"]["models"][model]
    assert rules.name == model and rules.known
    assert (rules.kind, rules.timeout_seconds, rules.aliases) == (
        extension["kind"],
        extension["timeout_seconds"],
        tuple(extension["aliases"]),
    )
    check_against_schema(spec, rules, request_schemas(spec)[model])
    for alias in rules.aliases:
        assert ALIASES[alias.casefold()] == model


def test_generic_rules_match_other_model_request(spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["OtherModelRequest"]
    assert GENERIC.schema == "OtherModelRequest" and not GENERIC.known
    check_against_schema(spec, GENERIC, schema)
    assert set(schema["properties"]["model_name"]["not"]["enum"]) == set(MODELS)
    assert schema["properties"]["model_name"]["maxLength"] == MODEL_NAME_MAX_CHARS
    assert spec["components"]["schemas"]["Prompt"]["maxLength"] == PROMPT_MAX_CHARS
    assert spec["components"]["schemas"]["Base64Image"]["maxLength"] == MAX_INPUT_BASE64_CHARS


def test_unknown_model_gets_generic_rules() -> None:
    rules = rules_for("acme/imaginary-1")
    assert (
        not rules.known and rules.name == "acme/imaginary-1" and rules.schema == "OtherModelRequest"
    )
    assert rules.timeout_seconds == max(r.timeout_seconds for r in MODELS.values())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s["x-nebula-models"]["models"][DEFAULT_MODEL].update(parameters=["prompt"]),
            "request schema only",
        ),
        (lambda s: s["x-nebula-models"]["models"].pop("Bytedance-Seedream-3.0"), "no row for"),
        (lambda s: s["x-nebula-models"].update(default_model="acme/x"), "default_model"),
        (
            lambda s: s["x-nebula-models"]["models"]["Bytedance-Seedream-3.0"].update(
                aliases=["SDXL"]
            ),
            "twice",
        ),
        (
            lambda s: s["components"]["schemas"]["SeedreamRequest"].pop("additionalProperties"),
            "closed",
        ),
    ],
)
def test_the_generator_refuses_a_table_written_twice(
    spec: dict[str, Any], edit: Any, message: str
) -> None:
    module = codegen()
    changed = copy.deepcopy(spec)
    edit(changed)
    with pytest.raises(module.SpecError, match=message):
        module.read_rules(changed)


def test_generated_table_is_what_the_generator_reads(spec: dict[str, Any]) -> None:
    module = codegen()
    rules = module.read_rules(copy.deepcopy(spec))
    import nebula_images_rules

    assert Path(nebula_images_rules.__file__).is_relative_to(ROOT / "generated")
    assert rules["models"] == {
        name: {**row, "together": dict(row["together"])}
        for name, row in nebula_images_rules.MODELS.items()
    }


def test_parse_parameter_types_values_by_the_spec() -> None:
    from nebula_images import ValidationError
    from nebula_images._models_table import parse_parameter

    assert parse_parameter("num-steps=8") == ("num_steps", 8)
    assert parse_parameter("guidance_scale=3.5", "sdxl") == ("guidance_scale", 3.5)
    assert parse_parameter("negative_prompt=a=b", "sdxl") == ("negative_prompt", "a=b")
    assert parse_parameter("image=in.png", "flux-fill") == ("image", "in.png")
    # A parameter another model takes is typed; the call then says this model refuses it.
    assert parse_parameter("seed=3", "sdxl") == ("seed", 3)
    for text, field in [("seed=x", "seed"), ("widht=8", "widht"), ("width", "--param")]:
        with pytest.raises(ValidationError) as info:
            parse_parameter(text)
        assert info.value.field == field

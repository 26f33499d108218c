"""The per-model table agrees with openapi.yaml (per-model schemas and x-nebula-models)."""

from __future__ import annotations

from typing import Any

import pytest

from nebula_images._models_table import (
    BOUNDS,
    GENERIC,
    MAX_INPUT_BASE64_CHARS,
    MODEL_NAME_MAX_CHARS,
    MODELS,
    PROMPT_MAX_CHARS,
    rules_for,
)

from conftest import resolve


def test_same_models_as_the_spec(spec: dict[str, Any]) -> None:
    assert set(MODELS) == set(spec["x-nebula-models"]["models"])
    one_of = {
        ref["$ref"].rsplit("/", 1)[-1]
        for ref in spec["components"]["schemas"]["ImageGenerationRequest"]["oneOf"]
    }
    assert {rules.schema for rules in MODELS.values()} | {GENERIC.schema} == one_of


@pytest.mark.parametrize("model", sorted(MODELS))
def test_entry_matches_x_nebula_models(spec: dict[str, Any], model: str) -> None:
    extension = spec["x-nebula-models"]["models"][model]
    rules = MODELS[model]
    assert rules.name == model
    assert rules.schema == extension["schema"]
    assert rules.kind == extension["kind"]
    assert rules.parameters == frozenset(extension["parameters"])
    assert dict(rules.defaults) == extension["defaults"]
    assert rules.size_multiple == extension["size_multiple"]
    assert rules.timeout_seconds == extension["timeout_seconds"]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_entry_matches_its_request_schema(spec: dict[str, Any], model: str) -> None:
    rules = MODELS[model]
    schema = spec["components"]["schemas"][rules.schema]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["model_name"]["const"] == model
    assert rules.parameters == frozenset(schema["properties"]) - {"model_name"}
    assert rules.required == frozenset(schema["required"]) - {"model_name"}
    for field in ("width", "height"):
        dim = resolve(spec, schema["properties"][field])
        assert dim["multipleOf"] == rules.size_multiple
        assert (dim["minimum"], dim["maximum"]) == (BOUNDS[field].minimum, BOUNDS[field].maximum)
    for field, value in rules.defaults.items():
        bound = BOUNDS[field]
        assert bound.minimum <= value <= bound.maximum


def test_generic_rules_match_other_model_request(spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["OtherModelRequest"]
    assert GENERIC.parameters == frozenset(schema["properties"]) - {"model_name"}
    assert GENERIC.required == frozenset(schema["required"]) - {"model_name"}
    assert set(schema["properties"]["model_name"]["not"]["enum"]) == set(MODELS)
    assert schema["properties"]["model_name"]["maxLength"] == MODEL_NAME_MAX_CHARS
    assert resolve(spec, schema["properties"]["width"])["multipleOf"] == GENERIC.size_multiple


def test_shared_bounds_match_the_spec(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for field, name in (
        ("num_steps", "NumSteps"),
        ("guidance_scale", "GuidanceScale"),
        ("seed", "Seed"),
    ):
        assert (schemas[name]["minimum"], schemas[name]["maximum"]) == (
            BOUNDS[field].minimum,
            BOUNDS[field].maximum,
        )
    assert schemas["Prompt"]["maxLength"] == PROMPT_MAX_CHARS
    assert schemas["Base64Image"]["maxLength"] == MAX_INPUT_BASE64_CHARS


def test_unknown_model_gets_generic_rules() -> None:
    rules = rules_for("acme/imaginary-1")
    assert (
        not rules.known and rules.name == "acme/imaginary-1" and rules.schema == "OtherModelRequest"
    )
    assert rules.timeout_seconds == max(r.timeout_seconds for r in MODELS.values())

"""What the vendor documents and what the spec assumes, checked element by element.

The list of vendor-documented elements is data (provenance/vendor_documented.yaml, each
entry with the vendor's words it rests on); the walk and the rules are in
``_provenance.py``. Run ``python tests/_provenance.py`` to print every assumed element.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from _provenance import (
    MARKER,
    VENDOR_PAGES,
    Documented,
    Walker,
    canonical,
    load_documented,
    problems,
)

from conftest import resolve

DOCUMENTED = load_documented()


def test_every_element_is_documented_by_the_vendor_or_marked_assumed(
    spec: dict[str, Any],
) -> None:
    found = problems(spec, DOCUMENTED)
    assert not found, "\n".join(found)


def test_the_idempotency_key_and_the_retry_statuses_are_marked(spec: dict[str, Any]) -> None:
    """The elements issue 11 found presented as vendor behaviour are all marked now."""
    walker = Walker(spec)
    operation = "/paths/~1images~1generation/post"
    for relative in (
        "parameters/0",
        *(f"responses/{s}" for s in (401, 415, 422, 500, 502, 503, 504)),
    ):
        assert walker.elements[f"{operation}/{relative}"].marker is not None, relative
    for status in ("429", "503"):
        retry_after = f"{operation}/responses/{status}/headers/Retry-After"
        header = canonical(spec, retry_after + "/$ref")
        assert walker.elements[header].marker is not None
    assert walker.elements[f"{operation}/responses/429"].marker is None  # the vendor's


# -- the check can fail, and only where it should -----------------------------------------


def _schemas(spec: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = spec["components"]["schemas"]
    return schemas


def test_an_unmarked_new_property_or_bound_fails(spec: dict[str, Any]) -> None:
    changed = copy.deepcopy(spec)
    sdxl = _schemas(changed)["SDXLRequest"]
    sdxl["properties"]["style"] = {"description": "A style.", "type": "string", "enum": ["a"]}
    _schemas(changed)["Timings"]["properties"]["inference"]["maximum"] = 600
    _schemas(changed)["FluxSchnellRequest"]["properties"]["num_steps"]["default"] = 4
    found = problems(changed, DOCUMENTED)
    assert any(p.endswith("/FluxSchnellRequest/properties/num_steps/default") for p in found)
    found.remove(next(p for p in found if p.endswith("/num_steps/default")))
    assert any(p.endswith("/SDXLRequest/properties/style") for p in found), found
    assert any(p.endswith("/SDXLRequest/properties/style/enum") for p in found), found
    assert any(p.endswith("/Timings/properties/inference/maximum") for p in found), found
    assert len(found) == 3, found
    # A marker beside the $ref covers the keyword beside it.
    num_steps = _schemas(changed)["FluxSchnellRequest"]["properties"]["num_steps"]
    num_steps[MARKER] = {"default": "the vendor's example value, not a stated default"}
    assert not any("num_steps" in p for p in problems(changed, DOCUMENTED))


def test_a_listed_element_that_is_marked_fails(spec: dict[str, Any]) -> None:
    listed = [
        *DOCUMENTED,
        Documented("/components/parameters/IdempotencyKey", "Request body (JSON):"),
    ]
    found = problems(spec, listed)
    assert found == [
        "listed as the vendor's but marked assumed by "
        f"/components/parameters/IdempotencyKey/{MARKER}: /components/parameters/IdempotencyKey"
    ]


def test_a_stale_entry_or_a_misquote_fails(spec: dict[str, Any]) -> None:
    listed = [
        *DOCUMENTED,
        Documented("/components/schemas/Gone", "Request body (JSON):"),
    ]
    listed[0] = Documented(listed[0].element, "words the vendor never wrote")
    found = sorted(problems(spec, listed))
    assert len(found) == 2, found
    assert found[0].startswith("/servers/0: the vendor's pages do not say"), found
    assert found[1].startswith("listed but not in the spec: /components/schemas/Gone"), found


def test_a_marker_needs_a_decided_sentence_and_real_parts(spec: dict[str, Any]) -> None:
    changed = copy.deepcopy(spec)
    prompt = _schemas(changed)["Prompt"]
    prompt["description"] = "What to draw."
    prompt[MARKER]["multipleOf"] = "no such keyword here"
    found = problems(changed, DOCUMENTED)
    assert any("names 'multipleOf'" in p for p in found), found
    assert any("no 'Decided:' sentence" in p for p in found), found


def _rename(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {
            k: (new if k == "$ref" and v == old else _rename(v, old, new)) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rename(v, old, new) for v in node]
    return node


def test_a_renamed_error_component_needs_no_change_to_the_list(spec: dict[str, Any]) -> None:
    changed = _rename(
        copy.deepcopy(spec), "#/components/schemas/Error", "#/components/schemas/ApiError"
    )
    schemas = _schemas(changed)
    schemas["ApiError"] = schemas.pop("Error")
    assert problems(changed, DOCUMENTED) == []


def test_a_new_model_schema_needs_only_its_own_marker(spec: dict[str, Any]) -> None:
    changed = copy.deepcopy(spec)
    schemas = _schemas(changed)
    schemas["NewModelRequest"] = {
        "description": "A new model. Decided: the vendor does not list it yet.",
        "type": "object",
        "additionalProperties": False,
        "required": ["model_name", "prompt"],
        "properties": {
            "model_name": {"description": "The model.", "type": "string", "const": "acme/new-1"},
            "prompt": {"$ref": "#/components/schemas/Prompt"},
            "style": {"description": "A style.", "type": "string", "enum": ["ink", "oil"]},
        },
    }
    schemas["ImageGenerationRequest"]["oneOf"].insert(
        0, {"$ref": "#/components/schemas/NewModelRequest"}
    )
    unmarked = problems(changed, DOCUMENTED)
    # The schema, its two keywords, its three properties, model_name's const, the enum of
    # style, and its place in the oneOf: nothing else.
    assert len(unmarked) == 9, unmarked
    assert all("NewModelRequest" in p or p.endswith("/oneOf/0") for p in unmarked), unmarked
    schemas["NewModelRequest"][MARKER] = "not in the vendor's table yet"
    assert problems(changed, DOCUMENTED) == []


# -- descriptions and the reference page's example ------------------------------------------


def _request_schemas(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    one_of = _schemas(spec)["ImageGenerationRequest"]["oneOf"]
    return [(ref["$ref"].rsplit("/", 1)[-1], resolve(spec, ref)) for ref in one_of]


def test_every_request_property_has_a_description(spec: dict[str, Any]) -> None:
    for name, schema in _request_schemas(spec):
        assert "model_name" in schema["properties"], name
        for prop, node in schema["properties"].items():
            described = node.get("description") or resolve(spec, node).get("description")
            assert isinstance(described, str) and described.strip(), f"{name}.{prop}"
        assert schema["properties"]["model_name"].get("description"), name  # its own


def _reference_request() -> dict[str, Any]:
    page = VENDOR_PAGES[0].read_text(encoding="utf-8")
    match = re.search(r"-d '(\{.*?\})'", page, re.S)
    assert match, "the reference page's curl example"
    request: dict[str, Any] = json.loads(match.group(1))
    return request


def test_an_example_called_the_reference_pages_matches_it_field_for_field(
    spec: dict[str, Any],
) -> None:
    operation = spec["paths"]["/images/generation"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    claimed = [ex for ex in examples.values() if "reference page" in ex.get("summary", "")]
    assert claimed, "one request example says it is the reference page's"
    for example in claimed:
        assert example["value"] == _reference_request()


@pytest.mark.parametrize("page", VENDOR_PAGES, ids=[p.name for p in VENDOR_PAGES])
def test_the_vendor_pages_are_kept_beside_the_list(page: Any) -> None:
    assert page.read_text(encoding="utf-8").strip()

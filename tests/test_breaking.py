"""`make breaking` (tools/spec_breaking): one test per row of issue #13.

Each row makes a small edit in a copy of the repository's spec and asserts the gate flags
it (and that the report names the place) or stays quiet. The spec's parts are found by
their role (the generation operation's request body, its first model branch, ...), not
by today's names, so the tests follow the spec as it changes. Most rows run the
structural layer; a few run sampling too (draws are cached per schema, so the old
spec's draws are made once for the whole file).
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_breaking import Change, Comparison, Side, compare_specs
from spec_breaking._report import render
from spec_breaking.cli import main

from conftest import SPEC_PATH, load_spec

Spec = dict[str, Any]
BASE: Spec = load_spec()
EXAMPLES = 5  # draws per schema in the sampling rows (the CLI default is 30)


# -- finding the spec's parts by role -----------------------------------------------------


def deref(spec: Spec, node: Any) -> tuple[Any, str]:
    """(definition, pointer) behind a possibly-$ref'd node."""
    pointer = ""
    while isinstance(node, dict) and "$ref" in node:
        pointer = node["$ref"]
        node = spec
        for part in pointer.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, pointer


def generation(spec: Spec) -> dict[str, Any]:
    """The operation that takes a JSON body (image generation)."""
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "requestBody" in op:
                return op
    raise AssertionError("no operation with a request body")


def request_choice(spec: Spec) -> tuple[dict[str, Any], str]:
    body = generation(spec)["requestBody"]["content"]["application/json"]["schema"]
    return deref(spec, body)


def model_branches(spec: Spec) -> list[tuple[dict[str, Any], str]]:
    """(schema, pointer) of each per-model branch (a const model_name), in order."""
    choice, _ = request_choice(spec)
    found = []
    for branch in choice["oneOf"]:
        schema, pointer = deref(spec, branch)
        if "const" in deref(spec, schema["properties"]["model_name"])[0]:
            found.append((schema, pointer))
    return found


def branch_property(
    spec: Spec, test: Callable[[dict[str, Any]], bool]
) -> tuple[str, str, dict[str, Any], str]:
    """(branch name, property, property schema, its pointer) of the first optional property of
    a model branch whose resolved schema passes ``test``."""
    for schema, pointer in model_branches(spec):
        for name, prop in schema["properties"].items():
            resolved, ref = deref(spec, prop)
            if name not in schema.get("required", []) and test(resolved):
                return (
                    pointer.rsplit("/", 1)[-1],
                    name,
                    resolved,
                    ref or f"{pointer}/properties/{name}",
                )
    raise AssertionError("no such property")


def success_object(spec: Spec) -> tuple[dict[str, Any], str]:
    """The generation's 200 body (its first branch when it is a oneOf)."""
    media = deref(spec, generation(spec)["responses"]["200"])[0]["content"]["application/json"]
    schema, pointer = deref(spec, media["schema"])
    if "oneOf" in schema:
        schema, pointer = deref(spec, schema["oneOf"][0])
    return schema, pointer


def response_enum(spec: Spec) -> tuple[dict[str, Any], str]:
    """A property with an `enum` in a success body, with its pointer."""
    for item in spec["paths"].values():
        for op in item.values():
            media = deref(spec, op["responses"]["200"])[0]["content"]["application/json"]
            stack = [deref(spec, media["schema"])]
            while stack:
                schema, pointer = stack.pop()
                for branch in schema.get("oneOf", []):
                    stack.append(deref(spec, branch))
                for name, prop in (schema.get("properties") or {}).items():
                    resolved, ref = deref(spec, prop)
                    if isinstance(resolved.get("enum"), list):
                        return resolved, ref or f"{pointer}/properties/{name}"
    raise AssertionError("no enum in a success body")


# -- running the gate --------------------------------------------------------------------


def compare(
    new: Spec, *, sampling: bool = False, old: Spec = BASE, changelog: str | None = None
) -> Comparison:
    return compare_specs(old, new, changelog=changelog, sampling=sampling, examples=EXAMPLES)


def edited(edit: Callable[[Spec], None], base: Spec = BASE) -> Spec:
    new = copy.deepcopy(base)
    edit(new)
    return new


def flagged(comparison: Comparison, pointer: str, side: Side) -> Change:
    """The blocking change at ``pointer`` on ``side``; the report names the pointer."""
    matches = [c for c in comparison.blocking if c.pointer == pointer and c.side is side]
    assert matches, (
        f"{pointer} ({side}) not flagged; got {[(c.pointer, c.side.value, c.what) for c in comparison.changes]}"
    )
    assert pointer in render(comparison, "new", "old")
    return matches[0]


def quiet(comparison: Comparison) -> None:
    assert not comparison.blocking, render(comparison, "new", "old")


# -- rows: flagged -------------------------------------------------------------------------


def test_model_removed_from_the_request_oneof() -> None:
    choice, pointer = request_choice(BASE)
    removed = choice["oneOf"][0]["$ref"].rsplit("/", 1)[-1]
    comparison = compare(edited(lambda s: request_choice(s)[0]["oneOf"].pop(0)), sampling=True)
    change = flagged(comparison, f"{pointer}/oneOf", Side.REQUESTS)
    assert change.what == "oneOf branch removed" and change.old == removed
    assert "sampling" in change.found_by  # bodies for that model now fail every branch


def test_optional_request_parameter_made_required() -> None:
    param, pointer = deref(BASE, generation(BASE)["parameters"][0])
    assert not param.get("required")
    comparison = compare(
        edited(lambda s: deref(s, generation(s)["parameters"][0])[0].update(required=True))
    )
    assert (
        flagged(comparison, f"{pointer}/required", Side.REQUESTS).what
        == "optional parameter made required"
    )


def test_request_property_removed_from_a_closed_schema() -> None:
    branch, name, _, _ = branch_property(BASE, lambda p: True)

    def edit(spec: Spec) -> None:
        del spec["components"]["schemas"][branch]["properties"][name]

    comparison = compare(edited(edit))
    change = flagged(comparison, f"#/components/schemas/{branch}/properties/{name}", Side.REQUESTS)
    assert change.in_old and "closed" in change.what


def test_property_type_changed() -> None:
    _, _, _schema, pointer = branch_property(BASE, lambda p: p.get("type") == "integer")
    comparison = compare(edited(lambda s: deref(s, {"$ref": pointer})[0].update(type="string")))
    assert flagged(comparison, f"{pointer}/type", Side.REQUESTS).what == "type changed"


@pytest.mark.parametrize(
    ("keyword", "narrow", "test"),
    [
        ("maximum", lambda v: v - 1, lambda p: "maximum" in p),
        ("minimum", lambda v: v + 1, lambda p: "minimum" in p),
        ("maxLength", lambda v: v - 1, lambda p: "maxLength" in p),
        ("multipleOf", lambda v: v * 2, lambda p: "multipleOf" in p),
    ],
)
def test_bound_narrowed(
    keyword: str, narrow: Callable[[int], int], test: Callable[[dict[str, Any]], bool]
) -> None:
    _, _, _schema, pointer = branch_property(BASE, test)

    def edit(spec: Spec) -> None:
        target = deref(spec, {"$ref": pointer})[0]
        target[keyword] = narrow(target[keyword])

    comparison = compare(edited(edit))
    change = flagged(comparison, f"{pointer}/{keyword}", Side.REQUESTS)
    assert change.old != change.new


def test_bound_narrowed_is_caught_by_sampling_at_the_old_boundary() -> None:
    _, _, schema, pointer = branch_property(
        BASE, lambda p: "maximum" in p and p.get("type") == "integer"
    )
    comparison = compare(
        edited(lambda s: deref(s, {"$ref": pointer})[0].update(maximum=schema["maximum"] - 1)),
        sampling=True,
    )
    change = flagged(comparison, f"{pointer}/maximum", Side.REQUESTS)
    assert change.found_by == "structure, confirmed by sampling"
    assert f"{schema['maximum']}" in (change.example or "")


def _with_request_enum(values: list[str]) -> Callable[[Spec], None]:
    """Gives the first model branch an optional enum property (today's spec has none)."""

    def edit(spec: Spec) -> None:
        branch, _pointer = model_branches(spec)[0]
        branch["properties"]["style"] = {"type": "string", "enum": values}

    return edit


def test_request_enum_narrowed() -> None:
    old = edited(_with_request_enum(["vivid", "natural"]))
    new = edited(_with_request_enum(["vivid"]))
    comparison = compare(new, old=old)
    _, pointer = model_branches(BASE)[0]
    change = flagged(comparison, f"{pointer}/properties/style/enum", Side.REQUESTS)
    assert "natural" in change.what


def test_response_enum_widened() -> None:
    _, pointer = response_enum(BASE)
    new = edited(lambda s: response_enum(s)[0]["enum"].append("pending"))
    comparison = compare(new, sampling=True)
    change = flagged(comparison, f"{pointer}/enum", Side.RESPONSES)
    assert "pending" in change.what and "sampling" in change.found_by


def test_response_field_removed() -> None:
    schema, pointer = success_object(BASE)
    name = schema["required"][0]

    def edit(spec: Spec) -> None:
        target, _ = success_object(spec)
        del target["properties"][name]
        target["required"].remove(name)

    change = flagged(compare(edited(edit)), f"{pointer}/properties/{name}", Side.RESPONSES)
    assert change.what == "response field removed"


def test_response_field_made_optional() -> None:
    schema, pointer = success_object(BASE)
    name = schema["required"][0]
    comparison = compare(edited(lambda s: success_object(s)[0]["required"].remove(name)))
    assert f"`{name}`" in flagged(comparison, f"{pointer}/required", Side.RESPONSES).old


def _rename_schema(spec: Spec, old: str, new: str) -> None:
    schemas = spec["components"]["schemas"]
    schemas[new] = schemas.pop(old)
    text = yaml.safe_dump(spec).replace(
        f"#/components/schemas/{old}'", f"#/components/schemas/{new}'"
    )
    text = text.replace(f"#/components/schemas/{old}\n", f"#/components/schemas/{new}\n")
    spec.clear()
    spec.update(yaml.safe_load(text))


def test_component_schema_renamed() -> None:
    _, pointer = model_branches(BASE)[0]
    name = pointer.rsplit("/", 1)[-1]
    comparison = compare(edited(lambda s: _rename_schema(s, name, name + "V2")), sampling=True)
    change = flagged(comparison, pointer, Side.NAMES)
    assert (change.what, change.new) == ("component schema renamed", name + "V2")
    assert [c.side for c in comparison.blocking] == [Side.NAMES]  # the wire did not change


def test_operation_id_renamed() -> None:
    old_id = generation(BASE)["operationId"]
    comparison = compare(edited(lambda s: generation(s).update(operationId=old_id + "_v2")))
    path = next(p for p, item in BASE["paths"].items() if generation(BASE) in item.values())
    method = next(m for m, op in BASE["paths"][path].items() if op is generation(BASE))
    pointer = f"#/paths/{path.replace('/', '~1')}/{method}/operationId"
    assert flagged(comparison, pointer, Side.NAMES).old == old_id


def test_endpoint_removed() -> None:
    path = list(BASE["paths"])[-1]
    comparison = compare(edited(lambda s: s["paths"].pop(path)))
    change = flagged(comparison, f"#/paths/{path.replace('/', '~1')}", Side.REQUESTS)
    assert change.what == "endpoint removed"


def test_method_removed() -> None:
    path = next(iter(BASE["paths"]))
    method = next(iter(BASE["paths"][path]))

    def edit(spec: Spec) -> None:
        spec["paths"][path]["put" if method != "put" else "patch"] = spec["paths"][path].pop(method)

    change = flagged(
        compare(edited(edit)), f"#/paths/{path.replace('/', '~1')}/{method}", Side.REQUESTS
    )
    assert change.what == "method removed"


def test_security_scheme_changed() -> None:
    name = next(iter(BASE["components"]["securitySchemes"]))
    new = edited(
        lambda s: s["components"]["securitySchemes"].__setitem__(
            name, {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        )
    )
    change = flagged(compare(new), f"#/components/securitySchemes/{name}", Side.REQUESTS)
    assert "apiKey" in change.new


def test_security_scheme_hints_are_quiet() -> None:
    name = next(iter(BASE["components"]["securitySchemes"]))
    hint = {"description": "Reworded.", "bearerFormat": "ak_ key or JWT"}
    quiet(compare(edited(lambda s: s["components"]["securitySchemes"][name].update(hint))))


# -- rows: quiet ---------------------------------------------------------------------------


def test_optional_request_parameter_added_is_quiet() -> None:
    param = {"name": "trace", "in": "query", "required": False, "schema": {"type": "boolean"}}
    quiet(compare(edited(lambda s: generation(s)["parameters"].append(param))))


def test_optional_response_field_added_is_quiet() -> None:
    quiet(
        compare(
            edited(
                lambda s: success_object(s)[0]["properties"].update(took_ms={"type": "integer"})
            ),
            sampling=True,
        )
    )


def test_new_model_added_is_quiet() -> None:
    """A new per-model branch, excluded from the fallback as the real spec does it."""

    def edit(spec: Spec) -> None:
        first, _pointer = model_branches(spec)[0]
        new = copy.deepcopy(first)
        new["title"] = "AcmeRequest"
        new["properties"]["model_name"] = {"type": "string", "const": "acme/new-1"}
        spec["components"]["schemas"]["AcmeRequest"] = new
        choice, _ = request_choice(spec)
        choice["oneOf"].insert(0, {"$ref": "#/components/schemas/AcmeRequest"})
        for branch in choice["oneOf"]:
            model_name = deref(spec, deref(spec, branch)[0]["properties"]["model_name"])[0]
            if "not" in model_name:
                model_name["not"]["enum"].append("acme/new-1")
        spec.setdefault("x-nebula-models", {}).setdefault("models", {})["acme/new-1"] = {
            "schema": "AcmeRequest"
        }

    quiet(compare(edited(edit), sampling=True))


def test_description_example_and_extension_edits_are_quiet() -> None:
    def edit(node: Any) -> None:
        if isinstance(node, dict):
            for key in list(node):
                if key in ("description", "summary"):
                    node[key] = "Reworded."
                elif key == "example":
                    node[key] = "changed"
                elif key == "examples" and isinstance(node[key], dict):
                    node[key] = {}
                elif key.startswith("x-"):
                    node[key] = {"edited": True}
                else:
                    edit(node[key])
        elif isinstance(node, list):
            for item in node:
                edit(item)

    quiet(compare(edited(edit)))


def test_a_reworded_spec_is_quiet_with_sampling() -> None:
    comparison = compare(edited(lambda s: s["info"].update(description="Reworded.")), sampling=True)
    quiet(comparison)
    assert comparison.sampled and all(comparison.sampled.values())


def test_an_equal_spec_skips_sampling() -> None:
    comparison = compare(copy.deepcopy(BASE), sampling=True)
    quiet(comparison)
    assert comparison.sampled is None and "sampling skipped" in render(comparison, "new", "old")


# -- what only sampling sees ---------------------------------------------------------------


def test_sampling_catches_what_the_walk_does_not_analyse() -> None:
    """`propertyNames` is not reasoned about structurally; old bodies now fail it."""
    _, pointer = model_branches(BASE)[0]
    name = pointer.rsplit("/", 1)[-1]
    new = edited(lambda s: s["components"]["schemas"][name].update(propertyNames={"maxLength": 6}))
    comparison = compare(new, sampling=True)
    change = flagged(comparison, f"{pointer}/propertyNames/maxLength", Side.REQUESTS)
    assert change.found_by == "sampling" and change.example
    assert any("propertyNames" in note for note in comparison.notes)


# -- breaking on purpose -----------------------------------------------------------------------


# The spec's own version and the next major one (the tests hold whatever the version).
CURRENT = str(BASE["info"]["version"])
NEXT = f"{int(CURRENT.split('.')[0]) + 1}.0.0"


def _bump_and_remove_model(spec: Spec) -> None:
    spec["info"]["version"] = NEXT
    request_choice(spec)[0]["oneOf"].pop(0)


def test_major_bump_with_a_changelog_entry_naming_the_change_passes() -> None:
    removed = request_choice(BASE)[0]["oneOf"][0]["$ref"].rsplit("/", 1)[-1]
    changelog = (
        f"# Changelog\n\n## {NEXT}\n\n- `{removed}` is no longer served.\n\n"
        f"## {CURRENT}\n\nFirst.\n"
    )
    comparison = compare(edited(_bump_and_remove_model), changelog=changelog)
    assert comparison.changes and not comparison.blocking
    report = render(comparison, "new", "old")
    assert "Allowed on purpose" in report and f"names `{removed}`" in report


@pytest.mark.parametrize(
    "changelog",
    [None, f"# Changelog\n\n## {CURRENT}\n\nFirst.\n", f"# Changelog\n\n## {NEXT}\n\n- Faster.\n"],
    ids=["no-changelog", "no-entry", "entry-does-not-name-it"],
)
def test_major_bump_without_a_naming_entry_still_fails(changelog: str | None) -> None:
    comparison = compare(edited(_bump_and_remove_model), changelog=changelog)
    assert comparison.blocking
    assert comparison.intent and NEXT in comparison.intent


def test_changelog_names_the_current_spec_version() -> None:
    from spec_breaking._intent import changelog_entry

    text = (SPEC_PATH.parent / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog_entry(text, str(BASE["info"]["version"])) is not None


# -- the command: git bases, exit codes, report -----------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.email", "ci@example.invalid")
    _git(tmp_path, "config", "user.name", "ci")
    (tmp_path / "openapi.yaml").write_text(SPEC_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    _git(tmp_path, "add", "openapi.yaml")
    _git(tmp_path, "commit", "-qm", "spec")
    return tmp_path


def _narrow_on_disk(spec_path: Path) -> str:
    _, _, schema, pointer = branch_property(BASE, lambda p: "maximum" in p)
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    deref(spec, {"$ref": pointer})[0]["maximum"] = schema["maximum"] - 1
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return f"{pointer}/maximum"


def test_cli_flags_a_working_tree_change_against_a_git_ref(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pointer = _narrow_on_disk(repo / "openapi.yaml")
    assert main(["--spec", str(repo / "openapi.yaml"), "--base", "HEAD", "--no-sampling"]) == 1
    out = capsys.readouterr().out
    assert "BREAKING: 1 change(s)" in out and pointer in out and "old clients' requests" in out


def test_cli_default_base_is_the_merge_base_with_main(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _git(repo, "checkout", "-qb", "feature")
    _narrow_on_disk(repo / "openapi.yaml")
    _git(repo, "commit", "-qam", "narrow")
    assert main(["--spec", str(repo / "openapi.yaml"), "--no-sampling"]) == 1
    assert "merge-base of HEAD and main" in capsys.readouterr().out


def test_cli_passes_on_a_single_commit_history(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--spec", str(repo / "openapi.yaml"), "--base", "HEAD~1", "--no-sampling"]) == 0
    assert "nothing to compare" in capsys.readouterr().out


def test_cli_passes_when_the_spec_did_not_exist_at_base(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "new.yaml").write_text(SPEC_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["--spec", str(repo / "new.yaml"), "--base", "HEAD", "--no-sampling"]) == 0
    assert "did not exist at HEAD" in capsys.readouterr().out


def test_cli_unknown_ref_is_a_usage_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--spec", str(repo / "openapi.yaml"), "--base", "no-such-branch", "--no-sampling"])
        == 2
    )
    assert "no-such-branch" in capsys.readouterr().err


def test_cli_unchanged_says_what_it_compared(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--spec", str(repo / "openapi.yaml"), "--base", "HEAD", "--no-sampling"]) == 0
    out = capsys.readouterr().out
    assert "OK: no change breaks existing clients" in out and "openapi.yaml at HEAD" in out


def test_sampling_is_deterministic() -> None:
    from spec_breaking._sampling import _draw_uncached

    _, pointer = model_branches(BASE)[0]
    first = _draw_uncached(BASE, {"$ref": pointer}, EXAMPLES, 20251125)
    assert first and first == _draw_uncached(BASE, {"$ref": pointer}, EXAMPLES, 20251125)

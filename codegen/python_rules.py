"""Generate the Python layer's per-model rules and typed calls from openapi.yaml.

Run by ``make generate`` (from the venv):

    python codegen/python_rules.py --spec openapi.yaml \
        --rules generated/nebula_images_rules/__init__.py \
        --images wrapper/nebula_images/resources/images.py \
        --batch-request wrapper/nebula_images/_batch_request.py

What JSON Schema says (parameters, required ones, types, bounds, enums, multiples,
``dependentRequired``) is read from the request ``oneOf``'s per-model schemas, following
``$ref``s; ``x-nebula-models`` adds only what JSON Schema cannot say (kind, aliases,
timeout, default model). The output is deterministic; the Makefile formats it with ruff.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import jinja2
import yaml

HERE = Path(__file__).resolve().parent
OTHER_SCHEMA = "OtherModelRequest"
# JSON Schema keyword -> key of a generated parameter rule.
_KEYWORDS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "multipleOf": "multiple_of",
    "enum": "enum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
}
_PY_TYPES = {"integer": "int", "number": "float", "string": "str", "image": "ImageInput"}


class SpecError(Exception):
    """The spec cannot be turned into rules; the message names the place."""


def _resolve(spec: dict[str, Any], node: dict[str, Any], where: str) -> dict[str, Any]:
    """``node`` with its ``$ref`` chain merged in (keywords beside a ``$ref`` win)."""
    merged: dict[str, Any] = {}
    seen: set[str] = set()
    while True:
        merged = {**node, **merged}
        ref = node.get("$ref")
        if ref is None:
            merged.pop("$ref", None)
            return merged
        if not ref.startswith("#/") or ref in seen:
            raise SpecError(f"{where}: unsupported or circular $ref {ref!r}")
        seen.add(ref)
        target: Any = spec
        for part in ref[2:].split("/"):
            if not isinstance(target, dict) or part not in target:
                raise SpecError(f"{where}: $ref {ref!r} points nowhere")
            target = target[part]
        node = target


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.search(r"(?<=[.!?])\s", flat)
    return flat[: match.start()] if match else flat


def _parameter(spec: dict[str, Any], node: dict[str, Any], where: str) -> dict[str, Any]:
    schema = _resolve(spec, node, where)
    types = schema.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    nullable = "null" in names
    names = [name for name in names if name != "null"]
    if schema.get("format") == "byte" or schema.get("contentEncoding") == "base64":
        kind = "image"
    elif len(names) == 1 and names[0] in ("integer", "number", "string"):
        kind = names[0]
    elif "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        kind = "string"
    else:
        raise SpecError(f"{where}: type {types!r} is not one the Python client can check")
    rule: dict[str, Any] = {
        "type": kind,
        "nullable": nullable,
        "description": _first_sentence(schema.get("description", "")),
    }
    for keyword, key in _KEYWORDS.items():
        if keyword in schema:
            value = schema[keyword]
            rule[key] = tuple(value) if keyword == "enum" else value
    return rule


def _model_rules(spec: dict[str, Any], schema_name: str, extra: dict[str, Any]) -> dict[str, Any]:
    where = f"components.schemas.{schema_name}"
    schema = _resolve(spec, spec["components"]["schemas"][schema_name], where)
    if schema.get("additionalProperties") is not False:
        raise SpecError(f"{where}: a request schema must be closed (additionalProperties: false)")
    properties = schema.get("properties", {})
    parameters = {
        name: _parameter(spec, node, f"{where}.properties.{name}")
        for name, node in properties.items()
        if name != "model_name"
    }
    dependent = schema.get("dependentRequired", {})
    return {
        "schema": schema_name,
        "kind": str(extra.get("kind", "unknown")),
        "timeout_seconds": extra.get("timeout_seconds"),
        "aliases": tuple(extra.get("aliases", ())),
        "parameters": parameters,
        "required": tuple(name for name in schema.get("required", ()) if name != "model_name"),
        "together": {name: tuple(others) for name, others in sorted(dependent.items())},
    }


def read_rules(spec: dict[str, Any]) -> dict[str, Any]:
    """Everything the Python layer knows per model, from the spec."""
    extension = spec.get("x-nebula-models") or {}
    table: dict[str, Any] = extension.get("models") or {}
    for name, row in table.items():
        for key in ("parameters", "defaults", "size_multiple", "required"):
            if key in row:
                raise SpecError(
                    f"x-nebula-models.models.{name}.{key}: JSON Schema says this; "
                    "keep it in the model's request schema only"
                )
    one_of = spec["components"]["schemas"]["ImageGenerationRequest"]["oneOf"]
    models: dict[str, Any] = {}
    other: dict[str, Any] | None = None
    model_name_rule: dict[str, Any] = {}
    for branch in one_of:
        schema_name = branch["$ref"].rsplit("/", 1)[-1]
        schema = _resolve(spec, branch, f"ImageGenerationRequest.oneOf.{schema_name}")
        model_name = _resolve(spec, schema["properties"]["model_name"], schema_name)
        const = model_name.get("const")
        if const is None:
            other = _model_rules(spec, schema_name, {})
            model_name_rule = _parameter(spec, model_name, f"{schema_name}.model_name")
            continue
        if const not in table:
            raise SpecError(f"x-nebula-models.models: no row for {const!r} ({schema_name})")
        models[const] = {"name": const, **_model_rules(spec, schema_name, table[const])}
    for name in table:
        if name not in models:
            raise SpecError(f"x-nebula-models.models.{name}: no request schema has this const")
    if other is None:
        raise SpecError("ImageGenerationRequest.oneOf: no fallback schema for other model ids")
    other["timeout_seconds"] = max(
        (row["timeout_seconds"] for row in models.values() if row["timeout_seconds"]),
        default=180,
    )
    aliases: dict[str, str] = {}
    for name, row in models.items():
        for alias in row["aliases"]:
            folded = alias.casefold()
            if folded in aliases or alias in models:
                raise SpecError(f"x-nebula-models: alias {alias!r} is given twice")
            aliases[folded] = name
    default_model = extension.get("default_model")
    if default_model not in models:
        raise SpecError(f"x-nebula-models.default_model: {default_model!r} is not a listed model")
    return {
        "models": models,
        "other": {"name": "", **other},
        "model_name": model_name_rule,
        "default_model": default_model,
    }


# --- the typed call signatures ---


def _py_type(rule: dict[str, Any]) -> str:
    if "enum" in rule:
        return "Literal[" + ", ".join(repr(value) for value in rule["enum"]) + "]"
    return _PY_TYPES[rule["type"]]


def _all_parameters(rules: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every parameter name of the spec, in order: the fallback schema's first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in [rules["other"], *rules["models"].values()]:
        for name, rule in row["parameters"].items():
            if name != "prompt":
                found.setdefault(name, []).append(rule)
    merged: dict[str, dict[str, Any]] = {}
    for name, variants in found.items():
        types = sorted({_py_type(rule) for rule in variants})
        merged[name] = {
            "py_type": " | ".join(types),
            "is_image": any(rule["type"] == "image" for rule in variants),
        }
    return merged


def _bounds_text(rule: dict[str, Any]) -> str:
    parts: list[str] = []
    kind = rule["type"]
    if "enum" in rule:
        parts.append("one of " + ", ".join(repr(value) for value in rule["enum"]))
    elif kind in ("integer", "number"):
        noun = "an integer" if kind == "integer" else "a number"
        if "minimum" in rule and "maximum" in rule:
            parts.append(f"{noun} from {rule['minimum']} to {rule['maximum']}")
        else:
            parts.append(noun)
        if "multiple_of" in rule:
            parts.append(f"a multiple of {rule['multiple_of']}")
    elif kind == "image":
        parts.append("a path, bytes or a PIL image (JPEG, PNG or WebP)")
    elif "max_length" in rule:
        low = rule.get("min_length", 0)
        high = rule["max_length"]
        parts.append(f"{low} to {high} characters" if low else f"at most {high} characters")
    return ", ".join(parts)


def _docs(rules: dict[str, Any]) -> list[tuple[str, str]]:
    """``(parameter, text)`` for the docstring: description, bounds, models that take it."""
    rows = [*rules["models"].values(), rules["other"]]
    names = ["prompt", *_all_parameters(rules)]
    docs: list[tuple[str, str]] = []
    for name in names:
        takers = [row for row in rows if name in row["parameters"]]
        description = (
            next((row["parameters"][name]["description"] for row in takers), "")
            or name.replace("_", " ").capitalize() + "."
        )
        if takers and takers[0]["parameters"][name]["type"] == "image":
            # The caller passes a file, not the wire form: drop what describes the base64.
            head, colon, tail = description.partition(":")
            if colon and "base64" in tail:
                description = head + "."
            description = re.sub(r",? base64-encoded( \([^)]*\))?( like it)?", "", description)
        variants: dict[str, list[str]] = {}
        for row in takers:
            label = row["name"] or "other model ids"
            variants.setdefault(_bounds_text(row["parameters"][name]), []).append(label)
        if len(variants) == 1:
            bounds = next(iter(variants))
            bounds = bounds[0].upper() + bounds[1:] + "." if bounds else ""
        else:
            bounds = " ".join(
                f"{text[0].upper() + text[1:]} for {', '.join(labels)}."
                for text, labels in variants.items()
            )
        required = [row["name"] for row in takers if row["name"] and name in row["required"]]
        taken = ", ".join(row["name"] or "other model ids" for row in takers)
        text = f"{description} {bounds}".strip()
        text += f" Taken by: {taken}." if name != "prompt" else " Every model."
        if required and name != "prompt":
            text += f" Required by {', '.join(required)}."
        if name == "seed":
            # What the wrapper does with the spec's bound (_validation.prepare_body).
            high = takers[0]["parameters"][name].get("maximum", 2**32 - 1)
            text += (
                f" Left out, the client draws one uniformly from 0 to {high} for a listed"
                " model that takes a seed and sends it, so ``image.seed`` reproduces the image;"
                " -1 asks the server to pick."
            )
        docs.append((name, _wrap(name, text)))
        if name == "prompt":
            models = "; ".join(
                f"{model} ({', '.join(row['aliases'])})" if row["aliases"] else model
                for model, row in rules["models"].items()
            )
            text = (
                f"A model id or alias: {models}. Any other id is sent as given, with the"
                " generic rules of other model ids; an id a typo away from a listed id or"
                ' alias raises ValidationError ("did you mean").'
            )
            docs.append(("model", _wrap("model", text)))
    return docs


def _wrap(name: str, text: str) -> str:
    """A docstring ``Args:`` entry, wrapped to the line length ruff checks."""
    return textwrap.fill(
        f"{name}: {text}",
        width=100,
        initial_indent=" " * 12,
        subsequent_indent=" " * 16,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _overloads(rules: dict[str, Any]) -> list[dict[str, Any]]:
    everything = _all_parameters(rules)
    overloads: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for name, row in rules["models"].items():
        literal = "Literal[" + ", ".join(repr(v) for v in (name, *row["aliases"])) + "]"
        is_default = name == rules["default_model"]
        model = {"annotation": literal + (" | None" if is_default else ""), "default": is_default}
        own = [
            {
                "name": param,
                "py_type": _py_type(rule),
                "required": param in row["required"],
            }
            for param, rule in row["parameters"].items()
            if param != "prompt"
        ]
        own.sort(key=lambda p: not p["required"])  # required keywords first reads better
        overloads.append({"model": model, "params": own, "deprecated": None})
        missing = [param for param in everything if param not in row["parameters"]]
        required = [param for param in row["required"] if param != "prompt"]
        if missing or required:
            reasons = []
            if missing:
                reasons.append("does not take " + ", ".join(missing))
            if required:
                reasons.append("requires " + ", ".join(required))
            refused.append(
                {
                    "model": model,
                    "params": [
                        {"name": param, "py_type": spec["py_type"], "required": False}
                        for param, spec in everything.items()
                    ],
                    "deprecated": _chunks(f"{name} {'; it '.join(reasons)}"),
                }
            )
    generic = {
        "model": {"annotation": "str", "default": False},
        "params": [
            {"name": param, "py_type": spec["py_type"], "required": False}
            for param, spec in everything.items()
        ],
        "deprecated": None,
    }
    return [*overloads, *refused, generic]


def _chunks(message: str) -> list[str]:
    """``message`` cut into string literals that fit a line (joined by concatenation)."""
    lines = textwrap.wrap(message, width=80, break_on_hyphens=False, break_long_words=False)
    return [line + " " for line in lines[:-1]] + lines[-1:]


def render(rules: dict[str, Any]) -> tuple[str, str, str]:
    """The rules module, resources/images.py and _batch_request.py, unformatted."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 (Python source, not HTML)
    )
    env.filters["py"] = repr
    everything = _all_parameters(rules)
    context = {
        "rules": rules,
        "parameters": everything,
        "overloads": _overloads(rules),
        "docs": _docs(rules),
        "default_model": rules["default_model"],
        "uses_literal": any("Literal[" in param["py_type"] for param in everything.values()),
    }
    return (
        env.get_template("rules.py.jinja").render(**context),
        env.get_template("images.py.jinja").render(**context),
        env.get_template("batch_request.py.jinja").render(**context),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--rules", type=Path, required=True, help="the rules module to write")
    parser.add_argument("--images", type=Path, required=True, help="resources/images.py to write")
    parser.add_argument(
        "--batch-request", type=Path, required=True, help="_batch_request.py to write"
    )
    args = parser.parse_args(argv)
    with args.spec.open(encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    try:
        rules_py, images_py, batch_request_py = render(read_rules(spec))
    except SpecError as exc:
        print(f"{args.spec}: {exc}", file=sys.stderr)
        return 1
    outputs = (
        (args.rules, rules_py),
        (args.images, images_py),
        (args.batch_request, batch_request_py),
    )
    for path, text in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

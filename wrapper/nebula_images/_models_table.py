"""The per-model rules: a typed view over ``nebula_images_rules``, which `make generate`
writes from openapi.yaml (the per-model request schemas and ``x-nebula-models``).

Nothing per model is written here by hand: a model or a parameter added to the spec
reaches the wrapper by regenerating. A model id not in the table gets the spec's
generic rules (``OtherModelRequest``). Aliases and the "did you mean" check live here
too (``resolve_model``), so the library and the CLI resolve names the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import attrs

from nebula_images_rules import DEFAULT_MODEL as _DEFAULT_MODEL
from nebula_images_rules import MODEL_NAME as _MODEL_NAME
from nebula_images_rules import MODELS as _MODEL_ROWS
from nebula_images_rules import OTHER_MODEL as _OTHER_MODEL
from nebula_images_rules import ModelRow, ParameterRow

from ._errors import ValidationError

__all__ = [
    "ALIASES",
    "DEFAULT_MODEL",
    "GENERIC",
    "MODELS",
    "PARAMETERS",
    "ModelRules",
    "ParameterRule",
    "number_text",
    "parse_parameter",
    "resolve_model",
    "rules_for",
]

ParameterType = Literal["integer", "number", "string", "image"]


@attrs.frozen
class ParameterRule:
    """What the spec allows for one request parameter (JSON Schema keywords, resolved)."""

    name: str
    type: ParameterType
    nullable: bool = False
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    multiple_of: float | None = None
    enum: tuple[str | int | float, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@attrs.frozen
class ModelRules:
    """What one model accepts and how it is called."""

    name: str
    schema: str
    kind: str
    fields: Mapping[str, ParameterRule]
    required: frozenset[str]
    # dependentRequired: giving the key needs every parameter of its value too.
    together: Mapping[str, tuple[str, ...]]
    timeout_seconds: float
    aliases: tuple[str, ...] = ()
    known: bool = True

    @property
    def parameters(self) -> frozenset[str]:
        """The names of the parameters the model takes, ``prompt`` included."""
        return frozenset(self.fields)


def _parameter(name: str, row: ParameterRow) -> ParameterRule:
    enum = row.get("enum")
    return ParameterRule(
        name=name,
        type=row["type"],
        nullable=row["nullable"],
        description=row["description"],
        minimum=row.get("minimum"),
        maximum=row.get("maximum"),
        multiple_of=row.get("multiple_of"),
        enum=tuple(enum) if enum is not None else None,
        min_length=row.get("min_length"),
        max_length=row.get("max_length"),
        pattern=row.get("pattern"),
    )


def _model(row: ModelRow, *, known: bool) -> ModelRules:
    return ModelRules(
        name=row["name"],
        schema=row["schema"],
        kind=row["kind"],
        fields=MappingProxyType(
            {name: _parameter(name, param) for name, param in row["parameters"].items()}
        ),
        required=frozenset(row["required"]),
        together=MappingProxyType(dict(row["together"])),
        timeout_seconds=row["timeout_seconds"],
        aliases=row["aliases"],
        known=known,
    )


MODELS: Mapping[str, ModelRules] = MappingProxyType(
    {name: _model(row, known=True) for name, row in _MODEL_ROWS.items()}
)
DEFAULT_MODEL: str = _DEFAULT_MODEL
# Any other id: the fallback schema's parameters and bounds; the server decides the rest.
GENERIC: ModelRules = _model(_OTHER_MODEL, known=False)
MODEL_NAME: ParameterRule = _parameter("model", _MODEL_NAME)
# Aliases match whatever the case ("SDXL" is "sdxl"); model ids are sent exactly.
ALIASES: Mapping[str, str] = MappingProxyType(
    {alias.casefold(): rules.name for rules in MODELS.values() for alias in rules.aliases}
)


def _parameter_uses() -> dict[str, tuple[ParameterRule, tuple[ModelRules, ...]]]:
    found: dict[str, tuple[ParameterRule, list[ModelRules]]] = {}
    for rules in (GENERIC, *MODELS.values()):
        for name, rule in rules.fields.items():
            if name != "prompt":
                _, takers = found.setdefault(name, (rule, []))
                if rules.known:
                    takers.append(rules)
    return {name: (rule, tuple(takers)) for name, (rule, takers) in found.items()}


# Every request parameter but the prompt, in the spec's order (the fallback schema's
# first), with its rule (the fallback's where it has one) and the listed models taking it.
PARAMETERS: Mapping[str, tuple[ParameterRule, tuple[ModelRules, ...]]] = MappingProxyType(
    _parameter_uses()
)

PROMPT_MAX_CHARS: int = GENERIC.fields["prompt"].max_length or 4000
MODEL_NAME_MAX_CHARS: int = MODEL_NAME.max_length or 200
# An id this close to a listed id or alias is taken for a typo of it.
_TYPO_EDITS_SHORT = 1  # names of up to _SHORT characters
_TYPO_EDITS = 2
_SHORT = 5


def rules_for(model: str) -> ModelRules:
    """The rules of ``model`` (an id, not an alias): its entry, or the generic rules."""
    found = MODELS.get(model)
    return found if found is not None else attrs.evolve(GENERIC, name=model)


def _typo_edits(given: str, known: str) -> int | None:
    """How many characters differ, or None when only digits differ (another version,
    such as Seedream-4.0 beside Seedream-3.0, is a model of its own, not a typo)."""
    import difflib  # only an id off the table needs it: keeps `import nebula_images` cheap

    edits = 0
    version_only = True
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, given, known, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            continue
        edits += max(i2 - i1, j2 - j1)
        if not (tag == "replace" and given[i1:i2].isdigit() and known[j1:j2].isdigit()):
            version_only = False
    return None if edits and version_only else edits


def _suggestion(model: str) -> str | None:
    import difflib

    folded = model.casefold()
    names = {name.casefold(): name for name in MODELS}
    names.update({alias.casefold(): alias for rules in MODELS.values() for alias in rules.aliases})
    for close in difflib.get_close_matches(folded, list(names), n=3, cutoff=0.6):
        edits = _typo_edits(folded, close)
        limit = _TYPO_EDITS_SHORT if len(close) <= _SHORT else _TYPO_EDITS
        if edits is not None and edits <= limit:
            return names[close]
    return None


def resolve_model(model: str) -> str:
    """The model id to send for ``model``: a listed id as is, an alias resolved, any
    other id as is. An id a typo away from a listed id or alias (by case or up to two
    characters) raises ValidationError with "did you mean", and nothing is sent."""
    if model in MODELS:
        return model
    alias = ALIASES.get(model.casefold())
    if alias is not None:
        return alias
    suggestion = _suggestion(model)
    if suggestion is not None:
        raise ValidationError(
            "model",
            f"unknown model {model!r} (did you mean {suggestion!r}?)",
            f"pass model={suggestion!r} (the served ids: client.models.list())",
        )
    return model


def _rule_anywhere(model: str, name: str) -> ParameterRule | None:
    """``name``'s rule for ``model``, else as any model takes it (the wrapper then says
    which model does not take it), else None (no model of the spec does)."""
    found = rules_for(model).fields.get(name)
    if found is not None:
        return found
    use = PARAMETERS.get(name)
    return use[0] if use is not None else None


def number_text(number: float) -> str:
    """A bound as people write it: 8, not 8.0."""
    return str(int(number)) if number == int(number) else str(number)


def parse_parameter(text: str, model: str | None = None) -> tuple[str, object]:
    """``NAME=VALUE`` (a command line's ``--param``) typed by the spec's rule for that
    parameter of ``model``: an integer, a number, text, or a file path for an image.
    The value is checked (bounds, enums) when the call is prepared, like any other."""
    name, sep, value = text.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name:
        raise ValidationError("--param", f"{text!r} is not NAME=VALUE", "write e.g. num_steps=8")
    rule = _rule_anywhere(resolve_model(model or DEFAULT_MODEL), name)
    if rule is None or name == "prompt":
        names = sorted(PARAMETERS)
        raise ValidationError(
            name, "is not a parameter of the API", f"use one of {', '.join(names)}"
        )
    if rule.type in ("integer", "number"):
        try:
            return name, int(value) if rule.type == "integer" else float(value)
        except ValueError:
            kind = "an integer" if rule.type == "integer" else "a number"
            raise ValidationError(
                name, f"{value!r} is not {kind}", f"write {name}=<{kind}>"
            ) from None
    return name, value

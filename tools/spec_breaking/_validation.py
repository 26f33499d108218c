"""Validating a value against a schema of a spec, and saying WHERE in the spec it failed.

The spec is one JSON Schema 2020-12 resource (OpenAPI 3.1's dialect; the OpenAPI-only
keywords are annotations), so ``#/components/...`` refs resolve as they are written. A
failing keyword is turned back into a JSON pointer by the identity of the schema object
it sits in (`index_by_identity`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

# jsonschema ships no type stubs (types-jsonschema is not pinned here).
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from spec_breaking._pointer import JSON, Node, index_by_identity, join

_URI = "urn:spec-breaking:document"
# Keywords that pick a oneOf branch (a branch failing only on these was not meant).
_SELECTORS = {"const", "enum", "not"}


@dataclass(frozen=True)
class Failure:
    pointer: str  # the failing keyword, in the spec
    schema_pointer: str  # the schema object holding it
    message: str
    at: str  # where in the value


class SpecValidator:
    def __init__(self, spec: Node) -> None:
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self._registry: Registry[JSON] = Registry().with_resource(_URI, resource)
        self._index = index_by_identity(spec)
        self._validators: dict[str, Draft202012Validator] = {}

    def _validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            self._validators[pointer] = Draft202012Validator(
                {"$ref": _URI + pointer}, registry=self._registry
            )
        return self._validators[pointer]

    def is_valid(self, pointer: str, value: JSON) -> bool:
        return bool(self._validator(pointer).is_valid(value))

    def failure(self, pointer: str, value: JSON) -> Failure | None:
        """The most specific reason ``value`` fails the schema at ``pointer``, or None."""
        errors = list(self._validator(pointer).iter_errors(value))
        if not errors:
            return None
        error = _specific(min(errors, key=lambda e: (len(e.path), str(e.validator))))
        schema_pointer = self._index.get(id(error.schema), pointer)
        return Failure(
            pointer=join(schema_pointer, str(error.validator)),
            schema_pointer=schema_pointer,
            message=error.message if len(error.message) <= 200 else error.message[:197] + "...",
            at="/" + "/".join(str(p) for p in error.absolute_path),
        )


def _specific(error: ValidationError) -> ValidationError:
    """Into a ``oneOf``/``anyOf`` failure, down the one branch the value was meant for
    (the branch whose selecting ``const``/``enum``/``not`` keywords all passed)."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return error
    by_branch: dict[int, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        by_branch[int(sub.relative_schema_path[0])].append(sub)
    meant = [
        errs
        for errs in by_branch.values()
        if not any(e.validator in _SELECTORS and len(e.relative_path) <= 1 for e in errs)
    ]
    if len(meant) != 1:
        return error
    return _specific(min(meant[0], key=lambda e: (len(e.path), str(e.validator))))

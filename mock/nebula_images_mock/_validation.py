"""Request validation from openapi.yaml itself, through openapi-core.

The spec is read at start-up (from the installed package, or the repository root in a
development checkout); nothing of it is copied here. openapi-core does the checking;
this module only turns its findings into the API's ``Error`` messages, which name the
field, and for the ``oneOf`` of per-model schemas reports the errors of the branch
that ``model_name`` selects instead of "not valid under any of the given schemas".
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.exceptions import InvalidParameter, InvalidRequestBody
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from werkzeug.datastructures import Headers, ImmutableMultiDict

# jsonschema ships no type stubs; its ValidationError is handled as Any.
SchemaError = Any
_SPEC_RESOURCE = "openapi.yaml"
_MESSAGE_LIMIT = 300  # keep echoed values short: messages must not carry megabytes of base64


class SpecNotFoundError(FileNotFoundError):
    """openapi.yaml is neither in the installed package nor at the repository root."""


class RequestRejected(Exception):
    """A request breaks the spec; ``status`` is 400 (unreadable) or 422 (schema)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def spec_path_candidates() -> list[Path]:
    """Where the spec is looked for, in order (for error messages and tools)."""
    return [Path(__file__).resolve().parents[2] / _SPEC_RESOURCE]


def load_spec_text() -> str:
    """The text of openapi.yaml: the copy packed into the wheel, else the repo root's."""
    try:
        resource = importlib.resources.files("nebula_images_mock").joinpath(_SPEC_RESOURCE)
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        pass
    for candidate in spec_path_candidates():
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise SpecNotFoundError(
        "openapi.yaml not found in the nebula_images_mock package nor at "
        f"{spec_path_candidates()[0]}; reinstall nebula-images[mock]"
    )


@lru_cache(maxsize=1)
def load_spec() -> Mapping[str, Any]:
    """The parsed spec (parsed once per process)."""
    spec: dict[str, Any] = yaml.safe_load(load_spec_text())
    return spec


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One row of the spec's ``x-nebula-models`` table."""

    name: str
    kind: str


class _Request:
    """The request shape openapi-core reads (its ``Request`` protocol)."""

    def __init__(self, host_url: str, path: str, method: str, headers: Headers, body: bytes):
        self.host_url = host_url
        self.path = path
        self.full_url_pattern = host_url + path
        self.method = method
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(), header=headers, cookie=ImmutableMultiDict(), path={}
        )
        self.content_type = "application/json"
        self.body = body


class SpecValidator:
    """Validates requests of the two operations against the spec."""

    def __init__(self, spec: Mapping[str, Any] | None = None) -> None:
        self.spec = spec if spec is not None else load_spec()
        self._openapi = OpenAPI.from_dict(dict(self.spec))
        # Validate as if the request came to the spec's own server URL, so that
        # openapi-core's server matching holds whatever host and base path the mock has.
        server = urlsplit(self.spec["servers"][0]["url"])
        self._host_url = f"{server.scheme}://{server.netloc}"
        self._server_path = server.path.rstrip("/")
        self.models = _read_models(self.spec)
        self._branches = _read_branches(self.spec)

    def operation_methods(self) -> dict[str, list[str]]:
        """Each spec path and its upper-case methods: ``{"/serverless/models": ["GET"]}``."""
        methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
        return {
            path: [m.upper() for m in item if m in methods]
            for path, item in self.spec["paths"].items()
        }

    def validate(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
        """Raise ``RequestRejected`` if the request breaks the spec.

        ``body`` must already be known to be a UTF-8 JSON object (400s come first).
        """
        request = _Request(
            self._host_url, self._server_path + path, method.lower(), Headers(headers), body
        )
        try:
            self._openapi.validate_request(request)
        except InvalidParameter as exc:
            raise RequestRejected(422, _describe_parameter(exc)) from None
        except InvalidRequestBody as exc:
            raise self._describe_body(exc, body) from None
        except Exception as exc:  # any other finding is still the client's, never a 500
            raise RequestRejected(422, _clip(f"request: {exc}")) from None

    def _describe_body(self, exc: InvalidRequestBody, body: bytes) -> RequestRejected:
        cause = exc.__cause__
        errors: Sequence[SchemaError] = (
            list(cause.schema_errors) if isinstance(cause, InvalidSchemaValue) else []
        )
        if not errors:
            return RequestRejected(422, _clip(f"body: {exc}"))
        instance = json.loads(body)
        model = instance.get("model_name") if isinstance(instance, dict) else None
        branch = self._branches.get(model) if isinstance(model, str) else None
        if branch is None:
            branch = self._branches[None]
        candidates: list[SchemaError] = []
        for error in errors:
            if error.validator == "oneOf" and error.context:
                candidates += [e for e in error.context if e.relative_schema_path[0] == branch]
            else:
                candidates.append(error)
        if not candidates:
            candidates = list(errors)
        best = min(candidates, key=_error_rank)
        return _describe_schema_error(best, model if isinstance(model, str) else None)


def _read_models(spec: Mapping[str, Any]) -> dict[str, ModelInfo]:
    table = spec.get("x-nebula-models", {}).get("models", {})
    return {
        name: ModelInfo(
            name=name,
            kind=str(row.get("kind", "text-to-image")),
        )
        for name, row in table.items()
    }


def _read_branches(spec: Mapping[str, Any]) -> dict[str | None, int]:
    """``model_name`` const -> index in the request ``oneOf``; ``None`` -> the fallback."""
    schemas = spec["components"]["schemas"]
    one_of = schemas["ImageGenerationRequest"]["oneOf"]
    branches: dict[str | None, int] = {}
    for index, ref in enumerate(one_of):
        schema = schemas[ref["$ref"].rsplit("/", 1)[-1]]
        const = schema.get("properties", {}).get("model_name", {}).get("const")
        branches[const] = index
    return branches


_RANK = {"additionalProperties": 0, "required": 1, "type": 2}


def _error_rank(error: SchemaError) -> tuple[int, int, str]:
    # A parameter the model does not take or a missing field explains the most.
    return (_RANK.get(str(error.validator), 3), len(error.path), str(list(error.path)))


def _field(error: SchemaError) -> str:
    return ".".join(str(p) for p in error.path) or "body"


def _clip(message: str) -> str:
    return message if len(message) <= _MESSAGE_LIMIT else message[: _MESSAGE_LIMIT - 3] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _describe_schema_error(error: SchemaError, model: str | None) -> RequestRejected:
    field = _field(error)
    kind = error.validator
    expected = error.validator_value
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - known)
        name = ".".join([*(str(p) for p in error.path), extra[0]]) if extra else field
        who = model if model else "this model"
        return RequestRejected(422, _clip(f"{name}: {who} does not take this parameter"))
    if kind == "required" and isinstance(error.instance, dict):
        missing = [n for n in expected if n not in error.instance]
        name = missing[0] if missing else field
        return RequestRejected(422, _clip(f"{name}: required field is missing"))
    if kind == "format" and expected == "byte":
        # The spec answers an undecodable image/mask with 400, like a non-image.
        return RequestRejected(
            400, f"{field}: not valid base64 (standard alphabet, padded, no data: prefix)"
        )
    messages: dict[str, Callable[[], str]] = {
        "type": lambda: f"must be of type {_types(expected)}, got {_json_type(error.instance)}",
        "minimum": lambda: f"must be >= {expected}",
        "maximum": lambda: f"must be <= {expected}",
        "exclusiveMinimum": lambda: f"must be > {expected}",
        "exclusiveMaximum": lambda: f"must be < {expected}",
        "multipleOf": lambda: f"must be a multiple of {expected}",
        "minLength": lambda: f"must be at least {expected} characters long",
        "maxLength": lambda: f"must be at most {expected} characters long",
        "pattern": lambda: f"must match the pattern {expected}",
        "const": lambda: f"must be {expected!r}",
        "enum": lambda: f"must be one of {expected!r}",
        "not": lambda: "names a model with its own schema; check its parameters",
    }
    describe = messages.get(str(kind))
    detail = describe() if describe else str(error.message)
    return RequestRejected(422, _clip(f"{field}: {detail}"))


def _types(expected: Any) -> str:
    if isinstance(expected, list):
        return " or ".join(str(t) for t in expected)
    return str(expected)


def _describe_parameter(exc: InvalidParameter) -> str:
    name = getattr(exc, "name", "header")
    cause = exc.__cause__
    errors: list[Any] = list(cause.schema_errors) if isinstance(cause, InvalidSchemaValue) else []
    if name == "Idempotency-Key":
        return (
            "Idempotency-Key: must be 1 to 255 visible ASCII characters (a UUID is a good choice)"
        )
    detail = errors[0].message if errors else str(exc)
    return _clip(f"{name}: {detail}")

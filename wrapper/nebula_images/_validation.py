"""Client-side checks of a generation request, read generically from the per-model rules.

Every failure is a ValidationError naming the field and the fix, raised before any
request is sent. The rules come from the spec (``_models_table``): types, bounds, enums,
multiples, required parameters and the ones that go together. The result is the JSON
body to send (only what the caller chose, plus a drawn seed, see ``prepare_body``) and
the parameters to report on the result (without image blobs).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from ._config import is_visible_ascii
from ._encoding import encode_input_image
from ._errors import ValidationError
from ._models_table import (
    GENERIC,
    MODEL_NAME,
    ModelRules,
    ParameterRule,
    number_text,
    resolve_model,
    rules_for,
)

__all__ = ["PreparedBody", "check_idempotency_key", "prepare_body"]

_SIDES = ("width", "height")


@attrs.frozen
class PreparedBody:
    """A checked request: the JSON body, the model's rules and the reportable parameters."""

    body: dict[str, Any] = attrs.field(repr=False)
    rules: ModelRules
    parameters: dict[str, Any]


def _brief(value: object) -> str:
    # repr() of an int over 4300 digits raises ValueError; huge values are clipped.
    try:
        text = repr(value)
    except ValueError:
        return "a huge integer"
    return text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"


def _range(rule: ParameterRule) -> str:
    low, high = rule.minimum, rule.maximum
    if low is not None and high is not None:
        return f"pass a value from {number_text(low)} to {number_text(high)}"
    if low is not None:
        return f"pass a value of at least {number_text(low)}"
    return f"pass a value of at most {number_text(high or 0)}"


def _check_number(rule: ParameterRule, value: object, model: ModelRules) -> int | float:
    field = rule.name
    integer = rule.type == "integer"
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, f"must be {kind}, got {type(value).__name__}", f"pass {kind}")
    # NaN and infinity are not JSON numbers (and int() of them raises).
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(field, f"must be a finite number, got {value!r}", _range(rule))
    if integer and not isinstance(value, int):
        if value != int(value):
            raise ValidationError(field, f"must be an integer, got {value!r}", f"pass {int(value)}")
        value = int(value)
    if (rule.minimum is not None and value < rule.minimum) or (
        rule.maximum is not None and value > rule.maximum
    ):
        raise ValidationError(field, f"{_brief(value)} is out of range", _range(rule))
    step = rule.multiple_of
    if step and value % step:
        lower = value - value % step
        low = max(lower, rule.minimum) if rule.minimum is not None else lower
        raise ValidationError(
            field,
            f"{number_text(value)} is not a multiple of {number_text(step)}"
            + (f" (required by {model.name})" if model.known else ""),
            f"pass {number_text(low)} or {number_text(lower + step)}",
        )
    return value


def _check_text(rule: ParameterRule, value: object) -> str:
    field = rule.name
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, got {type(value).__name__}", "pass text")
    low, high = rule.min_length or 0, rule.max_length
    if len(value) < low or (high is not None and len(value) > high):
        limits = f"{low} to {high}" if high is not None else f"at least {low}"
        raise ValidationError(field, f"has {len(value)} characters", f"pass {limits} characters")
    try:
        # The body is sent as UTF-8: an unpaired surrogate cannot be encoded.
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            field,
            f"has an unpaired surrogate at position {exc.start} (not valid Unicode)",
            "pass valid Unicode text (e.g. decode input files with errors='replace')",
        ) from None
    if rule.pattern is not None and not re.search(rule.pattern, value):
        if not value.strip():
            fix = "describe the image to generate" if field == "prompt" else "pass some text"
            raise ValidationError(field, "is blank", fix)
        raise ValidationError(
            field, f"does not match the pattern {rule.pattern!r}", "pass text that matches it"
        )
    return value


def _check_enum(rule: ParameterRule, value: object, model: ModelRules) -> object:
    assert rule.enum is not None
    # bool is an int in Python but never equal to a JSON enum's number for the server.
    if isinstance(value, bool) or value not in rule.enum:
        allowed = ", ".join(repr(choice) for choice in rule.enum)
        who = f"model {model.name}" if model.known else "the API"
        raise ValidationError(
            rule.name, f"{_brief(value)} is not a value {who} takes", f"pass one of {allowed}"
        )
    return value


def _check_value(rule: ParameterRule, value: object, model: ModelRules) -> object:
    if rule.enum is not None:
        return _check_enum(rule, value, model)
    if rule.type in ("integer", "number"):
        return _check_number(rule, value, model)
    return _check_text(rule, value)


def check_idempotency_key(key: str) -> str:
    """An Idempotency-Key as the spec allows: 1-255 visible ASCII characters."""
    if not isinstance(key, str) or not 1 <= len(key) <= 255:
        raise ValidationError(
            "idempotency_key",
            "must be a string of 1 to 255 characters",
            "pass e.g. str(uuid.uuid4())",
        )
    if not is_visible_ascii(key):
        raise ValidationError(
            "idempotency_key",
            "contains spaces or non-ASCII characters",
            "use visible ASCII only, e.g. a UUID",
        )
    return key


def _check_presence(given: Mapping[str, object], rules: ModelRules) -> None:
    name = rules.name
    for field in given:
        if field not in rules.fields:
            takes = ", ".join(sorted(rules.parameters - {"prompt"}))
            raise ValidationError(
                field,
                f"model {name} does not take this parameter",
                f"remove {field}= (it takes: {takes}) or choose a model that does",
            )
    for field in sorted(rules.required - set(given) - {"prompt"}):
        what = " (a path, bytes or a PIL image)" if rules.fields[field].type == "image" else ""
        raise ValidationError(field, f"model {name} requires it", f"pass {field}={what}")
    for field, others in rules.together.items():
        for other in others:
            if field in given and other not in given:
                raise ValidationError(
                    other, f"{field} and {other} go together", f"pass {other}= as well"
                )


def _check_input_size(
    size: tuple[int, int], given: Mapping[str, object], rules: ModelRules, field: str
) -> None:
    """A side left out takes the input picture's (the server's behaviour for inpainting,
    assumed): it must then meet the side's rule, or the server silently resizes."""
    for axis, side in zip(_SIDES, size, strict=True):
        rule = rules.fields.get(axis)
        if axis in given or rule is None or not rule.multiple_of:
            continue
        step = int(rule.multiple_of)
        if side % step:
            lower = max(side - side % step, int(rule.minimum or step))
            raise ValidationError(
                field,
                f"is {size[0]}x{size[1]}; with no {axis}= the output keeps its {axis} {side}, "
                f"not a multiple of {step} (required by {rules.name})",
                f"pass {axis}={lower} or {axis}={side - side % step + step}, "
                f"or an input whose sides are multiples of {step}",
            )


def prepare_body(
    *, prompt: object, model: object, parameters: Mapping[str, object], idempotency_key: str
) -> PreparedBody:
    """Check a generation's arguments against the model's rules and build the body.

    ``parameters`` maps every parameter name of the spec to the caller's value, None
    for "not given". Only given values are sent, except ``seed``: a listed model that
    takes one gets a seed drawn here (uniform over 0..maximum), so the result's seed
    always reproduces the image; an explicit -1 is sent as is. The seed is drawn from
    ``idempotency_key`` (a random UUID unless the caller chose one), so repeating a call
    with its key sends the same body: a server that honours the key answers with the
    first result instead of refusing a changed body.
    """
    # Sent exactly as given (after alias resolution): the spec accepts any other id
    # (OtherModelRequest), so stripping would turn " x" into "x" behind the caller's back.
    name = resolve_model(_check_text(MODEL_NAME, model))
    rules = rules_for(name)
    body: dict[str, Any] = {
        "model_name": name,
        "prompt": _check_text(rules.fields.get("prompt", GENERIC.fields["prompt"]), prompt),
    }
    given = {field: value for field, value in parameters.items() if value is not None}
    _check_presence(given, rules)
    images: dict[str, object] = {}
    for field, rule in rules.fields.items():
        if field not in given:
            continue
        if rule.type == "image":
            images[field] = given[field]  # encoded below, once every cheap check passed
        else:
            body[field] = _check_value(rule, given[field], rules)

    first_size: tuple[int, int] | None = None
    first_field = ""
    for field, value in images.items():
        body[field], size = encode_input_image(value, field)
        if size is None:
            continue
        if first_size is None:
            first_size, first_field = size, field
            if rules.known:
                _check_input_size(size, given, rules, field)
        elif size != first_size:
            raise ValidationError(
                field,
                f"is {size[0]}x{size[1]}, the {first_field} is {first_size[0]}x{first_size[1]}",
                f"pass a {field} of the same size as the {first_field}",
            )

    seed = rules.fields.get("seed")
    if seed is not None and rules.known and "seed" not in given:
        high = int(seed.maximum) if seed.maximum is not None else 2**32 - 1
        body["seed"] = _seed_from(idempotency_key, high)

    reported = {key: value for key, value in body.items() if key not in images}
    return PreparedBody(body=body, rules=rules, parameters=reported)


def _seed_from(idempotency_key: str, maximum: int) -> int:
    """A seed in 0..maximum drawn from the key: uniform when the key is random (64 bits
    of its SHA-256, so the modulo bias is below 2**-31), the same for the same key."""
    import hashlib  # loaded on the first drawn seed, not at import

    digest = hashlib.sha256(idempotency_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % (maximum + 1)

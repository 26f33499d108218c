"""Client-side checks of a generation request, from the per-model table.

Every failure is a ValidationError naming the field and the fix, raised before any
request is sent. The result is the JSON body to send (defaults filled in for a known
model) plus the parameters to report on the result (without image blobs).
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from ._encoding import ImageInput, encode_input_image
from ._errors import ValidationError
from ._models_table import (
    BOUNDS,
    MODEL_NAME_MAX_CHARS,
    PROMPT_MAX_CHARS,
    ModelRules,
    rules_for,
)

__all__ = ["PreparedBody", "check_idempotency_key", "is_visible_ascii", "prepare_body"]

_INTEGER_FIELDS = ("num_steps", "width", "height", "seed")


@attrs.frozen
class PreparedBody:
    """A checked request: the JSON body, the model's rules and the reportable parameters."""

    body: dict[str, Any] = attrs.field(repr=False)
    rules: ModelRules
    parameters: dict[str, Any]


def _show(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def _brief(value: int | float) -> str:
    # repr() of an int over 4300 digits raises ValueError; huge values are clipped.
    try:
        text = repr(value)
    except ValueError:
        return "a huge integer"
    return text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"


def _check_number(field: str, value: object, integer: bool) -> int | float:
    kind = "an integer" if integer else "a number"
    bound = BOUNDS[field]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, f"must be {kind}, got {type(value).__name__}", f"pass {kind}")
    # NaN and infinity are not JSON numbers (and int() of them raises).
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(
            field,
            f"must be a finite number, got {value!r}",
            f"pass a value from {_show(bound.minimum)} to {_show(bound.maximum)}",
        )
    if integer and not isinstance(value, int):
        if value != int(value):
            raise ValidationError(field, f"must be an integer, got {value!r}", f"pass {int(value)}")
        value = int(value)
    if not bound.minimum <= value <= bound.maximum:
        raise ValidationError(
            field,
            f"{_brief(value)} is out of range",
            f"pass a value from {_show(bound.minimum)} to {_show(bound.maximum)}",
        )
    return value


def _check_text(field: str, value: object, *, max_chars: int, min_chars: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, got {type(value).__name__}", "pass text")
    if not min_chars <= len(value) <= max_chars:
        raise ValidationError(
            field,
            f"has {len(value)} characters",
            f"pass {min_chars} to {max_chars} characters",
        )
    try:
        # The body is sent as UTF-8: an unpaired surrogate cannot be encoded.
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            field,
            f"has an unpaired surrogate at position {exc.start} (not valid Unicode)",
            "pass valid Unicode text (e.g. decode input files with errors='replace')",
        ) from None
    return value


def is_visible_ascii(text: str) -> bool:
    """True when every character is printable ASCII other than space (a header token)."""
    return all("!" <= ch <= "~" for ch in text)


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


def prepare_body(
    *,
    prompt: object,
    model: object,
    options: dict[str, Any],
    image: ImageInput | None,
    mask: ImageInput | None,
) -> PreparedBody:
    """Check a generation's arguments against the model's rules and build the body."""
    # Sent exactly as given: the spec accepts any other id (OtherModelRequest), so
    # stripping would turn " x" into "x" (or " " into the invalid "") behind the caller's back.
    name = _check_text("model", model, max_chars=MODEL_NAME_MAX_CHARS, min_chars=1)
    rules = rules_for(name)
    body: dict[str, Any] = {
        "model_name": name,
        "prompt": _check_text("prompt", prompt, max_chars=PROMPT_MAX_CHARS, min_chars=1),
    }
    if not body["prompt"].strip():
        raise ValidationError("prompt", "is blank", "describe the image to generate")

    given = {field: value for field, value in options.items() if value is not None}
    if image is not None:
        given["image"] = image
    if mask is not None:
        given["mask"] = mask
    for field in given:
        if field not in rules.parameters:
            takes = ", ".join(sorted(rules.parameters - {"prompt"}))
            raise ValidationError(
                field,
                f"model {name} does not take this parameter",
                f"remove {field}= (it takes: {takes}) or choose a model that does",
            )
    for field in sorted(rules.required - set(given) - {"prompt"}):
        raise ValidationError(
            field, f"model {name} requires it", f"pass {field}= (a path, bytes or a PIL image)"
        )
    if ("image" in given) != ("mask" in given):
        missing = "mask" if "image" in given else "image"
        raise ValidationError(missing, "image and mask go together", f"pass {missing}= as well")

    for field in _INTEGER_FIELDS:
        if field in given:
            body[field] = _check_number(field, given[field], integer=True)
    if "guidance_scale" in given:
        body["guidance_scale"] = _check_number("guidance_scale", given["guidance_scale"], False)
    if "negative_prompt" in given:
        body["negative_prompt"] = _check_text(
            "negative_prompt", given["negative_prompt"], max_chars=PROMPT_MAX_CHARS, min_chars=0
        )

    input_size: tuple[int, int] | None = None
    if "image" in given:
        body["image"], input_size = encode_input_image(given["image"], "image")
        body["mask"], mask_size = encode_input_image(given["mask"], "mask")
        if input_size and mask_size and input_size != mask_size:
            raise ValidationError(
                "mask",
                f"is {mask_size[0]}x{mask_size[1]}, the image is {input_size[0]}x{input_size[1]}",
                "pass a mask of the same size as the image",
            )

    # Defaults of the table, so the result reports exactly what ran. An inpainting
    # call without a size keeps the input picture's size when the model allows it.
    for field, value in rules.defaults.items():
        if field in body:
            continue
        if field in ("width", "height") and input_size and rules.kind == "inpainting":
            side = input_size[0] if field == "width" else input_size[1]
            if (
                side % rules.size_multiple == 0
                and BOUNDS[field].minimum <= side <= BOUNDS[field].maximum
            ):
                value = side
        body[field] = value

    for field in ("width", "height"):
        if field in body and body[field] % rules.size_multiple:
            value = body[field]
            lower = value - value % rules.size_multiple
            raise ValidationError(
                field,
                f"{value} is not a multiple of {rules.size_multiple}"
                + (f" (required by {name})" if rules.known else ""),
                f"pass {max(lower, int(BOUNDS[field].minimum))} or {lower + rules.size_multiple}",
            )

    parameters = {key: value for key, value in body.items() if key not in ("image", "mask")}
    return PreparedBody(body=body, rules=rules, parameters=parameters)

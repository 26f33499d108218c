"""Reading an answer into a result: a generation's images, the model list.

The body was read by ``_body`` (capped, its images decoded out of it); here it is parsed
once, typed by the generated ``parse_document``, and every field the wrapper keeps is
checked against the spec's types. What breaks the contract becomes a typed error
(``_classify``); everything kept of the answer passes through the ``Redactor``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ._body import extract_images, parse_json
from ._call import Answer, Call, Outcome, Redactor
from ._classify import Classifier
from ._encoding import decode_base64_strict, sniff_format
from ._errors import ResponseValidationError

if TYPE_CHECKING:
    from nebula_images_api.models import (
        GeneratedImage,
        ImageGenerationResponse,
        ServerlessModel,
    )

    from ._images import GenerationResult, ModelInfo

__all__ = ["MAX_IMAGES_PER_CALL", "ResultReader", "finish_body"]

# Assumption (not in the vendor's pages): a generation answers with a handful of images
# at most. The request has no image-count parameter and the reference page speaks of
# "the generated image"; its `index` field allows for more than one, so a few are
# accepted and more is off contract (a hostile answer held 1,000,000 images).
MAX_IMAGES_PER_CALL = 8
# What the generated models raise for a document of the wrong shape.
_PARSE_ERRORS = (KeyError, TypeError, ValueError, RecursionError)
_T = TypeVar("_T")


def finish_body(call: Call, answer: Answer, body: bytearray) -> None:
    """Put the body read into ``answer``: a 200 generation's images decoded out of it."""
    if call.generation and answer.status == 200:
        answer.body, answer.images = extract_images(body, MAX_IMAGES_PER_CALL)
    else:
        answer.body = bytes(body)


# The generated models' from_dict copies values without checking their types, so the
# fields the wrapper reads go through these readers: a value the spec does not allow
# becomes a ResponseValidationError instead of a result carrying the wrong type.


class _OffContractError(ValueError):
    """A field of an answer breaks the type or minimum the spec gives it (internal)."""

    def __init__(self, where: str, value: object, expected: str) -> None:
        # Numbers are shown, anything else only by its type: a string could be the
        # echoed key and a container could be deep or huge.
        shown = (
            repr(value)[:40]
            if value is None or isinstance(value, bool | int | float)
            else f"a {type(value).__name__}"
        )
        super().__init__(f"{where} is {shown}, expected {expected}")


def _text(value: object, where: str) -> str:
    if isinstance(value, str):
        return value
    raise _OffContractError(where, value, "a string")


def _integer(value: object, where: str, *, minimum: int | None = None) -> int:
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (minimum is None or value >= minimum)
    ):
        return value
    bound = "" if minimum is None else f" >= {minimum}"
    raise _OffContractError(where, value, f"an integer{bound}")


def _number(value: object, where: str, *, minimum: float | None = None) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer past the float range
            number = math.inf
        if math.isfinite(number) and (minimum is None or number >= minimum):
            return number
    bound = "" if minimum is None else f" >= {minimum:g}"
    raise _OffContractError(where, value, f"a finite number{bound}")


def _optional(read: Callable[[object, str], _T], value: object, where: str) -> _T | None:
    """``read(value)``, or None for an absent field or a null."""
    from nebula_images_api.types import Unset  # loaded with the models by then

    return None if value is None or isinstance(value, Unset) else read(value, where)


def _image_fields(item: GeneratedImage, where: str) -> tuple[int, float, int | None]:
    """``index``, ``timings.inference`` and ``seed`` of one image of a 200, checked."""
    _text(item.b64_json, f"{where}.b64_json")  # decoded later (mostly by the body reader)
    return (
        _integer(item.index, f"{where}.index", minimum=0),
        _number(item.timings.inference, f"{where}.timings.inference", minimum=0),
        # A null seed reads as absent: the vendor does not document the field and the
        # spec says clients must not require it.
        _optional(_integer, item.seed, f"{where}.seed"),
    )


def _model_info(model: ServerlessModel, where: str, redact: Callable[[str], str]) -> ModelInfo:
    """One entry of the model list, checked, its text passed through ``redact``."""
    from ._images import ModelInfo  # result classes load with the generated ones

    def text(value: object, path: str) -> str:
        return redact(_text(value, path))

    def optional(read: Callable[[object, str], _T], field: str) -> _T | None:
        return _optional(read, getattr(model, field), f"{where}.{field}")

    return ModelInfo(
        name=text(model.model_name, f"{where}.model_name"),
        type=text(model.model_type, f"{where}.model_type"),
        alias=optional(text, "model_alias"),
        description=optional(text, "description"),
        price=optional(_number, "price"),
        context_length=optional(_integer, "context_length"),
        max_completion_tokens=optional(_integer, "max_completion_tokens"),
        huggingface_url=optional(text, "huggingface_url"),
    )


class ResultReader:
    """Turns an answer into the call's result, or raises its typed error."""

    def __init__(self, redactor: Redactor, classifier: Classifier) -> None:
        self._redactor = redactor
        self._errors = classifier

    def read(self, call: Call, answer: Answer, request_id: str | None) -> Outcome:
        """The result of an answer, or its typed error; the body is parsed once here."""
        from nebula_images_api.models import (
            GenerationFailure,
            ImageGenerationResponse,
            ModelListResponse,
        )

        status = answer.status
        assert status is not None
        if status != 200:
            raise self._errors.status(call, answer, request_id)
        try:
            document = parse_json(answer.body)
        except ValueError as exc:
            raise self._errors.off_contract(
                call,
                f"the response does not match the API's contract (not JSON: {exc})"[:300],
                request_id,
            ) from None
        try:
            parsed = call.parse(document)
        except _PARSE_ERRORS as exc:
            # The generated models read a document of the wrong shape; the message may
            # quote the answer, so it is redacted and the exception not chained.
            problem = self._redactor.value(f"{type(exc).__name__}: {exc}")[:200]
            if isinstance(document, dict) and document.get("status") == "failed":
                raise self._errors.failed(call, document, request_id) from None
            raise self._errors.off_contract(
                call, f"the response does not match the API's contract ({problem})", request_id
            ) from None
        if isinstance(parsed, ModelListResponse):
            if parsed.status == "failed":
                raise self._errors.failed(call, parsed.to_dict(), request_id)
            try:
                return [
                    _model_info(model, f"data.models[{i}]", self._redactor.text)
                    for i, model in enumerate(parsed.data.models)
                ]
            except _OffContractError as exc:
                raise self._errors.off_contract(
                    call, f"the response breaks the API's contract: {exc}", request_id
                ) from None
        if isinstance(parsed, GenerationFailure):  # the spec's failure body on a 200
            raise self._errors.failed(call, parsed.to_dict(), request_id)
        if not isinstance(parsed, ImageGenerationResponse):
            raise self._errors.off_contract(
                call, "the response has an unexpected shape", request_id
            )
        return self._generation(call, parsed, answer.images, request_id)

    def _generation(
        self,
        call: Call,
        parsed: ImageGenerationResponse,
        decoded_list: list[bytes | ValueError] | None,
        request_id: str | None,
    ) -> GenerationResult:
        from ._images import GenerationResult, Image  # loaded with the generated models

        def invalid(problem: str) -> ResponseValidationError:
            return self._errors.off_contract(call, problem, request_id)

        assert call.idempotency_key is not None and call.prepared is not None
        if not parsed.data:
            raise invalid("the answer has no images")
        try:
            model = self._redactor.text(_text(parsed.model, "model"))
            message = self._redactor.text(_text(parsed.message, "message"))
            checked = [_image_fields(item, f"data[{i}]") for i, item in enumerate(parsed.data)]
        except _OffContractError as exc:
            raise invalid(f"the response breaks the API's contract: {exc}") from None
        if decoded_list is not None and len(decoded_list) != len(checked):
            # The reader decodes the b64_json strings in body order: one per image,
            # or the decoded bytes could land on the wrong image.
            raise invalid(
                f"the response breaks the API's contract: {len(decoded_list)} b64_json "
                f"strings for {len(checked)} images"
            )
        requested_seed = call.prepared.parameters.get("seed")
        images: list[Image] = []
        for position, (item, (index, inference, seed)) in enumerate(
            zip(parsed.data, checked, strict=True)
        ):
            decoded: bytes | ValueError
            if decoded_list is not None:
                decoded = decoded_list[position]
            else:
                try:
                    decoded = decode_base64_strict(item.b64_json)
                except ValueError as exc:
                    decoded = exc
            item.b64_json = ""  # drop the base64 text as soon as it is decoded
            if isinstance(decoded, ValueError):
                raise invalid(f"image {index}: b64_json is not valid base64 ({decoded})")
            fmt = sniff_format(decoded)
            if fmt is None:
                raise invalid(f"image {index}: the decoded bytes are not a PNG, JPEG or WebP file")
            images.append(
                Image(
                    data=decoded,
                    format=fmt,
                    index=index,
                    inference_seconds=inference,
                    seed=seed if seed is not None else requested_seed,
                    request_id=request_id,
                    idempotency_key=call.idempotency_key,
                )
            )
        return GenerationResult(
            images=tuple(sorted(images, key=lambda image: image.index)),
            model=model,
            request_id=request_id,
            idempotency_key=call.idempotency_key,
            retries=call.attempts - 1,
            parameters=dict(call.prepared.parameters),
            message=message,
            elapsed_seconds=call.budget.elapsed(),
        )

"""Every error class, produced from real (MockTransport) responses, plus the tree itself."""

from __future__ import annotations

import base64
import inspect
import json
import pickle
from typing import Any

import httpx
import pytest
from _wrapper_helpers import BASE, PNG, generation_body

import nebula_images
from nebula_images import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    Client,
    GenerationFailedError,
    InternalServerError,
    NebulaError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
    ValidationError,
    _errors,
)

KEY = "ak_errors_test_key"


def client_for(handler: Any, **kwargs: Any) -> Client:
    kwargs.setdefault("max_retries", 0)
    return Client(
        api_key=KEY,
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        **kwargs,
    )


def answer(status: int, body: Any = None, *, content: bytes | None = None, **headers: str) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        h = {"X-Request-ID": "req-err", **{k.replace("_", "-"): v for k, v in headers.items()}}
        if content is not None:
            return httpx.Response(status, content=content, headers=h)
        return httpx.Response(status, json=body, headers=h)

    return handler


def error_body(message: str) -> dict[str, Any]:
    return {"message": message, "status": "failed", "data": None}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (413, BadRequestError),
        (415, BadRequestError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
        # undocumented statuses: the generated client returns None for these
        (409, APIStatusError),
        (418, APIStatusError),
        (507, InternalServerError),
        (302, APIStatusError),
    ],
)
def test_status_maps_to_error_class(status: int, cls: type[APIStatusError]) -> None:
    with (
        client_for(answer(status, error_body(f"boom {status}"))) as client,
        pytest.raises(cls) as info,
    ):
        client.images.generate("x")
    error = info.value
    assert type(error) is cls
    assert error.status == status and error.request_id == "req-err"
    assert error.message.startswith(f"boom {status}")
    assert error.body == error_body(f"boom {status}")
    assert error.idempotency_key and error.idempotency_key in str(error)


def test_401_message_names_the_env_var() -> None:
    with (
        client_for(answer(401, error_body("Invalid or missing API key"))) as client,
        pytest.raises(AuthenticationError, match="NEBULA_API_KEY"),
    ):
        client.models.list()


def test_ambiguous_status_says_it_may_have_been_billed() -> None:
    with (
        client_for(answer(500, error_body("Internal server error"))) as client,
        pytest.raises(InternalServerError) as info,
    ):
        client.images.generate("x", idempotency_key="key-500")
    assert info.value.may_have_been_billed
    assert "may have run and been billed" in str(info.value) and "key-500" in str(info.value)


def test_never_started_status_is_not_billed() -> None:
    with (
        client_for(answer(429, error_body("overloaded"), Retry_After="1")) as client,
        pytest.raises(RateLimitError) as info,
    ):
        client.images.generate("x")
    assert not info.value.may_have_been_billed and info.value.retry_after == 1


def test_non_json_error_body_keeps_status_and_text() -> None:
    handler = answer(502, content=b"<html>Bad Gateway from proxy</html>")
    with client_for(handler) as client, pytest.raises(InternalServerError) as info:
        client.images.generate("x")
    assert info.value.status == 502 and "Bad Gateway from proxy" in info.value.message


def test_empty_error_body_uses_reason_phrase() -> None:
    with (
        client_for(answer(404, content=b"")) as client,
        pytest.raises(NotFoundError, match="Not Found"),
    ):
        client.images.generate("x")


def test_200_with_status_failed_is_an_error() -> None:
    body = {
        "model": "m",
        "object": "list",
        "data": [],
        "message": "worker crashed",
        "status": "failed",
    }
    with (
        client_for(answer(200, body)) as client,
        pytest.raises(GenerationFailedError, match="worker crashed") as info,
    ):
        client.images.generate("x")
    assert info.value.status == 200


def test_200_failed_with_error_shape_is_an_error() -> None:
    with (
        client_for(answer(200, error_body("no capacity"))) as client,
        pytest.raises(GenerationFailedError, match="no capacity"),
    ):
        client.images.generate("x")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (generation_body(b64="not base64!!"), "not valid base64"),
        (
            generation_body(b64=base64.b64encode(PNG).decode().rstrip("=")),
            "not valid base64",
        ),  # no padding
        (generation_body(b"GIF89a...."), "not a PNG, JPEG or WebP"),
        ({**generation_body(), "data": []}, "no images"),
        ({"model": "m"}, "contract"),
    ],
)
def test_bad_200_bodies_raise_response_validation_error(body: dict[str, Any], match: str) -> None:
    with (
        client_for(answer(200, body)) as client,
        pytest.raises(ResponseValidationError, match=match) as info,
    ):
        client.images.generate("x")
    assert info.value.request_id == "req-err" and info.value.idempotency_key


def test_a_b64_json_key_outside_the_images_is_refused() -> None:
    # The transport decodes b64_json strings in body order; an extra one would shift
    # the decoded images onto the wrong items.
    other = base64.b64encode(PNG + b"other").decode()
    body = {"b64_json": other, **generation_body()}
    with (
        client_for(answer(200, body)) as client,
        pytest.raises(ResponseValidationError, match="2 b64_json strings for 1 images"),
    ):
        client.images.generate("x")


def test_invalid_json_200_raises_response_validation_error() -> None:
    with (
        client_for(answer(200, content=b'{"model": "m", "data": [')) as client,
        pytest.raises(ResponseValidationError, match="contract"),
    ):
        client.images.generate("x")


def test_body_over_the_cap_raises() -> None:
    big = generation_body(PNG * 1000)
    with (
        client_for(answer(200, big), max_response_bytes=10_000) as client,
        pytest.raises(ResponseValidationError, match="max_response_bytes"),
    ):
        client.images.generate("x")


def test_chunked_body_over_the_cap_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"{" + b" " * 6000, b" " * 6000 + b"}"]))

    with (
        client_for(handler, max_response_bytes=10_000) as client,
        pytest.raises(ResponseValidationError, match="max_response_bytes"),
    ):
        client.images.generate("x")


def test_connect_error_is_connection_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with (
        client_for(handler) as client,
        pytest.raises(APIConnectionError, match="could not connect") as info,
    ):
        client.images.generate("x")
    assert type(info.value) is APIConnectionError and not info.value.may_have_been_billed


def test_read_timeout_is_timeout_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with client_for(handler) as client, pytest.raises(APITimeoutError) as info:
        client.images.generate("x")
    assert isinstance(info.value, APIConnectionError) and info.value.may_have_been_billed


def test_reset_after_send_is_ambiguous() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected", request=request)

    with client_for(handler) as client, pytest.raises(APIConnectionError) as info:
        client.images.generate("x")
    assert info.value.may_have_been_billed


def test_models_list_errors_too() -> None:
    with (
        client_for(answer(403, error_body("Insufficient balance"))) as client,
        pytest.raises(PermissionDeniedError, match="Insufficient balance"),
    ):
        client.models.list()
    with client_for(answer(200, content=b"nope")) as client, pytest.raises(ResponseValidationError):
        client.models.list()


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("model_type", 5, "data.models[0].model_type is 5, expected a string"),
        ("model_name", None, "data.models[0].model_name is None, expected a string"),
        ("price", "0.01", "data.models[0].price is a str, expected a finite number"),
        ("context_length", 8.5, "data.models[0].context_length is 8.5, expected an integer"),
        ("model_alias", ["a"], "data.models[0].model_alias is a list, expected a string"),
    ],
)
def test_models_list_off_contract_field_is_response_validation_error(
    field: str, value: Any, shown: str
) -> None:
    model = {"model_name": "m/img", "model_type": "Image", "price": 0.01, field: value}
    body = {"data": {"models": [model]}, "message": "ok", "status": "success"}
    with client_for(answer(200, body)) as client, pytest.raises(ResponseValidationError) as info:
        client.models.list()
    assert shown in info.value.message and "contract" in info.value.message
    assert not info.value.may_have_been_billed and info.value.request_id == "req-err"


def test_models_list_nullable_fields_read_as_none() -> None:
    model = {"model_name": "m/txt", "model_type": "Text", "price": None, "context_length": 8}
    body = {"data": {"models": [model]}, "message": "ok", "status": "success"}
    with client_for(answer(200, body)) as client:
        (info,) = client.models.list()
    assert info.price is None and info.alias is None and info.context_length == 8


@pytest.mark.parametrize("message", [5, ["a"], {"k": "v"}, None, ""])
def test_error_message_that_is_no_text_falls_back_to_the_reason(message: Any) -> None:
    body = {"message": message, "status": "failed"}
    with client_for(answer(422, body)) as client, pytest.raises(UnprocessableEntityError) as info:
        client.images.generate("x")
    assert info.value.message == "Unprocessable Entity" and info.value.body == body
    failed = {**generation_body(), "status": "failed", "message": message}
    with client_for(answer(200, failed)) as client, pytest.raises(GenerationFailedError) as info2:
        client.images.generate("x")
    assert str(info2.value).startswith("HTTP 200: the server reported a failure")


def test_tree_and_docstrings() -> None:
    classes = [
        obj for _, obj in inspect.getmembers(_errors, inspect.isclass) if issubclass(obj, Exception)
    ]
    assert len(classes) == 15
    for cls in classes:
        assert issubclass(cls, NebulaError)
        doc = (cls.__doc__ or "").strip()
        assert doc and "\n" not in doc, cls
        assert cls.__name__ in (_errors.__doc__ or ""), cls
        assert getattr(nebula_images, cls.__name__) is cls
    assert issubclass(ValidationError, ValueError)
    assert issubclass(APITimeoutError, APIConnectionError)
    for cls in (BadRequestError, RateLimitError, InternalServerError, GenerationFailedError):
        assert issubclass(cls, APIStatusError) and issubclass(cls, APIError)


def test_errors_pickle_with_their_attributes() -> None:
    error = RateLimitError(
        "slow down", status=429, request_id="r", idempotency_key="k", retry_after=3
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RateLimitError and copy.status == 429 and copy.retry_after == 3
    assert str(copy) == str(error)


def test_validation_error_names_field_and_fix() -> None:
    error = ValidationError("width", "is too big", "pass 1024")
    assert error.field == "width" and error.fix == "pass 1024"
    assert str(error) == "width: is too big. Fix: pass 1024"


def test_error_json_scrubbed_of_key() -> None:
    handler = answer(401, error_body(f"key {KEY} is unknown"))
    with client_for(handler) as client, pytest.raises(AuthenticationError) as info:
        client.images.generate("x")
    assert KEY not in str(info.value) and KEY not in json.dumps(info.value.body)


def test_models_list_200_failed_is_an_error() -> None:
    body = {"data": {"models": []}, "message": "catalogue offline", "status": "failed"}
    with client_for(answer(200, body)) as client, pytest.raises(GenerationFailedError) as info:
        client.models.list()
    assert "catalogue offline" in str(info.value) and info.value.body["status"] == "failed"

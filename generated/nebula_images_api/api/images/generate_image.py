from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.flux_fill_request import FluxFillRequest
from ...models.flux_schnell_request import FluxSchnellRequest
from ...models.generation_failure import GenerationFailure
from ...models.image_generation_response import ImageGenerationResponse
from ...models.other_model_request import OtherModelRequest
from ...models.sdxl_request import SDXLRequest
from ...models.seedream_request import SeedreamRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: FluxFillRequest
    | FluxSchnellRequest
    | OtherModelRequest
    | SDXLRequest
    | SeedreamRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/images/generation",
    }

    if (
        isinstance(body, SDXLRequest)
        or isinstance(body, FluxSchnellRequest)
        or isinstance(body, SeedreamRequest)
        or isinstance(body, FluxFillRequest)
    ):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | GenerationFailure | ImageGenerationResponse | None:
    if response.status_code == 200:

        def _parse_response_200(
            data: object,
        ) -> GenerationFailure | ImageGenerationResponse:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = ImageGenerationResponse.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = GenerationFailure.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if response.status_code == 502:
        response_502 = Error.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = Error.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = Error.from_dict(response.json())

        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | GenerationFailure | ImageGenerationResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FluxFillRequest
    | FluxSchnellRequest
    | OtherModelRequest
    | SDXLRequest
    | SeedreamRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | GenerationFailure | ImageGenerationResponse]:
    """Generate images

     Runs one generation with the chosen model and returns the images base64-encoded
    inside the JSON body. Each successful call is billed (see the model's `price`
    in `GET /serverless/models`). A generation takes seconds (about 13 s for
    FLUX.1 schnell at 1024x1024), so clients should allow a read timeout of
    minutes, not seconds.

    Args:
        idempotency_key (str | Unset):
        body (FluxFillRequest | FluxSchnellRequest | OtherModelRequest | SDXLRequest |
            SeedreamRequest): One generation. Exactly one of the schemas applies, chosen by
            `model_name`: a
            schema per model of the vendor's table, or `OtherModelRequest` for any other id.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | GenerationFailure | ImageGenerationResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: FluxFillRequest
    | FluxSchnellRequest
    | OtherModelRequest
    | SDXLRequest
    | SeedreamRequest,
    idempotency_key: str | Unset = UNSET,
) -> Error | GenerationFailure | ImageGenerationResponse | None:
    """Generate images

     Runs one generation with the chosen model and returns the images base64-encoded
    inside the JSON body. Each successful call is billed (see the model's `price`
    in `GET /serverless/models`). A generation takes seconds (about 13 s for
    FLUX.1 schnell at 1024x1024), so clients should allow a read timeout of
    minutes, not seconds.

    Args:
        idempotency_key (str | Unset):
        body (FluxFillRequest | FluxSchnellRequest | OtherModelRequest | SDXLRequest |
            SeedreamRequest): One generation. Exactly one of the schemas applies, chosen by
            `model_name`: a
            schema per model of the vendor's table, or `OtherModelRequest` for any other id.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | GenerationFailure | ImageGenerationResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FluxFillRequest
    | FluxSchnellRequest
    | OtherModelRequest
    | SDXLRequest
    | SeedreamRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | GenerationFailure | ImageGenerationResponse]:
    """Generate images

     Runs one generation with the chosen model and returns the images base64-encoded
    inside the JSON body. Each successful call is billed (see the model's `price`
    in `GET /serverless/models`). A generation takes seconds (about 13 s for
    FLUX.1 schnell at 1024x1024), so clients should allow a read timeout of
    minutes, not seconds.

    Args:
        idempotency_key (str | Unset):
        body (FluxFillRequest | FluxSchnellRequest | OtherModelRequest | SDXLRequest |
            SeedreamRequest): One generation. Exactly one of the schemas applies, chosen by
            `model_name`: a
            schema per model of the vendor's table, or `OtherModelRequest` for any other id.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | GenerationFailure | ImageGenerationResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: FluxFillRequest
    | FluxSchnellRequest
    | OtherModelRequest
    | SDXLRequest
    | SeedreamRequest,
    idempotency_key: str | Unset = UNSET,
) -> Error | GenerationFailure | ImageGenerationResponse | None:
    """Generate images

     Runs one generation with the chosen model and returns the images base64-encoded
    inside the JSON body. Each successful call is billed (see the model's `price`
    in `GET /serverless/models`). A generation takes seconds (about 13 s for
    FLUX.1 schnell at 1024x1024), so clients should allow a read timeout of
    minutes, not seconds.

    Args:
        idempotency_key (str | Unset):
        body (FluxFillRequest | FluxSchnellRequest | OtherModelRequest | SDXLRequest |
            SeedreamRequest): One generation. Exactly one of the schemas applies, chosen by
            `model_name`: a
            schema per model of the vendor's table, or `OtherModelRequest` for any other id.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | GenerationFailure | ImageGenerationResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed


def build_request(
    *,
    http_client: httpx.Client | httpx.AsyncClient,
    base_url: str,
    timeout: httpx.Timeout | None = None,
    body: FluxFillRequest
    | FluxSchnellRequest
    | OtherModelRequest
    | SDXLRequest
    | SeedreamRequest,
    idempotency_key: str | Unset = UNSET,
) -> httpx.Request:
    """The request that `sync_detailed` sends, built (not sent) by `http_client` for the
    API at `base_url`; `timeout`, when given, applies to this request only.

    For callers that send the request themselves (streamed, with their own auth): the
    httpx client is only read, never changed.
    """
    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )
    kwargs["url"] = base_url.rstrip("/") + kwargs["url"]
    if timeout is not None:
        kwargs["timeout"] = timeout
    return http_client.build_request(**kwargs)


def parse_document(
    *, status_code: int, document: Any
) -> Error | GenerationFailure | ImageGenerationResponse | None:
    """The typed value `sync_detailed` returns as `parsed`, from the JSON `document` of an
    answer with `status_code` that the caller read and parsed itself. None for a status
    the API does not document.

    Raises what the models' `from_dict` raises for a document of the wrong shape
    (KeyError, TypeError, ValueError).
    """
    if status_code == 200:

        def _parse_response_200(
            data: object,
        ) -> GenerationFailure | ImageGenerationResponse:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = ImageGenerationResponse.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = GenerationFailure.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(document)

        return response_200

    if status_code == 400:
        response_400 = Error.from_dict(document)

        return response_400

    if status_code == 401:
        response_401 = Error.from_dict(document)

        return response_401

    if status_code == 403:
        response_403 = Error.from_dict(document)

        return response_403

    if status_code == 404:
        response_404 = Error.from_dict(document)

        return response_404

    if status_code == 409:
        response_409 = Error.from_dict(document)

        return response_409

    if status_code == 413:
        response_413 = Error.from_dict(document)

        return response_413

    if status_code == 415:
        response_415 = Error.from_dict(document)

        return response_415

    if status_code == 422:
        response_422 = Error.from_dict(document)

        return response_422

    if status_code == 429:
        response_429 = Error.from_dict(document)

        return response_429

    if status_code == 500:
        response_500 = Error.from_dict(document)

        return response_500

    if status_code == 502:
        response_502 = Error.from_dict(document)

        return response_502

    if status_code == 503:
        response_503 = Error.from_dict(document)

        return response_503

    if status_code == 504:
        response_504 = Error.from_dict(document)

        return response_504

    return None

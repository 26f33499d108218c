from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.model_list_response import ModelListResponse
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/serverless/models",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | ModelListResponse | None:
    if response.status_code == 200:
        response_200 = ModelListResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

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
) -> Response[Error | ModelListResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Error | ModelListResponse]:
    """List serverless models

     Lists every serverless model of the platform, text and embedding models
    included; image models have `model_type: Image`. Decided: treated as free and
    idempotent (the vendor states no price for it), so clients retry it after any
    failure that is not final.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | ModelListResponse]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> Error | ModelListResponse | None:
    """List serverless models

     Lists every serverless model of the platform, text and embedding models
    included; image models have `model_type: Image`. Decided: treated as free and
    idempotent (the vendor states no price for it), so clients retry it after any
    failure that is not final.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | ModelListResponse
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Error | ModelListResponse]:
    """List serverless models

     Lists every serverless model of the platform, text and embedding models
    included; image models have `model_type: Image`. Decided: treated as free and
    idempotent (the vendor states no price for it), so clients retry it after any
    failure that is not final.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | ModelListResponse]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> Error | ModelListResponse | None:
    """List serverless models

     Lists every serverless model of the platform, text and embedding models
    included; image models have `model_type: Image`. Decided: treated as free and
    idempotent (the vendor states no price for it), so clients retry it after any
    failure that is not final.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | ModelListResponse
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed


def build_request(
    *,
    http_client: httpx.Client | httpx.AsyncClient,
    base_url: str,
    timeout: httpx.Timeout | None = None,
) -> httpx.Request:
    """The request that `sync_detailed` sends, built (not sent) by `http_client` for the
    API at `base_url`; `timeout`, when given, applies to this request only.

    For callers that send the request themselves (streamed, with their own auth): the
    httpx client is only read, never changed.
    """
    kwargs = _get_kwargs()
    kwargs["url"] = base_url.rstrip("/") + kwargs["url"]
    if timeout is not None:
        kwargs["timeout"] = timeout
    return http_client.build_request(**kwargs)


def parse_document(
    *, status_code: int, document: Any
) -> Error | ModelListResponse | None:
    """The typed value `sync_detailed` returns as `parsed`, from the JSON `document` of an
    answer with `status_code` that the caller read and parsed itself. None for a status
    the API does not document.

    Raises what the models' `from_dict` raises for a document of the wrong shape
    (KeyError, TypeError, ValueError).
    """
    if status_code == 200:
        response_200 = ModelListResponse.from_dict(document)

        return response_200

    if status_code == 401:
        response_401 = Error.from_dict(document)

        return response_401

    if status_code == 403:
        response_403 = Error.from_dict(document)

        return response_403

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

"""``client.models``: the serverless model catalogue, for both clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from .._client import AsyncClient, Client
    from .._images import ModelInfo

__all__ = ["AsyncModels", "Models"]


class Models:
    """``client.models``: the serverless model catalogue."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> list[ModelInfo]:
        """Every serverless model (text ones too; see ``ModelInfo.is_image_model``)."""
        return cast("list[ModelInfo]", self._client._run(self._client._prepare_list()))


class AsyncModels:
    """``client.models`` of an AsyncClient: the serverless model catalogue."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self) -> list[ModelInfo]:
        """Every serverless model (text ones too; see ``ModelInfo.is_image_model``)."""
        return cast("list[ModelInfo]", await self._client._run(self._client._prepare_list()))

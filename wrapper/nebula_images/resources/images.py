"""``client.images``: generation, one call or a batch, for both clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from .._config import TimeoutArg
from .._encoding import ImageInput
from .._images import GenerationResult

if TYPE_CHECKING:
    from .._batch import BatchError, BatchProgress, BatchSkipped
    from .._client import AsyncClient, Client

__all__ = ["AsyncImages", "Images"]


def _arguments(scope: dict[str, Any]) -> dict[str, Any]:
    """A method's arguments from its ``locals()`` (taken first thing): without ``self``,
    ``**defaults`` spread. Lets the sync and async namespaces share one argument list."""
    arguments = {name: value for name, value in scope.items() if name not in ("self", "defaults")}
    return {**arguments, **scope.get("defaults", {})}


class Images:
    """``client.images``: generation."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        negative_prompt: str | None = None,
        num_steps: int | None = None,
        guidance_scale: float | None = None,
        width: int | None = None,
        height: int | None = None,
        seed: int | None = None,
        image: ImageInput | None = None,
        mask: ImageInput | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutArg = None,
        deadline: float | timedelta | None = None,
        retry_ambiguous: bool | None = None,
    ) -> GenerationResult:
        """Generate images; ``model`` defaults to FLUX.1 schnell. Raises ValidationError
        before sending when a parameter does not suit the model, APIError on failure."""
        call = self._client._prepare_generation(**_arguments(locals()))
        return cast(GenerationResult, self._client._run(call))

    def generate_many(
        self,
        requests: Iterable[Any],
        *,
        concurrency: int = 8,
        fail_fast: bool = False,
        output_dir: str | os.PathLike[str] | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        **defaults: Any,
    ) -> Iterator[GenerationResult | BatchError | BatchSkipped]:
        """Generate one outcome per request on ``concurrency`` threads, in input order
        (see ``nebula_images._batch``: partial failures, resume with ``output_dir``)."""
        from .._batch import generate_many_sync

        return generate_many_sync(
            self._client,
            requests,
            concurrency=concurrency,
            fail_fast=fail_fast,
            output_dir=output_dir,
            on_progress=on_progress,
            defaults=defaults,
        )


class AsyncImages:
    """``client.images`` of an AsyncClient: generation."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        negative_prompt: str | None = None,
        num_steps: int | None = None,
        guidance_scale: float | None = None,
        width: int | None = None,
        height: int | None = None,
        seed: int | None = None,
        image: ImageInput | None = None,
        mask: ImageInput | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutArg = None,  # noqa: ASYNC109 (per-attempt timeout, by design)
        deadline: float | timedelta | None = None,
        retry_ambiguous: bool | None = None,
    ) -> GenerationResult:
        """Generate images; ``model`` defaults to FLUX.1 schnell. Raises ValidationError
        before sending when a parameter does not suit the model, APIError on failure."""
        call = self._client._prepare_generation(**_arguments(locals()))
        return cast(GenerationResult, await self._client._run(call))

    def generate_many(
        self,
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 8,
        fail_fast: bool = False,
        output_dir: str | os.PathLike[str] | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        **defaults: Any,
    ) -> AsyncIterator[GenerationResult | BatchError | BatchSkipped]:
        """``async for outcome in client.images.generate_many(...)``: one outcome per
        request on ``concurrency`` tasks, in input order (see ``nebula_images._batch``)."""
        from .._batch import generate_many_async

        return generate_many_async(
            self._client,
            requests,
            concurrency=concurrency,
            fail_fast=fail_fast,
            output_dir=output_dir,
            on_progress=on_progress,
            defaults=defaults,
        )

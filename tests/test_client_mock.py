"""Integration against the mock server (nebula_mock fixture): every public name, sync and
async, and every error class produced by a real HTTP response."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from nebula_images import (
    APIStatusError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    GenerationFailedError,
    GenerationResult,
    Image,
    InternalServerError,
    ModelInfo,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from nebula_images._models_table import MODELS
from nebula_images.testing import Fault

FILL = "black-forest-labs/FLUX.1-Fill-dev"


def pil_picture(size: tuple[int, int], color: str = "white", mode: str = "RGB") -> Any:
    from PIL import Image as PILImage

    return PILImage.new(mode, size, color)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_sync(nebula_mock: Any, tmp_path: Path, model: str) -> None:
    extra: dict[str, Any] = {}
    if MODELS[model].kind == "inpainting":
        extra = {"image": pil_picture((64, 64)), "mask": pil_picture((64, 64), mode="L")}
    with Client(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        result = client.images.generate("a small boat", model=model, width=64, height=64, **extra)
    assert isinstance(result, GenerationResult) and result.model == model
    image = result.images[0]
    assert isinstance(image, Image) and image.format in {"png", "jpeg", "webp"}
    assert image.size == (64, 64) and image.to_pil().size == (64, 64)
    assert result.request_id and result.idempotency_key
    assert nebula_mock.ledger.entries[0].idempotency_key == result.idempotency_key
    saved = image.save(tmp_path)
    assert saved.read_bytes() == image.data
    assert [p.exists() for p in result.save_all(tmp_path / "all")] == [True] * len(result.images)


async def test_async_generate_and_models(nebula_mock: Any) -> None:
    async with AsyncClient(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        result = await client.images.generate("a fox", width=64, height=64, seed=42)
        models = await client.models.list()
    assert result.images[0].seed == 42 and result.images[0].format == "png"
    assert all(isinstance(m, ModelInfo) for m in models)
    assert {m.name for m in models if m.is_image_model} >= set(MODELS)


def test_models_list_sync(nebula_mock: Any) -> None:
    with Client(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        models = client.models.list()
    assert any(m.type == "Text" for m in models) and nebula_mock.ledger.billed == 0


def test_inpainting_from_paths(nebula_mock: Any, tmp_path: Path) -> None:
    image_path, mask_path = tmp_path / "in.png", tmp_path / "mask.png"
    pil_picture((96, 64)).save(image_path)
    pil_picture((96, 64), "black", "L").save(mask_path)
    with Client(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        result = client.images.generate("a boat", model=FILL, image=image_path, mask=mask_path)
    # no size sent (no invented default): the mock keeps the input's, read from the PNG
    assert "width" not in result.parameters and result.images[0].size == (96, 64)


def test_401_from_the_server(nebula_mock: Any) -> None:
    with (
        Client(api_key="not-a-valid-key", base_url=nebula_mock.base_url) as client,
        pytest.raises(AuthenticationError, match="NEBULA_API_KEY") as info,
    ):
        client.images.generate("x", width=64, height=64)
    assert info.value.status == 401 and info.value.request_id
    assert "not-a-valid-key" not in str(info.value)


def test_404_unknown_model_from_the_server(nebula_mock: Any) -> None:
    with (
        Client(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client,
        pytest.raises(NotFoundError, match="acme/imaginary-1") as info,
    ):
        client.images.generate("x", model="acme/imaginary-1")
    assert info.value.status == 404 and nebula_mock.ledger.billed == 0


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (403, PermissionDeniedError),
        (413, BadRequestError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (418, APIStatusError),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_error_classes_from_real_responses(
    nebula_mock: Any, status: int, cls: type, mode: str
) -> None:
    import asyncio

    nebula_mock.faults.push(Fault.status(status, message=f"scripted {status}"), times=5)
    kwargs = {"api_key": nebula_mock.api_key, "base_url": nebula_mock.base_url, "max_retries": 0}
    if mode == "sync":
        with Client(**kwargs) as client, pytest.raises(cls) as info:
            client.images.generate("x", width=64, height=64)
    else:

        async def go() -> None:
            async with AsyncClient(**kwargs) as client:
                await client.images.generate("x", width=64, height=64)

        with pytest.raises(cls) as info:
            asyncio.run(go())
    assert type(info.value) is cls and info.value.status == status
    assert f"scripted {status}" in str(info.value) and info.value.request_id


def test_failed_status_and_invalid_base64_from_real_responses(nebula_mock: Any) -> None:
    with Client(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        nebula_mock.faults.push(Fault.failed_status("worker out of memory"))
        with pytest.raises(GenerationFailedError, match="worker out of memory"):
            client.images.generate("x", width=64, height=64)
        nebula_mock.faults.push(Fault.invalid_base64())
        with pytest.raises(ResponseValidationError, match="base64") as info:
            client.images.generate("x", width=64, height=64)
    assert info.value.request_id


def test_jpeg_inputs_and_bytes(nebula_mock: Any) -> None:
    buffer = io.BytesIO()
    pil_picture((64, 64)).save(buffer, format="JPEG")
    with Client(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        result = client.images.generate(
            "x", model=FILL, image=buffer.getvalue(), mask=pil_picture((64, 64), mode="L")
        )
    assert result.images[0].size == (64, 64)

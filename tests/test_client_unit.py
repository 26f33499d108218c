"""Client and AsyncClient over httpx.MockTransport: the public surface, sync and async."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from _wrapper_helpers import BASE, PNG

import nebula_images
from nebula_images import AsyncClient, Client, GenerationResult, ModelInfo, RequestEvent

KEY = "ak_unit_test_key_123"


def ok_body(model: str, *, images: int = 1, payload: bytes = PNG) -> dict[str, Any]:
    return {
        "model": model,
        "object": "list",
        "data": [
            {
                "timings": {"inference": 1.25},
                "index": i,
                "b64_json": base64.b64encode(payload).decode(),
                "seed": 11 + i,
            }
            for i in range(images)
        ],
        "message": "Image generated successfully",
        "status": "success",
    }


class Recorder:
    """A MockTransport handler that records requests and answers 200s."""

    def __init__(self, images: int = 1) -> None:
        self.requests: list[httpx.Request] = []
        self.images = images

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/serverless/models"):
            return httpx.Response(
                200,
                json={
                    "data": {
                        "models": [
                            {"model_name": "m/img", "model_type": "Image", "price": 0.009},
                            {"model_name": "m/txt", "model_type": "Text", "context_length": 8},
                        ]
                    },
                    "message": "ok",
                    "status": "success",
                },
                headers={"X-Request-ID": "req-models"},
            )
        body = json.loads(request.content)
        return httpx.Response(
            200,
            json=ok_body(body["model_name"], images=self.images),
            headers={"X-Request-ID": "req-1"},
        )

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]


def sync_client(handler: Any, **kwargs: Any) -> Client:
    return Client(
        api_key=KEY,
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        **kwargs,
    )


def async_client(handler: Any, **kwargs: Any) -> AsyncClient:
    return AsyncClient(
        api_key=KEY,
        base_url=BASE,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        **kwargs,
    )


def test_generate_returns_decoded_typed_images() -> None:
    rec = Recorder(images=2)
    with sync_client(rec) as client:
        result = client.images.generate("a lighthouse at dawn", width=512, height=512, seed=7)
    assert isinstance(result, GenerationResult)
    assert [img.data for img in result.images] == [PNG, PNG]
    assert result.images[0].format == "png" and result.images[1].index == 1
    assert result.images[0].inference_seconds == 1.25 and result.images[0].seed == 11
    assert result.model == nebula_images.DEFAULT_MODEL == "black-forest-labs/FLUX.1-schnell"
    assert result.request_id == "req-1" and result.retries == 0
    assert result.parameters == {
        "model_name": "black-forest-labs/FLUX.1-schnell",
        "prompt": "a lighthouse at dawn",
        "width": 512,
        "height": 512,
        "seed": 7,
    }
    sent = rec.bodies[0]
    assert sent == result.parameters  # only what the caller chose: no invented defaults
    request = rec.requests[0]
    assert request.url == f"{BASE}/images/generation"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Idempotency-Key"] == result.idempotency_key
    assert len(result.idempotency_key) == 36


async def test_async_generate_mirrors_sync() -> None:
    rec = Recorder()
    async with async_client(rec) as client:
        result = await client.images.generate(
            "a lighthouse", model="stabilityai/stable-diffusion-xl-base-1.0", negative_prompt="fog"
        )
        models = await client.models.list()
    assert result.images[0].data == PNG
    assert rec.bodies[0]["negative_prompt"] == "fog"
    assert "num_steps" not in rec.bodies[0] and "guidance_scale" not in rec.bodies[0]
    assert [m.name for m in models] == ["m/img", "m/txt"]


def test_models_list_typed() -> None:
    with sync_client(Recorder()) as client:
        models = client.models.list()
    assert all(isinstance(m, ModelInfo) for m in models)
    assert models[0].is_image_model and not models[1].is_image_model
    assert models[0].price == 0.009 and models[0].alias is None and models[1].context_length == 8


def test_caller_idempotency_key_is_sent() -> None:
    rec = Recorder()
    with sync_client(rec) as client:
        result = client.images.generate("x", idempotency_key="my-key-1")
    assert rec.requests[0].headers["Idempotency-Key"] == "my-key-1" == result.idempotency_key


def test_unknown_model_passes_with_generic_rules() -> None:
    rec = Recorder()
    with sync_client(rec) as client:
        result = client.images.generate("x", model="acme/new-model", seed=3, negative_prompt="n")
    assert rec.bodies[0] == {
        "model_name": "acme/new-model",
        "prompt": "x",
        "seed": 3,
        "negative_prompt": "n",
    }
    assert result.model == "acme/new-model"


def test_env_vars_give_key_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEBULA_API_KEY", "ak_from_env_999")
    monkeypatch.setenv("NEBULA_BASE_URL", "http://localhost:1234/v9")
    rec = Recorder()
    with Client(http_client=httpx.Client(transport=httpx.MockTransport(rec))) as client:
        assert client.base_url == "http://localhost:1234/v9"
        client.images.generate("x")
    assert rec.requests[0].url == "http://localhost:1234/v9/images/generation"
    assert rec.requests[0].headers["Authorization"] == "Bearer ak_from_env_999"


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEBULA_BASE_URL", raising=False)
    with Client(api_key=KEY) as client:
        assert client.base_url == "https://api.nebulablock.com/api/v1"


def test_per_model_read_timeout_reaches_the_transport() -> None:
    rec = Recorder()
    with sync_client(rec) as client:
        client.images.generate("x", model="Bytedance-Seedream-3.0")
        client.images.generate("x", model="black-forest-labs/FLUX.1-schnell")
        client.images.generate("x", timeout=5)
    timeouts = [r.extensions["timeout"] for r in rec.requests]
    assert timeouts[0]["read"] == 180 and timeouts[1]["read"] == 60
    assert timeouts[0]["connect"] == 10
    assert timeouts[2]["read"] == 5 and timeouts[2]["connect"] == 5


def test_deadline_caps_attempt_timeouts() -> None:
    rec = Recorder()
    with sync_client(rec, deadline=2.5) as client:
        client.images.generate("x", model="Bytedance-Seedream-3.0")
    assert 0 < rec.requests[0].extensions["timeout"]["read"] <= 2.5


def test_hooks_receive_attempt_key_status_and_request_id() -> None:
    events: list[tuple[str, RequestEvent]] = []
    rec = Recorder()
    with sync_client(
        rec,
        on_request=lambda e: events.append(("request", e)),
        on_response=lambda e: events.append(("response", e)),
    ) as client:
        result = client.images.generate("x")
    assert [name for name, _ in events] == ["request", "response"]
    request_event, response_event = events[0][1], events[1][1]
    assert request_event.attempt == 1 and request_event.idempotency_key == result.idempotency_key
    assert response_event.status == 200 and response_event.request_id == "req-1"
    assert response_event.elapsed >= 0 and response_event.error is None


def test_context_manager_closes_owned_http_client() -> None:
    client = Client(api_key=KEY, base_url=BASE)
    with client:
        pass
    assert client._http.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        client.models.list()


def test_callers_http_client_stays_open() -> None:
    http = httpx.Client(transport=httpx.MockTransport(Recorder()))
    with Client(api_key=KEY, base_url=BASE, http_client=http):
        pass
    assert not http.is_closed
    http.close()


async def test_async_context_manager_closes() -> None:
    client = AsyncClient(api_key=KEY, base_url=BASE)
    async with client:
        pass
    assert client._http.is_closed


def test_wrong_http_client_type_is_a_validation_error() -> None:
    with pytest.raises(nebula_images.ValidationError, match="http_client"):
        Client(api_key=KEY, http_client=httpx.AsyncClient())  # type: ignore[arg-type]


def test_gzip_encoded_body_is_decoded() -> None:
    import gzip

    def handler(request: httpx.Request) -> httpx.Response:
        raw = json.dumps(ok_body("black-forest-labs/FLUX.1-schnell")).encode()
        return httpx.Response(200, content=gzip.compress(raw), headers={"Content-Encoding": "gzip"})

    with sync_client(handler) as client:
        assert client.images.generate("x").images[0].data == PNG


def test_escaped_slashes_in_base64_are_accepted() -> None:
    payload = PNG + bytes(range(256))  # base64 of this contains "/"
    encoded = base64.b64encode(payload).decode()
    assert "/" in encoded

    def handler(request: httpx.Request) -> httpx.Response:
        text = json.dumps(ok_body("m", payload=payload)).replace("/", "\\/")
        return httpx.Response(
            200, content=text.encode(), headers={"Content-Type": "application/json"}
        )

    with sync_client(handler) as client:
        assert client.images.generate("x").images[0].data == payload


def test_generate_many_delegates_to_batch(tmp_path: Any) -> None:
    rec = Recorder()
    with sync_client(rec) as client:
        outcomes = list(client.images.generate_many(["a", "b", "c"], concurrency=2, seed=5))
    assert [o.parameters["prompt"] for o in outcomes] == ["a", "b", "c"]
    assert all(body["seed"] == 5 for body in rec.bodies)


async def test_async_generate_many_delegates_to_batch() -> None:
    rec = Recorder()
    async with async_client(rec) as client:
        outcomes = [o async for o in client.images.generate_many(["a", "b"], concurrency=2)]
    assert sorted(o.parameters["prompt"] for o in outcomes) == ["a", "b"]


def test_threads_share_one_client() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rec = Recorder()
    with sync_client(rec) as client, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: client.images.generate(f"p{i}"), range(8)))
    keys = {r.idempotency_key for r in results}
    assert len(keys) == 8 and len(rec.requests) == 8


def test_every_public_name_resolves() -> None:
    for name in nebula_images.__all__:
        assert getattr(nebula_images, name) is not None, name
    assert set(nebula_images.__all__) <= set(dir(nebula_images))
    with pytest.raises(AttributeError):
        nebula_images.NoSuchThing  # noqa: B018


def test_result_and_image_survive_pickle() -> None:
    import pickle

    with sync_client(Recorder()) as client:
        result = client.images.generate("x")
    copy = pickle.loads(pickle.dumps(result))
    assert copy == result and copy.images[0].data == PNG


def test_user_agent_names_the_package() -> None:
    client = Client(api_key=KEY, base_url=BASE)
    assert client._http.headers["User-Agent"].startswith("nebula-images/")
    client.close()


def test_a_failing_hook_does_not_break_the_call(caplog: pytest.LogCaptureFixture) -> None:
    def boom(event: RequestEvent) -> None:
        raise RuntimeError("hook bug")

    with sync_client(Recorder(), on_request=boom, on_response=boom) as client:
        result = client.images.generate("x")
    assert result.images[0].data == PNG
    assert "hook raised" in caplog.text and "hook bug" in caplog.text

"""The mock's API surface: auth, validation, errors, images, inpainting."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops

from nebula_images.testing import MockConfig, MockServer

SCHNELL = "black-forest-labs/FLUX.1-schnell"
SDXL = "stabilityai/stable-diffusion-xl-base-1.0"
FILL = "black-forest-labs/FLUX.1-Fill-dev"
SEEDREAM = "Bytedance-Seedream-3.0"


def png_b64(size: tuple[int, int], mode: str = "RGB", fmt: str = "PNG", colour: Any = 0) -> str:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format=fmt)
    return base64.b64encode(out.getvalue()).decode()


def decode_png(response: httpx.Response) -> Image.Image:
    body = response.json()
    raw = base64.b64decode(body["data"][0]["b64_json"], validate=True)
    assert raw.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image


def generate(mock_http: httpx.Client, **fields: Any) -> httpx.Response:
    body = {"model_name": SCHNELL, "prompt": "a red fox", "width": 64, "height": 64, **fields}
    return mock_http.post("/images/generation", json=body)


def assert_error(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "failed"
    assert body["data"] is None
    assert set(body) <= {"message", "status", "data", "retry_after"}
    assert response.headers["x-request-id"]
    message: str = body["message"]
    for word in words:
        assert word in message, message
    return message


# -- the reference page's request ----------------------------------------------------


def test_reference_curl_request_corrected_decodes_to_png_of_requested_size(
    mock: MockServer,
) -> None:
    """The reference page's curl, with its slips fixed: POST, one /api/v1."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    body = """{
    "model_name": "stabilityai/stable-diffusion-xl-base-1.0",
    "prompt": "insert your prompt here",
    "num_steps": 25,
    "guidance_scale": 9,
    "width": 1024,
    "height": 1024,
    "negative_prompt": null
}"""
    out = subprocess.run(
        [
            curl, "-sS", "-X", "POST", f"{mock.base_url}/images/generation",
            "-H", f"Authorization: Bearer {mock.api_key}",
            "-H", "Content-Type: application/json",
            "-d", body,
        ],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    data = json.loads(out.stdout)
    assert data["status"] == "success"
    assert data["object"] == "list"
    assert data["model"] == SDXL
    raw = base64.b64decode(data["data"][0]["b64_json"], validate=True)
    image = Image.open(io.BytesIO(raw))
    assert image.format == "PNG"
    assert image.size == (1024, 1024)
    assert data["data"][0]["timings"]["inference"] >= 0


# -- success path ---------------------------------------------------------------------


def test_success_body_has_the_spec_shape_and_request_id(mock_http: httpx.Client) -> None:
    response = generate(mock_http, seed=42)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert body["model"] == SCHNELL
    assert body["message"] and body["status"] == "success"
    item = body["data"][0]
    assert item["index"] == 0 and item["seed"] == 42
    assert decode_png(response).size == (64, 64)


@pytest.mark.parametrize(
    ("model", "size"), [(SCHNELL, (1024, 1024)), (SDXL, (1024, 1024)), (SEEDREAM, (1024, 1024))]
)
def test_omitted_size_uses_the_spec_default(
    mock_http: httpx.Client, model: str, size: tuple[int, int]
) -> None:
    response = mock_http.post("/images/generation", json={"model_name": model, "prompt": "x"})
    assert response.status_code == 200, response.text
    assert decode_png(response).size == size


def test_non_square_size_is_exact(mock_http: httpx.Client) -> None:
    assert decode_png(generate(mock_http, width=320, height=64)).size == (320, 64)


def test_same_inputs_give_the_same_png(mock_http: httpx.Client) -> None:
    first = generate(mock_http, seed=7).json()["data"][0]["b64_json"]
    second = generate(mock_http, seed=7).json()["data"][0]["b64_json"]
    assert first == second


def test_other_seed_or_prompt_gives_a_visibly_different_png(mock_http: httpx.Client) -> None:
    base = decode_png(generate(mock_http, seed=7, width=128, height=128)).convert("RGB")
    for other in (
        generate(mock_http, seed=8, width=128, height=128),
        generate(mock_http, seed=7, width=128, height=128, prompt="a blue whale"),
    ):
        image = decode_png(other).convert("RGB")
        diff = ImageChops.difference(base, image).convert("L")
        differing = diff.point(lambda v: 255 if v else 0).histogram()[255]
        assert differing > 128 * 128 // 4  # most pixels change, not just the caption


def test_random_seed_is_reported_and_reproduces(mock_http: httpx.Client) -> None:
    seeds = set()
    for fields in ({}, {"seed": -1}, {}):
        response = generate(mock_http, **fields)
        seeds.add(response.json()["data"][0]["seed"])
    assert len(seeds) == 3  # each random
    seed = seeds.pop()
    again = generate(mock_http, seed=seed)
    assert again.json()["data"][0]["seed"] == seed


def test_models_list_has_every_served_image_model(mock_http: httpx.Client) -> None:
    response = mock_http.get("/serverless/models")
    assert response.status_code == 200
    assert response.headers["x-request-id"]
    models = {m["model_name"]: m for m in response.json()["data"]["models"]}
    for name in (SDXL, SCHNELL, SEEDREAM, FILL):
        assert models[name]["model_type"] == "Image"


# -- inpainting -----------------------------------------------------------------------


def test_fill_uses_image_and_mask(mock_http: httpx.Client) -> None:
    image = png_b64((32, 32), colour=(0, 255, 0))
    mask = io.BytesIO()
    m = Image.new("L", (32, 32), 0)
    m.paste(255, (16, 0, 32, 32))  # repaint the right half only
    m.save(mask, format="PNG")
    response = mock_http.post(
        "/images/generation",
        json={
            "model_name": FILL,
            "prompt": "a boat",
            "width": 64,
            "height": 64,
            "image": image,
            "mask": base64.b64encode(mask.getvalue()).decode(),
        },
    )
    assert response.status_code == 200, response.text
    out = decode_png(response).convert("RGB")
    assert out.size == (64, 64)
    assert out.getpixel((8, 60)) == (0, 255, 0)  # kept from the input (black mask)
    assert out.getpixel((56, 60)) != (0, 255, 0)  # repainted (white mask)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_fill_accepts_jpeg_and_webp(mock_http: httpx.Client, fmt: str) -> None:
    response = mock_http.post(
        "/images/generation",
        json={
            "model_name": FILL,
            "prompt": "x",
            "width": 64,
            "height": 64,
            "image": png_b64((16, 16), fmt=fmt),
            "mask": png_b64((16, 16), mode="L", colour=255),
        },
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("image", "not base64!!", ("image:", "base64")),
        ("image", "aGVsbG8gd29ybGQ=", ("image:", "JPEG, PNG or WebP")),  # "hello world"
        ("mask", "aGVsbG8gd29ybGQ", ("mask:", "base64")),  # missing padding
        ("mask", png_b64((8, 8), fmt="GIF"), ("mask:", "GIF")),
        ("mask", png_b64((16, 8)), ("mask:", "size of image")),
    ],
)
def test_fill_rejects_bad_inputs_with_400(
    mock_http: httpx.Client, field: str, value: str, words: tuple[str, ...]
) -> None:
    body = {
        "model_name": FILL,
        "prompt": "x",
        "width": 64,
        "height": 64,
        "image": png_b64((8, 8)),
        "mask": png_b64((8, 8), mode="L"),
        field: value,
    }
    assert_error(mock_http.post("/images/generation", json=body), 400, *words)


# -- auth -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ak_a ak_b",
        "Basic ak_abc",
        "ak_abc",
        "Bearer sk_abc",
        "Bearer ak_",
    ],
)
def test_bad_auth_is_401(mock: MockServer, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    with httpx.Client(base_url=mock.base_url, headers=headers) as c:
        for response in (c.get("/serverless/models"), generate(c)):
            assert_error(response, 401, "API key")


def test_any_ak_key_is_accepted_by_default(mock: MockServer) -> None:
    with httpx.Client(base_url=mock.base_url, headers={"Authorization": "bearer ak_x1"}) as c:
        assert c.get("/serverless/models").status_code == 200


def test_configured_keys_only() -> None:
    with MockServer(MockConfig(api_keys=frozenset({"ak_team_1"}))) as server:
        assert server.api_key == "ak_team_1"
        for key, status in (("ak_team_1", 200), ("ak_other", 401)):
            with httpx.Client(
                base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}
            ) as c:
                assert c.get("/serverless/models").status_code == status


def test_error_messages_never_echo_the_key(mock: MockServer) -> None:
    with httpx.Client(base_url=mock.base_url, headers={"Authorization": "Bearer sk_secret"}) as c:
        assert "sk_secret" not in c.get("/serverless/models").text


# -- routing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/images", "/images/generation/x", "/nothing", "/api/v1/images/generation"]
)
def test_unknown_path_is_404(mock_http: httpx.Client, path: str) -> None:
    assert_error(mock_http.get(path), 404, "No such path")


def test_path_outside_base_is_404(mock: MockServer) -> None:
    with httpx.Client(base_url=mock.url) as c:
        assert_error(c.post("/images/generation", json={}), 404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/images/generation", "POST"),
        ("PUT", "/images/generation", "POST"),
        ("DELETE", "/images/generation", "POST"),
        ("OPTIONS", "/images/generation", "POST"),
        ("POST", "/serverless/models", "GET"),
        ("PATCH", "/serverless/models", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow(
    mock_http: httpx.Client, method: str, path: str, allow: str
) -> None:
    response = mock_http.request(method, path)
    assert_error(response, 405, method)
    assert response.headers["allow"] == allow


def test_custom_base_path() -> None:
    with MockServer(MockConfig(base_path="/v2/")) as server:
        assert server.base_url.endswith("/v2")
        headers = {"Authorization": f"Bearer {server.api_key}"}
        with httpx.Client(base_url=server.base_url, headers=headers) as c:
            assert c.get("/serverless/models").status_code == 200


# -- unreadable bodies: 400, 413, 415 -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ("empty",)),
        (b"   ", ("empty",)),
        (b"\xff\xfe{}", ("UTF-8",)),
        (b'{"prompt": ', ("not valid JSON",)),
        (b"[1, 2]", ("JSON object", "array")),
        (b'"text"', ("JSON object", "string")),
        (b"null", ("JSON object", "null")),
        (b"42", ("JSON object", "number")),
        (b"[" * 100_000, ("not valid JSON",)),
    ],
)
def test_unreadable_body_is_400(mock_http: httpx.Client, content: bytes, words: tuple[str]) -> None:
    response = mock_http.post(
        "/images/generation", content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "body:", *words)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_non_json_content_type_is_415(mock_http: httpx.Client, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = mock_http.post("/images/generation", content=b'{"a": 1}', headers=headers)
    assert_error(response, 415, "Content-Type")


def test_json_with_charset_is_accepted(mock_http: httpx.Client) -> None:
    body = json.dumps({"model_name": SCHNELL, "prompt": "x", "width": 64, "height": 64})
    response = mock_http.post(
        "/images/generation",
        content=body.encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_body_over_the_limit_is_413_by_content_length(mock_http: httpx.Client) -> None:
    big = b'{"prompt": "' + b"a" * (32 * 1024 * 1024) + b'"}'
    response = mock_http.post(
        "/images/generation", content=big, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "33554432")


def test_body_over_the_limit_is_413_when_streamed() -> None:
    with MockServer(MockConfig(max_body_bytes=1000)) as server:

        def chunks() -> Iterator[bytes]:
            yield b'{"prompt": "'
            for _ in range(10):
                yield b"a" * 500
            yield b'"}'

        headers = {"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"}
        with httpx.Client(base_url=server.base_url, headers=headers) as c:
            response = c.post("/images/generation", content=chunks())  # chunked, no length
        assert_error(response, 413, "1000")


# -- schema violations: 422 naming the field, unknown model 404 ------------------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"prompt": None}, ("prompt:", "string")),
        ({"prompt": ""}, ("prompt:", "at least 1")),
        ({"prompt": "x" * 4001}, ("prompt:", "at most 4000")),
        ({"width": 100}, ("width:", "multiple of 8")),
        ({"width": 32}, ("width:", ">= 64")),
        ({"height": 4096}, ("height:", "<= 2048")),
        ({"width": "512"}, ("width:", "integer", "string")),
        ({"width": True}, ("width:", "integer", "boolean")),
        ({"num_steps": 0}, ("num_steps:", ">= 1")),
        ({"num_steps": 2.5}, ("num_steps:", "integer")),
        ({"guidance_scale": 31}, ("guidance_scale:", "<= 30")),
        ({"seed": -2}, ("seed:", ">= -1")),
        ({"seed": 2**32}, ("seed:", "<= 4294967295")),
        ({"negative_prompt": "x"}, ("negative_prompt:", SCHNELL, "does not take")),
        ({"model": SCHNELL}, ("model:", "does not take")),
        ({"model_name": 5}, ("model_name:", "string")),
    ],
)
def test_schema_violation_is_422_naming_the_field(
    mock_http: httpx.Client, fields: dict[str, Any], words: tuple[str, ...]
) -> None:
    assert_error(generate(mock_http, **fields), 422, *words)


def test_missing_fields_are_named(mock_http: httpx.Client) -> None:
    assert_error(
        mock_http.post("/images/generation", json={"model_name": SCHNELL}), 422, "prompt: required"
    )
    assert_error(
        mock_http.post("/images/generation", json={"prompt": "x"}), 422, "model_name: required"
    )
    fill = {"model_name": FILL, "prompt": "x"}
    assert_error(mock_http.post("/images/generation", json=fill), 422, "required")


def test_per_model_rules(mock_http: httpx.Client) -> None:
    """The spec's own example: FLUX Fill takes no seed; Seedream no num_steps; SDXL no seed."""
    fill = {
        "model_name": FILL,
        "prompt": "x",
        "seed": 1,
        "image": png_b64((8, 8)),
        "mask": png_b64((8, 8)),
    }
    message = assert_error(mock_http.post("/images/generation", json=fill), 422)
    assert message == f"seed: {FILL} does not take this parameter"
    seedream = {"model_name": SEEDREAM, "prompt": "x", "num_steps": 4}
    assert_error(mock_http.post("/images/generation", json=seedream), 422, "num_steps:", SEEDREAM)
    sdxl = {"model_name": SDXL, "prompt": "x", "seed": 4}
    assert_error(mock_http.post("/images/generation", json=sdxl), 422, "seed:", SDXL)
    fill_size = {**fill, "width": 72}
    del fill_size["seed"]
    assert_error(mock_http.post("/images/generation", json=fill_size), 422, "multiple of 16")


def test_unknown_model_is_404(mock_http: httpx.Client) -> None:
    body = {"model_name": "acme/imaginary-1", "prompt": "x"}
    assert_error(mock_http.post("/images/generation", json=body), 404, "acme/imaginary-1")


@pytest.mark.parametrize("key", [b"", b"a b", "é".encode("latin-1"), b"x" * 256])
def test_bad_idempotency_key_is_422(mock_http: httpx.Client, key: bytes) -> None:
    response = mock_http.post(
        "/images/generation",
        json={"model_name": SCHNELL, "prompt": "x", "width": 64, "height": 64},
        headers={"Idempotency-Key": key},
    )
    assert_error(response, 422, "Idempotency-Key")


def test_validate_off_still_answers_unreadable_bodies(
    mock_http: httpx.Client, mock: MockServer
) -> None:
    mock.configure(validate=False)
    assert generate(mock_http, extra_field=1).status_code == 200
    response = mock_http.post(
        "/images/generation", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_reprs_hide_the_accepted_keys() -> None:
    config = MockConfig(api_keys=frozenset({"ak_secret_key"}))
    assert "ak_secret_key" not in repr(config)
    assert "ak_secret_key" not in str(config.public_dict())
    assert "ak_secret_key" not in repr(MockServer(config))

"""The calls the spec generates: only what the caller chose is sent, seeds are drawn,
aliases resolve, misspelled keywords fail at the call, and mypy flags a parameter the
model does not take (the ``@deprecated`` overloads of resources/images.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from nebula_images import Client
from nebula_images._models_table import ALIASES, MODELS, resolve_model

SCHNELL = "black-forest-labs/FLUX.1-schnell"
SDXL = "stabilityai/stable-diffusion-xl-base-1.0"
SEEDREAM = "Bytedance-Seedream-3.0"
PNG8 = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAGUlEQVR42mNkYGhQYGDARCwMCgxYweCUAABobwJednxjlwAAAABJRU5ErkJggg=="


@pytest.fixture
def sent() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def client(sent: list[dict[str, Any]]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.append(body)
        image: dict[str, Any] = {"timings": {"inference": 1}, "index": 0, "b64_json": PNG8}
        if "seed" in body:
            image["seed"] = body["seed"]
        return httpx.Response(
            200,
            json={
                "model": body["model_name"],
                "object": "list",
                "data": [image],
                "message": "ok",
                "status": "success",
            },
        )

    with Client(
        api_key="ak_typed",
        base_url="http://127.0.0.1:9/api/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    ) as c:
        yield c


@pytest.mark.parametrize("model", [SDXL, SEEDREAM, "acme/imaginary-1"])
def test_only_what_the_caller_chose_is_sent(client: Client, sent: list[Any], model: str) -> None:
    result = client.images.generate("a boat", model=model)
    assert sent == [{"model_name": model, "prompt": "a boat"}]
    assert result.parameters == {"model_name": model, "prompt": "a boat"}
    assert result.images[0].size == (8, 8)  # the real size, from the PNG header


def test_a_seed_is_drawn_for_a_model_that_takes_one(client: Client, sent: list[Any]) -> None:
    results = [client.images.generate("a fox") for _ in range(3)]
    seeds = [body["seed"] for body in sent]
    assert all(isinstance(s, int) and 0 <= s <= 4294967295 for s in seeds)
    assert len(set(seeds)) == 3  # drawn per call (a collision is a 1 in 2^31 event)
    assert [r.images[0].seed for r in results] == seeds
    assert [r.parameters["seed"] for r in results] == seeds
    client.images.generate("a fox", seed=-1)
    client.images.generate("a fox", seed=7)
    assert [body["seed"] for body in sent[3:]] == [-1, 7]


def test_seed_draws_cover_the_whole_range() -> None:
    from nebula_images._validation import _seed_from

    maximum = 4294967295
    seeds = [_seed_from(f"key-{n}", maximum) for n in range(4000)]
    assert all(0 <= s <= maximum for s in seeds)
    # Uniform over the range: each quarter holds about a quarter of the draws, and the
    # top of the range is reached (a draw of only 31 bits would leave the upper half empty).
    quarters = [sum(q * 2**30 <= s < (q + 1) * 2**30 for s in seeds) for q in range(4)]
    assert all(850 < count < 1150 for count in quarters), quarters
    assert max(seeds) > 0.99 * maximum


def test_a_repeated_call_with_its_key_sends_the_same_seed(client: Client, sent: list[Any]) -> None:
    """Retrying by hand with the key of a failed call sends the same body, so a server
    that honours the key replays the first result instead of refusing a changed body."""
    first = client.images.generate("a fox", idempotency_key="retry-me")
    again = client.images.generate("a fox", idempotency_key="retry-me")
    other = client.images.generate("a fox", idempotency_key="another")
    assert sent[0] == sent[1] and first.images[0].seed == again.images[0].seed
    assert sent[2]["seed"] != sent[0]["seed"]
    assert other.images[0].seed == sent[2]["seed"]


def test_aliases_resolve_to_the_id_sent(client: Client, sent: list[Any]) -> None:
    assert {"sdxl", "sdxl 1.0", "flux-schnell", "seedream", "flux-fill"} <= set(ALIASES)
    for alias, model in [("sdxl", SDXL), ("SDXL 1.0", SDXL), ("flux-schnell", SCHNELL)]:
        client.images.generate("a boat", model=alias)
        assert sent[-1]["model_name"] == model
        assert resolve_model(alias) == model
    assert resolve_model("Bytedance-Seedream-4.0") == "Bytedance-Seedream-4.0"  # a version
    assert resolve_model("black-forest-labs/FLUX.1-dev") == "black-forest-labs/FLUX.1-dev"


def test_misspelled_keywords_fail_at_the_call(client: Client, sent: list[Any]) -> None:
    generate: Any = client.images.generate
    with pytest.raises(TypeError, match="widht"):
        generate("a boat", widht=256)
    generate_many: Any = client.images.generate_many
    with pytest.raises(TypeError, match="widht"):
        generate_many(["a", "b"], widht=256)
    assert sent == []


def test_signatures_are_explicit() -> None:
    import inspect

    from nebula_images.resources import AsyncImages, Images

    for method in (
        Images.generate,
        Images.generate_many,
        AsyncImages.generate,
        AsyncImages.generate_many,
    ):
        parameters = inspect.signature(method).parameters
        assert all(p.kind != inspect.Parameter.VAR_KEYWORD for p in parameters.values()), method
        assert {"seed", "negative_prompt", "width", "image"} <= set(parameters)


def test_generate_many_passes_the_chosen_defaults(client: Client, sent: list[Any]) -> None:
    outcomes = list(client.images.generate_many(["a", "b"], model="sdxl", width=512))
    assert len(outcomes) == 2
    assert sorted(body["prompt"] for body in sent) == ["a", "b"]
    assert {(body["model_name"], body["width"], "height" in body) for body in sent} == {
        (SDXL, 512, False)
    }


def test_help_documents_every_parameter_with_bounds_and_models() -> None:
    from nebula_images.resources import Images

    doc = " ".join((Images.generate.__doc__ or "").split())
    rules = [*MODELS.values()]
    names = {name for r in rules for name in r.parameters}
    for name in names:
        assert f"{name}: " in doc, name
    assert (
        "from 1 to 100" in doc and "a multiple of 16 for black-forest-labs/FLUX.1-Fill-dev" in doc
    )
    seed_line = doc[doc.index("seed: ") :].split("image: ")[0]
    assert "Taken by: black-forest-labs/FLUX.1-schnell, other model ids." in seed_line
    assert "from -1 to 4294967295" in seed_line


SNIPPET = """
from nebula_images import AsyncClient, Client

client = Client(api_key="ak_x")
aclient = AsyncClient(api_key="ak_x")


async def main() -> None:
    ASYNC_PROBLEM


PROBLEM
"""

CASES = {
    "sdxl_seed": (
        'client.images.generate("x", model="stabilityai/stable-diffusion-xl-base-1.0", seed=1)',
        "deprecated",
    ),
    "sdxl_alias_seed": ('client.images.generate("x", model="sdxl", seed=1)', "deprecated"),
    "default_negative": ('client.images.generate("x", negative_prompt="fog")', "deprecated"),
    "fill_without_image": (
        'client.images.generate("x", model="black-forest-labs/FLUX.1-Fill-dev")',
        "deprecated",
    ),
    "misspelled": ('client.images.generate("x", widht=256)', "call-overload"),
    "schnell_seed": (
        'client.images.generate("x", model="black-forest-labs/FLUX.1-schnell", seed=1)',
        None,
    ),
    "default_seed": ('client.images.generate("x", seed=1, width=512)', None),
    "unlisted": (
        'client.images.generate("x", model="acme/imaginary-1", seed=1, negative_prompt="n", image=b"", mask=b"")',
        None,
    ),
    "async_sdxl_seed": ('await aclient.images.generate("x", model="sdxl", seed=1)', "deprecated"),
    "async_schnell_seed": (
        'await aclient.images.generate("x", model="flux-schnell", seed=1)',
        None,
    ),
    "sdxl_ok": (
        'r = client.images.generate("x", model="sdxl", negative_prompt="fog", num_steps=25)\nreveal_type(r)',
        None,
    ),
}


def test_mypy_flags_parameters_a_model_does_not_take(tmp_path: Path) -> None:
    for name, (line, _) in CASES.items():
        code = SNIPPET.replace("ASYNC_PROBLEM", "pass").replace("PROBLEM", line)
        if name.startswith("async_"):
            code = SNIPPET.replace("ASYNC_PROBLEM", line).replace("PROBLEM", "")
        (tmp_path / f"case_{name}.py").write_text(code, encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--enable-error-code",
            "deprecated",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--config-file",
            "",
            *sorted(str(p) for p in tmp_path.glob("case_*.py")),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=170,
    )
    out = run.stdout + run.stderr
    for name, (_, code) in CASES.items():
        errors = [
            line for line in out.splitlines() if f"case_{name}.py" in line and ": error:" in line
        ]
        if code is None:
            assert not errors, out
        else:
            assert errors and all(f"[{code}]" in e for e in errors), out
    assert 'Revealed type is "nebula_images._images.GenerationResult"' in out, out
    assert "does not take seed" in out, out

"""The API-change drill: edit only openapi.yaml in a copy of the repository, regenerate,
and the Python layer follows with no other edit.

In a temporary copy: add a model (``acme/style-1``, a new schema with a new enum
parameter ``style``) and an optional parameter (``strength``) on FLUX.1 schnell; run
`make generate-python` (this repository's .venv runs the generators into the copy).
Then the copy's own code (``PYTHONPATH=<copy>/wrapper:<copy>/generated``, checked to
shadow the editable install) accepts the new model and parameters, checks them before
sending (bounds, enum values, a parameter the model does not take), and its mock (started
in the same process on a free port) accepts them, and so does the CLI through its
generic ``--param NAME=VALUE``, and ``BatchRequest`` has them as fields. Removing ``guidance_scale`` from
Seedream makes the wrapper refuse it. The copy's own table test passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT

NEW_MODEL = "acme/style-1"
STYLES = ["watercolor", "ink", "photo"]
# What the copy needs to regenerate and run; nothing else is copied.
COPIED = [
    "Makefile",
    "openapi.yaml",
    "openapi-python-client.yaml",
    "pyproject.toml",
    "constraints.txt",
    "codegen",
    "wrapper",
    "mock",
    "generated",
    "tests/conftest.py",
    "tests/test_models_table.py",
]


def make_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", ".ruff_cache", ".mypy_cache")
    for name in COPIED:
        source, target = ROOT / name, copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    # Older than this repository's .venv stamp: make must never reinstall into it.
    for name in ("pyproject.toml", "constraints.txt", "mock/pyproject.toml"):
        os.utime(copy / name, (0, 0))
    return copy


def edit_spec(copy: Path, edit: Any) -> None:
    path = copy / "openapi.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")


def add_model_and_parameter(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    schemas["AcmeStyleRequest"] = {
        "title": "AcmeStyleRequest",
        "description": "A drill model with a style.",
        "type": "object",
        "additionalProperties": False,
        "required": ["model_name", "prompt"],
        "properties": {
            "model_name": {"type": "string", "const": NEW_MODEL},
            "prompt": {"$ref": "#/components/schemas/Prompt"},
            "style": {"description": "The look of the picture.", "type": "string", "enum": STYLES},
            "num_steps": {"$ref": "#/components/schemas/NumSteps"},
            "width": {"$ref": "#/components/schemas/Dimension"},
            "height": {"$ref": "#/components/schemas/Dimension"},
        },
    }
    one_of = schemas["ImageGenerationRequest"]["oneOf"]
    one_of.insert(len(one_of) - 1, {"$ref": "#/components/schemas/AcmeStyleRequest"})
    schemas["OtherModelRequest"]["properties"]["model_name"]["not"]["enum"].append(NEW_MODEL)
    spec["x-nebula-models"]["models"][NEW_MODEL] = {
        "kind": "text-to-image",
        "aliases": ["acme-style"],
        "timeout_seconds": 30,
    }
    schemas["FluxSchnellRequest"]["properties"]["strength"] = {
        "description": "How far from the noise to start.",
        "type": "number",
        "minimum": 0,
        "maximum": 1,
    }


def drop_seedream_guidance(spec: dict[str, Any]) -> None:
    del spec["components"]["schemas"]["SeedreamRequest"]["properties"]["guidance_scale"]


def regenerate(copy: Path) -> None:
    run = subprocess.run(
        # The mock distribution carries its own copy of the spec (generate-mock-spec).
        [
            "make",
            "-s",
            "--no-print-directory",
            "generate-python",
            "generate-mock-spec",
            f"VENV={ROOT / '.venv'}",
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def run_in_copy(copy: Path, *args: str, script: str | None = None) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(copy / d) for d in ("wrapper", "mock", "generated")),
        "NEBULA_API_KEY": "",
    }
    command = [sys.executable, *(["-c", textwrap.dedent(script)] if script else args)]
    run = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


CHECK_NEW = """
import json
import sys
from pathlib import Path

import nebula_images, nebula_images_api, nebula_images_rules
from nebula_images import Client, ValidationError
from nebula_images.testing import MockServer

copy = Path.cwd().resolve()
for module in (nebula_images, nebula_images_api, nebula_images_rules):
    assert Path(module.__file__).resolve().is_relative_to(copy), module.__file__

def refused(call, field, words):
    try:
        call()
    except ValidationError as exc:
        assert exc.field == field and words in str(exc), str(exc)
        return
    raise AssertionError(f"not refused: {field}")

with MockServer() as mock, Client(
    api_key=mock.api_key, base_url=mock.base_url, max_retries=0
) as client:
    gen = client.images.generate
    ok = gen("a fox", model="acme/style-1", style="ink", num_steps=8, width=512, height=512)
    assert ok.parameters["style"] == "ink" and ok.images[0].size == (512, 512), ok.parameters
    assert gen("a fox", model="acme-style", style="photo").model == "acme/style-1"
    fast = gen("a fox", model="black-forest-labs/FLUX.1-schnell", strength=0.5, width=256, height=256)
    assert fast.parameters["strength"] == 0.5 and fast.images[0].size == (256, 256)
    seen = mock.requests_seen
    refused(lambda: gen("a fox", model="acme/style-1", style="oil"), "style", "'watercolor', 'ink', 'photo'")
    refused(lambda: gen("a fox", model="acme/style-1", num_steps=0), "num_steps", "from 1 to 100")
    refused(lambda: gen("a fox", model="acme/style-1", seed=3), "seed", "does not take")
    refused(lambda: gen("a fox", model="acme/style-1", width=100), "width", "multiple of 8")
    refused(lambda: gen("a fox", strength=1.5), "strength", "from 0 to 1")
    refused(lambda: gen("a fox", model="stabilityai/stable-diffusion-xl-base-1.0", strength=0.5), "strength", "does not take")
    refused(lambda: gen("a fox", model="acme/styel-1"), "model", "did you mean 'acme/style-1'")
    assert mock.requests_seen == seen, "a refused call reached the mock"
    # generate_many's typed items have the new parameters as fields.
    from nebula_images import BatchError, BatchRequest

    items = [
        BatchRequest("a fox", model="acme/style-1", style="watercolor", width=256, height=256),
        BatchRequest("a fox", strength=0.25, width=256, height=256),
        BatchRequest("a fox", model="acme/style-1", strength=0.25),
    ]
    done = list(client.images.generate_many(items, concurrency=2))
    assert done[0].parameters["style"] == "watercolor", done[0]
    assert done[1].parameters["strength"] == 0.25, done[1]
    assert isinstance(done[2], BatchError) and done[2].exception.field == "strength", done[2]
    doc = " ".join((type(client.images).generate.__doc__ or "").split())
    assert "style: The look of the picture. One of 'watercolor', 'ink', 'photo'. Taken by: acme/style-1." in doc, doc
    # The CLI passes them through its generic --param, typed by the spec.
    from click.testing import CliRunner
    from nebula_images.cli import cli

    env = {"NEBULA_API_KEY": mock.api_key, "NEBULA_BASE_URL": mock.base_url}
    runner = CliRunner()
    out = str(copy / "fox.png")
    args = ["generate", "a fox", "-m", "acme-style", "--param", "style=ink", "--param", "num_steps=6"]
    done = runner.invoke(cli, [*args, "-o", out], env=env)
    assert done.exit_code == 0 and Path(out).stat().st_size > 0, done.output
    # ... and as options of their own, typed by the spec (an enum is a choice).
    named = ["generate", "a fox", "-m", "acme-style", "--style", "watercolor", "--json"]
    done = runner.invoke(cli, [*named, "-o", str(copy / "fox2.png")], env=env)
    assert done.exit_code == 0 and '"style": "watercolor"' in done.output, done.output
    done = runner.invoke(cli, ["generate", "a fox", "--strength", "0.5", "-o", str(copy / "fox3.png")], env=env)
    assert done.exit_code == 0, done.output
    helped = runner.invoke(cli, ["generate", "--help"], env=env)
    assert "--style [watercolor|ink|photo]" in helped.output and "--strength FLOAT" in helped.output, helped.output
    seen = mock.requests_seen
    bad = runner.invoke(cli, ["generate", "a fox", "-m", "acme/style-1", "--param", "style=oil"], env=env)
    assert bad.exit_code == 2 and "style" in bad.output, bad.output
    bad = runner.invoke(cli, ["generate", "a fox", "-m", "acme/style-1", "--style", "oil"], env=env)
    assert bad.exit_code == 2 and "style" in bad.output, bad.output
    typed = runner.invoke(cli, ["generate", "a fox", "--param", "strength=lots"], env=env)
    assert typed.exit_code == 2 and "strength" in typed.output, typed.output
    assert mock.requests_seen == seen
print("new model and parameter: ok")
"""

CHECK_REMOVED = """
from nebula_images import Client, ValidationError
from nebula_images.testing import MockServer

with MockServer() as mock, Client(api_key=mock.api_key, base_url=mock.base_url) as client:
    try:
        client.images.generate("tea", model="seedream", guidance_scale=3)
    except ValidationError as exc:
        assert exc.field == "guidance_scale" and "does not take" in str(exc), str(exc)
    else:
        raise AssertionError("guidance_scale was not refused for Seedream")
    assert mock.requests_seen == 0
    assert client.images.generate("tea", model="seedream", width=256, height=256).images
print("removed parameter: refused")
"""


@pytest.mark.timeout(150)
def test_a_spec_only_change_reaches_the_wrapper_and_the_mock(tmp_path: Path) -> None:
    copy = make_copy(tmp_path)
    edit_spec(copy, add_model_and_parameter)
    regenerate(copy)
    changed = subprocess.run(
        ["git", "diff", "--no-index", "--stat", str(ROOT / "generated"), str(copy / "generated")],
        capture_output=True,
        text=True,
    ).stdout
    assert "acme_style_request.py" in changed and "nebula_images_rules" in changed, changed
    assert "acme/style-1" in (copy / "wrapper/nebula_images/resources/images.py").read_text()
    batch_request = (copy / "wrapper/nebula_images/_batch_request.py").read_text()
    assert 'style: Literal["watercolor", "ink", "photo"] | None = None' in batch_request
    assert "strength: float | None = None" in batch_request
    assert run_in_copy(copy, script=CHECK_NEW).strip() == "new model and parameter: ok"
    # The copy's own table test, against the copy's spec.
    run_in_copy(copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_models_table.py")

    edit_spec(copy, drop_seedream_guidance)
    regenerate(copy)
    assert run_in_copy(copy, script=CHECK_REMOVED).strip() == "removed parameter: refused"

"""A plain ``pip install nebula-images`` gives a working CLI (issue: click/rich were extras).

The test builds the wheel from this tree, installs it into an empty venv outside the
repository, offline, from the wheelhouse that ``make test`` prepares
(``.venv/wheelhouse``: the base dependencies, pinned by constraints.txt), and runs
``nebula-images --help``, ``models`` and ``generate`` against the session's mock.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
# What the empty venv installs besides the wheel: nothing. The base install alone must
# run the CLI (the mock is the test session's own server). The one place to change if
# the install line ever needs more.
EXTRA_REQUIREMENTS: list[str] = []


def run(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=120, env=env, cwd=cwd, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stderr[-2000:]}"
    return done.stdout


@pytest.mark.skipif(
    not WHEELHOUSE.is_dir(), reason="no .venv/wheelhouse: run `make test` (it builds one)"
)
def test_plain_wheel_install_runs_the_cli(nebula_mock: Any, tmp_path: Path) -> None:
    started = time.monotonic()
    dist, venv = tmp_path / "dist", tmp_path / "venv"
    pip_offline = ["--no-index", "--find-links", str(WHEELHOUSE), "--quiet", "--no-compile"]
    steps = [time.monotonic()]
    build = "import sys; from hatchling.build import build_wheel; build_wheel(sys.argv[1])"
    run([sys.executable, "-c", build, str(dist)], cwd=ROOT)  # the backend, as pip would call it
    (wheel,) = dist.glob("nebula_images-*.whl")
    steps.append(time.monotonic())
    # Without pip of its own (the suite's pip installs into it): ensurepip would cost
    # more than the rest of the test.
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python, cli = venv / "bin" / "python", venv / "bin" / "nebula-images"
    steps.append(time.monotonic())
    # Not the repository's constraints: only what the wheel itself declares resolves.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", *pip_offline]
    run([*install, str(wheel), *EXTRA_REQUIREMENTS], env=env)
    steps.append(time.monotonic())

    env |= {"NEBULA_BASE_URL": nebula_mock.base_url, "NEBULA_API_KEY": nebula_mock.api_key}
    workdir = tmp_path / "work"
    workdir.mkdir()
    assert "generate" in run([str(cli), "--help"], env=env)
    assert "black-forest-labs/FLUX.1-schnell" in run([str(cli), "models"], env=env)
    out = workdir / "fox.png"
    line = run([str(cli), "generate", "a red fox", "--seed", "7", "-o", str(out)], env=env)
    assert out.read_bytes().startswith(b"\x89PNG") and "seed 7" in line
    assert nebula_mock.ledger.billed == 1
    # The CLI's libraries load only when the CLI runs.
    code = "import sys, nebula_images; print(sorted({'click', 'rich'} & set(sys.modules)))"
    assert run([str(python), "-c", code], env=env).strip() == "[]"
    build_s, venv_s, install_s = (b - a for a, b in itertools.pairwise(steps))
    print(
        f"wheel {build_s:.1f} s, venv {venv_s:.1f} s, install {install_s:.1f} s; "
        f"total {time.monotonic() - started:.1f} s"
    )

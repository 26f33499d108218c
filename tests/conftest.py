"""Shared fixtures: the repository root and the parsed spec."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

# A shell starts background jobs (`make test &`, some CI runners) with SIGINT ignored,
# and children inherit that: the Ctrl-C tests of the CLI and batch would then wait
# forever. Tests spawn their subprocesses as from a terminal, with SIGINT live.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi.yaml"


def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return load_spec()

"""Shared fixtures: the repository root and the parsed spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi.yaml"


def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return load_spec()

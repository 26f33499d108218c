"""Shared fixtures: the repository root and the parsed spec."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml

if TYPE_CHECKING:
    from nebula_images.testing import MockServer

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


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref``s (``#/components/...``) until ``node`` is a definition."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return load_spec()


@pytest.fixture
def mock(nebula_mock: MockServer) -> MockServer:
    """The session's mock server (the plugin's fixture), reset for this test."""
    return nebula_mock


@pytest.fixture
def mock_http(mock: MockServer) -> Iterator[httpx.Client]:
    """A bare httpx client on the mock's base URL with a valid key: tests of the mock."""
    headers = {"Authorization": f"Bearer {mock.api_key}"}
    with httpx.Client(base_url=mock.base_url, headers=headers, timeout=30) as client:
        yield client

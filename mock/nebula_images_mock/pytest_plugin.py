"""pytest plugin: the ``nebula_mock`` fixture (registered through the pytest11 entry point).

Every pytest run that has nebula-images-mock installed loads this module, so it imports
nothing heavy and nothing from the ``mock`` extra until a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._server import MockServer


@pytest.fixture(scope="session")
def nebula_mock_server() -> Iterator[MockServer]:
    """One mock server for the whole test session (127.0.0.1, a free port)."""
    try:
        from ._config import MockConfig
        from ._server import MockServer
    except ImportError as exc:  # the extra is missing: skip, do not break the run
        pytest.skip(f"nebula_mock needs the mock extra: pip install 'nebula-images[mock]' ({exc})")
    with MockServer(MockConfig()) as server:
        yield server


@pytest.fixture
def nebula_mock(nebula_mock_server: MockServer) -> MockServer:
    """The session's mock server, reset (faults, ledger, counters, settings) for this test."""
    nebula_mock_server.reset(config=nebula_mock_server.initial_config)
    return nebula_mock_server

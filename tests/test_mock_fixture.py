"""The pytest plugin (fixture ``nebula_mock``), the command line and the spec lookup."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from nebula_images.testing import Fault, MockServer

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]


def test_fixture_yields_a_running_reset_mock(nebula_mock: MockServer) -> None:
    assert nebula_mock.base_url.startswith("http://127.0.0.1:")
    assert nebula_mock.base_url.endswith("/api/v1")
    assert nebula_mock.ledger.billed == 0 and nebula_mock.requests_seen == 0
    headers = {"Authorization": f"Bearer {nebula_mock.api_key}"}
    with httpx.Client(base_url=nebula_mock.base_url, headers=headers) as c:
        assert c.get("/serverless/models").status_code == 200
    # Leave state behind on purpose; the next test must not see it.
    nebula_mock.faults.push(Fault.status(503))
    nebula_mock.configure(rate_limit_per_minute=1, tier="entry", rate_limit_per_day=1)


def test_fixture_state_does_not_leak_between_tests(nebula_mock: MockServer) -> None:
    assert len(nebula_mock.faults) == 0
    assert nebula_mock.requests_seen == 0
    assert nebula_mock.config.rate_limit_per_minute is None
    assert nebula_mock.config.tier is None and nebula_mock.config.rate_limit_per_day is None


def test_fixture_is_session_wide(nebula_mock: MockServer, nebula_mock_server: MockServer) -> None:
    assert nebula_mock is nebula_mock_server


def test_plugin_is_registered_by_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses_fixture(nebula_mock):
            assert nebula_mock.base_url.endswith("/api/v1")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, nebula_images.testing.pytest_plugin, nebula_images.testing;"
        "heavy = {'uvicorn', 'starlette', 'openapi_core', 'PIL', 'yaml', 'schemathesis'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_plugin_loads_without_the_mock_extra(tmp_path: Path) -> None:
    """With uvicorn unimportable the plugin still loads and the fixture skips."""
    blocker = tmp_path / "uvicorn.py"
    blocker.write_text("raise ImportError('uvicorn is not installed (simulated)')\n")
    test = tmp_path / "test_inner.py"
    test.write_text("def test_inner(nebula_mock):\n    pass\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test), "-rs"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert "1 skipped" in out.stdout, out.stdout + out.stderr
    assert "mock extra" in out.stdout


def test_cli_prints_url_and_key_then_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "nebula_images.testing", "--port", "0", "--rate-limit", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/api/v1)", first)
        assert match, first
        key_line = proc.stdout.readline()
        key = re.search(r"(ak_\w+)", key_line)
        assert key and "ak_" in key_line
        headers = {"Authorization": f"Bearer {key.group(1)}"}
        response = httpx.get(f"{match.group(1)}/serverless/models", headers=headers, timeout=10)
        assert response.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_help_states_the_key_policy() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nebula_images.testing", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"ak_"' in out.stdout
    assert "--inference-time-factor" in out.stdout and "--keys" in out.stdout


def test_cli_with_keys_does_not_print_them() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "nebula_images.testing", "--port", "0", "--keys", "ak_secret_1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = "".join(proc.stdout.readline() for _ in range(5))
        assert "ak_secret_1" not in banner
        assert "serving" in banner
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_reports_a_busy_port() -> None:
    with MockServer() as busy:
        out = subprocess.run(
            [sys.executable, "-m", "nebula_images.testing", "--port", str(busy.port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert out.returncode == 2
    assert "cannot bind" in out.stderr


def test_spec_is_read_from_the_repository_not_copied() -> None:
    from nebula_images.testing._validation import load_spec_text, spec_path_candidates

    assert spec_path_candidates()[0] == ROOT / "openapi.yaml"
    assert load_spec_text() == (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    assert not (ROOT / "wrapper" / "nebula_images" / "testing" / "openapi.yaml").exists()

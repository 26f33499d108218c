"""Every ```python block of README.md runs against the mock server, in a temp directory.

The blocks get NEBULA_API_KEY and NEBULA_BASE_URL pointing at the mock, exactly as a
reader would set them for the real API. A block that defines pytest-style ``test_*``
functions is run in this process and each function is called, with the
``nebula_mock`` fixture for a parameter of that name. A block may be skipped only by
putting the line ``<!-- not-tested -->`` right before it (for output or pseudo-code).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(
    r"(?P<marker><!-- not-tested -->\s*\n)?```python[^\n]*\n(?P<code>.*?)```", re.DOTALL
)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of each tested python block."""
    return [
        (text[: m.start("code")].count("\n") + 1, m.group("code"))
        for m in _BLOCK.finditer(text)
        if not m.group("marker")
    ]


BLOCKS = python_blocks(README.read_text(encoding="utf-8")) if README.exists() else []


def test_block_extraction() -> None:
    text = (
        "x\n```python\nprint(1)\n```\n<!-- not-tested -->\n```python\nboom\n```\n```bash\nls\n```\n"
    )
    assert python_blocks(text) == [(3, "print(1)\n")]


@pytest.mark.skipif(not BLOCKS, reason="README.md has no python blocks yet")
@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS])
def test_readme_block_runs(nebula_mock: Any, tmp_path: Path, line: int, code: str) -> None:
    env = {
        **os.environ,
        "NEBULA_API_KEY": nebula_mock.api_key,
        "NEBULA_BASE_URL": nebula_mock.base_url,
    }
    env.pop("NEBULA_LOG", None)
    # A block that defines tests is run the way a user runs it: by pytest, with the
    # installed plugin's `nebula_mock` fixture.
    is_test_module = "def test_" in code
    if is_test_module:
        (tmp_path / "test_readme_block.py").write_text(code, encoding="utf-8")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "."]
    else:
        command = [sys.executable, "-c", code]
    proc = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, f"README.md block at line {line} failed:\n{output}"
    if is_test_module:
        assert " passed" in proc.stdout and "failed" not in proc.stdout, output

"""The Schemathesis hooks load without this package (issue #12).

A team runs `schemathesis run openapi.yaml --url ...` from the repository root with a
Schemathesis of its own (pipx, the container): `schemathesis.toml` names the hooks by
file path, and the file must need nothing but Schemathesis and the standard library.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

from conftest import ROOT

LOAD_WITHOUT_PACKAGE = """
import base64, runpy, sys
sys.modules["nebula_images"] = None  # an import of either now raises ImportError
sys.modules["PIL"] = None
from schemathesis.core.hooks import load_from_path
load_from_path(sys.argv[1])
replace_inputs = runpy.run_path(sys.argv[1])["replace_inputs"]
body = {"image": "not a picture", "mask": "neither is this"}
assert replace_inputs(body)
for field in ("image", "mask"):
    assert base64.b64decode(body[field]).startswith(b"\\x89PNG"), field
print("hooks loaded standalone")
"""


def test_hooks_file_loads_with_only_schemathesis_and_the_standard_library() -> None:
    hooks = tomllib.loads((ROOT / "schemathesis.toml").read_text(encoding="utf-8"))["hooks"]
    assert hooks.endswith(".py") and (ROOT / hooks).is_file()
    done = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_PACKAGE, hooks],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "hooks loaded standalone" in done.stdout

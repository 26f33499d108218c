"""``import nebula_images`` stays cheap: nothing heavy loads until it is used."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "PIL",
    "nebula_images.testing",
    "nebula_images.cli",
    "starlette",
    "uvicorn",
    "openapi_core",
)
# rich and click are not checked after the Client import: httpx itself imports them
# (httpx._main, its command line) whenever they are installed.


def imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return set(out.split())


def import_microseconds(statement: str, bytecode: Path) -> int:
    """Total import time of ``statement`` in a fresh interpreter (best of 5), reading
    bytecode from ``bytecode`` as an installed package does (bench/run.py says why)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    best = None
    for _ in range(5):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env=env,
        ).stderr
        # top-level lines (no indentation before the module name) hold cumulative times
        total = sum(
            int(m.group(1))
            for m in re.finditer(r"^import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", err, re.MULTILINE)
        )
        best = total if best is None else min(best, total)
    assert best is not None
    return best


def test_import_loads_nothing_heavy() -> None:
    modules = imported_after("import nebula_images")
    assert not {m for m in modules if m.startswith(HEAVY)}
    assert "httpx" not in modules and "nebula_images._client" not in modules


def test_client_import_loads_no_pillow_mock_or_cli() -> None:
    modules = imported_after("from nebula_images import Client, AsyncClient, RateLimitError")
    assert "nebula_images._client" in modules
    assert not {m for m in modules if m.startswith(HEAVY)}
    # Loaded by the first retry, the first hook or rate_limit= only.
    assert not {m for m in modules if m.startswith(("tenacity", "aiolimiter"))}
    assert "nebula_images._hooks" not in modules and "nebula_images._limits" not in modules
    # The generated package, attrs, and the result classes, model table and checks
    # (attrs classes too) load with the first call, not the import.
    assert not {m for m in modules if m.startswith(("nebula_images_api", "attr"))}
    assert not modules & {
        "nebula_images._images",
        "nebula_images._models_table",
        "nebula_images._validation",
    }


def test_first_call_loads_the_generated_package() -> None:
    code = (
        "import httpx\n"
        "from nebula_images import Client\n"
        "def handler(request):\n"
        "    return httpx.Response(401, json={'message': 'no', 'status': 'failed'})\n"
        "client = Client(api_key='ak_x_0000', base_url='http://127.0.0.1:9/api/v1',\n"
        "    http_client=httpx.Client(transport=httpx.MockTransport(handler)))\n"
        "try:\n"
        "    client.models.list()\n"
        "except Exception:\n"
        "    pass\n"
    )
    assert "nebula_images_api.api.models.list_models" in imported_after(code)


def test_import_cost_within_budget_of_httpx(tmp_path: Path) -> None:
    ours = import_microseconds("import nebula_images", tmp_path)
    httpx_cost = import_microseconds("import httpx", tmp_path)
    client = import_microseconds("from nebula_images import Client", tmp_path)
    print(f"import nebula_images {ours} us, import httpx {httpx_cost} us, Client {client} us")
    assert ours <= 1.25 * httpx_cost
    # httpx plus our modules (about 1.05x in `make bench`); loose, as the suite runs
    # on busy cores: the module test above is what keeps attrs and the rest out.
    assert client <= 1.5 * httpx_cost

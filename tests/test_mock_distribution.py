"""The mock is its own distribution (mock/, `nebula-images-mock`), issue #12.

`make mock-dist-check` installs it alone into an empty venv and serves a generation;
these tests keep the split honest without touching an index.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

from conftest import ROOT, SPEC_PATH

MOCK = ROOT / "mock"


def test_the_mock_carries_the_spec_of_the_repository() -> None:
    copy = MOCK / "nebula_images_mock" / "openapi.yaml"
    assert copy.read_bytes() == SPEC_PATH.read_bytes(), "stale copy: run `make generate`"


def test_the_mock_distribution_stands_alone() -> None:
    project = tomllib.loads((MOCK / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "nebula-images-mock"
    assert not any(dep.startswith("nebula-images") for dep in project["dependencies"])
    assert project["scripts"]["nebula-images-mock"] == "nebula_images_mock.__main__:main"
    assert project["entry-points"]["pytest11"] == {
        "nebula_images_mock": "nebula_images_mock.pytest_plugin"
    }


def test_the_client_wheel_has_no_server_code_and_no_pytest_plugin() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "entry-points" not in config["project"]
    assert config["project"]["optional-dependencies"]["mock"] == ["nebula-images-mock==0.1.0"]
    testing = ROOT / "wrapper" / "nebula_images" / "testing"
    assert sorted(p.name for p in testing.glob("*.py")) == ["__init__.py"]


SERVE_WITHOUT_CLIENT = """
import base64, json, sys, urllib.request
sys.modules["nebula_images"] = None  # the client cannot be imported
from nebula_images_mock import MockConfig, MockServer
with MockServer(MockConfig()) as mock:
    body = {"model_name": "black-forest-labs/FLUX.1-schnell", "prompt": "a fox",
            "width": 64, "height": 72, "seed": 4294967295}
    request = urllib.request.Request(mock.base_url + "/images/generation",
        data=json.dumps(body).encode(), headers={
            "Authorization": "Bearer " + mock.api_key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        image = json.load(answer)["data"][0]
png = base64.b64decode(image["b64_json"])
assert png[:8] == b"\\x89PNG\\r\\n\\x1a\\n" and png[16:24] == (64).to_bytes(4, "big") + (72).to_bytes(4, "big")
assert image["seed"] == 4294967295
print("served without the client")
"""


def test_the_mock_serves_without_the_client_package() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_WITHOUT_CLIENT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "served without the client" in done.stdout


def test_old_import_paths_are_the_mock_modules() -> None:
    import nebula_images.testing._config as old_config
    import nebula_images_mock
    import nebula_images_mock._config as new_config
    from nebula_images.testing import MockServer

    assert old_config is new_config
    assert MockServer is nebula_images_mock.MockServer

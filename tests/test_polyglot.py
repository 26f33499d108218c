"""generated/typescript|java|go: drift against a fresh regeneration, and the skip rules
of `make polyglot`.

Here only TypeScript is regenerated (about a second, where `make polyglot-tools` has
installed openapi-typescript); Java and Go take two JVM runs of about half a minute
each, so `make polyglot` checks their drift, before it compiles and smoke-tests all
three (the compile and smoke runs are too slow for `make test`).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from conftest import ROOT, SPEC_PATH

POLYGLOT = ROOT / "polyglot"


def _load(name: str) -> ModuleType:
    sys.path.insert(0, str(POLYGLOT))
    try:
        spec = importlib.util.spec_from_file_location(name, POLYGLOT / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(POLYGLOT))


generate = _load("generate")
run = _load("run")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str | None]]:
    """TypeScript regenerated, where openapi-typescript is installed."""
    out = tmp_path_factory.mktemp("polyglot")
    reasons = generate.generate(SPEC_PATH, out, ["typescript"])
    return out, reasons


@pytest.mark.parametrize("language", ["typescript"])
def test_committed_client_matches_a_fresh_regeneration(
    regenerated: tuple[Path, dict[str, str | None]], language: str
) -> None:
    out, reasons = regenerated
    if reasons[language] is not None:
        pytest.skip(f"{language}: {reasons[language]}")
    problems = run.tree_problems(out / language, ROOT / "generated" / language)
    assert problems == [], f"generated/{language} is stale; run `make generate`"


def test_committed_clients_carry_the_spec_fixes() -> None:
    """What the spec fixes of issue #12 look like in the committed generated code."""
    schema = (ROOT / "generated" / "typescript" / "schema.d.ts").read_text(encoding="utf-8")
    assert "        ErrorResponse: {" in schema and "        Error: {" not in schema
    model = ROOT / "generated" / "java" / "src" / "main" / "java" / "com" / "nebulablock"
    java = (model / "images" / "model" / "GeneratedImage.java").read_text(encoding="utf-8")
    assert "private Long seed;" in java and "private String b64Json;" in java
    go = (ROOT / "generated" / "go" / "model_generated_image.go").read_text(encoding="utf-8")
    assert "Seed *int64" in go and "B64Json string" in go
    error_go = (ROOT / "generated" / "go" / "model_error_response.go").read_text(encoding="utf-8")
    assert "nil" not in error_go.split("type ErrorResponse struct")[1].split("}")[0]


def test_a_missing_generator_is_a_skip_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(generate, "OPENAPI_TYPESCRIPT", tmp_path / "missing")
    monkeypatch.setattr(generate, "OPENAPI_GENERATOR", tmp_path / "missing")
    assert generate.main(["--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert all(" skipped, " in line and "make polyglot-tools" in line for line in lines)
    assert not (tmp_path / "out").exists()


def test_polyglot_fails_when_no_language_can_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def nothing_installed(language: str) -> str:
        return f"no {language} toolchain here"

    monkeypatch.setattr(run, "skip_reason", nothing_installed)
    assert run.main([]) == 1
    out = capsys.readouterr().out
    for language in ("typescript", "java", "go"):
        assert f"polyglot {language}: SKIPPED, no {language} toolchain here" in out
    assert "no language could run" in out


def test_unknown_language_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        generate.main(["cobol"])
    assert "unknown language" in capsys.readouterr().err

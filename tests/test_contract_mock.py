"""Schemathesis contract suite against a running mock: all checks, both phases, no failures."""

from __future__ import annotations

import base64
import io
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from nebula_images.testing import MockServer
from nebula_images.testing.contract import (
    ContractResult,
    is_local_url,
    remote_budget,
    run_contract,
    summary,
)
from nebula_images.testing.schemathesis_hooks import needs_real_picture, replace_inputs

ROOT = Path(__file__).resolve().parent.parent
ALL_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "ignored_auth",
)


@pytest.fixture(scope="module")
def contract() -> Iterator[tuple[ContractResult, MockServer]]:
    with MockServer() as mock:
        result = run_contract(mock.base_url, mock.api_key, max_examples=25, echo=False)
        yield result, mock


@pytest.mark.slow
def test_contract_passes_with_zero_failures(contract: tuple[ContractResult, MockServer]) -> None:
    result, mock = contract
    print(summary(result))
    assert result.passed, result.output[-4000:]
    stats = result.stats
    assert stats.get("checks_failure", 0) == 0
    assert stats["cases_positive"] > 100 and stats["cases_negative"] > 100
    for check in ALL_CHECKS:
        assert stats.get(f"check:{check}:success", 0) > 0, check
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅  {phase}" in result.output or f"✅ {phase}" in result.output, phase
    # Generated inpainting requests really ran (the hooks turn base64 into pictures).
    assert any(e.model == "black-forest-labs/FLUX.1-Fill-dev" for e in mock.ledger.entries)


@pytest.mark.slow
def test_contract_output_hides_the_key(contract: tuple[ContractResult, MockServer]) -> None:
    result, mock = contract
    assert mock.api_key not in result.output


def test_repo_schemathesis_toml_loads_the_hooks() -> None:
    config = tomllib.loads((ROOT / "schemathesis.toml").read_text(encoding="utf-8"))
    # A file path, not a module: a Schemathesis without this package loads it as is.
    assert config["hooks"] == "mock/nebula_images_mock/schemathesis_hooks.py"
    assert (ROOT / config["hooks"]).is_file()
    assert config["generation"]["deterministic"] is True


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size).save(out, format="PNG")
    return out.getvalue()


def test_hooks_swap_non_picture_base64_for_same_size_pngs() -> None:
    body = {"image": base64.b64encode(b"hello").decode(), "mask": "AAAA", "prompt": "x"}
    assert replace_inputs(body)
    sizes = {
        Image.open(io.BytesIO(base64.b64decode(body[f], validate=True))).size
        for f in ("image", "mask")
    }
    assert len(sizes) == 1
    again = {"image": base64.b64encode(b"hello").decode(), "mask": "AAAA"}
    replace_inputs(again)
    assert again["image"] == body["image"]  # deterministic


@pytest.mark.parametrize("value", ["", "abc", 12, None, ["AAAA"]])
def test_hooks_leave_schema_breaking_values_alone(value: object) -> None:
    assert not needs_real_picture(value)
    body = {"image": value, "mask": value}
    assert not replace_inputs(body)
    assert body == {"image": value, "mask": value}


def test_hooks_swap_schema_valid_text_that_is_not_base64() -> None:
    # The spec has no `format: byte`: any string of 4+ characters is schema-valid.
    body = {"image": "not base64!", "mask": "00000"}
    assert replace_inputs(body)
    for field in ("image", "mask"):
        assert base64.b64decode(body[field], validate=True).startswith(b"\x89PNG")


def test_hooks_pair_a_real_image_with_a_swapped_mask() -> None:
    body = {"image": base64.b64encode(_png((40, 40))).decode(), "mask": "AAAA"}
    assert replace_inputs(body)
    sizes = {
        Image.open(io.BytesIO(base64.b64decode(body[f], validate=True))).size
        for f in ("image", "mask")
    }
    assert len(sizes) == 1


def test_remote_runs_are_positive_only_with_a_stated_budget() -> None:
    assert is_local_url("http://127.0.0.1:8080/api/v1")
    assert is_local_url("http://localhost:8080/api/v1")
    assert not is_local_url("https://api.nebulablock.com/api/v1")
    budget = remote_budget(2)
    assert "positive cases only" in budget and "at most 6 billed" in budget


def test_contract_refuses_a_remote_url_without_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nebula_images.testing.contract import main

    monkeypatch.delenv("NEBULA_API_KEY", raising=False)
    assert main(["--url", "https://api.nebulablock.com/api/v1"]) == 2
    assert "NEBULA_API_KEY" in capsys.readouterr().out


def test_contract_states_the_budget_before_a_remote_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nebula_images.testing import contract

    calls: list[dict[str, object]] = []

    def fake_run(url: str, api_key: str, **kwargs: object) -> ContractResult:
        calls.append({"url": url, "printed": capsys.readouterr().out, **kwargs})
        return ContractResult(0, "")

    monkeypatch.setenv("NEBULA_API_KEY", "ak_real_secret")
    monkeypatch.setattr(contract, "run_contract", fake_run)
    assert contract.main(["--url", "https://api.nebulablock.com/api/v1"]) == 0
    (call,) = calls
    assert call["full"] is False  # positive cases only
    assert "Budget:" in str(call["printed"])  # said before the run starts
    assert "ak_real_secret" not in str(call["printed"]) + capsys.readouterr().out

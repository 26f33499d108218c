"""The nebula-images command line: every command and exit code, against the mock."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from nebula_images.cli import EXIT_API_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, cli

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCHNELL = "black-forest-labs/FLUX.1-schnell"
SECRET_KEY = "sk_secret_do_not_print_42"  # the mock accepts only ak_...


@pytest.fixture
def env(nebula_mock: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """NEBULA_API_KEY / NEBULA_BASE_URL pointing at the mock, as a user would set them."""
    values = {"NEBULA_API_KEY": nebula_mock.api_key, "NEBULA_BASE_URL": nebula_mock.base_url}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def run(*args: str, key: str | None = None) -> Result:
    """Invoke the CLI in-process; the key must never appear in what it prints."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    for secret in filter(None, [key, os.environ.get("NEBULA_API_KEY")]):
        assert secret not in result.stdout
        assert secret not in result.stderr
    assert "Traceback" not in result.stderr
    return result


# --- help and usage errors (no server needed) ---


@pytest.mark.parametrize("command", [[], ["generate"], ["batch"], ["models"], ["mock"]])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == EXIT_OK
    assert "Examples:" in result.stdout
    assert "nebula-images" in result.stdout


def test_python_dash_m_runs_the_same_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nebula_images", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0
    assert "batch" in proc.stdout and "generate" in proc.stdout


def test_batch_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("batch", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_USAGE
    assert "nope.txt does not exist" in result.stderr


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n\n"])
def test_batch_empty_file_is_a_usage_error(tmp_path: Path, content: str) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(content)
    result = run("batch", str(prompts), "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_USAGE
    assert "has no prompts" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ('{"prompt": "x",', "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"prompt": "x", "colour": "red"}', "unknown key 'colour'"),
        ('{"seed": 1}', "'prompt' must be a non-empty string"),
    ],
)
def test_batch_malformed_jsonl_line_names_its_line_number(
    tmp_path: Path, bad_line: str, expected: str
) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"prompt": "ok"}\n\n' + bad_line + '\n{"prompt": "ok too"}\n')
    result = run("batch", str(jobs), "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_USAGE
    assert f"jobs.jsonl:3: {expected}" in result.stderr


def test_no_api_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NEBULA_API_KEY", raising=False)
    result = run("generate", "a fox", "-o", str(tmp_path / "fox.png"))
    assert result.exit_code == EXIT_USAGE
    assert "NEBULA_API_KEY" in result.stderr


def test_batch_out_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    prompts = write_prompts(tmp_path / "p.txt", 2)
    (tmp_path / "taken").write_text("x")
    result = run("batch", str(prompts), "--out", str(tmp_path / "taken"))
    assert result.exit_code == EXIT_USAGE
    assert "taken" in result.stderr


def test_bad_option_value_is_a_usage_error() -> None:
    result = run("batch", "x.txt", "--out", "o", "--concurrency", "0")
    assert result.exit_code == EXIT_USAGE


# --- generate ---


def test_generate_writes_the_png(env: dict[str, str], tmp_path: Path, nebula_mock: Any) -> None:
    out = tmp_path / "fox.png"
    result = run("generate", "a red fox in snow", "-m", SCHNELL, "--seed", "42", "-o", str(out))
    assert result.exit_code == EXIT_OK, result.stderr
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert f"wrote {out}" in result.stdout
    assert "seed 42" in result.stdout
    assert nebula_mock.ledger.billed == 1


def test_generate_json_prints_the_metadata(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "sub" / "owl.png"
    result = run(
        "generate", "an owl", "-m", SCHNELL, "--width", "512", "--height", "256", "-o", str(out),
        "--json",
    )  # fmt: skip
    assert result.exit_code == EXIT_OK, result.stderr
    meta = json.loads(result.stdout)
    assert meta["files"] == [str(out)]
    assert meta["model"] == SCHNELL
    assert meta["parameters"]["width"] == 512
    assert meta["request_id"] and meta["idempotency_key"]
    assert meta["images"][0]["bytes"] == out.stat().st_size


def test_generate_default_file_name_comes_from_the_prompt(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("generate", "A Red Fox!", "-m", SCHNELL)
    assert result.exit_code == EXIT_OK, result.stderr
    assert (tmp_path / "a-red-fox.png").read_bytes().startswith(PNG_MAGIC)


def test_generate_api_error_is_one_line_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    result = run("generate", "x", "-m", "acme/imaginary-1", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == EXIT_API_ERROR
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "404" in lines[0]


def test_generate_wrong_key_is_exit_1_and_never_printed(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEBULA_API_KEY", "not-a-mock-key-1234")
    result = run("generate", "x", "-o", str(tmp_path / "x.png"), key="not-a-mock-key-1234")
    assert result.exit_code == EXIT_API_ERROR
    assert "401" in result.stderr
    result = run(
        "--api-key", SECRET_KEY, "generate", "x", "-o", str(tmp_path / "x.png"), key=SECRET_KEY
    )
    assert result.exit_code == EXIT_API_ERROR


def test_generate_invalid_value_is_exit_2_naming_the_field(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any
) -> None:
    result = run("generate", "x", "-m", SCHNELL, "--width", "7", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == EXIT_USAGE
    assert "width" in result.stderr
    assert nebula_mock.requests_seen == 0


def test_generate_inpainting_with_image_and_mask_files(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any
) -> None:
    from PIL import Image

    Image.new("RGB", (64, 64), "navy").save(tmp_path / "photo.png")
    Image.new("L", (64, 64), 255).save(tmp_path / "mask.png")
    out = tmp_path / "boat.png"
    result = run(
        "generate", "a small wooden boat", "-m", "black-forest-labs/FLUX.1-Fill-dev",
        "--image", str(tmp_path / "photo.png"), "--mask", str(tmp_path / "mask.png"),
        "--width", "64", "--height", "64", "-o", str(out), "--json",
    )  # fmt: skip
    assert result.exit_code == EXIT_OK, result.stderr
    assert json.loads(result.stdout)["model"] == "black-forest-labs/FLUX.1-Fill-dev"
    with Image.open(out) as picture:
        assert picture.size == (64, 64)


def test_generate_missing_image_file_is_a_usage_error(env: dict[str, str], tmp_path: Path) -> None:
    result = run("generate", "x", "--image", str(tmp_path / "nope.png"))
    assert result.exit_code == EXIT_USAGE
    assert "nope.png" in result.stderr


# --- models ---


def test_models_table_and_json(env: dict[str, str]) -> None:
    table = run("models")
    assert table.exit_code == EXIT_OK, table.stderr
    assert SCHNELL in table.stdout and "price" in table.stdout
    listed = json.loads(run("models", "--json").stdout)
    assert any(m["name"] == SCHNELL for m in listed)
    images = json.loads(run("models", "--type", "image", "--json").stdout)
    assert images and all(m["type"].lower() == "image" for m in images)
    assert len(images) < len(listed)


def test_global_client_options_are_accepted(env: dict[str, str]) -> None:
    args = ["--timeout", "30", "--max-retries", "1", "--rate-limit", "600", "models", "--json"]
    result = run(*args)
    assert result.exit_code == EXIT_OK, result.stderr
    assert json.loads(result.stdout)


# --- batch ---


def write_prompts(path: Path, n: int) -> Path:
    path.write_text("".join(f"picture number {i}\n" for i in range(n)))
    return path


def test_batch_generates_everything_then_a_rerun_skips_it(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any
) -> None:
    prompts = write_prompts(tmp_path / "prompts.txt", 12)
    out = tmp_path / "out"
    result = run("batch", str(prompts), "--out", str(out), "-c", "4", "-m", SCHNELL)
    assert result.exit_code == EXIT_OK, result.stderr
    assert "12 generated, 0 already done, 0 failed" in result.stdout
    assert len(list(out.glob("0*.png"))) == 12
    meta = json.loads((out / "000003.json").read_text())
    assert meta["prompt"] == "picture number 3" and meta["model"] == SCHNELL
    assert nebula_mock.ledger.billed == 12

    again = run("batch", str(prompts), "--out", str(out), "-m", SCHNELL, "--json")
    assert again.exit_code == EXIT_OK
    summary = json.loads(again.stdout)
    assert (summary["done"], summary["skipped"], summary["failed"]) == (0, 12, 0)
    assert nebula_mock.ledger.billed == 12


def test_batch_jsonl_per_item_params_and_partial_failure_exit_3(
    env: dict[str, str], tmp_path: Path
) -> None:
    jobs = tmp_path / "jobs.jsonl"
    lines = [
        {"prompt": "fox", "seed": 1},
        {"prompt": "owl", "model_name": "acme/imaginary-1"},  # 404: fails in its slot
        {"prompt": "cat", "width": 512, "height": 512},
    ]
    jobs.write_text("# jobs\n" + "\n".join(json.dumps(line) for line in lines) + "\n")
    out = tmp_path / "out"
    result = run("batch", str(jobs), "--out", str(out), "-m", SCHNELL)
    assert result.exit_code == EXIT_PARTIAL
    assert "2 generated, 0 already done, 1 failed" in result.stdout
    assert result.stderr.startswith("item 1 (jobs.jsonl:3): HTTP 404")
    assert sorted(p.name for p in out.glob("0*.png")) == ["000000.png", "000002.png"]
    assert json.loads((out / "000002.json").read_text())["parameters"]["width"] == 512


def test_batch_jsonl_image_paths_are_relative_to_the_file(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any
) -> None:
    from PIL import Image

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    Image.new("RGB", (64, 64), "teal").save(inputs / "photo.png")
    Image.new("L", (64, 64), 255).save(inputs / "mask.png")
    jobs = inputs / "jobs.jsonl"
    line = {
        "prompt": "a boat",
        "model": "black-forest-labs/FLUX.1-Fill-dev",
        "image": "photo.png",
        "mask": "mask.png",
        "width": 64,
        "height": 64,
    }
    jobs.write_text(json.dumps(line) + "\n")
    result = run("batch", str(jobs), "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_OK, result.stderr
    meta = json.loads((tmp_path / "out" / "000000.json").read_text())
    assert meta["model"] == "black-forest-labs/FLUX.1-Fill-dev"
    assert nebula_mock.ledger.billed == 1


def test_batch_fail_fast_exits_1(env: dict[str, str], tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"prompt": "a", "model": "acme/imaginary-1"}\n{"prompt": "b"}\n')
    result = run("batch", str(jobs), "--out", str(tmp_path / "o"), "--fail-fast", "-c", "1")
    assert result.exit_code == EXIT_API_ERROR
    assert "error: " in result.stderr and "404" in result.stderr


def test_batch_bad_key_stops_at_once(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nebula_mock: Any
) -> None:
    monkeypatch.setenv("NEBULA_API_KEY", "wrong-key-5678")
    prompts = write_prompts(tmp_path / "p.txt", 50)
    result = run(
        "batch", str(prompts), "--out", str(tmp_path / "o"), "-c", "2", key="wrong-key-5678"
    )
    assert result.exit_code == EXIT_API_ERROR
    assert "401" in result.stderr
    assert nebula_mock.requests_seen < 10


def test_batch_progress_bar_renders(env: dict[str, str], tmp_path: Path) -> None:
    prompts = write_prompts(tmp_path / "p.txt", 3)
    result = run("batch", str(prompts), "--out", str(tmp_path / "o"), "--progress")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "3/3" in result.stderr


# --- subprocesses: Ctrl-C, SIGKILL and resume; the mock command ---


def cli_process(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nebula_images", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_sidecars(out: Path, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while len(list(out.glob("0*.json"))) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.01)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_batch_killed_part_way_resumes_without_paying_twice(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any, sig: signal.Signals
) -> None:
    nebula_mock.configure(latency_seconds=0.1)
    n = 30
    prompts = write_prompts(tmp_path / "p.txt", n)
    out = tmp_path / "out"
    args = ["batch", str(prompts), "--out", str(out), "-c", "3", "-m", SCHNELL]
    proc = cli_process(args, env)
    wait_for_sidecars(out, 6, proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=15)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert "interrupted" in stderr and "Traceback" not in stderr
    else:
        assert proc.returncode == -signal.SIGKILL
    finished = len(list(out.glob("0*.json")))
    assert 6 <= finished < n
    billed_before = nebula_mock.ledger.billed
    assert billed_before >= finished  # in-flight calls may have been billed, not saved

    nebula_mock.configure(latency_seconds=0.0)
    result = run(*args, "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    summary = json.loads(result.stdout)
    assert summary["skipped"] == finished
    assert summary["done"] == n - finished
    assert len(list(out.glob("0*.png"))) == n
    # Every image billed exactly once: the in-flight ones came back from the key cache.
    assert nebula_mock.ledger.billed == n
    keys = [e.idempotency_key for e in nebula_mock.ledger.entries]
    assert len(keys) == len(set(keys)) == n
    assert not list(out.glob(".*tmp*"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def mock_process() -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    proc = cli_process(["mock", "--port", str(port)], {})
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_mock_command_serves_the_api_until_ctrl_c(
    mock_process: tuple[subprocess.Popen[str], int],
) -> None:
    proc, port = mock_process
    url = f"http://127.0.0.1:{port}/api/v1/serverless/models"
    deadline = time.monotonic() + 20
    while True:
        try:
            response = httpx.get(url, headers={"Authorization": "Bearer ak_test_1"})
            break
        except httpx.TransportError:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert response.status_code == 200
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=15)
    assert proc.returncode in (0, 130)

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

import attrs
import httpx
import pytest
from click.testing import CliRunner, Result

from nebula_images.cli import (
    EXIT_API_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    cli,
)
from nebula_images.testing import Fault

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


def run(*args: str, key: str | None = None, stdin: str | bytes | None = None) -> Result:
    """Invoke the CLI in-process (``stdin``: its standard input); the key must never
    appear in what it prints."""
    result = CliRunner().invoke(
        cli, list(args), input=stdin, catch_exceptions=False, prog_name="nebula-images"
    )
    for secret in filter(None, [key, os.environ.get("NEBULA_API_KEY")]):
        assert secret not in result.stdout
        assert secret not in result.stderr
    assert "Traceback" not in result.stderr
    return result


def sidecar_paths(out: Path) -> list[Path]:
    return [p for p in out.glob("*.json") if not p.name.startswith(".")]


def sidecars(out: Path) -> dict[str, dict[str, Any]]:
    """The batch's sidecars by prompt."""
    metas = [json.loads(p.read_text()) for p in sidecar_paths(out)]
    return {meta["prompt"]: meta for meta in metas}


# --- help and usage errors (no server needed) ---


@pytest.mark.parametrize("command", [[], ["generate"], ["batch"], ["models"], ["mock"]])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == EXIT_OK
    assert "Examples:" in result.stdout
    assert "nebula-images" in result.stdout


def test_top_level_help_has_the_exit_code_table() -> None:
    lines = [line.strip() for line in run("--help").stdout.splitlines()]
    table = lines[lines.index("Exit codes:") + 1 :]
    codes = [int(line.split()[0]) for line in table if line.strip()]
    assert codes == [EXIT_OK, EXIT_API_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED]


def test_batch_help_documents_standard_input_and_the_format_option() -> None:
    text = run("batch", "--help").stdout
    assert "nebula-images batch - --out" in text
    assert "--format [auto|text|jsonl]" in text
    assert "<stdin>:LINE" in text


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
    assert "12 generated, 0 skipped, 0 failed" in result.stdout
    assert len(list(out.glob("*.png"))) == 12
    meta = sidecars(out)["picture number 3"]
    assert meta["model"] == SCHNELL and meta["seed"] is not None
    assert nebula_mock.ledger.billed == 12

    again = run("batch", str(prompts), "--out", str(out), "-m", SCHNELL, "--json")
    assert again.exit_code == EXIT_OK
    summary = json.loads(again.stdout)
    assert (summary["generated"], summary["skipped"], summary["failed"]) == (0, 12, 0)
    assert nebula_mock.ledger.billed == 12


@pytest.mark.parametrize("source", ["jobs.jsonl", "-"])
def test_batch_jsonl_per_item_params_and_partial_failure_exit_3(
    env: dict[str, str], tmp_path: Path, source: str
) -> None:
    lines = [
        {"prompt": "fox", "seed": 1},
        {"prompt": "owl", "model_name": "acme/imaginary-1"},  # 404: fails in its slot
        {"prompt": "cat", "width": 512, "height": 512},
    ]
    # A comment first: standard input ("-") still reads as JSONL (the first line with
    # content starts with "{"), a file by its suffix.
    text = "# jobs\n" + "\n".join(json.dumps(line) for line in lines) + "\n"
    out = tmp_path / "out"
    if source == "-":
        result = run("batch", "-", "--out", str(out), "-m", SCHNELL, stdin=text)
        where = "<stdin>:3"
    else:
        (tmp_path / source).write_text(text)
        result = run("batch", str(tmp_path / source), "--out", str(out), "-m", SCHNELL)
        where = "jobs.jsonl:3"
    assert result.exit_code == EXIT_PARTIAL
    assert "2 generated, 0 skipped, 1 failed" in result.stdout
    item_lines = [line for line in result.stderr.splitlines() if line.startswith("item ")]
    assert len(item_lines) == 1 and item_lines[0].startswith(f"item 1 ({where}): HTTP 404")
    metas = sidecars(out)
    assert sorted(metas) == ["cat", "fox"] and len(list(out.glob("*.png"))) == 2
    assert metas["fox"]["seed"] == 1
    assert metas["cat"]["parameters"]["width"] == 512


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
    meta = sidecars(tmp_path / "out")["a boat"]
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
    while len(sidecar_paths(out) if out.is_dir() else []) < count:
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
        assert "Traceback" not in stderr
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("interrupted: ") and " generated, 0 skipped, 0 failed in " in last
        assert f"in {out}; run the same command again to resume" in last
    else:
        assert proc.returncode == -signal.SIGKILL
    finished = len(sidecar_paths(out))
    assert 6 <= finished < n
    billed_before = nebula_mock.ledger.billed
    assert billed_before >= finished  # in-flight calls may have been billed, not saved

    nebula_mock.configure(latency_seconds=0.0)
    result = run(*args, "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    summary = json.loads(result.stdout)
    assert summary["skipped"] == finished
    assert summary["generated"] == n - finished
    assert len(list(out.glob("*.png"))) == n
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


# --- batch from standard input ---


def test_batch_reads_text_prompts_from_stdin_and_resumes(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any
) -> None:
    out = tmp_path / "out"
    text = "a red fox\n\n# a comment\nan owl at night\n  a paper boat  \n"
    result = run("batch", "-", "--out", str(out), "-m", SCHNELL, stdin=text)
    assert result.exit_code == EXIT_OK, result.stderr
    assert "3 generated, 0 skipped, 0 failed" in result.stdout
    assert set(sidecars(out)) == {"a red fox", "an owl at night", "a paper boat"}

    # The same input again: done items are skipped (by their identity), one changed
    # prompt is regenerated, and nothing done is billed twice.
    changed = text.replace("an owl at night", "an owl at dawn")
    again = run("batch", "-", "--out", str(out), "-m", SCHNELL, "--json", stdin=changed)
    assert again.exit_code == EXIT_OK, again.stderr
    summary = json.loads(again.stdout)
    assert (summary["total"], summary["generated"], summary["skipped"]) == (3, 1, 2)
    assert summary["input_error"] is None
    assert "an owl at dawn" in sidecars(out)
    assert nebula_mock.ledger.billed == 4


@pytest.mark.parametrize(
    ("args", "expected_prompt"),
    [
        (["--format", "text"], '{"prompt": "braces"}'),  # taken as a prompt, as it is
        ([], "braces"),  # auto: the first line with content starts with "{"
    ],
)
def test_batch_format_option_decides_how_stdin_is_read(
    env: dict[str, str], tmp_path: Path, args: list[str], expected_prompt: str
) -> None:
    out = tmp_path / "out"
    result = run("batch", "-", "--out", str(out), *args, stdin='{"prompt": "braces"}\n')
    assert result.exit_code == EXIT_OK, result.stderr
    assert list(sidecars(out)) == [expected_prompt]


def test_batch_format_jsonl_overrides_a_txt_suffix(env: dict[str, str], tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.txt"
    jobs.write_text('{"prompt": "a heron", "seed": 3}\n')
    as_text = run("batch", str(jobs), "--out", str(tmp_path / "text"))
    assert as_text.exit_code == EXIT_OK, as_text.stderr
    assert list(sidecars(tmp_path / "text")) == ['{"prompt": "a heron", "seed": 3}']
    as_jsonl = run("batch", str(jobs), "--out", str(tmp_path / "jsonl"), "--format", "jsonl")
    assert as_jsonl.exit_code == EXIT_OK, as_jsonl.stderr
    assert list(sidecars(tmp_path / "jsonl")) == ["a heron"]


def test_batch_stdin_malformed_line_keeps_what_ran_and_names_the_line(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any
) -> None:
    out = tmp_path / "out"
    good = [json.dumps({"prompt": f"boat {i}"}) for i in range(6)]
    bad = '{"prompt": "boat 4",'
    lines = [*good[:4], "", bad, good[5]]  # the bad line is line 6; "boat 5" follows it
    args = ["batch", "-", "--out", str(out), "-c", "2", "-m", SCHNELL]
    result = run(*args, "--json", stdin="\n".join(lines) + "\n")
    assert result.exit_code == EXIT_USAGE
    message = "<stdin>:6: not valid JSON (Expecting property name enclosed in double quotes)"
    # --json: the error is JSON too, one line on stderr.
    assert [json.loads(line) for line in result.stderr.strip().splitlines()] == [
        {"error": {"type": "usage", "message": message, "exit_code": EXIT_USAGE}}
    ]
    summary = json.loads(result.stdout)  # the summary comes first, then the error
    assert (summary["generated"], summary["failed"], summary["input_error"]) == (4, 0, message)
    # Everything before the bad line is on disk; nothing after it was read or billed.
    assert sorted(sidecars(out)) == ["boat 0", "boat 1", "boat 2", "boat 3"]
    assert nebula_mock.ledger.billed == 4

    fixed = run(*args, "--json", stdin="\n".join([*good[:4], "", *good[4:]]) + "\n")
    assert fixed.exit_code == EXIT_OK, fixed.stderr
    summary = json.loads(fixed.stdout)
    assert (summary["generated"], summary["skipped"]) == (2, 4)
    assert nebula_mock.ledger.billed == 6


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        ("", "error: <stdin> has no prompts"),
        ("\n# nothing but a comment\n\n", "error: <stdin> has no prompts"),
        ('\n{"prompt": 7}\n{"prompt": "fine"}\n', "error: <stdin>:2: 'prompt' must be"),
        (b"a fox\n\xff\xfe bad bytes\n", "error: <stdin>:2: not UTF-8 text"),
    ],
)
def test_batch_stdin_bad_start_is_a_usage_error_before_any_call(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any, stdin: str | bytes, expected: str
) -> None:
    out = tmp_path / "out"
    result = run("batch", "-", "--out", str(out), stdin=stdin)
    assert result.exit_code == EXIT_USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    if not isinstance(stdin, bytes):  # the UTF-8 case: the line before ran
        assert not out.exists()
        assert nebula_mock.requests_seen == 0


def test_batch_stdin_progress_shows_the_total_once_known(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run("batch", "-", "--out", str(tmp_path / "o"), "--progress", stdin="a\nb\nc\n")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "3/3" in result.stderr


def test_batch_streams_a_pipe_line_by_line(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any
) -> None:
    out = tmp_path / "out"
    args = ["batch", "-", "--out", str(out), "-c", "2", "-m", SCHNELL, "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nebula_images", *args],
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    try:
        proc.stdin.write("a kite\na kestrel\n# more to come\na kettle\n")
        proc.stdin.flush()
        # The pipe is still open: these three can only be done if lines are read as
        # they come, not after the end of the input.
        wait_for_sidecars(out, 3, proc)
        rest = '{"prompt": "not JSON here: the format is already text"}\na kitten\n'
        stdout, stderr = proc.communicate(rest, timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == EXIT_OK, stderr
    assert json.loads(stdout)["generated"] == 5
    assert any(p.startswith('{"prompt": "not JSON') for p in sidecars(out))
    assert nebula_mock.ledger.billed == 5


# --- generate -o: directories ---


def test_generate_into_an_existing_directory_uses_a_generated_name(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    result = run("generate", "A Red Fox!", "-m", SCHNELL, "-o", str(folder))
    assert result.exit_code == EXIT_OK, result.stderr
    written = folder / "a-red-fox.png"
    assert written.read_bytes().startswith(PNG_MAGIC)
    assert result.stdout.startswith(f"wrote {written} (")


def test_generate_into_a_new_directory_given_with_a_slash(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run("generate", "an owl", "-m", SCHNELL, "-o", f"{tmp_path}/new/dir/", "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    written = tmp_path / "new" / "dir" / "an-owl.png"
    assert json.loads(result.stdout)["files"] == [str(written)]
    assert written.read_bytes().startswith(PNG_MAGIC)


def test_generate_creates_missing_parent_directories(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "c" / "heron.png"
    result = run("generate", "a heron", "-m", SCHNELL, "-o", str(out))
    assert result.exit_code == EXIT_OK, result.stderr
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_generate_output_under_a_file_fails_before_the_call(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a directory")
    result = run("generate", "x", "-o", str(blocker / "sub" / "x.png"))
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.strip().splitlines() == [
        f"error: -o {blocker / 'sub' / 'x.png'}: {blocker} is not a directory"
    ]
    assert nebula_mock.requests_seen == 0  # nothing billed for an image with nowhere to go


# --- one file-extension rule for generate and batch ---


@attrs.frozen
class FormatImage:
    data: bytes
    format: str
    seed: int | None = 1
    inference_seconds: float | None = 0.5


@attrs.frozen
class FormatResult:
    images: tuple[FormatImage, ...]
    model: str = "fake/model"
    request_id: str = "req-1"
    idempotency_key: str = "key-1"
    retries: int = 0
    parameters: dict[str, Any] = attrs.field(factory=dict)


class FormatClient:
    """A stand-in Client whose images come back in one given format."""

    def __init__(self, image_format: str) -> None:
        self.image_format = image_format
        self.images = self

    def __enter__(self) -> FormatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def generate(self, prompt: str, **params: Any) -> FormatResult:
        return FormatResult(images=(FormatImage(b"picture", self.image_format),))


@pytest.mark.parametrize(
    ("image_format", "extension"), [("png", "png"), ("jpeg", "jpg"), ("webp", "webp")]
)
def test_generate_and_batch_name_files_by_the_same_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, image_format: str, extension: str
) -> None:
    from nebula_images import cli as cli_module

    monkeypatch.setattr(cli_module._Settings, "client", lambda self: FormatClient(image_format))
    monkeypatch.chdir(tmp_path)
    assert run("generate", "a fox").exit_code == EXIT_OK
    assert run("batch", "-", "--out", "out", stdin="a fox\n").exit_code == EXIT_OK
    assert (tmp_path / f"a-fox.{extension}").read_bytes() == b"picture"
    (written,) = (tmp_path / "out").glob(f"a-fox-*.{extension}")
    assert written.read_bytes() == b"picture"


# --- generate -o: never replaces, the extension's format, standard output ---


def test_generate_never_replaces_a_file_without_overwrite(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any
) -> None:
    out = tmp_path / "fox.png"
    assert run("generate", "a fox", "--seed", "1", "-o", str(out)).exit_code == EXIT_OK
    first = out.read_bytes()
    again = run("generate", "another fox", "--seed", "2", "-o", str(out))
    assert again.exit_code == EXIT_USAGE
    assert again.stderr.strip().splitlines() == [
        f"error: -o {out}: the file exists; pass --overwrite to replace it, or name another file"
    ]
    assert out.read_bytes() == first and nebula_mock.ledger.billed == 1  # refused before the call
    replaced = run("generate", "another fox", "--seed", "2", "-o", str(out), "--overwrite")
    assert replaced.exit_code == EXIT_OK, replaced.stderr
    assert out.read_bytes() != first


def test_generate_into_a_directory_picks_a_free_name(env: dict[str, str], tmp_path: Path) -> None:
    for seed in ("1", "2", "3"):
        assert run("generate", "A Red Fox!", "--seed", seed, "-o", f"{tmp_path}/").exit_code == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["a-red-fox-2.png", "a-red-fox-3.png", "a-red-fox.png"]
    assert len({p.read_bytes() for p in tmp_path.iterdir()}) == 3


@pytest.mark.parametrize(("suffix", "magic"), [(".jpg", b"\xff\xd8\xff"), (".webp", b"RIFF")])
def test_generate_writes_the_format_the_extension_names(
    env: dict[str, str], tmp_path: Path, suffix: str, magic: bytes
) -> None:
    out = tmp_path / f"fox{suffix}"
    result = run("generate", "a fox", "-o", str(out), "--json")
    assert result.exit_code == EXIT_OK, result.stderr
    data = out.read_bytes()
    assert data.startswith(magic) and not data.startswith(PNG_MAGIC)
    assert json.loads(result.stdout)["files"] == [str(out)]


def test_generate_refuses_an_extension_it_cannot_write_before_the_call(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    gif = run("generate", "a fox", "-o", str(tmp_path / "fox.gif"))
    assert gif.exit_code == EXIT_USAGE
    assert gif.stderr.strip().splitlines() == [
        f"error: -o {tmp_path / 'fox.gif'}: .gif names no format this command writes; "
        "use .png, .jpg or .webp"
    ]
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if Pillow were not installed
    jpg = run("generate", "a fox", "-o", str(tmp_path / "fox.jpg"))
    assert jpg.exit_code == EXIT_USAGE
    assert len(jpg.stderr.strip().splitlines()) == 1
    assert "needs Pillow: pip install 'nebula-images[pil]'" in jpg.stderr
    assert nebula_mock.requests_seen == 0 and not list(tmp_path.iterdir())


def test_generate_dash_writes_the_image_to_standard_output(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["generate", "a fox", "--seed", "5", "-o", "-"])
    assert result.exit_code == EXIT_OK, result.stderr
    assert result.stdout_bytes.startswith(PNG_MAGIC)
    assert "wrote standard output" in result.stderr and "seed 5" in result.stderr
    assert not list(tmp_path.iterdir())  # no file named "-"


# --- errors: one line, the CLI's words, JSON with --json ---


def test_errors_use_the_cli_words(env: dict[str, str], tmp_path: Path, nebula_mock: Any) -> None:
    sdxl = "stabilityai/stable-diffusion-xl-base-1.0"
    result = run("generate", "x", "-m", sdxl, "--seed", "3", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == EXIT_USAGE
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: --seed: model stabilityai/stable-diffusion-xl-base-1.0")
    assert "Fix: remove --seed (it takes: --guidance-scale, --height, --negative-prompt" in line
    assert "seed=" not in line and "guidance_scale" not in line
    assert nebula_mock.requests_seen == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["batch", "p.txt"],
            "error: Missing option '-o' / '--out' (see nebula-images batch --help)",
        ),
        (
            ["generate", "x"],
            "error: no API key: pass --api-key or set the environment variable NEBULA_API_KEY",
        ),
        (
            ["generate", "x", "--width", "wide"],
            "error: Invalid value for '--width': 'wide' is not a valid integer",
        ),
    ],
)
def test_usage_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    monkeypatch.delenv("NEBULA_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.txt").write_text("a fox\n")
    result = run(*args)
    assert result.exit_code == EXIT_USAGE
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(expected)


def test_json_errors_are_json(env: dict[str, str], tmp_path: Path) -> None:
    result = run("generate", "x", "--width", "7", "-o", str(tmp_path / "x.png"), "--json")
    assert result.exit_code == EXIT_USAGE and result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "usage" and error["exit_code"] == EXIT_USAGE
    assert error["message"].startswith("--width: ")
    api = run("generate", "x", "-m", "acme/imaginary-1", "-o", str(tmp_path / "y.png"), "--json")
    assert api.exit_code == EXIT_API_ERROR
    assert json.loads(api.stderr)["error"]["type"] == "api"
    missing = run("models", "--json", "--type")  # Click's own usage error
    assert json.loads(missing.stderr)["error"]["exit_code"] == EXIT_USAGE


def test_a_404_on_a_path_points_at_the_base_url(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = nebula_mock.base_url.removesuffix("/api/v1")
    monkeypatch.setenv("NEBULA_BASE_URL", wrong)
    result = run("generate", "a fox", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == EXIT_API_ERROR
    (line,) = result.stderr.strip().splitlines()
    assert f"the API is not at {wrong}; check --base-url or NEBULA_BASE_URL" in line
    assert "model ids" not in line
    model = run("--base-url", nebula_mock.base_url, "generate", "a fox", "-m", "acme/imaginary-1")
    assert "NEBULA_BASE_URL" not in model.stderr and "nebula-images models" in model.stderr


# --- progress off a terminal ---


def test_batch_off_a_terminal_prints_progress_lines_every_5_percent(
    env: dict[str, str], tmp_path: Path
) -> None:
    prompts = write_prompts(tmp_path / "p.txt", 40)
    result = run("batch", str(prompts), "--out", str(tmp_path / "o"), "-c", "4")
    assert result.exit_code == EXIT_OK, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("batch: ")]
    assert 10 <= len(lines) <= 21  # every 2 of 40 items (5%), give or take a batch of 4
    assert lines[-1].startswith("batch: 40/40 (100%): 40 generated, 0 skipped, 0 failed; ")
    assert " generated/s, ETA " in lines[len(lines) // 2]
    rerun = run("batch", str(prompts), "--out", str(tmp_path / "o"), "--json")
    summary = json.loads(rerun.stdout)
    assert (summary["generated"], summary["skipped"], summary["generated_per_second"]) == (0, 40, 0)


def test_batch_off_a_terminal_prints_a_line_when_time_passes(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nebula_images import cli as cli_module

    monkeypatch.setattr(cli_module, "QUIET_PROGRESS_SECONDS", 0.1)
    nebula_mock.configure(latency_seconds=0.5)
    (tmp_path / "p.txt").write_text("one slow fox\n")
    result = run("batch", str(tmp_path / "p.txt"), "--out", str(tmp_path / "o"))
    assert result.exit_code == EXIT_OK, result.stderr
    assert "batch: 0/1 (0%): 0 generated, 0 skipped, 0 failed" in result.stderr


# --- the global options take effect ---


def test_max_retries_option_takes_effect(env: dict[str, str], nebula_mock: Any) -> None:
    nebula_mock.faults.push(Fault.status(503, retry_after="0"), times=2)
    assert run("--max-retries", "1", "models", "--json").exit_code == EXIT_API_ERROR
    assert nebula_mock.requests_seen == 2
    nebula_mock.faults.push(Fault.status(503, retry_after="0"), times=2)
    assert run("--max-retries", "2", "models", "--json").exit_code == EXIT_OK


def test_timeout_option_takes_effect(env: dict[str, str], tmp_path: Path, nebula_mock: Any) -> None:
    nebula_mock.configure(latency_seconds=2.0)
    args = ["--max-retries", "0", "generate", "x", "-o", str(tmp_path / "x.png")]
    started = time.monotonic()
    result = run("--timeout", "0.3", *args)
    assert result.exit_code == EXIT_API_ERROR
    assert "no answer in time" in result.stderr and "--timeout" in result.stderr
    assert time.monotonic() - started < 1.8
    # The mock still finishes (and bills) the abandoned generation about 2 s in: wait for
    # it here (bounded), or it lands in a later test's ledger.
    give_up = time.monotonic() + 5
    while nebula_mock.ledger.billed < 1 and time.monotonic() < give_up:
        time.sleep(0.05)


def test_rate_limit_option_takes_effect(
    env: dict[str, str], tmp_path: Path, nebula_mock: Any
) -> None:
    prompts = write_prompts(tmp_path / "p.txt", 4)
    args = ["batch", str(prompts), "--out", str(tmp_path / "o"), "-c", "4"]
    assert run("--rate-limit", "120", *args).exit_code == EXIT_OK  # one call per 0.5 s
    times = sorted(e.billed_at for e in nebula_mock.ledger.entries)
    assert times[-1] - times[0] >= 1.0  # without the limiter: all 4 within ~0.3 s


# --- the README's recipe: the CLI on the PATH of .venv, against the mock ---


def test_readme_cli_recipe_runs_against_the_mock(nebula_mock: Any, tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    recipe = readme.split("<!-- cli-recipe -->\n```bash\n", 1)[1].split("```", 1)[0]
    start, export, command = recipe.strip().splitlines()
    assert start.startswith("make mock") and "http://127.0.0.1:8080/api/v1" in start
    # The mock runs here on a free port instead of make mock's 8080.
    export = export.replace("http://127.0.0.1:8080/api/v1", nebula_mock.base_url)
    export = export.replace("ak_mock_0123456789", nebula_mock.api_key)
    venv_bin = Path(sys.executable).parent  # .venv/bin: where the README says the CLI is
    assert command.startswith(".venv/bin/nebula-images ") and (venv_bin / "nebula-images").is_file()
    command = command.replace(".venv/bin/", f"{venv_bin}/", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBULA_")}
    done = subprocess.run(
        ["bash", "-c", f"{export}\n{command}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fox.png").read_bytes().startswith(PNG_MAGIC)
    assert "seed 42" in done.stdout and nebula_mock.ledger.billed == 1

"""generate_many's engine against fake clients: order, failures, streaming, cancel, resume.

The fakes sleep a random few milliseconds per call, count concurrent calls and bill
through a ledger that honours idempotency keys like the real server.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import attrs
import pytest

from nebula_images._batch import (
    MANIFEST_NAME,
    BatchError,
    BatchProgress,
    BatchRequest,
    BatchSkipped,
    file_extension,
    generate_many_async,
    generate_many_sync,
    idempotency_key_for,
    parameter_hash,
)

HERE = Path(__file__).resolve().parent


class FakeAPIError(Exception):
    """What the fake raises for a prompt containing FAIL."""


@attrs.frozen
class FakeImage:
    data: bytes
    format: str
    inference_seconds: float
    seed: int | None


@attrs.frozen
class FakeResult:
    images: tuple[FakeImage, ...]
    model: str
    request_id: str
    idempotency_key: str | None
    retries: int
    parameters: dict[str, Any]


class FakeLedger:
    """Bills a key once; a repeated key gets the first answer free (server semantics)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.billed: dict[str, int] = {}

    def bill(self, key: str | None) -> bool:
        with self.lock:
            if key is not None and self._seen(key):
                return False
            self.billed[key or f"anon-{len(self.billed)}"] = 1
            if self.path is not None and key is not None:
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(key + "\n")
            return True

    def _seen(self, key: str) -> bool:
        if key in self.billed:
            return True
        if self.path is not None and self.path.exists():
            return key in self.path.read_text(encoding="utf-8").split()
        return False


class FakeImages:
    def __init__(self, owner: FakeClient) -> None:
        self.owner = owner

    def generate(self, prompt: str, **params: Any) -> FakeResult:
        self.owner.enter(prompt, params)
        try:
            time.sleep(self.owner.latency())
            return self.owner.answer(prompt, params)
        finally:
            self.owner.leave()


class FakeAsyncImages:
    def __init__(self, owner: FakeClient) -> None:
        self.owner = owner

    async def generate(self, prompt: str, **params: Any) -> FakeResult:
        self.owner.enter(prompt, params)
        try:
            await asyncio.sleep(self.owner.latency())
            return self.owner.answer(prompt, params)
        finally:
            self.owner.leave()


class FakeClient:
    """A stand-in for Client/AsyncClient: ``.images.generate`` with random latency."""

    def __init__(
        self, max_latency: float = 0.015, min_latency: float = 0.0, ledger: FakeLedger | None = None
    ) -> None:
        self.min_latency = min_latency
        self.max_latency = max_latency
        self.ledger = ledger or FakeLedger()
        self.lock = threading.Lock()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.active = 0
        self.max_active = 0
        self.images = FakeImages(self)
        self.aimages = FakeAsyncImages(self)

    def latency(self) -> float:
        return random.uniform(self.min_latency, self.max_latency)

    def enter(self, prompt: str, params: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append((prompt, params))
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def leave(self) -> None:
        with self.lock:
            self.active -= 1

    def answer(self, prompt: str, params: dict[str, Any]) -> FakeResult:
        if "FAIL" in prompt:
            raise FakeAPIError(f"refused: {prompt}")
        key = params.get("idempotency_key")
        self.ledger.bill(key)
        seed = params.get("seed") or 7
        return FakeResult(
            images=(FakeImage(f"PNG:{prompt}".encode(), "png", 0.01, seed),),
            model=params.get("model") or "fake/model",
            request_id=f"req-{len(self.calls)}",
            idempotency_key=key,
            retries=0,
            parameters={"prompt": prompt, **{k: v for k, v in params.items() if k != "image"}},
        )


class FakeAsyncClient:
    def __init__(self, fake: FakeClient) -> None:
        self.fake = fake
        self.images = fake.aimages


def prompts_of(outcomes: list[Any]) -> list[str]:
    return [o.parameters["prompt"] for o in outcomes]


# --- order, failures, concurrency ---


def test_order_kept_under_random_latency_and_concurrency_bounded() -> None:
    fake = FakeClient(max_latency=0.02)
    prompts = [f"prompt {i}" for i in range(60)]
    outcomes = list(generate_many_sync(fake, prompts, concurrency=6))
    assert prompts_of(outcomes) == prompts
    assert 1 < fake.max_active <= 6
    assert len(fake.calls) == 60


class InstantImages:
    """Answers at once, so calls finish before the engine ever waits for them."""

    def __init__(self) -> None:
        self.fake = FakeClient()

    def generate(self, prompt: str, **params: Any) -> FakeResult:
        return self.fake.answer(prompt, params)


class InstantAsyncImages:
    def __init__(self) -> None:
        self.inner = InstantImages()

    async def generate(self, prompt: str, **params: Any) -> FakeResult:
        return self.inner.fake.answer(prompt, params)


@pytest.mark.parametrize("concurrency", [1, 2, 3, 5])
def test_instant_calls_lose_no_item(concurrency: int) -> None:
    # Regression: calls that finished before the engine waited kept their places, so
    # the engine stopped refilling and returned early (3 items, concurrency 2 -> 2).
    for n in range(13):
        prompts = [f"p{i}" for i in range(n)]
        outcomes = list(generate_many_sync(InstantImages(), prompts, concurrency=concurrency))
        assert prompts_of(outcomes) == prompts


@pytest.mark.parametrize("concurrency", [1, 2, 3, 5])
async def test_instant_async_calls_lose_no_item(concurrency: int) -> None:
    for n in range(13):
        prompts = [f"p{i}" for i in range(n)]
        batch = generate_many_async(InstantAsyncImages(), prompts, concurrency=concurrency)
        assert prompts_of([o async for o in batch]) == prompts


def test_typed_request_objects_and_none_means_default() -> None:
    fake = FakeClient()
    items = [
        BatchRequest("a", width=512),
        BatchRequest("b", seed=None),  # None: the default seed applies
        {"prompt": "c", "seed": None},
    ]
    outcomes = list(generate_many_sync(fake, items, seed=9, width=1024))
    assert [o.parameters["seed"] for o in outcomes] == [9, 9, 9]
    assert [o.parameters["width"] for o in outcomes] == [512, 1024, 1024]


def test_defaults_merge_and_per_item_params_win() -> None:
    fake = FakeClient()
    items = ["plain", {"prompt": "custom", "width": 512, "model_name": "m/x"}]
    outcomes = list(generate_many_sync(fake, items, width=1024, model="m/default"))
    sent = {p: params for p, params in fake.calls}
    assert sent["plain"]["width"] == 1024 and sent["plain"]["model"] == "m/default"
    assert sent["custom"]["width"] == 512 and sent["custom"]["model"] == "m/x"
    assert [o.model for o in outcomes] == ["m/default", "m/x"]


def test_partial_failures_sit_in_their_slots() -> None:
    fake = FakeClient()
    prompts = [f"p{i}" if i % 4 else f"FAIL {i}" for i in range(20)]
    outcomes = list(generate_many_sync(fake, prompts, concurrency=5))
    assert len(outcomes) == 20
    for i, outcome in enumerate(outcomes):
        if i % 4 == 0:
            assert isinstance(outcome, BatchError)
            assert outcome.index == i
            assert isinstance(outcome.exception, FakeAPIError)
            assert outcome.request["prompt"] == f"FAIL {i}"
            assert outcome.message == f"refused: FAIL {i}"
        else:
            assert isinstance(outcome, FakeResult)
            assert outcome.parameters["prompt"] == f"p{i}"


def test_invalid_items_are_errors_in_their_slots() -> None:
    fake = FakeClient()
    items: list[Any] = ["ok", {"width": 5}, 42, {"prompt": ""}, "ok2"]
    outcomes = list(generate_many_sync(fake, items))
    assert isinstance(outcomes[0], FakeResult)
    assert isinstance(outcomes[4], FakeResult)
    for i in (1, 3):
        assert isinstance(outcomes[i], BatchError)
        assert "prompt" in outcomes[i].message
    assert isinstance(outcomes[2], BatchError)
    assert isinstance(outcomes[2].exception, TypeError)
    assert len(fake.calls) == 2


def test_fail_fast_raises_at_the_failed_slot_and_stops_starting_work() -> None:
    fake = FakeClient(max_latency=0.01)
    prompts = [f"p{i}" for i in range(200)]
    prompts[10] = "FAIL here"
    seen: list[Any] = []
    with pytest.raises(FakeAPIError, match="FAIL here") as info:
        for outcome in generate_many_sync(fake, prompts, concurrency=4, fail_fast=True):
            seen.append(outcome)
    assert prompts_of(seen) == prompts[:10]
    assert "(batch item 10)" in (info.value.__notes__ or [])
    time.sleep(0.05)
    # At most the window (2 x concurrency) beyond the failure was ever started.
    assert len(fake.calls) <= 10 + 1 + 8


def test_bad_concurrency_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        generate_many_sync(FakeClient(), ["a"], concurrency=0)


# --- streaming and cancellation ---


def test_input_is_consumed_lazily() -> None:
    fake = FakeClient(max_latency=0.005)
    pulled = 0
    yielded = 0
    concurrency = 3

    def source() -> Iterator[str]:
        nonlocal pulled
        for i in range(10_000_000):
            # Never more than the reorder window ahead of what the consumer has seen.
            assert pulled - yielded <= 2 * concurrency + 1, (pulled, yielded)
            pulled += 1
            yield f"p{i}"

    for _ in generate_many_sync(fake, source(), concurrency=concurrency):
        yielded += 1
        if yielded == 40:
            break
    assert pulled <= 40 + 2 * concurrency + 1


def test_leaving_early_stops_new_requests_promptly() -> None:
    fake = FakeClient(min_latency=0.02, max_latency=0.03)
    batch = generate_many_sync(fake, (f"p{i}" for i in range(1000)), concurrency=4)
    for i, _ in enumerate(batch):
        if i == 5:
            break
    started = time.monotonic()
    batch.close()  # type: ignore[attr-defined]
    assert time.monotonic() - started < 0.5  # does not wait for running calls
    calls_at_close = len(fake.calls)
    time.sleep(0.1)
    assert len(fake.calls) == calls_at_close <= 6 + 8


def test_keyboard_interrupt_propagates_and_stops_the_batch() -> None:
    fake = FakeClient(max_latency=0.01)

    def on_progress(progress: BatchProgress) -> None:
        if progress.done >= 6:
            raise KeyboardInterrupt

    got: list[Any] = []
    with pytest.raises(KeyboardInterrupt):
        for outcome in generate_many_sync(
            fake, [f"p{i}" for i in range(500)], concurrency=4, on_progress=on_progress
        ):
            got.append(outcome)
    time.sleep(0.05)
    calls = len(fake.calls)
    time.sleep(0.05)
    assert len(fake.calls) == calls < 30


# --- idempotency keys ---


def test_idempotency_keys_are_deterministic_per_position_and_parameters() -> None:
    def keys(items: list[Any], **kw: Any) -> list[str]:
        fake = FakeClient(max_latency=0)
        out = list(generate_many_sync(fake, items, **kw))
        return [o.idempotency_key for o in out]

    first = keys(["a", "b", "a"])
    assert first == keys(["a", "b", "a"])
    assert len(set(first)) == 3  # the same prompt at another position is another image
    assert keys(["a", "b", "a"], width=512)[0] != first[0]
    assert keys(["a", "b", "a"], batch_id="run-2")[0] != first[0]
    assert keys(["a", "b", "a"], timeout=99)[0] == first[0]  # call options do not count
    assert keys([{"prompt": "a", "idempotency_key": "mine"}]) == ["mine"]
    assert first[0] == idempotency_key_for("", 0, parameter_hash("a", {}))
    assert all(k.isascii() and len(k) <= 255 for k in first)


# --- progress ---


def test_progress_reports_done_failed_total_rate_eta() -> None:
    fake = FakeClient(max_latency=0.005)
    snapshots: list[BatchProgress] = []
    prompts = ["a", "FAIL", "b", "c"]
    list(generate_many_sync(fake, prompts, concurrency=2, on_progress=snapshots.append))
    last = snapshots[-1]
    assert (last.done, last.failed, last.skipped, last.total) == (3, 1, 0, 4)
    assert last.rate > 0 and last.eta == 0
    assert all(s.finished <= 4 for s in snapshots)

    snapshots.clear()
    list(generate_many_sync(fake, iter(prompts), on_progress=snapshots.append))
    assert snapshots[-1].total is None and snapshots[-1].eta is None


# --- resumable output ---


def test_output_dir_writes_images_and_sidecars(tmp_path: Path) -> None:
    fake = FakeClient()
    out = tmp_path / "out"
    outcomes = list(generate_many_sync(fake, ["fox", "owl"], output_dir=out, seed=5))
    assert (out / "000000.png").read_bytes() == b"PNG:fox"
    assert (out / "000001.png").read_bytes() == b"PNG:owl"
    meta = json.loads((out / "000001.json").read_text())
    assert meta["prompt"] == "owl"
    assert meta["model"] == "fake/model"
    assert meta["seed"] == 5
    assert meta["request_id"].startswith("req-")
    assert meta["idempotency_key"] == outcomes[1].idempotency_key
    assert meta["inference_seconds"] == [0.01]
    assert meta["retries"] == 0
    assert meta["files"] == ["000001.png"]
    assert meta["parameters"]["seed"] == 5
    assert json.loads((out / MANIFEST_NAME).read_text())["batch_id"]
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]


def test_rerun_skips_done_items_and_regenerates_changed_or_missing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = FakeClient()
    list(generate_many_sync(first, ["a", "b", "c", "d"], output_dir=out))
    assert len(first.calls) == 4

    again = FakeClient()
    outcomes = list(generate_many_sync(again, ["a", "b", "c", "d"], output_dir=out))
    assert again.calls == []
    assert all(isinstance(o, BatchSkipped) for o in outcomes)
    assert outcomes[2].paths == (out / "000002.png",)
    assert outcomes[2].metadata["prompt"] == "c"

    (out / "000003.png").unlink()  # image lost: regenerate it
    changed = FakeClient()
    outcomes = list(generate_many_sync(changed, ["a", "B!", "c", "d"], output_dir=out))
    assert sorted(p for p, _ in changed.calls) == ["B!", "d"]
    assert [type(o).__name__ for o in outcomes] == [
        "BatchSkipped",
        "FakeResult",
        "BatchSkipped",
        "FakeResult",
    ]
    assert json.loads((out / "000001.json").read_text())["prompt"] == "B!"


def test_rerun_in_same_dir_reuses_keys_and_new_dir_gets_new_ones(tmp_path: Path) -> None:
    run1 = list(generate_many_sync(FakeClient(), ["a"], output_dir=tmp_path / "x"))
    (tmp_path / "x" / "000000.json").unlink()
    run2 = list(generate_many_sync(FakeClient(), ["a"], output_dir=tmp_path / "x"))
    run3 = list(generate_many_sync(FakeClient(), ["a"], output_dir=tmp_path / "y"))
    assert run1[0].idempotency_key == run2[0].idempotency_key
    assert run3[0].idempotency_key != run1[0].idempotency_key


def test_output_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        generate_many_sync(FakeClient(), ["a"], output_dir=target)


@pytest.mark.parametrize(
    ("image_format", "extension"),
    [
        ("png", "png"),
        ("jpeg", "jpg"),
        ("webp", "webp"),
        ("JPEG", "jpg"),
        (".jpeg", "jpg"),
        (" webp ", "webp"),
        ("jpg", "jpg"),
        (None, "png"),
        ("", "png"),
        ("../../etc/passwd", "etcpasswd"),  # never a path separator in a file name
    ],
)
def test_file_extension_is_one_rule(image_format: str | None, extension: str) -> None:
    assert file_extension(image_format) == extension


@pytest.mark.parametrize(
    ("image_format", "name"), [("jpeg", "000000.jpg"), (".WEBP", "000000.webp")]
)
def test_output_files_are_named_by_file_extension(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, image_format: str, name: str
) -> None:
    fake = FakeClient()
    answer = fake.answer

    def answer_in_format(prompt: str, params: dict[str, Any]) -> FakeResult:
        result = answer(prompt, params)
        return attrs.evolve(result, images=(attrs.evolve(result.images[0], format=image_format),))

    monkeypatch.setattr(fake, "answer", answer_in_format)
    list(generate_many_sync(fake, ["fox"], output_dir=tmp_path))
    assert json.loads((tmp_path / "000000.json").read_text())["files"] == [name]
    assert (tmp_path / name).read_bytes() == b"PNG:fox"


RESUME_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from test_batch import FakeClient, FakeLedger
    from nebula_images._batch import generate_many_sync

    ledger = FakeLedger(Path(sys.argv[1]))
    client = FakeClient(min_latency=0.04, max_latency=0.06, ledger=ledger)
    prompts = [f"picture {{i}}" for i in range(int(sys.argv[3]))]
    try:
        for _ in generate_many_sync(client, prompts, concurrency=4, output_dir=sys.argv[2]):
            pass
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_resume_after_kill_regenerates_only_missing_and_bills_once(
    tmp_path: Path, sig: signal.Signals
) -> None:
    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT.format(tests=str(HERE)))
    ledger_path, out, n = tmp_path / "ledger.txt", tmp_path / "out", 40
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ledger_path), str(out), str(n)], env=env
    )
    deadline = time.monotonic() + 20
    while len(list(out.glob("*.json"))) < 10 + 1:  # 10 sidecars + the manifest
        assert proc.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(sig)
    code = proc.wait(timeout=10)
    assert code == (130 if sig == signal.SIGINT else -signal.SIGKILL)
    done_before = {p.name for p in out.glob("0*.json")}
    assert 10 <= len(done_before) < n

    ledger = FakeLedger(ledger_path)
    client = FakeClient(max_latency=0.002, ledger=ledger)
    outcomes = list(
        generate_many_sync(
            client, [f"picture {i}" for i in range(n)], concurrency=4, output_dir=out
        )
    )
    skipped = [o for o in outcomes if isinstance(o, BatchSkipped)]
    assert len(skipped) == len(done_before)
    assert len(client.calls) == n - len(done_before)
    assert len(list(out.glob("0*.png"))) == n
    billed = ledger_path.read_text().split()
    assert len(billed) == len(set(billed)) == n  # every image billed exactly once


# --- async ---


async def test_async_order_failures_and_bound() -> None:
    fake = FakeClient(max_latency=0.02)
    prompts = [f"p{i}" if i % 5 else f"FAIL {i}" for i in range(40)]
    outcomes = [o async for o in generate_many_async(FakeAsyncClient(fake), prompts, concurrency=5)]
    assert len(outcomes) == 40
    for i, outcome in enumerate(outcomes):
        if i % 5 == 0:
            assert isinstance(outcome, BatchError) and outcome.index == i
        else:
            assert outcome.parameters["prompt"] == f"p{i}"
    assert 1 < fake.max_active <= 5


async def test_async_accepts_an_async_iterable_lazily() -> None:
    fake = FakeClient(max_latency=0.005)
    pulled = 0

    async def source() -> AsyncIterator[dict[str, Any]]:
        nonlocal pulled
        for i in range(1_000_000):
            pulled += 1
            yield {"prompt": f"p{i}", "seed": i}

    got = 0
    async with aclosing(generate_many_async(FakeAsyncClient(fake), source(), concurrency=2)) as it:
        async for outcome in it:
            assert outcome.parameters["seed"] == got
            got += 1
            if got == 10:
                break
    assert pulled <= 10 + 4 + 1


async def test_async_fail_fast() -> None:
    fake = FakeClient(max_latency=0.01)
    prompts = [f"p{i}" for i in range(100)]
    prompts[7] = "FAIL 7"
    seen = []
    with pytest.raises(FakeAPIError):
        async for outcome in generate_many_async(
            FakeAsyncClient(fake), prompts, concurrency=3, fail_fast=True
        ):
            seen.append(outcome)
    assert prompts_of(seen) == prompts[:7]
    assert len(fake.calls) <= 7 + 1 + 6


def done_pairs(directory: Path) -> list[str]:
    """Sidecar names whose image exists too."""
    names = sorted(p.name for p in directory.glob("0*.json"))
    assert all((directory / n.replace(".json", ".png")).is_file() for n in names)
    return names


async def test_async_task_cancel_cancels_running_calls_and_keeps_finished_files(
    tmp_path: Path,
) -> None:
    fake = FakeClient(min_latency=0.01, max_latency=0.05)
    got: list[Any] = []
    eight = asyncio.Event()
    client = FakeAsyncClient(fake)

    async def consume() -> None:
        prompts = [f"p{i}" for i in range(1000)]
        async for outcome in generate_many_async(
            client, prompts, concurrency=4, output_dir=tmp_path
        ):
            got.append(outcome)
            if len(got) == 8:
                eight.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(eight.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.active == 0  # the running calls were cancelled, not left behind
    calls = len(fake.calls)
    await asyncio.sleep(0.05)
    assert len(fake.calls) == calls < 8 + 8 + 1
    assert len(done_pairs(tmp_path)) >= 8


def test_temp_files_of_dead_runs_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".000000.png.tmp-{dead.stdout.strip()}-abcd1234"
    live = tmp_path / f".000001.png.tmp-{os.getpid()}-abcd1234"
    stale.write_bytes(b"half")
    live.write_bytes(b"being written")
    list(generate_many_sync(FakeClient(), ["a"], output_dir=tmp_path))
    assert not stale.exists()
    assert live.exists()


def test_batch_types_are_public_names() -> None:
    import nebula_images
    from nebula_images import _batch

    for name in ("BatchRequest", "BatchError", "BatchSkipped", "BatchProgress"):
        assert name in nebula_images.__all__
        assert getattr(nebula_images, name) is getattr(_batch, name)

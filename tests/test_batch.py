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
    BatchError,
    BatchProgress,
    BatchRequest,
    BatchSkipped,
    content_digest,
    generate_many_async,
    generate_many_sync,
    idempotency_key_for,
    item_identity,
)
from nebula_images._batch_store import BATCH_FILE, MANIFEST_NAME, BatchStore
from nebula_images._output import LocalFolder, file_extension, slug

HERE = Path(__file__).resolve().parent


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    """Poll ``condition`` until true (a bounded wait, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.002)


def stem_of(prompt: str, params: dict[str, Any] | None = None, occurrence: int = 0) -> str:
    """The file stem an item gets: slug of the prompt and its short identity."""
    identity = item_identity(content_digest(prompt, params or {}), occurrence)
    return f"{slug(prompt)}-{identity[:12]}"


def sidecar_paths(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.json") if not p.name.startswith("."))


def image_paths(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.png"))


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
            time.sleep(self.owner.latency(prompt))
            return self.owner.answer(prompt, params)
        finally:
            self.owner.leave()


class FakeAsyncImages:
    def __init__(self, owner: FakeClient) -> None:
        self.owner = owner

    async def generate(self, prompt: str, **params: Any) -> FakeResult:
        self.owner.enter(prompt, params)
        try:
            await asyncio.sleep(self.owner.latency(prompt))
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
        self.images_per_call = 1
        self.images = FakeImages(self)
        self.aimages = FakeAsyncImages(self)

    def latency(self, prompt: str = "") -> float:
        if "FAIL" in prompt:
            return 0.0  # a refusal comes back at once
        if "SLOW" in prompt:
            return 0.5
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
        images = tuple(
            FakeImage(
                f"PNG:{prompt}:{i}".encode() if i else f"PNG:{prompt}".encode(), "png", 0.01, seed
            )
            for i in range(self.images_per_call)
        )
        return FakeResult(
            images=images,
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
    outcomes = list(generate_many_sync(fake, items, defaults={"seed": 9, "width": 1024}))
    assert [o.parameters["seed"] for o in outcomes] == [9, 9, 9]
    assert [o.parameters["width"] for o in outcomes] == [512, 1024, 1024]


def test_defaults_merge_and_per_item_params_win() -> None:
    fake = FakeClient()
    items = ["plain", {"prompt": "custom", "width": 512, "model_name": "m/x"}]
    outcomes = list(generate_many_sync(fake, items, defaults={"width": 1024, "model": "m/default"}))
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
    wait_until(lambda: fake.active == 0)
    # At most the window (2 x concurrency) beyond the failure was ever started.
    assert len(fake.calls) <= 10 + 1 + 8


def test_fail_fast_starts_nothing_after_the_failure_even_with_room_in_the_window() -> None:
    # The head (SLOW) holds the window open: without fail_fast stopping new work, the
    # engine would fill all 2 x 4 slots; with it, nothing starts after the failure.
    fake = FakeClient(min_latency=0.05, max_latency=0.06)
    prompts = ["SLOW head", "FAIL at once", *(f"p{i}" for i in range(100))]
    with pytest.raises(FakeAPIError):
        list(generate_many_sync(fake, prompts, concurrency=4, fail_fast=True))
    wait_until(lambda: fake.active == 0)
    assert len(fake.calls) <= 4 < 2 * 4


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
    wait_until(lambda: fake.active == 0)  # the running calls ended: nothing else may start
    assert len(fake.calls) == calls_at_close <= 6 + 8


def test_keyboard_interrupt_propagates_and_stops_the_batch() -> None:
    fake = FakeClient(max_latency=0.01)

    def on_progress(progress: BatchProgress) -> None:
        if progress.generated >= 6:
            raise KeyboardInterrupt

    got: list[Any] = []
    with pytest.raises(KeyboardInterrupt):
        for outcome in generate_many_sync(
            fake, [f"p{i}" for i in range(500)], concurrency=4, on_progress=on_progress
        ):
            got.append(outcome)
    calls = len(fake.calls)
    wait_until(lambda: fake.active == 0)
    assert len(fake.calls) == calls < 30


# --- idempotency keys ---


def test_idempotency_keys_follow_the_item_not_its_position() -> None:
    def keys(items: list[Any], batch_id: str | None = None, **defaults: Any) -> list[str]:
        fake = FakeClient(max_latency=0)
        out = list(generate_many_sync(fake, items, batch_id=batch_id, defaults=defaults))
        return [o.idempotency_key for o in out]

    first = keys(["a", "b", "a"])
    assert first == keys(["a", "b", "a"])
    assert len(set(first)) == 3  # the second "a" is another image (occurrence 1)
    assert keys(["b", "a", "a"]) == [first[1], first[0], first[2]]  # moved, same keys
    assert keys(["new", "a"])[1] == first[0]  # an insertion changes no other key
    assert keys(["a", "b", "a"], width=512)[0] != first[0]
    assert keys(["a", "b", "a"], model="m/other")[0] != first[0]
    assert keys(["a", "b", "a"], batch_id="run-2")[0] != first[0]
    assert keys(["a", "b", "a"], timeout=99)[0] == first[0]  # call options do not count
    assert keys([{"prompt": "a", "idempotency_key": "mine"}]) == ["mine"]
    assert first[0] == idempotency_key_for("", item_identity(content_digest("a", {}), 0))
    assert all(k.isascii() and len(k) <= 255 for k in first)


# --- progress ---


def test_progress_reports_done_failed_total_rate_eta() -> None:
    fake = FakeClient(max_latency=0.005)
    snapshots: list[BatchProgress] = []
    prompts = ["a", "FAIL", "b", "c"]
    list(generate_many_sync(fake, prompts, concurrency=2, on_progress=snapshots.append))
    last = snapshots[-1]
    assert (last.generated, last.failed, last.skipped, last.total) == (3, 1, 0, 4)
    assert last.rate > 0 and last.eta == 0
    assert all(s.finished <= 4 for s in snapshots)

    snapshots.clear()
    list(generate_many_sync(fake, iter(prompts), on_progress=snapshots.append))
    assert snapshots[-1].total is None and snapshots[-1].eta is None


# --- resumable output ---


def test_output_dir_writes_images_sidecars_and_a_manifest(tmp_path: Path) -> None:
    fake = FakeClient()
    out = tmp_path / "out"
    outcomes = list(generate_many_sync(fake, ["fox", "owl"], output_dir=out, defaults={"seed": 5}))
    fox, owl = stem_of("fox", {"seed": 5}), stem_of("owl", {"seed": 5})
    assert fox.startswith("fox-") and len(fox) == len("fox-") + 12  # readable names
    assert (out / f"{fox}.png").read_bytes() == b"PNG:fox"
    assert (out / f"{owl}.png").read_bytes() == b"PNG:owl"
    meta = json.loads((out / f"{owl}.json").read_text())
    assert meta["prompt"] == "owl"
    assert meta["model"] == "fake/model"
    assert meta["seed"] == 5
    assert meta["request_id"].startswith("req-")
    assert meta["idempotency_key"] == outcomes[1].idempotency_key
    assert meta["images"][0]["inference_seconds"] == 0.01
    assert meta["retries"] == 0
    assert meta["files"] == [f"{owl}.png"]
    assert meta["parameters"]["seed"] == 5
    assert meta["item"] == item_identity(content_digest("owl", {"seed": 5}), 0)
    assert json.loads((out / BATCH_FILE).read_text())["batch_id"]
    manifest = [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]
    assert {(m["prompt"], m["sidecar"], tuple(m["files"])) for m in manifest} == {
        ("fox", f"{fox}.json", (f"{fox}.png",)),
        ("owl", f"{owl}.json", (f"{owl}.png",)),
    }
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_batch_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        list(generate_many_sync(FakeClient(), ["fox"], output_dir=tmp_path))
    finally:
        os.umask(old)
    files = [*image_paths(tmp_path), *sidecar_paths(tmp_path)]
    assert files and {p.stat().st_mode & 0o777 for p in files} == {0o666 & ~umask}


def test_rerun_skips_done_items_and_regenerates_changed_or_missing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = FakeClient()
    list(generate_many_sync(first, ["a", "b", "c", "d"], output_dir=out))
    assert len(first.calls) == 4

    again = FakeClient()
    outcomes = list(generate_many_sync(again, ["a", "b", "c", "d"], output_dir=out))
    assert again.calls == []
    assert all(isinstance(o, BatchSkipped) for o in outcomes)
    assert outcomes[2].paths == (out / f"{stem_of('c')}.png",)
    assert outcomes[2].metadata["prompt"] == "c"

    (out / f"{stem_of('d')}.png").unlink()  # image lost: regenerate it
    changed = FakeClient()
    outcomes = list(generate_many_sync(changed, ["a", "B!", "c", "d"], output_dir=out))
    assert sorted(p for p, _ in changed.calls) == ["B!", "d"]
    assert [type(o).__name__ for o in outcomes] == [
        "BatchSkipped",
        "FakeResult",
        "BatchSkipped",
        "FakeResult",
    ]
    assert json.loads((out / f"{stem_of('B!')}.json").read_text())["prompt"] == "B!"
    assert (out / f"{stem_of('b')}.png").read_bytes() == b"PNG:b"  # never overwritten


def test_reordered_inserted_and_deleted_items_generate_only_new_ones(tmp_path: Path) -> None:
    ledger = FakeLedger()
    prompts = [f"p{i}" for i in range(10)]
    list(generate_many_sync(FakeClient(ledger=ledger), prompts, output_dir=tmp_path))
    edited = ["new top", *reversed(prompts[2:]), "new end"]  # p0, p1 deleted
    fake = FakeClient(ledger=ledger)
    outcomes = list(generate_many_sync(fake, edited, output_dir=tmp_path))
    assert sorted(p for p, _ in fake.calls) == ["new end", "new top"]
    assert [isinstance(o, BatchSkipped) for o in outcomes] == [False] + [True] * 8 + [False]
    assert len(ledger.billed) == 12  # nothing billed twice
    assert len(image_paths(tmp_path)) == 12  # the deleted items' files stay


def test_identical_items_are_told_apart_by_occurrence(tmp_path: Path) -> None:
    list(generate_many_sync(FakeClient(), ["same", "same"], output_dir=tmp_path))
    assert len(image_paths(tmp_path)) == 2
    fake = FakeClient()
    outcomes = list(
        generate_many_sync(fake, ["same", "other", "same", "same"], output_dir=tmp_path)
    )
    assert [p for p, _ in fake.calls] == ["other", "same"] or sorted(p for p, _ in fake.calls) == [
        "other",
        "same",
    ]
    assert [isinstance(o, BatchSkipped) for o in outcomes] == [True, False, True, False]
    assert (tmp_path / f"{stem_of('same', occurrence=2)}.png").is_file()


def test_another_batch_into_the_same_folder_never_overwrites(tmp_path: Path) -> None:
    list(generate_many_sync(FakeClient(), ["fox", "owl"], output_dir=tmp_path))
    before = {p.name: p.read_bytes() for p in image_paths(tmp_path)}
    list(
        generate_many_sync(FakeClient(), ["cat", "fox!"], output_dir=tmp_path, defaults={"seed": 3})
    )
    after = {p.name: p.read_bytes() for p in image_paths(tmp_path)}
    assert len(after) == 4 and all(after[name] == data for name, data in before.items())


def test_input_pictures_count_by_content_not_path(tmp_path: Path) -> None:
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"first picture")
    items = [{"prompt": "repaint", "image": picture, "mask": picture}]
    out = tmp_path / "out"
    list(generate_many_sync(FakeClient(), items, output_dir=out))
    again = FakeClient()
    list(generate_many_sync(again, items, output_dir=out))
    assert again.calls == []
    picture.write_bytes(b"edited in place")  # same path, another picture
    edited = FakeClient()
    list(generate_many_sync(edited, items, output_dir=out))
    assert len(edited.calls) == 1
    moved = tmp_path / "moved.png"
    picture.rename(moved)  # another path, same picture: still done
    still = FakeClient()
    list(generate_many_sync(still, [{**items[0], "image": moved, "mask": moved}], output_dir=out))
    assert still.calls == []


def test_a_sidecar_with_an_empty_file_list_is_not_done(tmp_path: Path) -> None:
    list(generate_many_sync(FakeClient(), ["fox"], output_dir=tmp_path))
    sidecar = tmp_path / f"{stem_of('fox')}.json"
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "files": []}))
    fake = FakeClient()
    list(generate_many_sync(fake, ["fox"], output_dir=tmp_path))
    assert len(fake.calls) == 1


def test_extra_images_of_an_earlier_run_are_removed(tmp_path: Path) -> None:
    fake = FakeClient()
    fake.images_per_call = 2
    list(generate_many_sync(fake, ["fox"], output_dir=tmp_path))
    stem = stem_of("fox")
    assert {p.name for p in image_paths(tmp_path)} == {f"{stem}.png", f"{stem}-1.png"}
    (tmp_path / f"{stem}.png").unlink()  # not done any more: regenerated, with one image now
    list(generate_many_sync(FakeClient(), ["fox"], output_dir=tmp_path))
    assert {p.name for p in image_paths(tmp_path)} == {f"{stem}.png"}
    assert json.loads((tmp_path / f"{stem}.json").read_text())["files"] == [f"{stem}.png"]


@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_a_planted_sidecar_never_reaches_outside_the_folder(tmp_path: Path, kind: str) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    victim = outside / "victim"
    victim.write_bytes(b"keep me")
    name = "../outside/victim" if kind == "relative" else str(victim)
    stem = stem_of("fox")
    identity = item_identity(content_digest("fox", {}), 0)
    planted = {"item": identity, "prompt": "fox", "files": [name]}
    (out / f"{stem}.json").write_text(json.dumps(planted))
    fake = FakeClient()
    outcomes = list(generate_many_sync(fake, ["fox"], output_dir=out))
    assert len(fake.calls) == 1  # a foreign file list never means done...
    assert isinstance(outcomes[0], FakeResult)  # generated and saved, no error
    assert victim.read_bytes() == b"keep me"  # ...and is never removed
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert json.loads((out / f"{stem}.json").read_text())["files"] == [f"{stem}.png"]


@pytest.mark.parametrize("name", ["../victim", "/abs/victim", "", ".", "..", "a/b", "a\\b"])
def test_a_folder_refuses_anything_but_plain_names(tmp_path: Path, name: str) -> None:
    folder = LocalFolder(tmp_path / "out")
    for action in (folder.remove, folder.exists, folder.read, lambda n: folder.write(n, b"x")):
        with pytest.raises(ValueError, match="plain file name"):
            action(name)


def test_foreign_temp_file_names_are_ignored(tmp_path: Path) -> None:
    odd = [
        ".fox.png.tmp-99999999999999999999999-abcd1234",  # huge number
        ".fox.png.tmp-\u0661\u0662\u0663-abcd1234",  # Arabic-Indic digits
        ".fox.png.tmp-\u00b2-abcd1234",  # a superscript: isdigit() but no int
        ".fox.png.tmp--5-abcd1234",
        ".fox.png.tmp-",
        "fox.png.tmp-1-abcd1234",  # not hidden: not ours
    ]
    for name in odd:
        (tmp_path / name).write_bytes(b"x")
    list(generate_many_sync(FakeClient(), ["fox"], output_dir=tmp_path))
    assert all((tmp_path / name).exists() for name in odd)


def test_concurrent_openers_of_a_fresh_folder_share_one_batch(tmp_path: Path) -> None:
    # flock excludes separate open files, so threads stand in for processes here (the
    # two-process run against the mock's ledger is in test_batch_mock.py).
    for trial in range(10):
        folder = tmp_path / f"fresh-{trial}"
        barrier = threading.Barrier(6)
        ids: list[str] = []

        def open_store(
            folder: Path = folder, barrier: threading.Barrier = barrier, ids: list[str] = ids
        ) -> None:
            barrier.wait()
            ids.append(BatchStore(LocalFolder(folder), None, new_id=os.urandom(8).hex()).batch_id)

        threads = [threading.Thread(target=open_store) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert len(ids) == 6 and len(set(ids)) == 1, ids


def test_rerun_in_same_dir_reuses_keys_and_new_dir_gets_new_ones(tmp_path: Path) -> None:
    run1 = list(generate_many_sync(FakeClient(), ["a"], output_dir=tmp_path / "x"))
    (tmp_path / "x" / f"{stem_of('a')}.json").unlink()
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


@pytest.mark.parametrize(("image_format", "extension"), [("jpeg", "jpg"), (".WEBP", "webp")])
def test_output_files_are_named_by_file_extension(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, image_format: str, extension: str
) -> None:
    fake = FakeClient()
    answer = fake.answer

    def answer_in_format(prompt: str, params: dict[str, Any]) -> FakeResult:
        result = answer(prompt, params)
        return attrs.evolve(result, images=(attrs.evolve(result.images[0], format=image_format),))

    monkeypatch.setattr(fake, "answer", answer_in_format)
    list(generate_many_sync(fake, ["fox"], output_dir=tmp_path))
    name = f"{stem_of('fox')}.{extension}"
    assert json.loads((tmp_path / f"{stem_of('fox')}.json").read_text())["files"] == [name]
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
    while len(sidecar_paths(out)) < 10 if out.is_dir() else True:
        assert proc.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(sig)
    code = proc.wait(timeout=10)
    assert code == (130 if sig == signal.SIGINT else -signal.SIGKILL)
    done_before = {p.name for p in sidecar_paths(out)}
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
    assert len(image_paths(out)) == n
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
    names = sorted(p.name for p in sidecar_paths(directory))
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
    for _ in range(20):  # a few loop turns: a task that could still start would by now
        await asyncio.sleep(0)
    assert len(fake.calls) == calls < 8 + 8 + 1
    assert len(done_pairs(tmp_path)) >= 8


def test_temp_files_of_dead_runs_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".fox-0123.png.tmp-{dead.stdout.strip()}-abcd1234"
    live = tmp_path / f".owl-4567.png.tmp-{os.getpid()}-abcd1234"
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


def test_rate_counts_only_generated_items(tmp_path: Path) -> None:
    list(generate_many_sync(FakeClient(), ["a", "b"], output_dir=tmp_path))
    snapshots: list[BatchProgress] = []
    list(
        generate_many_sync(
            FakeClient(), ["a", "b", "c"], output_dir=tmp_path, on_progress=snapshots.append
        )
    )
    last = snapshots[-1]
    assert (last.generated, last.skipped, last.total) == (1, 2, 3)
    assert last.rate == pytest.approx(1 / last.elapsed)  # the two skipped ones do not count

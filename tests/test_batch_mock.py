"""generate_many with the real Client/AsyncClient against the mock server and its ledger."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from nebula_images._batch import BatchError, BatchSkipped, generate_many_async, generate_many_sync
from nebula_images._client import AsyncClient, Client
from nebula_images._errors import NotFoundError, RateLimitError
from nebula_images._images import GenerationResult
from nebula_images.testing import Fault

SCHNELL = "black-forest-labs/FLUX.1-schnell"


def count_images(directory: Path) -> int:
    return len(list(directory.glob("*.png")))


def sidecars(directory: Path) -> dict[str, dict[str, Any]]:
    """Sidecars by prompt."""
    found = [json.loads(p.read_text()) for p in directory.glob("*.json") if p.name[0] != "."]
    return {meta["prompt"]: meta for meta in found}


def sidecar_path(directory: Path, prompt: str) -> Path:
    return directory / sidecars(directory)[prompt]["files"][0].replace(".png", ".json")


def client_for(mock: Any, **options: Any) -> Client:
    return Client(api_key=mock.api_key, base_url=mock.base_url, **options)


def test_order_kept_under_random_server_latency(nebula_mock: Any) -> None:
    n = 24
    rng = random.Random(6)
    for _ in range(n):
        nebula_mock.faults.push(Fault.delay(rng.uniform(0.0, 0.08)))
    prompts = [f"a lighthouse, variation {i}" for i in range(n)]
    with client_for(nebula_mock) as client:
        outcomes = list(
            generate_many_sync(client, prompts, concurrency=6, defaults={"model": SCHNELL})
        )
    assert all(isinstance(o, GenerationResult) for o in outcomes)
    assert [o.parameters["prompt"] for o in outcomes] == prompts
    assert nebula_mock.ledger.billed == n
    keys = {e.idempotency_key for e in nebula_mock.ledger.entries}
    assert keys == {o.idempotency_key for o in outcomes}


def test_client_images_resource_is_accepted_too(nebula_mock: Any) -> None:
    with client_for(nebula_mock) as client:
        outcomes = list(generate_many_sync(client.images, ["a", "b"]))
    assert [o.parameters["prompt"] for o in outcomes] == ["a", "b"]


def test_partial_failures_in_their_slots_and_only_successes_billed(nebula_mock: Any) -> None:
    items: list[Any] = [f"p{i}" for i in range(10)]
    items[3] = {"prompt": "p3", "model": "acme/imaginary-1"}  # the server answers 404
    items[7] = {"prompt": "p7", "width": 7}  # refused before sending
    with client_for(nebula_mock) as client:
        outcomes = list(
            generate_many_sync(client, items, concurrency=4, defaults={"model": SCHNELL})
        )
    assert isinstance(outcomes[3], BatchError) and isinstance(outcomes[3].exception, NotFoundError)
    assert isinstance(outcomes[7], BatchError) and "width" in outcomes[7].message
    others = [o for i, o in enumerate(outcomes) if i not in (3, 7)]
    assert [o.parameters["prompt"] for o in others] == [
        f"p{i}" for i in range(10) if i not in (3, 7)
    ]
    assert nebula_mock.ledger.billed == 8


def test_transient_faults_are_retried_by_the_client(nebula_mock: Any, tmp_path: Path) -> None:
    nebula_mock.faults.push(Fault.status(429, retry_after="0"), times=3)
    with client_for(nebula_mock, max_retries=3) as client:
        outcomes = list(generate_many_sync(client, ["a", "b", "c"], output_dir=tmp_path))
    assert all(isinstance(o, GenerationResult) for o in outcomes)
    assert sum(o.retries for o in outcomes) == 3
    assert sum(s["retries"] for s in sidecars(tmp_path).values()) == 3
    assert nebula_mock.ledger.billed == 3


def test_sidecar_matches_what_the_server_billed(nebula_mock: Any, tmp_path: Path) -> None:
    with client_for(nebula_mock) as client:
        list(
            generate_many_sync(
                client, ["a fox"], output_dir=tmp_path, defaults={"seed": 11, "model": SCHNELL}
            )
        )
    meta = sidecars(tmp_path)["a fox"]
    (entry,) = nebula_mock.ledger.entries
    assert meta["idempotency_key"] == entry.idempotency_key
    assert meta["request_id"] == entry.request_id
    assert meta["seed"] == entry.seed == 11
    assert meta["parameters"]["prompt"] == "a fox"
    assert (tmp_path / meta["files"][0]).read_bytes().startswith(b"\x89PNG")


def test_rerun_after_lost_files_is_not_billed_again(nebula_mock: Any, tmp_path: Path) -> None:
    prompts = [f"p{i}" for i in range(6)]
    with client_for(nebula_mock) as client:
        list(generate_many_sync(client, prompts, output_dir=tmp_path))
        # A crash after billing but before saving: the sidecar never got written.
        sidecar_path(tmp_path, "p2").unlink()
        (tmp_path / sidecars(tmp_path)["p4"]["files"][0]).unlink()
        outcomes = list(generate_many_sync(client, prompts, output_dir=tmp_path))
    assert [isinstance(o, BatchSkipped) for o in outcomes] == [True, True, False, True, False, True]
    assert nebula_mock.ledger.billed == 6  # the two regenerated ones came from the key cache
    assert count_images(tmp_path) == 6


def test_resume_with_prompts_reordered_inserted_and_deleted_bills_only_new_items(
    nebula_mock: Any, tmp_path: Path
) -> None:
    prompts = [f"picture {i}" for i in range(10)]
    with client_for(nebula_mock) as client:
        list(generate_many_sync(client, prompts, output_dir=tmp_path, concurrency=4))
        assert nebula_mock.ledger.billed == 10
        edited = ["a new first line", *prompts[:3], *reversed(prompts[5:]), "another new one"]
        outcomes = list(generate_many_sync(client, edited, output_dir=tmp_path, concurrency=4))
    generated = [o for o in outcomes if not isinstance(o, BatchSkipped)]
    assert [o.parameters["prompt"] for o in generated] == ["a new first line", "another new one"]
    assert nebula_mock.ledger.billed == 12  # 10 + the 2 new ones: nothing billed twice
    assert count_images(tmp_path) == 12
    print(f"ledger: billed {nebula_mock.ledger.billed} for 10 + 2 new items")


TWO_PROCESSES = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from nebula_images import Client
    from nebula_images._batch import generate_many_sync

    base_url, key, out, go, ready = sys.argv[1:6]
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.001)
    with Client(api_key=key, base_url=base_url) as client:
        prompts = [f"picture {i}" for i in range(8)]
        list(generate_many_sync(client, prompts, output_dir=out, concurrency=4))
    """
)


def test_two_processes_on_a_fresh_folder_make_one_batch_and_bill_once(
    nebula_mock: Any, tmp_path: Path
) -> None:
    script, go, out = tmp_path / "run.py", tmp_path / "go", tmp_path / "out"
    script.write_text(TWO_PROCESSES)
    args = [sys.executable, str(script), nebula_mock.base_url, nebula_mock.api_key, str(out)]
    ready = [tmp_path / f"ready-{i}" for i in range(2)]
    procs = [subprocess.Popen([*args, str(go), str(r)], env=dict(os.environ)) for r in ready]
    deadline = time.monotonic() + 30
    while not all(r.exists() for r in ready):  # both imported and polling for the go
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.005)
    go.touch()
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0]
    assert len({e.idempotency_key for e in nebula_mock.ledger.entries}) == 8
    assert nebula_mock.ledger.billed == 8
    assert count_images(out) == 8


def test_client_rate_limiter_holds_under_a_large_batch(nebula_mock: Any) -> None:
    per_minute = 1200  # one request per 50 ms
    n = 30
    nebula_mock.configure(rate_limit_per_minute=n)  # a 31st request within the minute is a 429
    sent: list[float] = []  # when each request left, read on the client side
    started = time.monotonic()
    with client_for(
        nebula_mock,
        rate_limit=per_minute,
        max_retries=0,
        on_request=lambda event: sent.append(time.monotonic()),
    ) as client:
        outcomes = list(generate_many_sync(client, [f"p{i}" for i in range(n)], concurrency=16))
    elapsed = time.monotonic() - started
    assert not [o for o in outcomes if isinstance(o, BatchError)]
    assert nebula_mock.ledger.billed == n and len(sent) == n
    assert elapsed >= (n - 1) * 60 / per_minute * 0.9
    # No second holds more than its share (20) plus slack for a thread that woke late
    # on busy cores; without the limiter all 30 leave within a few milliseconds. Send
    # times, not the server's billing times: the mock renders each PNG before billing,
    # and a stalled server bunches its bills whatever the client did.
    sent.sort()
    assert max(sum(1 for t in sent if s <= t < s + 1.0) for s in sent) <= 24


def test_without_the_limiter_the_server_limit_bites(nebula_mock: Any) -> None:
    nebula_mock.configure(rate_limit_per_minute=10)
    with client_for(nebula_mock, max_retries=0) as client:
        outcomes = list(generate_many_sync(client, [f"p{i}" for i in range(14)], concurrency=4))
    failures = [o for o in outcomes if isinstance(o, BatchError)]
    assert len(failures) == 4
    assert all(isinstance(f.exception, RateLimitError) for f in failures)


async def test_async_client_order_and_partial_failure(nebula_mock: Any, tmp_path: Path) -> None:
    rng = random.Random(3)
    for _ in range(16):
        nebula_mock.faults.push(Fault.delay(rng.uniform(0.0, 0.05)))
    items: list[Any] = [f"p{i}" for i in range(16)]
    items[5] = {"prompt": "p5", "model_name": "acme/imaginary-1"}
    async with AsyncClient(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        outcomes = [
            o async for o in generate_many_async(client, items, concurrency=5, output_dir=tmp_path)
        ]
    assert isinstance(outcomes[5], BatchError)
    assert isinstance(outcomes[5].exception, NotFoundError)
    ok = [o for i, o in enumerate(outcomes) if i != 5]
    assert [o.parameters["prompt"] for o in ok] == [f"p{i}" for i in range(16) if i != 5]
    assert nebula_mock.ledger.billed == 15
    assert count_images(tmp_path) == 15


@pytest.mark.parametrize("concurrency", [1, 4])
def test_fail_fast_with_the_real_client(nebula_mock: Any, concurrency: int) -> None:
    items: list[Any] = [f"p{i}" for i in range(40)]
    items[2] = {"prompt": "p2", "model": "acme/imaginary-1"}
    seen = []
    with client_for(nebula_mock) as client, pytest.raises(NotFoundError):
        for outcome in generate_many_sync(client, items, concurrency=concurrency, fail_fast=True):
            seen.append(outcome)
    assert [o.parameters["prompt"] for o in seen] == ["p0", "p1"]
    assert nebula_mock.requests_seen <= 3 + 2 * concurrency


def test_client_images_generate_many_delegates_here(nebula_mock: Any, tmp_path: Path) -> None:
    snapshots: list[Any] = []
    with client_for(nebula_mock) as client:
        outcomes = list(
            client.images.generate_many(
                ["a", "b", "c"], concurrency=2, output_dir=tmp_path, on_progress=snapshots.append
            )
        )
    assert [o.parameters["prompt"] for o in outcomes] == ["a", "b", "c"]
    assert (snapshots[-1].generated, snapshots[-1].total) == (3, 3)
    assert count_images(tmp_path) == 3


async def test_async_client_images_generate_many_delegates_here(nebula_mock: Any) -> None:
    async with AsyncClient(api_key=nebula_mock.api_key, base_url=nebula_mock.base_url) as client:
        outcomes = [o async for o in client.images.generate_many(["a", "b", "c"], concurrency=2)]
    assert [o.parameters["prompt"] for o in outcomes] == ["a", "b", "c"]
    assert nebula_mock.ledger.billed == 3

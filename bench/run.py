"""`make bench`: what the client costs, each figure next to a baseline from the same run.

Prints a table and writes the same figures to bench/results.json. Nothing here asserts a
timing: goals are printed beside the measured ratio so a reader sees where we stand.

    python bench/run.py [--only import,overhead,memory,batch,mock,generate] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
KEY = "ak_bench_0000000000"


class Row:
    """One figure of the table: measured, baseline, ratio, goal."""

    def __init__(
        self,
        name: str,
        value: float,
        unit: str,
        baseline: float | None = None,
        baseline_name: str = "",
        goal: float | None = None,
        note: str = "",
        goal_on_value: bool = False,
    ) -> None:
        self.goal_on_value = goal_on_value  # goal bounds the figure itself, not the ratio
        self.name, self.value, self.unit = name, value, unit
        self.baseline, self.baseline_name, self.goal, self.note = (
            baseline,
            baseline_name,
            goal,
            note,
        )

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def met(self) -> bool | None:
        judged = self.value if self.goal_on_value else self.ratio
        return None if self.goal is None or judged is None else judged <= self.goal

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
            "goal": self.goal,
            "met": self.met,
            "note": self.note,
        }


# ---------------------------------------------------------------- 1. import cost


# Children read bytecode from one cache, written by a first warm-up run: what an installed
# package does (pip compiles .pyc at install). Without it, the editable checkout (and
# PYTHONDONTWRITEBYTECODE=1, set on these machines) compiles our modules from source at
# every start while httpx's wheel has its .pyc: a comparison of compilers, not imports.
BYTECODE_CACHE = tempfile.mkdtemp(prefix="nebula-bench-pyc-")
atexit.register(shutil.rmtree, BYTECODE_CACHE, ignore_errors=True)


def child_env(*, bytecode_cache: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if bytecode_cache:
        env["PYTHONPYCACHEPREFIX"] = BYTECODE_CACHE
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def import_ms(module: str) -> float:
    """Cumulative `-X importtime` of `module` in a fresh process, in ms."""
    out = subprocess.run(
        [PY, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(),
    ).stderr
    for line in out.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1000
    raise RuntimeError(f"{module} not in importtime output")


def timed_child(code: str, *, bytecode_cache: bool = True) -> list[float]:
    """Run ``code`` in a fresh interpreter; the floats it prints, one per line, in ms."""
    out = subprocess.run(
        [PY, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(bytecode_cache=bytecode_cache),
    ).stdout
    return [float(line) * 1000 for line in out.split()]


# One process times both: ``import httpx`` first, then the rest of ``from nebula_images
# import Client`` (which imports httpx itself, so the work done is the statement's own).
# Pairing inside one process keeps the ratio clear of process-to-process noise (on this
# VM two fresh `import httpx` differ by up to 30%).
IMPORT_PAIR = """\
import time
t0 = time.perf_counter()
import httpx
t1 = time.perf_counter()
from nebula_images import Client
t2 = time.perf_counter()
print(t1 - t0, t2 - t0)
"""


def first_call_code(url: str, api_key: str, *, ours: bool) -> str:
    """A cold process: import, then one 64x64 generation against the mock, decoded."""
    if ours:
        call = (
            "from nebula_images import Client\n"
            f"with Client(api_key={api_key!r}, base_url={url!r}) as client:\n"
            f"    data = client.images.generate({PROMPT!r}, model={MODEL!r}, width=64, "
            "height=64, seed=1).images[0].data\n"
        )
    else:
        call = (
            "import base64, json, uuid\n"
            "import httpx\n"
            f"response = httpx.post({url + '/images/generation'!r}, json={BODY!r}, headers="
            f"{{'Authorization': 'Bearer {api_key}', 'Idempotency-Key': str(uuid.uuid4())}})\n"
            "data = base64.b64decode(json.loads(response.content)['data'][0]['b64_json'])\n"
        )
    return (
        "import time\nt0 = time.perf_counter()\n"
        + call
        + "assert data[:4] == bytes.fromhex('89504e47')\nprint(time.perf_counter() - t0)\n"
    )


def bench_import(runs: int) -> list[Row]:
    names = ("ours", "httpx", "pair_httpx", "pair_client", "call", "bare_call", "source_ratio")
    samples: dict[str, list[float]] = {k: [] for k in names}
    with running_mock() as mock:
        ours_call = first_call_code(mock.base_url, mock.api_key, ours=True)
        bare_call = first_call_code(mock.base_url, mock.api_key, ours=False)
        for code in (IMPORT_PAIR, ours_call, bare_call):
            timed_child(code)  # warm-up: fills the bytecode cache
        for _ in range(runs):  # interleaved so both sides see the same machine load
            samples["ours"].append(import_ms("nebula_images"))
            samples["httpx"].append(import_ms("httpx"))
            httpx_ms, client_ms = timed_child(IMPORT_PAIR)
            samples["pair_httpx"].append(httpx_ms)
            samples["pair_client"].append(client_ms)
            samples["call"] += timed_child(ours_call)
            samples["bare_call"] += timed_child(bare_call)
            httpx_ms, client_ms = timed_child(IMPORT_PAIR, bytecode_cache=False)
            samples["source_ratio"].append(client_ms / httpx_ms)
    med = {k: statistics.median(v) for k, v in samples.items()}
    return [
        Row(
            "import nebula_images",
            med["ours"],
            "ms",
            med["httpx"],
            "import httpx",
            goal=1.25,
            note=f"median of {runs} fresh processes, -X importtime cumulative",
        ),
        Row(
            "from nebula_images import Client",
            med["pair_client"],
            "ms",
            med["pair_httpx"],
            "import httpx",
            goal=1.25,
            note=f"median of {runs} fresh processes, each timing both (httpx first), "
            "bytecode cached as after pip install; the generated client, attrs and the "
            "model table load on the first call",
        ),
        Row(
            "cold first call: import + one generate",
            med["call"],
            "ms",
            med["bare_call"],
            "import httpx + post + json + base64",
            note=f"median of {runs} fresh processes against the mock, 64x64 image; "
            "what the first call loads is in here",
        ),
        Row(
            "from nebula_images import Client, no .pyc",
            med["source_ratio"],
            "x",
            note="a development checkout with PYTHONDONTWRITEBYTECODE=1: our modules are "
            "compiled at every start, httpx's come from its wheel's .pyc (no goal)",
        ),
    ]


# ---------------------------------------------------------------- helpers: the mock


@contextmanager
def running_mock(**config: Any) -> Iterator[Any]:
    from nebula_images.testing import MockConfig, MockServer

    with MockServer(MockConfig(**config)) as mock:
        yield mock


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


# ---------------------------------------------------------------- 2. per-call overhead

PROMPT, MODEL = "a small red square", "black-forest-labs/FLUX.1-schnell"
PARAMS = {"width": 64, "height": 64, "seed": 1}
# The body the wrapper sends for PROMPT/MODEL/PARAMS (no defaults filled in: the server
# applies its own); the baseline sends the same body and headers, so only client-side
# work differs.
BODY = {"model_name": MODEL, "prompt": PROMPT, **PARAMS}


def bare_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Idempotency-Key": str(uuid.uuid4())}


def decode_first_image(content: bytes) -> bytes:
    return base64.b64decode(json.loads(content)["data"][0]["b64_json"])


def overhead_row(mode: str, calls: int, ours: list[float], base: list[float]) -> Row:
    return Row(
        f"generate() {mode}, per call",
        statistics.median(ours) * 1e3,
        "ms",
        statistics.median(base) * 1e3,
        f"bare httpx {mode} + json + base64, same body and headers",
        goal=1.05,
        note=f"median of {calls} interleaved pairs, 64x64 image, mock inference 0",
    )


def bench_overhead(calls: int) -> list[Row]:
    from nebula_images import AsyncClient, Client

    def measure_sync(mock: Any) -> tuple[list[float], list[float]]:
        url = mock.base_url + "/images/generation"
        with (
            httpx.Client(timeout=30) as http,
            Client(api_key=mock.api_key, base_url=mock.base_url) as client,
        ):
            assert client.images.generate(PROMPT, model=MODEL, **PARAMS).parameters == BODY

            def ours() -> object:
                return client.images.generate(PROMPT, model=MODEL, **PARAMS)

            def bare() -> bytes:
                response = http.post(url, json=BODY, headers=bare_headers(mock.api_key))
                return decode_first_image(response.content)

            samples: dict[Callable[[], object], list[float]] = {ours: [], bare: []}
            for i in range(calls + 20):  # the first 20 warm connections and caches
                for fn, times in samples.items():
                    t0 = time.perf_counter()
                    fn()
                    if i >= 20:
                        times.append(time.perf_counter() - t0)
            return samples[ours], samples[bare]

    async def measure_async(mock: Any) -> tuple[list[float], list[float]]:
        url = mock.base_url + "/images/generation"
        async with (
            httpx.AsyncClient(timeout=30) as http,
            AsyncClient(api_key=mock.api_key, base_url=mock.base_url) as client,
        ):

            async def ours() -> object:
                return await client.images.generate(PROMPT, model=MODEL, **PARAMS)

            async def bare() -> bytes:
                response = await http.post(url, json=BODY, headers=bare_headers(mock.api_key))
                return decode_first_image(response.content)

            samples: dict[Callable[[], Any], list[float]] = {ours: [], bare: []}
            for i in range(calls + 20):
                for fn, times in samples.items():
                    t0 = time.perf_counter()
                    await fn()
                    if i >= 20:
                        times.append(time.perf_counter() - t0)
            return samples[ours], samples[bare]

    with running_mock() as mock:
        return [
            overhead_row("sync", calls, *measure_sync(mock)),
            overhead_row("async", calls, *asyncio.run(measure_async(mock))),
        ]


# ---------------------------------------------------------------- 3. decode memory

# Each measurement runs in a fresh process so that the peak belongs to one call alone.
MEMORY_CHILD = Path(__file__).with_name("memory_child.py")
CANNED_SERVER = Path(__file__).with_name("canned_server.py")


def bench_memory(sizes_mb: list[int]) -> list[Row]:
    rows = []
    for mb in sizes_mb:
        size = mb * 1024 * 1024
        server = subprocess.Popen(
            [PY, str(CANNED_SERVER), str(size)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            url = f"http://127.0.0.1:{server.stdout.readline().strip()}/api/v1"
            peaks = {}
            for mode in ("ours", "naive"):
                out = subprocess.run(
                    [PY, str(MEMORY_CHILD), mode, url, str(size)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode:
                    raise RuntimeError(out.stderr.strip().splitlines()[-1])
                peaks[mode] = int(out.stdout.strip()) / size
        finally:
            server.terminate()
            server.wait()
        rows.append(
            Row(
                f"generate+save peak memory, {mb} MB image",
                peaks["ours"],
                "x img",
                peaks["naive"],
                "naive: body, parsed str, decoded bytes",
                goal=2.5,
                goal_on_value=True,
                note="tracemalloc peak / image size; goal is on the figure",
            )
        )
    return rows


# ---------------------------------------------------------------- 4. batch


def bench_batch(n: int, concurrency: int, latency: float, repeats: int) -> list[Row]:
    from nebula_images import AsyncClient, Client, RequestEvent

    # The mock limits the key to RATE requests a minute and the client's limiter is set
    # to the same RATE: a batch must see no 429. RATE is far above what n calls in a few
    # seconds need, so the figure is the batch machinery's cost, not the limiter's; that
    # the limiter holds when it binds is asserted by tests/test_batch_mock.py.
    rate = 6000
    ideal = max(math.ceil(n / concurrency) * latency, (n - 1) * 60 / rate)
    prompts = [f"prompt {i}" for i in range(n)]
    common = {"model": "black-forest-labs/FLUX.1-schnell", "width": 64, "height": 64}
    statuses: list[int | None] = []

    def on_response(event: RequestEvent) -> None:
        statuses.append(event.status)

    options = {"rate_limit": rate, "on_response": on_response}

    def run_sync(mock: Any) -> list[Any]:
        with Client(api_key=mock.api_key, base_url=mock.base_url, **options) as client:
            return list(client.images.generate_many(prompts, concurrency=concurrency, **common))

    async def run_async(mock: Any) -> list[Any]:
        async with AsyncClient(api_key=mock.api_key, base_url=mock.base_url, **options) as client:
            batch = client.images.generate_many(prompts, concurrency=concurrency, **common)
            return [r async for r in batch]

    # The baseline, side by side: the same n calls with bare httpx, `concurrency` at a
    # time (threads or tasks), against the same mock. The mock shares these two cores,
    # so the ideal ceil(n/c) x latency is only shown, not divided by.
    def bare_sync(mock: Any) -> list[Any]:
        from concurrent.futures import ThreadPoolExecutor

        url = mock.base_url + "/images/generation"
        with httpx.Client(timeout=60) as http:

            def one(prompt: str) -> bytes:
                body = {"model_name": common["model"], "prompt": prompt, "width": 64, "height": 64}
                response = http.post(url, json=body, headers=bare_headers(mock.api_key))
                return decode_first_image(response.content)

            with ThreadPoolExecutor(concurrency) as pool:
                return list(pool.map(one, prompts))

    async def bare_async(mock: Any) -> list[Any]:
        url = mock.base_url + "/images/generation"
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(timeout=60) as http:

            async def one(prompt: str) -> bytes:
                body = {"model_name": common["model"], "prompt": prompt, "width": 64, "height": 64}
                async with gate:
                    response = await http.post(url, json=body, headers=bare_headers(mock.api_key))
                return decode_first_image(response.content)

            return await asyncio.gather(*(one(p) for p in prompts))

    def timed(mock: Any, run: Callable[[Any], list[Any]]) -> tuple[float, list[Any]]:
        mock.reset()
        mock.configure(latency_seconds=latency, rate_limit_per_minute=rate)
        statuses.clear()
        t0 = time.perf_counter()
        results = run(mock)
        return time.perf_counter() - t0, results

    rows = []
    with running_mock(latency_seconds=latency, rate_limit_per_minute=rate) as mock:
        modes: tuple[tuple[str, Callable[[Any], list[Any]], Callable[[Any], list[Any]]], ...] = (
            ("sync", run_sync, bare_sync),
            ("async", lambda m: asyncio.run(run_async(m)), lambda m: asyncio.run(bare_async(m))),
        )
        for mode, run, bare in modes:
            walls: list[float] = []
            bare_walls: list[float] = []
            for _ in range(repeats):  # interleaved pairs; the median of each side
                bare_wall, bare_results = timed(mock, bare)
                assert len(bare_results) == n and mock.ledger.billed == n
                bare_walls.append(bare_wall)
                wall, results = timed(mock, run)
                walls.append(wall)
            failed = sum(1 for r in results if not hasattr(r, "images"))
            rows.append(
                Row(
                    f"generate_many {mode}, {n} @ {concurrency}",
                    statistics.median(walls),
                    "s",
                    statistics.median(bare_walls),
                    f"bare httpx {mode}, {concurrency} at a time",
                    goal=1.15,
                    note=f"median of {repeats}; {len(results)} results, {failed} failed, "
                    f"{statuses.count(429)} answered 429 (limiter and mock both at {rate}/min), "
                    f"{mock.ledger.billed} billed; ideal ceil(n/c) x {latency}s = {ideal:.1f}s",
                )
            )
    return rows


def bench_batch_s3(n: int, concurrency: int) -> list[Row]:
    """The same batch to a local folder and to S3 (moto's server on loopback)."""
    import logging
    import socket
    import tempfile

    from moto.server import ThreadedMotoServer

    from nebula_images import Client

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per S3 request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
    )
    import s3fs

    s3fs.S3FileSystem(skip_instance_cache=True).mkdir("bench")
    prompts = [f"prompt {i}" for i in range(n)]
    common = {"model": "black-forest-labs/FLUX.1-schnell", "width": 256, "height": 256}
    walls: dict[str, float] = {}
    try:
        with running_mock() as mock, tempfile.TemporaryDirectory() as local:
            for name, target in (("local", local), ("s3", "s3://bench/run")):
                mock.reset()
                with Client(api_key=mock.api_key, base_url=mock.base_url) as client:
                    t0 = time.perf_counter()
                    batch = client.images.generate_many(
                        prompts, concurrency=concurrency, output_dir=target, **common
                    )
                    failed = sum(1 for r in batch if not hasattr(r, "images"))
                    walls[name] = time.perf_counter() - t0
                assert failed == 0 and mock.ledger.billed == n, (name, failed)
    finally:
        server.stop()
    rate = {name: n / wall for name, wall in walls.items()}
    return [
        Row(
            f"batch to S3 (moto), {n} @ {concurrency}",
            walls["s3"],
            "s",
            walls["local"],
            "the same batch to a local folder",
            note=f"{rate['s3']:.1f} images/s to S3 vs {rate['local']:.1f} images/s to a "
            "local folder (256x256 PNGs from the mock)",
        )
    ]


# ---------------------------------------------------------------- 5. the mock


def bench_mock(requests: int) -> list[Row]:
    body = {
        "model_name": "black-forest-labs/FLUX.1-schnell",
        "prompt": "bench",
        "width": 256,
        "height": 256,
    }
    figures: dict[bool, tuple[float, float, float]] = {}
    for validate in (True, False):
        with running_mock(validate=validate) as mock:
            url = mock.base_url + "/images/generation"
            headers = {"Authorization": f"Bearer {mock.api_key}"}
            with httpx.Client(timeout=30) as http:
                for i in range(10):
                    http.post(url, json={**body, "seed": i}, headers=headers).raise_for_status()
                lat = []
                t_all = time.perf_counter()
                for i in range(requests):
                    t0 = time.perf_counter()
                    http.post(url, json={**body, "seed": i}, headers=headers).raise_for_status()
                    lat.append(time.perf_counter() - t0)
                total = time.perf_counter() - t_all
            figures[validate] = (
                requests / total,
                percentile(lat, 50) * 1e3,
                percentile(lat, 99) * 1e3,
            )
    on, off = figures[True], figures[False]
    return [
        Row(
            "mock requests/s, 256x256, validating",
            on[0],
            "req/s",
            off[0],
            "validation off",
            note="one client, sequential; ratio < 1 is the cost of validation",
        ),
        Row("mock p50 latency, 256x256, validating", on[1], "ms", off[1], "validation off"),
        Row("mock p99 latency, 256x256, validating", on[2], "ms", off[2], "validation off"),
    ]


# ---------------------------------------------------------------- 6. regeneration


def bench_generate(runs: int) -> list[Row]:
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            t0 = time.perf_counter()
            subprocess.run(
                ["make", "-s", "generate", f"GENERATED_DIR={tmp}/{i}/nebula_images_api"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            walls.append(time.perf_counter() - t0)
    return [
        Row(
            "make generate wall time",
            statistics.median(walls),
            "s",
            note=f"median of {runs}, into a temporary folder",
        )
    ]


# ---------------------------------------------------------------- main


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'figure':<42} {'measured':>18} {'baseline':>10} {'ratio':>6} {'goal':>11}  baseline is"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        measured = f"{r.value:.3f} {r.unit}"
        base = f"{r.baseline:.3f}" if r.baseline is not None else "-"
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        goal = f"{r.goal:.2f}x" if r.goal is not None else "-"
        goal += {True: " ok", False: " MISS", None: ""}[r.met]
        print(f"{r.name:<42} {measured:>18} {base:>10} {ratio:>6} {goal:>11}  {r.baseline_name}")
        if r.note:
            print(f"{'':<4}{r.note}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="import,overhead,memory,batch,s3,mock,generate")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    quick = args.quick
    plan: dict[str, Callable[[], list[Row]]] = {
        "import": lambda: bench_import(5 if quick else 11),
        "overhead": lambda: bench_overhead(50 if quick else 300),
        "memory": lambda: bench_memory([1, 8] if quick else [1, 8, 32]),
        "batch": lambda: bench_batch(200, 16, 0.2, 1 if quick else 3),
        "s3": lambda: bench_batch_s3(100 if quick else 300, 8),
        "mock": lambda: bench_mock(50 if quick else 300),
        "generate": lambda: bench_generate(2 if quick else 3),
    }
    rows: list[Row] = []
    failures: dict[str, str] = {}
    for name in args.only.split(","):
        t0 = time.perf_counter()
        try:
            got = plan[name]()
        except Exception as exc:  # a missing piece is reported, the others still run
            failures[name] = f"{type(exc).__name__}: {exc}"
            print(f"[{name}] FAILED: {failures[name]}", file=sys.stderr)
            continue
        rows += got
        print(f"[{name}] done in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    print()
    print_table(rows)
    out = ROOT / "bench" / "results.json"
    out.write_text(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "cpus": os.cpu_count(),
                "rows": [r.as_dict() for r in rows],
                "failures": failures,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

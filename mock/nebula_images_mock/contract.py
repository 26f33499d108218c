"""``python -m nebula_images_mock.contract [--url URL]``: the Schemathesis contract suite.

Without ``--url`` it starts a local mock and runs everything: all checks, positive and
negative data, every phase, deterministic. With ``--url`` and ``NEBULA_API_KEY`` it
tests that deployment; a URL that is not on this machine is the real (billed) API, so
only positive cases run, within a small budget that is printed before anything is sent.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._config import is_loopback_host
from ._validation import load_spec_text

HOOKS_MODULE = "nebula_images_mock.schemathesis_hooks"
LOCAL_MAX_EXAMPLES = 25
REMOTE_MAX_EXAMPLES = 2
SEED = 20251125
# The spec's request examples, each one billed generation in the examples phase.
_REMOTE_EXAMPLE_CALLS = 4


@dataclass(frozen=True, slots=True)
class ContractResult:
    """What one Schemathesis run found."""

    returncode: int
    output: str
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when Schemathesis exited 0 (no failures, no errors)."""
        return self.returncode == 0


def is_local_url(url: str) -> bool:
    """Whether ``url`` points at this machine (a mock), not a billed deployment."""
    return is_loopback_host(urlsplit(url).hostname or "")


def remote_budget(max_examples: int = REMOTE_MAX_EXAMPLES) -> str:
    """The budget statement printed before a run against a non-local URL."""
    calls = _REMOTE_EXAMPLE_CALLS + max_examples
    return (
        f"Budget: positive cases only, at most {calls} billed generations "
        f"({_REMOTE_EXAMPLE_CALLS} spec examples + {max_examples} generated), "
        f"plus up to {max_examples + 1} free model-list calls and unauthenticated "
        "probes (answered 401, not billed). Rate limited to 20 requests per minute."
    )


def _config_toml(*, full: bool, max_examples: int) -> str:
    lines = [
        f'hooks = "{HOOKS_MODULE}"',
        f"seed = {SEED}",
        "workers = 1",
        "",
        "[headers]",
        'Authorization = "Bearer ${NEBULA_API_KEY}"',
        "",
        "[generation]",
        "deterministic = true",
        'database = "none"',
        f"max-examples = {max_examples}",
        f'mode = "{"all" if full else "positive"}"',
        "",
        "[warnings]",
        'fail-on = ["missing_auth"]',
    ]
    if not full:
        lines[3:3] = ['rate-limit = "20/m"', "request-timeout = 300"]
        lines += [
            "",
            "[phases.coverage]",
            "enabled = false",
            "",
            "[phases.stateful]",
            "enabled = false",
        ]
    return "\n".join(lines) + "\n"


@contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="nebula-contract-") as tmp:
        yield Path(tmp)


def run_contract(
    url: str,
    api_key: str,
    *,
    full: bool = True,
    max_examples: int | None = None,
    echo: bool = True,
    timeout: float = 900.0,
) -> ContractResult:
    """Run Schemathesis against ``url``; ``full=False`` runs the billed-API budget."""
    if max_examples is None:
        max_examples = LOCAL_MAX_EXAMPLES if full else REMOTE_MAX_EXAMPLES
    with _workdir() as tmp:
        spec_file = tmp / "openapi.yaml"
        spec_file.write_text(load_spec_text(), encoding="utf-8")
        config_file = tmp / "schemathesis.toml"
        config_file.write_text(_config_toml(full=full, max_examples=max_examples), "utf-8")
        stats_file = tmp / "stats.json"
        # The key travels in the environment, never on a command line or in output.
        env = {**os.environ, "NEBULA_API_KEY": api_key, "NEBULA_CONTRACT_STATS": str(stats_file)}
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config_file),
            "--no-color",
            "run",
            str(spec_file),
            "--url",
            url,
        ]
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        output: list[str] = []
        for line in proc.stdout:
            output.append(line)
            if echo:
                print(line, end="", flush=True)
        returncode = proc.wait(timeout=timeout)
        stats: dict[str, Any] = {}
        if stats_file.is_file():
            stats = json.loads(stats_file.read_text(encoding="utf-8"))
    return ContractResult(returncode, "".join(output), {k: int(v) for k, v in stats.items()})


def summary(result: ContractResult) -> str:
    """One line with the counts: cases (positive/negative) and checks (passed/failed)."""
    s = result.stats
    return (
        f"contract: {'PASSED' if result.passed else 'FAILED'}; "
        f"{s.get('cases', 0)} cases validated "
        f"({s.get('cases_positive', 0)} positive, {s.get('cases_negative', 0)} negative), "
        f"{s.get('checks', 0)} checks ({s.get('checks_success', 0)} passed, "
        f"{s.get('checks_failure', 0)} failed, {s.get('checks_skip', 0)} skipped)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``make contract``."""
    parser = argparse.ArgumentParser(
        prog="python -m nebula_images_mock.contract",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", help="API base URL (default: start a local mock)")
    parser.add_argument(
        "--max-examples", type=int, default=None, help="generated cases per operation"
    )
    args = parser.parse_args(argv)
    if importlib.util.find_spec("schemathesis") is None:
        print("error: the contract suite needs Schemathesis: pip install schemathesis==4.32.5")
        return 2

    if args.url is None:
        from ._server import MockServer

        with MockServer() as mock:
            print(f"contract: full suite against a local mock at {mock.base_url}", flush=True)
            result = run_contract(mock.base_url, mock.api_key, max_examples=args.max_examples)
            print(f"mock: {mock.requests_seen} requests, {mock.ledger.billed} billed generations")
    else:
        api_key = os.environ.get("NEBULA_API_KEY", "")
        local = is_local_url(args.url)
        if not api_key:
            if not local:
                print("error: set NEBULA_API_KEY to test a deployment (each call is billed)")
                return 2
            api_key = "ak_mock_0123456789"  # the key a default `make mock` accepts
        if local:
            print(f"contract: full suite against {args.url}", flush=True)
        else:
            n = args.max_examples or REMOTE_MAX_EXAMPLES
            print(f"contract: {args.url} is not local, so it is treated as the billed API.")
            print(remote_budget(n), flush=True)
        result = run_contract(args.url, api_key, full=local, max_examples=args.max_examples)
    print(summary(result))
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())

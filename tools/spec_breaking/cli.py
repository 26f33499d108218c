"""``make breaking [BASE=<git ref>]``: exit 1 when the working tree's spec would break
clients built from the spec at BASE, 0 otherwise (2: the comparison could not run)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from spec_breaking._compare import DEFAULT_EXAMPLES, DEFAULT_SEED, compare_specs
from spec_breaking._git import Base, GitError, default_base, read_base
from spec_breaking._report import render


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec_breaking",
        description="Fail when a spec change would break clients generated from the old spec.",
    )
    parser.add_argument("--spec", type=Path, default=Path("openapi.yaml"), help="the new spec")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--base", help="git ref of the old spec (default: merge-base with main; HEAD~1 on main)"
    )
    source.add_argument("--base-file", type=Path, help="the old spec as a file")
    parser.add_argument(
        "--changelog", type=Path, help="CHANGELOG for breaks on purpose (default: next to the spec)"
    )
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, help="draws per schema")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--no-sampling", action="store_true", help="structure and names only")
    return parser


def _load(text: str, where: str) -> dict[str, Any]:
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise GitError(f"{where} is not an OpenAPI document (not a mapping)")
    return loaded


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    spec: Path = args.spec.resolve()
    if not spec.is_file():
        print(f"spec-breaking: {args.spec} does not exist", file=sys.stderr)
        return 2
    try:
        if args.base_file is not None:
            base = Base(args.base_file.read_text(encoding="utf-8"), str(args.base_file))
        elif args.base:
            base = read_base(spec, args.base)
        else:
            ref, why = default_base(spec.parent)
            base = read_base(spec, ref, why)
        if base.text is None:
            print(f"spec-breaking: nothing to compare: {base.skip_reason}. OK.")
            return 0
        old = _load(base.text, base.label)
        new = _load(spec.read_text(encoding="utf-8"), str(args.spec))
    except (GitError, OSError, yaml.YAMLError) as exc:
        print(f"spec-breaking: {exc}", file=sys.stderr)
        return 2
    changelog_path: Path = args.changelog or spec.parent / "CHANGELOG.md"
    changelog = changelog_path.read_text(encoding="utf-8") if changelog_path.is_file() else None
    try:
        comparison = compare_specs(
            old,
            new,
            changelog=changelog,
            changelog_name=changelog_path.name,
            sampling=not args.no_sampling,
            examples=args.examples,
            seed=args.seed,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # A document this tool cannot walk (not OpenAPI 3.1?): one line, not a traceback.
        print(
            f"spec-breaking: could not compare the specs ({type(exc).__name__}: {exc}); "
            "are both OpenAPI 3.1 documents? (openapi-spec-validator will say)",
            file=sys.stderr,
        )
        return 2
    print(render(comparison, f"{args.spec} (working tree)", base.label))
    print(f"({time.monotonic() - started:.1f} s)")
    return 1 if comparison.blocking else 0

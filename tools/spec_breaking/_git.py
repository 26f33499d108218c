"""The base spec: the same file at a git ref.

Default base: the merge-base of HEAD and ``main`` (or ``origin/main``), i.e. what this
branch changed; on ``main`` itself, ``HEAD~1`` (what the last commit changed). A base that
cannot exist (``HEAD~1`` of a single-commit or shallow clone) or a file that did not exist
at the base means there is nothing to compare, which is not a failure."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path


class GitError(Exception):
    """The base cannot be read for a reason the user must fix (a wrong ref, no git)."""


@dataclass(frozen=True)
class Base:
    text: str | None  # None: nothing to compare
    label: str
    skip_reason: str | None = None


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A fixed git argv, no shell; git from PATH as every developer and CI runs it.
    return subprocess.run(  # noqa: S603
        ["git", *args],  # noqa: S607
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def _commit(cwd: Path, ref: str) -> str | None:
    done = _git(cwd, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 else None


def default_base(cwd: Path) -> tuple[str, str]:
    """(ref, why) for the default base."""
    if _git(cwd, "rev-parse", "--git-dir").returncode != 0:
        raise GitError(f"{cwd} is not inside a git checkout: pass --base-file")
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    main = next((r for r in ("main", "origin/main") if _commit(cwd, r)), None)
    if branch == "main" or main is None:
        why = "on main" if branch == "main" else "no main branch"
        return "HEAD~1", f"{why}: the previous commit"
    merge_base = _git(cwd, "merge-base", "HEAD", main)
    if merge_base.returncode != 0:
        return "HEAD~1", f"no merge-base with {main}: the previous commit"
    return merge_base.stdout.strip(), f"the merge-base of HEAD and {main}"


def read_base(spec: Path, ref: str, why: str | None = None) -> Base:
    cwd = spec.parent
    if _git(cwd, "rev-parse", "--git-dir").returncode != 0:
        raise GitError(f"{cwd} is not inside a git checkout: pass --base-file")
    commit = _commit(cwd, ref)
    label_ref = f"{ref}" + (f", {why}" if why else "")
    if commit is None:
        ancestor = re.fullmatch(r"(.+?)((?:[~^]\d*)+)", ref)
        shallow = _git(cwd, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        if ancestor and _commit(cwd, ancestor.group(1)):
            reason = (
                f"{ref} does not exist ({ancestor.group(1)} has no such ancestor: a "
                "single-commit" + (" or shallow" if shallow else "") + " history)"
            )
            return Base(None, f"{spec.name} at {label_ref}", reason)
        if shallow:
            return Base(None, f"{spec.name} at {label_ref}", f"{ref} is not in this shallow clone")
        raise GitError(f"BASE={ref} is not a commit here (try a branch, tag or sha)")
    shown = _git(cwd, "show", f"{commit}:./{spec.name}")
    short = commit[:10]
    named = short if ref == commit else f"{ref} ({short})"
    label = f"{spec.name} at {named}" + (f", {why}" if why else "")
    if shown.returncode != 0:
        return Base(None, label, f"{spec.name} did not exist at {ref} ({short})")
    return Base(shown.stdout, label)

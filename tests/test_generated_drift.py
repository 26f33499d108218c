"""`generated/` is exactly what `make generate` writes from `openapi.yaml`."""

from __future__ import annotations

import difflib
import filecmp
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT, SPEC_PATH

COMMITTED = ROOT / "generated" / "nebula_images_api"
# The Python layer's per-model rules and typed calls, also written by `make generate`.
COMMITTED_RULES = ROOT / "generated" / "nebula_images_rules"
COMMITTED_IMAGES = ROOT / "wrapper" / "nebula_images" / "resources" / "images.py"
COMMITTED_BATCH_REQUEST = ROOT / "wrapper" / "nebula_images" / "_batch_request.py"
IGNORED = {"__pycache__", ".ruff_cache"}


def regenerate(spec: Path, out: Path) -> None:
    """Regenerate into ``out`` (the client) and beside it (``rules/``, ``images.py``,
    ``batch_request.py``)."""
    subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "generate-python",
            f"SPEC={spec}",
            f"GENERATED_DIR={out}",
            f"RULES_MODULE={out.parent / 'rules' / '__init__.py'}",
            f"IMAGES_MODULE={out.parent / 'images.py'}",
            f"BATCH_REQUEST_MODULE={out.parent / 'batch_request.py'}",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )


def python_layer_diff(fresh: Path) -> list[str]:
    """Differences of the rules package and the generated wrapper modules
    (resources/images.py, _batch_request.py) from a regeneration."""
    problems = tree_diff(fresh.parent / "rules", COMMITTED_RULES)
    for name, committed_path in (
        ("images.py", COMMITTED_IMAGES),
        ("batch_request.py", COMMITTED_BATCH_REQUEST),
    ):
        regenerated = (fresh.parent / name).read_text(encoding="utf-8")
        committed = committed_path.read_text(encoding="utf-8")
        if regenerated != committed:
            shown = committed_path.relative_to(ROOT / "wrapper")
            problems.append(
                "".join(
                    difflib.unified_diff(
                        committed.splitlines(keepends=True),
                        regenerated.splitlines(keepends=True),
                        f"committed/{shown}",
                        f"regenerated/{shown}",
                    )
                )
            )
    return problems


def tree_diff(expected: Path, actual: Path) -> list[str]:
    """Readable differences between two trees: missing, extra and changed files."""
    problems: list[str] = []

    def walk(cmp: filecmp.dircmp[str], rel: Path) -> None:
        for name in sorted(cmp.left_only):
            if name not in IGNORED:
                problems.append(f"only in fresh regeneration: {rel / name}")
        for name in sorted(cmp.right_only):
            if name not in IGNORED:
                problems.append(f"only in committed generated/: {rel / name}")
        for name in sorted(cmp.diff_files):
            left = (Path(cmp.left) / name).read_text(encoding="utf-8").splitlines(keepends=True)
            right = (Path(cmp.right) / name).read_text(encoding="utf-8").splitlines(keepends=True)
            problems.append(
                "".join(
                    difflib.unified_diff(
                        right, left, f"committed/{rel / name}", f"regenerated/{rel / name}"
                    )
                )
            )
        for name, sub in sorted(cmp.subdirs.items()):
            if name not in IGNORED:
                walk(sub, rel / name)

    walk(filecmp.dircmp(str(expected), str(actual), ignore=list(IGNORED)), Path())
    return problems


def test_committed_generated_matches_a_fresh_regeneration(tmp_path: Path) -> None:
    fresh = tmp_path / "nebula_images_api"
    regenerate(SPEC_PATH, fresh)
    problems = tree_diff(fresh, COMMITTED) + python_layer_diff(fresh)
    assert not problems, "generated/ is stale; run `make generate`:\n" + "\n".join(problems)


def test_a_spec_change_shows_up_as_a_readable_diff(tmp_path: Path) -> None:
    changed_spec = tmp_path / "openapi.yaml"
    text = SPEC_PATH.read_text(encoding="utf-8")
    assert "operationId: list_models" in text
    changed_spec.write_text(text.replace("maxLength: 4000", "maxLength: 4001", 1), encoding="utf-8")
    changed_spec.write_text(
        changed_spec.read_text(encoding="utf-8").replace(
            "How closely to follow the prompt.", "How strongly to follow the prompt.", 1
        ),
        encoding="utf-8",
    )
    fresh = tmp_path / "nebula_images_api"
    regenerate(changed_spec, fresh)
    problems = tree_diff(fresh, COMMITTED)
    assert problems
    assert any("+" in p and "How strongly to follow the prompt." in p for p in problems)
    # The bound and the description reach the rules and the typed calls' docstrings.
    layer = "\n".join(python_layer_diff(fresh))
    assert "+" in layer and "4001" in layer and "How strongly to follow the prompt." in layer


def test_a_new_untracked_file_counts_as_drift(tmp_path: Path) -> None:
    copy = tmp_path / "committed"
    shutil.copytree(COMMITTED, copy, ignore=shutil.ignore_patterns(*IGNORED))
    (copy / "models" / "stray.py").write_text("x = 1\n", encoding="utf-8")
    problems = tree_diff(COMMITTED, copy)
    assert problems == ["only in committed generated/: models/stray.py"]


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "nebula_images_api", tmp_path / "b" / "nebula_images_api"
    regenerate(SPEC_PATH, first)
    regenerate(SPEC_PATH, second)
    assert tree_diff(first, second) == []
    assert tree_diff(first.parent / "rules", second.parent / "rules") == []
    assert (first.parent / "images.py").read_bytes() == (second.parent / "images.py").read_bytes()

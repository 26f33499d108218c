"""The client is split by concern (issue #10.5): no class over ~300 lines, and the
pipeline's modules import each other one way only (no import circle)."""

from __future__ import annotations

import ast
from pathlib import Path

WRAPPER = Path(__file__).resolve().parent.parent / "wrapper" / "nebula_images"
# Lowest first: each may import only modules before it in this list.
PIPELINE = ["_body", "_call", "_classify", "_results", "_observe", "_pipeline", "_client"]


def runtime_imports(path: Path) -> set[str]:
    """The package modules ``path`` imports at run time (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and inner.level == 1 and inner.module:
                found.add(inner.module.split(".")[0])
    return found


def test_no_class_over_300_lines() -> None:
    sizes = {}
    for path in WRAPPER.glob("_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                sizes[f"{path.name}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert sizes["_pipeline.py:BaseClient"] > 100  # the check sees the real classes
    assert {name: size for name, size in sizes.items() if size > 300} == {}


def test_pipeline_modules_import_one_way() -> None:
    for position, name in enumerate(PIPELINE):
        later = set(PIPELINE[position:])
        assert not runtime_imports(WRAPPER / f"{name}.py") & later, name


def test_client_module_is_wiring_only() -> None:
    assert len((WRAPPER / "_client.py").read_text(encoding="utf-8").splitlines()) < 300

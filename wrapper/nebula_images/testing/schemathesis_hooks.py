"""Schemathesis hooks that make generated inpainting inputs real pictures.

The spec types ``image``/``mask`` as base64 (``contentEncoding: base64``), which
Schemathesis fills with base64 of random text: schema-valid, yet not pictures, so a
faithful server answers 400 and ``positive_data_acceptance`` would fail. Just before a
request is sent, a value that is valid base64 but no picture is swapped for a small
PNG (one size for both fields, since the mask must match the image). A value that
breaks the schema (not base64, too short, not a string) is left alone, so negative
cases stay negative.

Loaded by ``schemathesis.toml`` (``hooks = "nebula_images.testing.schemathesis_hooks"``)
for the CLI, and by ``nebula_images.testing.contract``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
from functools import lru_cache
from typing import Any

import schemathesis
from PIL import Image

INPUT_SIDE = 16  # image and mask are both this square size
_FIELDS = ("image", "mask")
_MIN_LENGTH = 4  # the spec's minLength for Base64Image / Base64Mask
_PICTURE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF")


def real_picture_b64(field: str, source: str) -> str:
    """Base64 of a small PNG, derived from ``source`` so that runs are reproducible."""
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest()
    return _png_b64(field, digest[:3])


@lru_cache(maxsize=256)
def _png_b64(field: str, colour: bytes) -> str:
    if field == "mask":
        picture = Image.new("L", (INPUT_SIDE, INPUT_SIDE), 0)
        picture.paste(255, (4, 4, 12, 12))  # repaint the centre, keep the border
    else:
        picture = Image.new("RGB", (INPUT_SIDE, INPUT_SIDE), (colour[0], colour[1], colour[2]))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def needs_real_picture(value: Any) -> bool:
    """Whether ``value`` is schema-valid base64 that does not hold a picture."""
    if not isinstance(value, str) or len(value) < _MIN_LENGTH:
        return False
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return not raw.startswith(_PICTURE_MAGIC)


def replace_inputs(body: Any) -> bool:
    """Swap non-picture base64 in ``body["image"]``/``body["mask"]``; True if it changed."""
    if not isinstance(body, dict):
        return False
    changed = False
    for field in _FIELDS:
        value = body.get(field)
        if isinstance(value, str) and needs_real_picture(value):
            body[field] = real_picture_b64(field, value)
            changed = True
    if changed:
        # One picture real and the other not would still be a size mismatch or a 400.
        for field in _FIELDS:
            value = body.get(field)
            if isinstance(value, str) and not needs_real_picture(value):
                try:
                    raw = base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    continue
                if raw.startswith(_PICTURE_MAGIC):
                    body[field] = real_picture_b64(field, value)
    return changed


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Give generated inpainting requests real pictures just before they are sent."""
    replace_inputs(case.body)


# -- run statistics for `nebula_images.testing.contract` ------------------------------
# When STATS_ENV names a file, every validated response adds to counters that are
# written there as JSON when the Schemathesis process exits.

STATS_ENV = "NEBULA_CONTRACT_STATS"


def _install_stats(path: str) -> None:
    """Count cases and check outcomes of this run and write them to ``path`` at exit."""
    import atexit
    import json
    import threading
    from collections import Counter

    import schemathesis.engine._validate as engine_validate
    import schemathesis.engine.run.stateful._executor as stateful_executor

    lock = threading.Lock()
    counts: Counter[str] = Counter()
    original = engine_validate.run_checks  # type: ignore[attr-defined]

    # Schemathesis exposes no per-check hook to its engine, so its one check runner is
    # wrapped; outcomes pass through unchanged.
    def counted_run_checks(**kwargs: Any) -> Any:
        on_failure = kwargs["on_failure"]
        on_success = kwargs.get("on_success")
        outcome: dict[str, str] = {}

        def failed(name: str, collected: Any, failure: Any) -> None:
            outcome[name] = "failure"
            on_failure(name, collected, failure)

        def passed(name: str, case: Any) -> None:
            outcome.setdefault(name, "success")
            if on_success is not None:
                on_success(name, case)

        checks = list(kwargs["checks"])
        try:
            return original(
                **{**kwargs, "checks": checks, "on_failure": failed, "on_success": passed}
            )
        finally:
            meta = getattr(kwargs["case"], "meta", None)
            mode = getattr(getattr(getattr(meta, "generation", None), "mode", None), "value", None)
            with lock:
                counts["cases"] += 1
                counts[f"cases_{mode or 'unknown'}"] += 1
                for check in checks:
                    status = outcome.get(check.__name__, "skip")
                    counts["checks"] += 1
                    counts[f"checks_{status}"] += 1
                    counts[f"check:{check.__name__}:{status}"] += 1

    engine_validate.run_checks = counted_run_checks  # type: ignore[attr-defined]
    stateful_executor.run_checks = counted_run_checks  # type: ignore[attr-defined]

    def write() -> None:
        with lock, open(path, "w", encoding="utf-8") as out:
            json.dump(dict(counts), out, indent=1, sort_keys=True)

    atexit.register(write)


if _stats_path := os.environ.get(STATS_ENV):
    try:
        _install_stats(_stats_path)
    except (ImportError, AttributeError) as exc:  # another Schemathesis layout: run, uncounted
        print(f"nebula contract: check counts unavailable ({exc})")

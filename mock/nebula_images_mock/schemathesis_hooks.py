"""Schemathesis hooks that make generated inpainting inputs real pictures.

The spec types ``image``/``mask`` as strings holding base64 (``contentEncoding:
base64``, an annotation that Schemathesis does not generate for), so it fills them with
arbitrary text: schema-valid, yet not pictures, so a faithful server answers 400 and
``positive_data_acceptance`` would fail. Just before a request is sent, a string that is
long enough to be schema-valid but holds no picture is swapped for a small PNG (one size
for both fields, since the mask must match the image). A value that breaks the schema
(too short, not a string) is left alone, so negative cases stay negative.

This file needs only Schemathesis and the standard library, so that a Schemathesis
installed on its own (pipx, its container) can load it by path from the repository
root: ``schemathesis.toml`` names it as a file. ``nebula_images_mock.contract`` loads
it as a module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
import zlib
from functools import lru_cache
from typing import Any

import schemathesis

INPUT_SIDE = 16  # image and mask are both this square size
_FIELDS = ("image", "mask")
_MIN_LENGTH = 4  # the spec's minLength for Base64Image / Base64Mask
_PICTURE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF")


def real_picture_b64(field: str, source: str) -> str:
    """Base64 of a small PNG, derived from ``source`` so that runs are reproducible."""
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest()
    return _png_b64(field, digest[:3])


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


@lru_cache(maxsize=256)
def _png_b64(field: str, colour: bytes) -> str:
    """A PNG written with zlib alone: RGB in ``colour``, or a grey mask white at the centre."""
    if field == "mask":
        colour_type = 0  # greyscale
        rows = [
            bytes(255 if 4 <= x < 12 and 4 <= y < 12 else 0 for x in range(INPUT_SIDE))
            for y in range(INPUT_SIDE)
        ]  # repaint the centre, keep the border
    else:
        colour_type = 2  # RGB
        rows = [colour[:3] * INPUT_SIDE for _ in range(INPUT_SIDE)]
    raw = b"".join(b"\x00" + row for row in rows)  # filter byte 0 (None) per row
    header = struct.pack(">IIBBBBB", INPUT_SIDE, INPUT_SIDE, 8, colour_type, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode("ascii")


def _is_picture(value: str) -> bool:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return raw.startswith(_PICTURE_MAGIC)


def needs_real_picture(value: Any) -> bool:
    """Whether ``value`` is a schema-valid string (long enough) that holds no picture."""
    if not isinstance(value, str) or len(value) < _MIN_LENGTH:
        return False
    return not _is_picture(value)


def replace_inputs(body: Any) -> bool:
    """Swap non-picture strings in ``body["image"]``/``body["mask"]``; True if it changed."""
    if not isinstance(body, dict):
        return False
    changed = False
    for field in _FIELDS:
        value = body.get(field)
        if isinstance(value, str) and needs_real_picture(value):
            body[field] = real_picture_b64(field, value)
            changed = True
    if changed:
        # A real picture beside a swapped one would still be a size mismatch (a 400).
        for field in _FIELDS:
            value = body.get(field)
            if isinstance(value, str) and _is_picture(value):
                body[field] = real_picture_b64(field, value)
    return changed


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Give generated inpainting requests real pictures just before they are sent."""
    replace_inputs(case.body)


# -- run statistics for `nebula_images_mock.contract` ----------------------------------
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

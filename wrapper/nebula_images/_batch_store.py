"""A batch's output folder: images and sidecars named by item identity, and a manifest.

Layout of a folder (any :class:`~nebula_images._output.FileStore`):

* ``.nebula-batch.json``: the batch id that salts the idempotency keys, created once
  under a cross-process lock, so that processes starting on a fresh folder at the same
  instant share one batch (and one set of keys: nothing is billed twice);
* per item ``<slug-of-prompt>-<short identity>.png`` (``-1.png``... for further
  images) and ``<same stem>.json``, the sidecar, written last: it marks the item done;
* ``manifest.jsonl``: one line per item saved (``item``, ``prompt``, ``sidecar``,
  ``files``); the last line of an item wins.

Only plain names inside the folder are ever written or removed, whatever a sidecar on
disk says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ._output import (
    FileStore,
    ResultLike,
    file_extension,
    image_file_name,
    is_plain_name,
    jsonable,
    result_record,
)

__all__ = ["BATCH_FILE", "MANIFEST_NAME", "BatchStore", "StoredItem"]

BATCH_FILE = ".nebula-batch.json"
MANIFEST_NAME = "manifest.jsonl"


@attrs.frozen
class StoredItem:
    """What the store needs to know of an item."""

    identity: str  # hex digest of what the item asks for and its occurrence number
    stem: str  # file names' common part: "<slug>-<short identity>"
    prompt: str
    occurrence: int


@attrs.frozen
class Found:
    """An item found done: its files and its sidecar."""

    paths: tuple[Path | str, ...]  # a Path, or a URL for a remote folder
    metadata: Mapping[str, Any]


class BatchStore:
    """Reads and writes one batch folder; safe to share between threads."""

    def __init__(self, files: FileStore, batch_id: str | None, new_id: str) -> None:
        self.files = files
        with files.locked():
            stored = self._stored_batch_id()
            # The batch id salts the idempotency keys: a fresh folder means fresh images,
            # the same folder means the same keys (so a re-run is not billed again).
            if batch_id is not None and batch_id != stored:
                files.write(BATCH_FILE, _batch_record(batch_id))
            # Create-only: of processes racing on a fresh folder, the first id wins
            # (where the place has no lock, e.g. object storage, this alone decides).
            elif (
                batch_id is None
                and stored is None
                and not files.create(BATCH_FILE, _batch_record(new_id))
            ):
                stored = self._stored_batch_id()
            self.batch_id = batch_id or stored or new_id
        files.remove_stale_temp_files()

    def _stored_batch_id(self) -> str | None:
        record = _json_object(self.files.read(BATCH_FILE))
        value = record.get("batch_id") if record else None
        return value if isinstance(value, str) and value else None

    def _sidecar_name(self, item: StoredItem) -> str:
        return f"{item.stem}.json"

    def _sidecar(self, item: StoredItem) -> dict[str, Any] | None:
        return _json_object(self.files.read(self._sidecar_name(item)))

    def lookup(self, item: StoredItem) -> Found | None:
        """The item's files and sidecar when a sidecar for it lists files that all exist."""
        meta = self._sidecar(item)
        if meta is None or meta.get("item") != item.identity:
            return None
        names = meta.get("files")
        if not isinstance(names, list) or not names or not all(map(is_plain_name, names)):
            return None  # an empty or foreign list never means done
        if not all(self.files.exists(name) for name in names):
            return None
        return Found(paths=tuple(self.files.location(n) for n in names), metadata=meta)

    def close(self) -> None:
        """The end of a run: make the manifest complete."""
        self.files.flush()

    def save(self, item: StoredItem, result: ResultLike) -> list[Path | str]:
        """Write the images, then the sidecar (the sidecar is the commit marker)."""
        previous = self._sidecar(item)
        names: list[str] = []
        for position, image in enumerate(result.images):
            name = image_file_name(item.stem, position, file_extension(image.format))
            self.files.write(name, image.data)
            names.append(name)
        meta = result_record(result, item.prompt, names)
        meta["item"] = item.identity
        meta["occurrence"] = item.occurrence
        sidecar = self._sidecar_name(item)
        self.files.write(sidecar, _dumps(meta).encode())
        # An earlier run may have written more images for this item: drop the extra ones.
        old = previous.get("files") if previous else None
        if isinstance(old, list):
            for name in {n for n in old if is_plain_name(n)} - set(names) - {sidecar}:
                self.files.remove(name)
        entry = {"item": item.identity, "prompt": item.prompt, "sidecar": sidecar, "files": names}
        self.files.append_line(MANIFEST_NAME, json.dumps(entry, ensure_ascii=False))
        return [self.files.location(name) for name in names]


def _batch_record(batch_id: str) -> bytes:
    return (json.dumps({"format": 2, "batch_id": batch_id}, indent=2) + "\n").encode()


def _json_object(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _dumps(meta: Mapping[str, Any]) -> str:
    return json.dumps(meta, indent=2, sort_keys=True, default=jsonable) + "\n"

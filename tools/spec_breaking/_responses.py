"""Responses of one operation: what old clients parse must still parse. New success
statuses, new media types, schemas (response direction) and required headers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spec_breaking._changes import Change, Direction, Side, show
from spec_breaking._media import has_schema, is_json
from spec_breaking._pointer import Node, Resolver, join

if TYPE_CHECKING:
    from spec_breaking._operations import Operation, SchemaPairs


class ResponseDiff:
    def __init__(self, old_refs: Resolver, new_refs: Resolver, pairs: SchemaPairs) -> None:
        self.old_refs, self.new_refs, self.pairs = old_refs, new_refs, pairs

    def compare(self, old: Operation, new: Operation) -> list[Change]:
        changes: list[Change] = []
        old_all: Node = old.node.get("responses") or {}
        new_all: Node = new.node.get("responses") or {}
        for status in new_all:
            if str(status).startswith("2") and status not in old_all:
                changes.append(
                    Change(
                        pointer=join(new.pointer, "responses", status),
                        what="success status added",
                        old="absent",
                        new=str(status),
                        side=Side.RESPONSES,
                        via=[f"{old.label} {status}"],
                    )
                )
        for status, raw in old_all.items():
            label = f"{old.label} {status} response"
            old_ptr0 = join(old.pointer, "responses", status)
            if status not in new_all:
                if str(status).startswith("2"):
                    changes.append(
                        Change(
                            pointer=old_ptr0,
                            what="success status removed",
                            old=str(status),
                            new="absent",
                            side=Side.NAMES,
                            via=[label],
                            in_old=True,
                        )
                    )
                continue
            old_resp, old_ptr, _ = self.old_refs.resolve(raw, old_ptr0)
            new_resp, new_ptr, _ = self.new_refs.resolve(
                new_all[status], join(new.pointer, "responses", status)
            )
            if isinstance(old_resp, dict) and isinstance(new_resp, dict):
                changes += self._response(old_resp, old_ptr, new_resp, new_ptr, label)
        return changes

    def _response(
        self, old: Node, old_ptr: str, new: Node, new_ptr: str, label: str
    ) -> list[Change]:
        changes: list[Change] = []
        old_content: Node = old.get("content") or {}
        new_content: Node = new.get("content") or {}
        for media, new_media in new_content.items():
            if media not in old_content:
                if old_content:
                    changes.append(
                        Change(
                            pointer=join(new_ptr, "content", media),
                            what="response media type added",
                            old=show(sorted(old_content)),
                            new=media,
                            side=Side.RESPONSES,
                            via=[label],
                        )
                    )
                continue
            old_media = old_content[media]
            if has_schema(old_media) and has_schema(new_media):
                changes += self.pairs.compare(
                    Direction.RESPONSE,
                    old_media["schema"],
                    join(old_ptr, "content", media, "schema"),
                    new_media["schema"],
                    join(new_ptr, "content", media, "schema"),
                    label,
                    sample=is_json(media),
                )
        old_headers: Node = old.get("headers") or {}
        new_headers: Node = {str(k).lower(): v for k, v in (new.get("headers") or {}).items()}
        for name, raw in old_headers.items():
            header, ptr, _ = self.old_refs.resolve(raw, join(old_ptr, "headers", name))
            if not isinstance(header, dict):
                continue
            new_raw = new_headers.get(str(name).lower())
            new_header, n_ptr, _ = self.new_refs.resolve(new_raw, join(new_ptr, "headers", name))
            if header.get("required") and not (
                isinstance(new_header, dict) and new_header.get("required")
            ):
                changes.append(
                    Change(
                        pointer=n_ptr if isinstance(new_header, dict) else ptr,
                        what="required response header removed or made optional",
                        old=f"{name} required",
                        new="optional" if new_raw else "absent",
                        side=Side.RESPONSES,
                        via=[f"{label} header {name}"],
                        in_old=not isinstance(new_header, dict),
                    )
                )
            if isinstance(new_header, dict) and "schema" in header and "schema" in new_header:
                changes += self.pairs.compare(
                    Direction.RESPONSE,
                    header["schema"],
                    join(ptr, "schema"),
                    new_header["schema"],
                    join(n_ptr, "schema"),
                    f"{label} header {name}",
                    sample=False,
                )
        return changes

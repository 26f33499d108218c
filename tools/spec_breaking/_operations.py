"""The API surface, operation by operation: endpoints, methods, operationIds, parameters,
request bodies, responses and security; schemas go to `SchemaDiff`, and every schema
pair is also handed to sampling as a `Target`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from spec_breaking._changes import Change, Direction, Side
from spec_breaking._media import has_schema, is_json
from spec_breaking._pointer import JSON, Node, Resolver, join
from spec_breaking._responses import ResponseDiff
from spec_breaking._schema_diff import SchemaDiff
from spec_breaking._security import compare_security

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    node: Node
    item: Node
    pointer: str

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class Target:
    """A schema pair for sampling: values drawn from ``source`` (old spec for requests,
    new spec for responses) must validate against ``dest``."""

    direction: Direction
    source_ptr: str
    dest_ptr: str
    via: str


def operations(spec: Node) -> dict[tuple[str, str], Operation]:
    """Every operation, keyed by path (parameter names blanked: ``{id}`` = ``{name}``) and
    method."""
    found: dict[tuple[str, str], Operation] = {}
    paths = spec.get("paths") or {}
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            if isinstance(item.get(method), dict):
                found[(_template(path), method)] = Operation(
                    path, method, item[method], item, join("#", "paths", path, method)
                )
    return found


def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


class SchemaPairs:
    """Each old/new schema pair met on the surface: compared now by ``SchemaDiff``, and
    kept as a sampling `Target`."""

    def __init__(self, schemas: SchemaDiff) -> None:
        self.schemas = schemas
        self.targets: list[Target] = []

    def compare(
        self,
        direction: Direction,
        old: JSON,
        old_ptr: str,
        new: JSON,
        new_ptr: str,
        via: str,
        *,
        sample: bool = True,
    ) -> list[Change]:
        if sample:
            source, dest = (
                (old_ptr, new_ptr) if direction is Direction.REQUEST else (new_ptr, old_ptr)
            )
            self.targets.append(Target(direction, source, dest, via))
        return self.schemas.compare(old, old_ptr, new, new_ptr, direction, via)


class OperationDiff:
    """Compares the operations of two specs: endpoints, methods, operationIds, parameters,
    request bodies here; responses in `ResponseDiff`, security in `_security`."""

    def __init__(self, old: Node, new: Node, schemas: SchemaDiff) -> None:
        self.old, self.new = old, new
        self.old_refs, self.new_refs = Resolver(old), Resolver(new)
        self.pairs = SchemaPairs(schemas)
        self.responses = ResponseDiff(self.old_refs, self.new_refs, self.pairs)

    @property
    def targets(self) -> list[Target]:
        return self.pairs.targets

    def run(self) -> list[Change]:
        changes: list[Change] = []
        old_ops, new_ops = operations(self.old), operations(self.new)
        new_paths = {path for path, _ in new_ops}
        for key, old_op in old_ops.items():
            new_op = new_ops.get(key)
            if new_op is None:
                gone = key[0] not in new_paths
                changes.append(
                    Change(
                        pointer=old_op.pointer.rsplit("/", 1)[0] if gone else old_op.pointer,
                        what="endpoint removed" if gone else "method removed",
                        old=old_op.label,
                        new="absent",
                        side=Side.REQUESTS,
                        via=[old_op.label],
                        in_old=True,
                        subjects=[old_op.label, str(old_op.node.get("operationId", ""))],
                    )
                )
                continue
            changes += self._operation_id(old_op, new_op)
            changes += self._parameters(old_op, new_op)
            changes += self._request_body(old_op, new_op)
            changes += self.responses.compare(old_op, new_op)
            changes += compare_security(self.old, self.new, old_op, new_op)
        return changes

    def _operation_id(self, old: Operation, new: Operation) -> list[Change]:
        old_id, new_id = old.node.get("operationId"), new.node.get("operationId")
        if old_id is None or old_id == new_id:
            return []
        return [
            Change(
                pointer=join(new.pointer, "operationId"),
                what="operationId renamed",
                old=str(old_id),
                new=str(new_id) if new_id else "absent",
                side=Side.NAMES,
                via=[old.label],
                subjects=[str(old_id)],
            )
        ]

    # -- parameters ----------------------------------------------------------------------

    def _params(self, op: Operation, refs: Resolver) -> dict[tuple[str, str], tuple[Node, str]]:
        found: dict[tuple[str, str], tuple[Node, str]] = {}
        path_ptr = op.pointer.rsplit("/", 1)[0]
        for owner, owner_ptr in ((op.item, path_ptr), (op.node, op.pointer)):
            for i, raw in enumerate(owner.get("parameters") or []):
                node, ptr, _ = refs.resolve(raw, join(owner_ptr, "parameters", i))
                if isinstance(node, dict) and "name" in node and "in" in node:
                    name = str(node["name"])
                    where = str(node["in"])
                    found[(where, name.lower() if where == "header" else name)] = (node, ptr)
        return found

    def _parameters(self, old: Operation, new: Operation) -> list[Change]:
        changes: list[Change] = []
        old_params = self._params(old, self.old_refs)
        new_params = self._params(new, self.new_refs)
        for key, (node, ptr) in old_params.items():
            label = f"{old.label} {key[0]} parameter {node['name']}"
            if key not in new_params:
                changes.append(
                    Change(
                        pointer=ptr,
                        what="parameter removed",
                        old=label,
                        new="absent",
                        side=Side.NAMES,
                        via=[label],
                        in_old=True,
                    )
                )
                continue
            new_node, new_ptr = new_params[key]
            if new_node.get("required") and not node.get("required"):
                changes.append(
                    Change(
                        pointer=join(new_ptr, "required"),
                        what="optional parameter made required",
                        old="required: false",
                        new="required: true",
                        side=Side.REQUESTS,
                        via=[label],
                    )
                )
            if "schema" in node and "schema" in new_node:
                changes += self.pairs.compare(
                    Direction.REQUEST,
                    node["schema"],
                    join(ptr, "schema"),
                    new_node["schema"],
                    join(new_ptr, "schema"),
                    label,
                )
        for key, (node, ptr) in new_params.items():
            if key not in old_params and node.get("required"):
                label = f"{new.label} {key[0]} parameter {node['name']}"
                changes.append(
                    Change(
                        pointer=ptr,
                        what="required parameter added",
                        old="absent",
                        new=f"{node['name']} (required)",
                        side=Side.REQUESTS,
                        via=[label],
                    )
                )
        return changes

    # -- bodies ----------------------------------------------------------------------------

    def _request_body(self, old: Operation, new: Operation) -> list[Change]:
        old_body, old_ptr, _ = self.old_refs.resolve(
            old.node.get("requestBody"), join(old.pointer, "requestBody")
        )
        new_body, new_ptr, _ = self.new_refs.resolve(
            new.node.get("requestBody"), join(new.pointer, "requestBody")
        )
        label = f"{old.label} request body"
        if not isinstance(new_body, dict):
            if isinstance(old_body, dict):
                return [
                    Change(
                        pointer=old_ptr,
                        what="request body removed",
                        old="a body",
                        new="absent",
                        side=Side.NAMES,
                        via=[label],
                        in_old=True,
                    )
                ]
            return []
        if not isinstance(old_body, dict):
            if new_body.get("required"):
                return [
                    Change(
                        pointer=join(new_ptr, "required"),
                        what="required request body added",
                        old="absent",
                        new="required",
                        side=Side.REQUESTS,
                        via=[label],
                    )
                ]
            return []
        changes: list[Change] = []
        if new_body.get("required") and not old_body.get("required"):
            changes.append(
                Change(
                    pointer=join(new_ptr, "required"),
                    what="optional request body made required",
                    old="required: false",
                    new="required: true",
                    side=Side.REQUESTS,
                    via=[label],
                )
            )
        old_content: Node = old_body.get("content") or {}
        new_content: Node = new_body.get("content") or {}
        for media, old_media in old_content.items():
            where = join(old_ptr, "content", media)
            if media not in new_content:
                changes.append(
                    Change(
                        pointer=where,
                        what="request media type removed",
                        old=media,
                        new="absent",
                        side=Side.REQUESTS,
                        via=[label],
                        in_old=True,
                    )
                )
                continue
            new_media = new_content[media]
            if has_schema(old_media) and has_schema(new_media):
                changes += self.pairs.compare(
                    Direction.REQUEST,
                    old_media["schema"],
                    join(where, "schema"),
                    new_media["schema"],
                    join(new_ptr, "content", media, "schema"),
                    label,
                    sample=is_json(media),
                )
        return changes

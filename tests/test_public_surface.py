"""The wrapper reaches httpx and the generated client through their public surface only,
and never changes a caller's httpx client (issue #10.4)."""

from __future__ import annotations

import ast
from pathlib import Path

import httpcore
import httpx
from _wrapper_helpers import BASE, generation_body

import nebula_images_api
from nebula_images import Client

WRAPPER = Path(__file__).resolve().parent.parent / "wrapper" / "nebula_images"
FOREIGN = ("httpx", "httpcore", "h11", "nebula_images_api")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def foreign_private_names() -> set[str]:
    """Every private attribute or method name that httpx, httpcore or the generated
    package defines or uses on its objects."""
    names: set[str] = set()
    for package in (httpx, httpcore, nebula_images_api):
        for path in Path(package.__file__).parent.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and _private(node.attr):
                    names.add(node.attr)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _private(
                    node.name
                ):
                    names.add(node.name)
    return names


def private_uses(source: str, foreign: set[str]) -> list[str]:
    """``obj._name`` where obj is not ``self``/``cls`` and ``_name`` is private to httpx or
    the generated package; ``getattr(obj, "_name")`` and friends with such a name;
    imports of private modules of those packages."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in foreign:
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and node.args[1].value in foreign
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] in FOREIGN and any(_private(part) for part in parts[1:]):
                found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in FOREIGN and any(_private(part) for part in parts[1:]):
                    found.append(f"line {node.lineno}: import {alias.name}")
    return found


def test_the_check_finds_what_the_wrapper_used_to_do() -> None:
    foreign = foreign_private_names()
    old = (
        "from httpx._models import Response\n"
        "def install(client, capped):\n"
        "    default = getattr(client, '_transport', None)\n"
        "    client._transport = capped(default)\n"
        "    for pattern, transport in client._mounts.items(): pass\n"
        "    return self._http._transport\n"
    )
    assert len(private_uses(old, foreign)) == 5
    assert private_uses("self._transport = 1\nself._client._run()\n", foreign) == []


def test_wrapper_reads_and_writes_no_private_attribute_of_httpx_or_generated() -> None:
    foreign = foreign_private_names()
    assert {"_transport", "_mounts", "_get_kwargs", "_parse_response"} <= foreign
    problems = {
        str(path.relative_to(WRAPPER)): uses
        for path in sorted(WRAPPER.rglob("*.py"))
        if (uses := private_uses(path.read_text(encoding="utf-8"), foreign))
    }
    assert problems == {}


def test_two_clients_sharing_one_httpx_client_each_send_their_own_key() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        return httpx.Response(200, json=generation_body())

    shared = httpx.Client(transport=httpx.MockTransport(handler))
    before = (shared.base_url, shared.auth, dict(shared.event_hooks), shared.timeout)
    alice = Client(api_key="ak_alice_0000000000", base_url=BASE, http_client=shared)
    bob = Client(api_key="ak_bob_00000000000000", base_url=BASE, http_client=shared)
    alice.images.generate("x")
    bob.images.generate("x")
    alice.images.generate("x")
    assert seen == [
        "Bearer ak_alice_0000000000",
        "Bearer ak_bob_00000000000000",
        "Bearer ak_alice_0000000000",
    ]
    # The caller's client is as it was: no base URL, auth, hooks or timeout set on it.
    assert (shared.base_url, shared.auth, dict(shared.event_hooks), shared.timeout) == before
    shared.get("http://127.0.0.1:9/elsewhere")  # the caller's own request: no key
    assert seen[-1] is None
    shared.close()


def test_the_generated_package_exposes_what_the_wrapper_uses() -> None:
    # build_request/parse_document come from the custom templates (make generate).
    from nebula_images_api.api.images import generate_image
    from nebula_images_api.api.models import list_models

    for module in (generate_image, list_models):
        assert callable(module.build_request) and callable(module.parse_document)

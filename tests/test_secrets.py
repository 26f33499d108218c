"""The API key never leaks: repr, str, logs, exceptions, tracebacks, pickle, other hosts."""

from __future__ import annotations

import base64
import logging
import pickle
import subprocess
import sys
import textwrap
import traceback
from typing import Any

import httpx
import pytest
from _wrapper_helpers import BASE, MODELS_BODY, PNG, generation_body

from nebula_images import APIError, AsyncClient, Client
from nebula_images._errors import APIConnectionError, redacted

KEY = "ak_SUPERSECRET_0123456789"


def ok(request: httpx.Request) -> httpx.Response:
    models = request.url.path.endswith("/models")
    return httpx.Response(200, json=MODELS_BODY if models else generation_body())


def make(handler=ok, **kwargs) -> Client:  # type: ignore[no-untyped-def]
    return Client(
        api_key=KEY,
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        **kwargs,
    )


def test_repr_str_of_clients_and_parts() -> None:
    client = make()
    aclient = AsyncClient(api_key=KEY, base_url=BASE)
    surfaces = [
        client,
        aclient,
        client.images,
        client.models,
        client._auth,
        client._settings,
        client._http,
    ]
    for obj in surfaces:
        assert KEY not in repr(obj) and KEY not in str(obj), type(obj)
    assert "[redacted]" in repr(client)
    result = client.images.generate("x")
    assert KEY not in repr(result) and KEY not in repr(result.images[0])


def test_client_and_auth_are_not_picklable() -> None:
    client = make()
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(client)
    with pytest.raises(TypeError):
        pickle.dumps(client._auth)
    with pytest.raises(TypeError):
        pickle.dumps(AsyncClient(api_key=KEY, base_url=BASE))


def test_key_in_server_message_is_scrubbed_from_errors() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        header = request.headers["Authorization"]
        return httpx.Response(401, json={"message": f"bad token {header}", "status": "failed"})

    with make(echo) as client, pytest.raises(APIError) as info:
        client.images.generate("x")
    text = "".join(traceback.format_exception(info.value))
    assert KEY not in text and KEY not in str(info.value.body) and "[redacted]" in str(info.value)


def test_redacted_reaches_every_string_at_any_depth() -> None:
    def scrub(text: str) -> str:
        return text.replace(KEY, "[redacted]")

    assert redacted(f"a {KEY}", scrub) == "a [redacted]"
    assert redacted(5, scrub) == 5 and redacted(None, scrub) is None
    doc = {KEY: [1, None, f"x{KEY}", {"k": [KEY]}], "n": 2.5}
    assert redacted(doc, scrub) == {
        "[redacted]": [1, None, "x[redacted]", {"k": ["[redacted]"]}],
        "n": 2.5,
    }
    assert KEY in doc  # a copy: the server's document is left as it was
    deep: list[Any] = [KEY]
    for _ in range(100_000):  # far past the recursion limit
        deep = [deep]
    copy = redacted(deep, scrub)
    while isinstance(copy, list) and len(copy) == 1 and isinstance(copy[0], list):
        copy = copy[0]
    assert copy == ["[redacted]"]


def test_request_id_echoing_the_key_is_redacted_everywhere() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        headers = {"X-Request-ID": f"req-{KEY}"}
        if request.url.path.endswith("/generation") and b"fail" in request.content:
            return httpx.Response(500, json={"message": "x", "status": "failed"}, headers=headers)
        return httpx.Response(200, json=generation_body(), headers=headers)

    events: list[Any] = []
    with make(echo, max_retries=0, on_response=events.append) as client:
        result = client.images.generate("x")
        with pytest.raises(APIError) as info:
            client.images.generate("fail")
    assert result.request_id == result.images[0].request_id == "req-[redacted]"
    assert info.value.request_id == "req-[redacted]" and KEY not in str(info.value)
    assert [event.request_id for event in events] == ["req-[redacted]"] * 2


def test_key_echoed_in_a_success_body_is_kept_out_of_results() -> None:
    model = {"model_name": f"m/{KEY}", "model_type": "Image", "description": f"by {KEY}"}
    models = {"data": {"models": [model]}, "message": "ok", "status": "success"}

    def echo(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json=models)
        return httpx.Response(200, json={**generation_body(model=KEY), "message": f"ok {KEY}"})

    with make(echo) as client:
        result = client.images.generate("x")
        (info,) = client.models.list()
    assert result.model == "[redacted]" and result.message == "ok [redacted]"
    assert info.name == "m/[redacted]" and info.description == "by [redacted]"
    assert KEY not in repr(result) and KEY not in repr(info)


def test_connection_error_text_is_scrubbed() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(
            f"refused while sending {request.headers['Authorization']}", request=request
        )

    with make(fail, max_retries=0) as client, pytest.raises(APIConnectionError) as info:
        client.images.generate("x")
    assert KEY not in str(info.value)


def test_debug_logs_redact_authorization(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="nebula_images")
    with make() as client:
        client.images.generate("x")
        client.models.list()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP POST" in text and "'authorization': '[redacted]'" in text
    assert KEY not in text


def test_logger_filter_scrubs_even_careless_messages(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="nebula_images")
    logging.getLogger("nebula_images").info("oops Authorization: Bearer %s", KEY)
    assert KEY not in caplog.text and "[redacted]" in caplog.text


def test_nebula_log_env_enables_stderr_logging_without_the_key() -> None:
    code = textwrap.dedent(
        f"""
        import base64, httpx
        from nebula_images import Client
        png = base64.b64decode({base64.b64encode(PNG).decode()!r})
        def ok(request):
            return httpx.Response(200, json={{"model": "m", "object": "list", "message": "ok", "status": "success",
                "data": [{{"timings": {{"inference": 1}}, "index": 0, "b64_json": base64.b64encode(png).decode()}}]}})
        with Client(api_key={KEY!r}, base_url={BASE!r}, http_client=httpx.Client(transport=httpx.MockTransport(ok))) as c:
            c.images.generate("x")
        """
    )
    for level, expected in (("debug", "HTTP POST"), ("info", "generate attempt 1 -> 200")):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env={"NEBULA_LOG": level, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert expected in proc.stderr, proc.stderr
        assert KEY not in proc.stderr + proc.stdout
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stderr == ""


def test_key_goes_only_to_the_base_url() -> None:
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[str(request.url)] = request.headers.get("Authorization")
        if request.url.host == "127.0.0.1" and request.url.path.endswith("/models"):
            return httpx.Response(
                302, headers={"Location": "http://evil.example/api/v1/serverless/models"}
            )
        return ok(request)

    http = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)
    with Client(api_key=KEY, base_url=BASE, http_client=http) as client:
        client.models.list()  # redirected to another host
        http.get("http://127.0.0.1:9/elsewhere")  # same host, outside the base path
        http.get("http://other.example/api/v1/serverless/models")
    assert seen[f"{BASE}/serverless/models"] == f"Bearer {KEY}"
    assert seen["http://evil.example/api/v1/serverless/models"] is None
    assert seen["http://127.0.0.1:9/elsewhere"] is None
    assert seen["http://other.example/api/v1/serverless/models"] is None
    http.close()


def test_key_not_in_client_default_headers() -> None:
    client = make()
    assert "authorization" not in {k.lower() for k in client._http.headers}


def test_plain_http_to_remote_host_is_refused() -> None:
    from nebula_images import ValidationError

    with pytest.raises(ValidationError, match="unencrypted") as info:
        Client(api_key=KEY, base_url="http://api.example.com/v1")
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        # The generated parser's own ValueError quotes the bad value: here, the key.
        {**generation_body(), "status": KEY},
        {"message": "x", "status": KEY},
    ],
    ids=["200-status", "400-status"],
)
def test_key_echoed_into_a_parser_error_is_not_in_the_traceback(body: dict[str, Any]) -> None:
    status = 200 if "data" in body else 400
    client = make(lambda request: httpx.Response(status, json=body), max_retries=0)
    with pytest.raises(APIError) as info:
        client.images.generate("x")
    shown = "".join(traceback.format_exception(info.value))
    assert KEY not in shown, shown

"""The API key never leaks: repr, str, logs, exceptions, tracebacks, pickle, other hosts."""

from __future__ import annotations

import base64
import logging
import pickle
import subprocess
import sys
import textwrap
import traceback

import httpx
import pytest
from _wrapper_helpers import BASE, MODELS_BODY, PNG, generation_body

from nebula_images import APIError, AsyncClient, Client
from nebula_images._errors import APIConnectionError

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
        client._api,
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
    assert KEY not in str(client._api.token)


def test_plain_http_to_remote_host_is_refused() -> None:
    from nebula_images import ValidationError

    with pytest.raises(ValidationError, match="unencrypted") as info:
        Client(api_key=KEY, base_url="http://api.example.com/v1")
    assert KEY not in str(info.value)

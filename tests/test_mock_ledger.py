"""Billing ledger, idempotency, rate limit, simulated inference time, control path."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from nebula_images.testing import MockConfig, MockServer
from nebula_images.testing._app import MockApp

BODY = {"model_name": "black-forest-labs/FLUX.1-schnell", "prompt": "x", "width": 64, "height": 64}


def post(mock_http: httpx.Client, key: str | None = None, **fields: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return mock_http.post("/images/generation", json={**BODY, **fields}, headers=headers)


def test_each_generation_is_billed_with_its_details(
    mock: MockServer, mock_http: httpx.Client
) -> None:
    first = post(mock_http, seed=5)
    post(mock_http, key="abc")
    mock_http.get("/serverless/models")  # free
    post(mock_http, prompt="")  # rejected, not billed
    assert mock.ledger.billed == 2
    entry = mock.ledger.entries[0]
    assert entry.model == BODY["model_name"]
    assert entry.request_id == first.headers["x-request-id"]
    assert (entry.prompt, entry.width, entry.height, entry.seed) == ("x", 64, 64, 5)
    assert entry.idempotency_key is None and entry.outcome == "ok"
    assert entry.billed_at <= time.time()
    assert mock.ledger.entries[1].idempotency_key == "abc"
    assert mock.requests_seen == 4


def test_repeated_key_returns_the_first_result_unbilled(
    mock: MockServer, mock_http: httpx.Client
) -> None:
    first = post(mock_http, key="same")
    second = post(mock_http, key="same")
    assert first.json() == second.json()  # same random seed, same image
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert mock.ledger.billed == 1 and mock.ledger.replayed == 1
    assert post(mock_http, key="other").json() != first.json()
    assert mock.ledger.billed == 2


def test_keys_are_scoped_per_api_key(mock: MockServer) -> None:
    for api_key in ("ak_user_one", "ak_user_two"):
        with httpx.Client(
            base_url=mock.base_url, headers={"Authorization": f"Bearer {api_key}"}
        ) as c:
            assert post(c, key="shared").status_code == 200
    assert mock.ledger.billed == 2


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def in_process(app: MockApp, key: str) -> httpx.AsyncClient:
    """An httpx client that calls ``app`` in this event loop (no socket, no thread)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 5000)),
        base_url="http://mock/api/v1",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": key},
    )


async def test_key_window_expires_on_the_ledger_clock() -> None:
    clock = Clock()
    app = MockApp(MockConfig(idempotency_window_seconds=60), clock=clock)
    async with in_process(app, "ak_window") as c:
        await c.post("/images/generation", json=BODY)
        clock.now += 60  # the window's last moment: still replayed
        await c.post("/images/generation", json=BODY)
        assert (app.ledger.billed, app.ledger.replayed) == (1, 1)
        clock.now += 0.001  # past it: a new generation
        await c.post("/images/generation", json=BODY)
    assert (app.ledger.billed, app.ledger.replayed) == (2, 1)


async def test_concurrent_requests_with_one_key_bill_once() -> None:
    # In one event loop the first request holds the key's lock while its image renders
    # in a worker thread, so the other five reach the lock while it is held: they
    # overlap by construction, with no sleep to make them.
    app = MockApp(MockConfig())
    async with in_process(app, "ak_race") as c:
        responses = await asyncio.gather(
            *(c.post("/images/generation", json=BODY) for _ in range(6))
        )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["data"][0]["b64_json"] for r in responses}) == 1
    assert len({r.headers["x-request-id"] for r in responses}) == 6
    assert app.ledger.billed == 1
    assert app.ledger.replayed == 5


def test_ignore_idempotency_key_bills_every_request(
    mock: MockServer, mock_http: httpx.Client
) -> None:
    """A server that ignores the key: the switch from Python, then over the control path."""
    mock.configure(ignore_idempotency_key=True)
    first, second = post(mock_http, key="same"), post(mock_http, key="same")
    assert first.json() != second.json()  # two runs, two random seeds
    assert mock.ledger.billed == 2 and mock.ledger.replayed == 0
    assert [e.idempotency_key for e in mock.ledger.entries] == ["same", "same"]
    assert (
        control(mock, "POST", "config", {"ignore_idempotency_key": False}).json()[
            "ignore_idempotency_key"
        ]
        is False
    )
    post(mock_http, key="again"), post(mock_http, key="again")
    assert mock.ledger.billed == 3 and mock.ledger.replayed == 1
    assert control(mock, "POST", "config", {"ignore_idempotency_key": "yes"}).status_code == 400
    assert MockConfig(ignore_idempotency_key=True).public_dict()["ignore_idempotency_key"]


async def test_requests_run_concurrently(mock: MockServer) -> None:
    mock.configure(latency_seconds=0.5)
    headers = {"Authorization": f"Bearer {mock.api_key}"}
    async with httpx.AsyncClient(base_url=mock.base_url, headers=headers, timeout=30) as c:
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(c.post("/images/generation", json=BODY) for _ in range(8))
        )
        elapsed = time.perf_counter() - started
    assert all(r.status_code == 200 for r in responses)
    assert elapsed < 2.0  # 8 x 0.5 s in series would be 4 s
    assert mock.ledger.billed == 8


def test_inference_time_is_simulated_and_reported(
    mock: MockServer, mock_http: httpx.Client
) -> None:
    assert post(mock_http).json()["data"][0]["timings"]["inference"] < 1  # factor 0
    mock.configure(inference_time_factor=0.05)  # schnell: 13 s x 0.05 = 0.65 s
    started = time.perf_counter()
    inference = post(mock_http).json()["data"][0]["timings"]["inference"]
    assert time.perf_counter() - started >= 0.6
    assert inference == pytest.approx(0.65, abs=0.05)
    mock.configure(latency_seconds=0.2)  # a fixed latency overrides the per-model time
    assert post(mock_http).json()["data"][0]["timings"]["inference"] == pytest.approx(0.2, abs=0.05)


def test_rate_limit_is_429_with_retry_after(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.configure(rate_limit_per_minute=3)
    assert [post(mock_http).status_code for _ in range(3)] == [200, 200, 200]
    limited = mock_http.get("/serverless/models")
    assert limited.status_code == 429
    wait = int(limited.headers["retry-after"])
    assert 1 <= wait <= 60
    assert limited.json()["retry_after"] == wait
    assert "3 requests per minute" in limited.json()["message"]
    assert mock.ledger.billed == 3
    with httpx.Client(base_url=mock.base_url, headers={"Authorization": "Bearer ak_other"}) as c:
        assert c.get("/serverless/models").status_code == 200  # per key
    mock.reset()
    assert post(mock_http).status_code == 200  # reset clears the limiter


def test_rate_limit_is_off_by_default() -> None:
    assert MockConfig().rate_limit_per_minute is None


def test_configure_rejects_unknown_and_bad_settings(mock: MockServer) -> None:
    with pytest.raises(ValueError, match="port"):
        mock.configure(port=1)
    with pytest.raises(ValueError, match="rate_limit_per_minute"):
        mock.configure(rate_limit_per_minute=0)
    with pytest.raises(ValueError, match="inference_time_factor"):
        mock.configure(inference_time_factor=-1)


# -- control path over HTTP ------------------------------------------------------------


def control(mock: MockServer, method: str, path: str, body: Any = None) -> httpx.Response:
    # The control path takes JSON bodies only, so a bare POST sends an empty object.
    payload = {} if body is None and method == "POST" else body
    response = httpx.request(method, f"{mock.url}/_mock/{path}", json=payload, timeout=10)
    assert response.headers["x-request-id"]
    return response


def test_ledger_stats_reset_over_http(mock: MockServer, mock_http: httpx.Client) -> None:
    post(mock_http, key="one")
    post(mock_http, key="one")
    ledger = control(mock, "GET", "ledger").json()
    assert ledger["billed"] == 1 and ledger["replayed"] == 1
    assert ledger["entries"][0]["idempotency_key"] == "one"
    stats = control(mock, "GET", "stats").json()
    assert stats == {"requests_seen": 2, "billed": 1, "replayed": 1, "faults_pending": 0}
    assert control(mock, "POST", "reset").json()["billed"] == 0
    assert mock.ledger.billed == 0 and mock.requests_seen == 0
    post(mock_http, key="one")
    assert mock.ledger.billed == 1  # reset also forgot the idempotency store


def test_config_over_http(mock: MockServer, mock_http: httpx.Client) -> None:
    config = control(mock, "POST", "config", {"rate_limit_per_minute": 1}).json()
    assert config["rate_limit_per_minute"] == 1
    assert control(mock, "GET", "config").json()["rate_limit_per_minute"] == 1
    assert post(mock_http).status_code == 200
    assert post(mock_http).status_code == 429
    bad = control(mock, "POST", "config", {"port": 1})
    assert bad.status_code == 400 and "port" in bad.json()["message"]
    assert control(mock, "POST", "config", [1]).status_code == 400
    assert control(mock, "POST", "config", {"latency_seconds": -1}).status_code == 400


def test_control_path_errors(mock: MockServer) -> None:
    assert control(mock, "GET", "nothing").status_code == 404
    wrong = control(mock, "DELETE", "ledger")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
    broken = httpx.post(
        f"{mock.url}/_mock/faults",
        content=b"{",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert broken.status_code == 400


def test_control_path_needs_no_key_and_is_not_counted(mock: MockServer) -> None:
    control(mock, "GET", "stats")
    assert mock.requests_seen == 0


async def test_control_path_refuses_non_loopback_clients() -> None:
    from nebula_images.testing._app import MockApp

    app = MockApp()
    for client_host, status in (("203.0.113.9", 404), ("127.0.0.1", 200)):
        transport = httpx.ASGITransport(app=app, client=(client_host, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            assert (await c.get("/_mock/stats")).status_code == status


def test_command_line_switch_ignores_the_key() -> None:
    from nebula_images.testing.__main__ import build_parser

    assert build_parser().parse_args(["--ignore-idempotency-key"]).ignore_idempotency_key
    assert not build_parser().parse_args([]).ignore_idempotency_key

"""Fault injection from Python and over the /_mock control path."""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

import httpx
import pytest

from nebula_images.testing import Fault, MockServer
from nebula_images.testing._faults import FaultQueue, FaultSpecError

BODY = {"model_name": "black-forest-labs/FLUX.1-schnell", "prompt": "x", "width": 64, "height": 64}


def post(mock_http: httpx.Client, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return mock_http.post("/images/generation", json=BODY, headers=headers)


def test_status_fault_not_billed_with_retry_after(
    mock: MockServer, mock_http: httpx.Client
) -> None:
    mock.faults.push(Fault.status(503, retry_after="1"))
    response = post(mock_http)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-request-id"]
    body = response.json()
    assert body["status"] == "failed" and body["data"] is None and body["retry_after"] == 1
    assert mock.ledger.billed == 0
    assert post(mock_http).status_code == 200  # the queue is empty again
    assert mock.ledger.billed == 1
    assert mock.requests_seen == 2


def test_status_fault_http_date_retry_after(mock: MockServer, mock_http: httpx.Client) -> None:
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    mock.faults.push(Fault.status(429, retry_after=date, message="slow down"))
    response = post(mock_http)
    assert response.status_code == 429
    assert response.headers["retry-after"] == date
    assert response.json()["message"] == "slow down"
    assert "retry_after" not in response.json()


def test_status_fault_applies_to_models_list(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.faults.push(Fault.status(502))
    assert mock_http.get("/serverless/models").status_code == 502


def test_billed_500_then_retry_with_same_key_is_not_billed_again(
    mock: MockServer, mock_http: httpx.Client
) -> None:
    mock.faults.push(Fault.status(500, billed=True))
    assert post(mock_http, key="k-500").status_code == 500
    assert mock.ledger.billed == 1
    assert mock.ledger.entries[0].outcome == "status"
    retry = post(mock_http, key="k-500")
    assert retry.status_code == 200
    assert mock.ledger.billed == 1
    assert mock.ledger.entries[0].idempotency_key == "k-500"


def test_faults_apply_in_order_and_times(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.faults.push(Fault.status(503), times=2)
    mock.faults.push(Fault.status(504))
    assert [post(mock_http).status_code for _ in range(4)] == [503, 503, 504, 200]


def test_delay_fault(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.faults.push(Fault.delay(0.5))
    started = time.perf_counter()
    assert post(mock_http).status_code == 200
    assert time.perf_counter() - started >= 0.5
    assert mock.ledger.billed == 1


def test_delay_fault_trips_a_client_timeout(mock: MockServer) -> None:
    mock.faults.push(Fault.delay(1.0))
    headers = {"Authorization": f"Bearer {mock.api_key}"}
    with (
        httpx.Client(base_url=mock.base_url, headers=headers, timeout=0.2) as c,
        pytest.raises(httpx.ReadTimeout),
    ):
        post(c)


def test_close_before_read_drops_and_is_not_billed(
    mock: MockServer, mock_http: httpx.Client
) -> None:
    mock.faults.push(Fault.close_before_read())
    # Closing with the body unread may reset the connection: either error is a drop.
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        post(mock_http, key="k-cbr")
    assert mock.ledger.billed == 0
    assert post(mock_http, key="k-cbr").status_code == 200
    assert mock.ledger.billed == 1
    assert mock.requests_seen == 2


def test_close_after_read_drops_and_is_billed_once(
    mock: MockServer, mock_http: httpx.Client
) -> None:
    mock.faults.push(Fault.close_after_read())
    with pytest.raises(httpx.RemoteProtocolError):
        post(mock_http, key="k-car")
    assert mock.ledger.billed == 1
    retry = post(mock_http, key="k-car")
    assert retry.status_code == 200
    assert mock.ledger.billed == 1  # the retry got the stored result
    assert mock.ledger.replayed == 1


def test_truncated_body(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.faults.push(Fault.truncated_body())
    with pytest.raises(httpx.RemoteProtocolError, match=r"complete message"):
        post(mock_http)
    assert mock.ledger.billed == 1


def test_invalid_json(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.faults.push(Fault.invalid_json())
    response = post(mock_http)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert mock.ledger.billed == 1


def test_invalid_base64(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.faults.push(Fault.invalid_base64())
    response = post(mock_http)
    assert response.status_code == 200
    b64 = response.json()["data"][0]["b64_json"]
    with pytest.raises(binascii.Error):
        base64.b64decode(b64, validate=True)


def test_failed_status(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.faults.push(Fault.failed_status("worker crashed"))
    response = post(mock_http, key="k-failed")
    assert response.status_code == 200
    # Exactly the vendor's failure shape, no success fields left over.
    assert response.json() == {"message": "worker crashed", "status": "failed", "data": None}
    assert mock.ledger.billed == 0
    # Not stored either: a retry runs the generation for real.
    assert post(mock_http, key="k-failed").json()["status"] == "success"
    assert mock.ledger.billed == 1


def test_fault_is_consumed_by_a_rejected_request(mock: MockServer, mock_http: httpx.Client) -> None:
    mock.faults.push(Fault.invalid_json())
    bad = mock_http.post("/images/generation", json={"prompt": "x"})
    assert bad.status_code == 422
    assert post(mock_http).status_code == 200 and post(mock_http).json()["status"] == "success"


def test_unauthenticated_requests_do_not_consume_faults(mock: MockServer) -> None:
    mock.faults.push(Fault.status(503))
    with httpx.Client(base_url=mock.base_url) as c:
        assert c.get("/serverless/models").status_code == 401
    assert len(mock.faults) == 1


def test_fault_constructors_validate() -> None:
    with pytest.raises(FaultSpecError, match="status"):
        Fault.status(99)
    with pytest.raises(FaultSpecError, match="seconds"):
        Fault.delay(-1)
    with pytest.raises(FaultSpecError, match="times"):
        FaultQueue().push(Fault.invalid_json(), times=0)
    with pytest.raises(TypeError, match="Fault"):
        FaultQueue().push("503")  # type: ignore[arg-type]
    assert Fault.status(503, retry_after=2.0).retry_after == "2"


@pytest.mark.parametrize(
    "fault",
    [
        Fault.status(503, retry_after="3", billed=True, message="m"),
        Fault.delay(0.25),
        Fault.close_before_read(),
        Fault.close_after_read(),
        Fault.truncated_body(),
        Fault.invalid_json(),
        Fault.invalid_base64(),
        Fault.failed_status("boom"),
    ],
)
def test_fault_dict_round_trip(fault: Fault) -> None:
    assert Fault.from_dict(fault.to_dict()) == fault


# -- over HTTP ---------------------------------------------------------------------------


def control(mock: MockServer, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, f"{mock.url}/_mock/{path}", json=body, timeout=10)


def test_faults_over_http(mock: MockServer, mock_http: httpx.Client) -> None:
    pushed = control(
        mock,
        "POST",
        "faults",
        [
            {"kind": "status", "status": 503, "retry_after": "2", "times": 2},
            {"kind": "invalid_json"},
        ],
    )
    assert pushed.status_code == 200, pushed.text
    assert len(pushed.json()["faults"]) == 3
    assert control(mock, "GET", "faults").json()["faults"][0]["status"] == 503
    assert post(mock_http).headers["retry-after"] == "2"
    assert post(mock_http).status_code == 503
    assert post(mock_http).status_code == 200
    assert control(mock, "GET", "faults").json() == {"faults": []}
    control(mock, "POST", "faults", {"kind": "delay", "seconds": 0.1})
    assert control(mock, "DELETE", "faults").json() == {"faults": []}
    assert len(mock.faults) == 0


def test_every_fault_kind_over_http(mock: MockServer) -> None:
    kinds = [
        {"kind": "status", "status": 500, "billed": True},
        {"kind": "delay", "seconds": 0},
        {"kind": "close_before_read"},
        {"kind": "close_after_read"},
        {"kind": "truncated_body"},
        {"kind": "invalid_json"},
        {"kind": "invalid_base64"},
        {"kind": "failed_status"},
    ]
    assert control(mock, "POST", "faults", {"faults": kinds}).status_code == 200
    assert [f.kind for f in mock.faults.pending] == [k["kind"] for k in kinds]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "explode"}, "kind:"),
        ({"kind": "status"}, "status:"),
        ({"kind": "status", "status": 42}, "status:"),
        ({"kind": "delay"}, "seconds:"),
        ({"kind": "invalid_json", "seconds": 1}, "seconds:"),
        ({"kind": "status", "status": 503, "times": 0}, "times:"),
        ([], "body:"),
        ("x", "body:"),
    ],
)
def test_bad_fault_over_http_is_400(mock: MockServer, body: Any, words: str) -> None:
    response = control(mock, "POST", "faults", body)
    assert response.status_code == 400
    assert words in response.json()["message"]
    assert len(mock.faults) == 0


def test_failure_body_round_trips_through_spec_mock_and_client(
    mock: MockServer, mock_http: httpx.Client, spec: dict[str, Any]
) -> None:
    """The mock's failed answer is valid under the spec's 200 (as its failure branch, not
    the success one), is the spec's own example, and the client raises it as
    GenerationFailedError with the server's message."""
    from test_spec import validator_for

    from nebula_images import Client, GenerationFailedError

    operation = spec["paths"]["/images/generation"]["post"]
    media = operation["responses"]["200"]["content"]["application/json"]
    mock.faults.push(Fault.failed_status())
    body = post(mock_http).json()
    assert body == media["examples"]["failed"]["value"]
    assert not list(validator_for(spec, media["schema"]).iter_errors(body))
    success, failure = (validator_for(spec, branch) for branch in media["schema"]["oneOf"])
    assert not success.is_valid(body) and failure.is_valid(body)
    mock.faults.push(Fault.failed_status("worker out of memory"))
    with (
        Client(api_key=mock.api_key, base_url=mock.base_url, max_retries=2) as client,
        pytest.raises(GenerationFailedError, match="worker out of memory") as info,
    ):
        client.images.generate("x", width=64, height=64)
    assert info.value.status == 200 and info.value.attempts == 1
    assert info.value.body == {"message": "worker out of memory", "status": "failed", "data": None}
    assert not info.value.may_have_been_billed and mock.ledger.billed == 0

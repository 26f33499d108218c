"""Fuzzing the clients' response handling (issue 4, points 3-5).

Hypothesis makes up answers to a generation: any status, garbage headers (Retry-After
junk and huge values, odd Content-Type/Encoding/Length, X-Request-ID noise), and bodies
from random bytes and truncated JSON to valid ``ImageGenerationResponse``/``Error``
documents with one field broken (wrong types, huge numbers, nested garbage, invalid
base64, base64 of something that is no picture). Each answer is served through
``httpx.MockTransport`` to ``Client`` and ``AsyncClient`` with ``max_retries=0``.

The property: every outcome is a ``GenerationResult`` (only for a 200 whose body is a
usable success, with the types the spec promises) or a ``NebulaError`` subclass, never
another exception and never a hang, and the API key is in no error's message, args,
request id or body. The bugs the fuzzing found are pinned below as regression tests,
one minimal example each.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from nebula_images import (
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    GenerationResult,
    InternalServerError,
    NebulaError,
    RateLimitError,
    ResponseValidationError,
)
from nebula_images._images import ModelInfo

API_KEY = "ak_fuzz_S3CRET_0123456789abcdef"
BASE_URL = "http://127.0.0.1:9/api/v1"
MAX_BODY = 1 << 20  # the client's max_response_bytes here, so the size cap is fuzzed too
SLOW_CALL_SECONDS = 5.0
GENERATE_EXAMPLES = 600
LIST_EXAMPLES = 200  # one answer handled slower than this counts as a hang

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@cache
def png(width: int = 8, height: int = 8) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def success_doc(images: int = 1) -> dict[str, Any]:
    return {
        "model": "black-forest-labs/FLUX.1-schnell",
        "object": "list",
        "data": [
            {"timings": {"inference": 1.5}, "index": i, "b64_json": b64(png()), "seed": 42 + i}
            for i in range(images)
        ],
        "message": "Image generated successfully",
        "status": "success",
    }


def error_doc() -> dict[str, Any]:
    return {"message": "Model is overloaded", "status": "failed", "data": None, "retry_after": 2}


def models_doc() -> dict[str, Any]:
    return {
        "data": {
            "models": [
                {
                    "model_name": "black-forest-labs/FLUX.1-schnell",
                    "model_alias": "FLUX.1 schnell",
                    "model_type": "Image",
                    "context_length": None,
                    "max_completion_tokens": None,
                    "description": "text-to-image",
                    "price": 0.003,
                    "huggingface_url": None,
                }
            ]
        },
        "message": "Models retrieved successfully",
        "status": "success",
    }


# -- strategies --------------------------------------------------------------------------

DOCUMENTED = [200, 400, 401, 403, 404, 413, 415, 422, 429, 500, 502, 503, 504]
statuses = st.one_of(
    st.just(200), st.sampled_from(DOCUMENTED), st.integers(100, 599), st.integers(100, 599)
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([-1, 0, 2**63, -(2**63), 10**400, 2**32]),
    st.floats(),  # NaN and infinities go out as the NaN/Infinity literals Python reads
    st.text(max_size=20),
    st.sampled_from(["", API_KEY, f"key={API_KEY}", "list", "success", "failed", "\x00"]),
)
garbage = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)

NOT_BASE64 = [
    b64(png()).rstrip("="),  # padding dropped
    " " + b64(png()),
    b64(png())[:20] + "\n" + b64(png())[20:],
    b64(png()).replace("+", "-").replace("/", "_") + "-_",  # URL-safe alphabet
    "data:image/png;base64," + b64(png()),
    "*not base64*",
    "=",
    "A",
    "\u00e9\u00e9\u00e9\u00e9",
    b64(png()) + "==",
]
b64_values = st.one_of(
    st.sampled_from(NOT_BASE64),
    st.binary(max_size=64).map(b64),  # base64 of something that is no picture
    st.sampled_from([b64(png()[:30]), b64(png()[:8]), b64(b"GIF89a" + b"\x00" * 20)]),
    st.sampled_from([b64(png(1, 1)), b64(png(300, 2))]),  # valid pictures
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside ``doc`` (the root excluded)."""
    items: Any = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    )
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def replace(doc: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    doc = json.loads(json.dumps(doc))  # a deep copy
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


@st.composite
def broken_docs(draw: st.DrawFn, base: Callable[[], Any]) -> Any:
    """``base()`` with one to three values replaced by garbage, deleted, or joined by extras."""
    doc = base()
    for _ in range(draw(st.integers(1, 3))):
        where = sorted(paths(doc), key=repr)
        if not where:
            break
        path = draw(st.sampled_from(where))
        action = draw(st.sampled_from(["garbage", "garbage", "delete", "b64", "extra"]))
        if action == "delete":
            doc = replace(doc, path, None, delete=True)
        elif action == "b64":
            doc = replace(doc, path, draw(b64_values))
        elif action == "extra" and isinstance(doc, dict):
            doc = {**doc, draw(st.text(max_size=8)): draw(garbage)}
        else:
            doc = replace(doc, path, draw(garbage))
    return doc


def encode(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True).encode("utf-8")


SUCCESS = [encode(success_doc()), encode(success_doc(3))]
ERROR = [encode(error_doc())]
MODELS = [encode(models_doc())]
raw_bodies = st.sampled_from(
    [
        b"",
        b"null",
        b"[]",
        b"{}",
        b'"text"',
        b"1e999",
        b"NaN",
        b"9" * 5000,  # an int past Python's 4300-digit limit
        b'{"status": "failed", "message": ' + b"9" * 5000 + b"}",
        b"\xff\xfe\x00garbage",
        b"<html><body>502 Bad Gateway</body></html>",
        b'{"model": "m", "object": "list", "data": [{"b64_json": "' + b"A" * 70000,
        f'{{"message": "bad key {API_KEY}", "status": "failed"}}'.encode(),
        f'["{API_KEY}"]'.encode(),
        SUCCESS[0].replace(b"/", b"\\/"),  # JSON escapes in b64_json
        SUCCESS[0].replace(b'"b64_json"', b'"b64_json" '),
        b"[" * 5000,
        b'{"message": ' + b"[" * 5000,
        b'{"model": "m", "data": ' + b'{"a": ' * 3000,
    ]
)


@st.composite
def truncated(draw: st.DrawFn, valid: list[bytes]) -> bytes:
    body = draw(st.sampled_from(valid))
    return body[: draw(st.integers(0, max(len(body) - 1, 0)))]


def bodies(base: Callable[[], Any], valid: list[bytes]) -> st.SearchStrategy[bytes]:
    """Bodies around one kind of document: valid, broken in one to three places, cut short."""
    return st.one_of(
        st.sampled_from(valid),
        broken_docs(base).map(encode),
        broken_docs(base).map(encode),
        truncated(valid),
    )


junk_bodies = st.one_of(raw_bodies, st.binary(max_size=300), garbage.map(encode))

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
retry_after = st.one_of(
    header_text,
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(
        [
            "9" * 400,
            "1e309",
            "-5",
            "nan",
            "inf",
            "0x10",
            " 3 ",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Mon, 01 Jan 0001 00:00:00 GMT",
            "Wed, 99 Foo 2026 25:61:61 GMT",
            "Wed, 25 Nov 2026 22:00:00",  # no zone
            API_KEY,
        ]
    ),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Retry-After": retry_after,
        "retry-after-ms": retry_after,
        "X-Request-ID": st.one_of(header_text, st.just("r" * 5000)),
        "Content-Type": st.sampled_from(
            ["application/json", "text/html", "application/json; charset=latin-1", "", "x/y"]
        ),
    },
)
# Headers that change how the body is read; in a share of the answers only, since most
# of them turn any body into a transport error.
transport_headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Encoding": st.sampled_from(["gzip", "deflate", "br", "identity", "zstd", "x"]),
        "Content-Length": st.sampled_from(["0", "5", str(MAX_BODY + 1), "-1", "abc", "9" * 30]),
    },
)
any_headers = st.one_of(
    headers, headers, st.builds(lambda a, b: {**a, **b}, headers, transport_headers)
)
ERROR_STATUSES = [s for s in DOCUMENTED if s != 200]


@dataclass(frozen=True)
class Answer:
    """One fuzzed answer of the server."""

    status: int
    headers: dict[str, str]
    body: bytes

    def response(self, request: httpx.Request) -> httpx.Response:
        # Header values as latin-1 bytes: what a server can put on the wire.
        headers = [(k.encode(), v.encode("latin-1")) for k, v in self.headers.items()]
        return httpx.Response(self.status, headers=headers, content=self.body, request=request)


def answers(base: Callable[[], Any], valid: list[bytes]) -> st.SearchStrategy[Answer]:
    """Success-shaped answers (mostly 200), error-shaped ones (mostly error statuses), junk."""
    return st.one_of(
        st.builds(Answer, st.one_of(st.just(200), statuses), any_headers, bodies(base, valid)),
        st.builds(
            Answer,
            st.one_of(st.sampled_from(ERROR_STATUSES), statuses),
            any_headers,
            st.one_of(bodies(error_doc, ERROR), bodies(base, valid)),
        ),
        st.builds(Answer, statuses, any_headers, junk_bodies),
    )


# -- what a result must look like --------------------------------------------------------


def result_problems(result: GenerationResult) -> list[str]:
    """How ``result`` breaks the types the spec's ImageGenerationResponse promises."""
    problems = []
    if not isinstance(result.model, str):
        problems.append(f"model {result.model!r}")
    if not isinstance(result.message, str):
        problems.append(f"message {result.message!r}")
    for image in result.images:
        if not isinstance(image.index, int) or isinstance(image.index, bool) or image.index < 0:
            problems.append(f"index {image.index!r}")
        seconds = image.inference_seconds
        if not isinstance(seconds, float) or not 0 <= seconds < float("inf"):
            problems.append(f"inference_seconds {seconds!r}")
        if image.seed is not None and (
            not isinstance(image.seed, int) or isinstance(image.seed, bool)
        ):
            problems.append(f"seed {image.seed!r}")
    return problems


# -- running an answer through both clients ----------------------------------------------


def _clients(answer: Answer) -> tuple[Client, AsyncClient]:
    def handler(request: httpx.Request) -> httpx.Response:
        return answer.response(request)

    transport = httpx.MockTransport(handler)
    common: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": BASE_URL,
        "max_retries": 0,
        "max_response_bytes": MAX_BODY,
        "timeout": 5.0,
    }
    return (
        Client(http_client=httpx.Client(transport=transport), **common),
        AsyncClient(http_client=httpx.AsyncClient(transport=transport), **common),
    )


def outcomes(answer: Answer, call: str) -> list[Any]:
    """The sync and the async outcome (a result or the exception raised)."""
    sync, asynchronous = _clients(answer)
    results: list[Any] = []

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s with max_retries=0")

    async def ano_sleep(seconds: float) -> None:
        no_sleep(seconds)

    sync._sleep = no_sleep
    asynchronous._sleep = ano_sleep
    with sync:
        started = time.monotonic()
        try:
            if call == "generate":
                results.append(sync.images.generate("a boat"))
            else:
                results.append(sync.models.list())
        except BaseException as exc:
            results.append(exc)
        assert time.monotonic() - started < SLOW_CALL_SECONDS

    async def run_async() -> Any:
        async with asynchronous:
            if call == "generate":
                return await asynchronous.images.generate("a boat")
            return await asynchronous.models.list()

    started = time.monotonic()
    try:
        results.append(asyncio.run(asyncio.wait_for(run_async(), SLOW_CALL_SECONDS)))
    except BaseException as exc:
        results.append(exc)
    assert time.monotonic() - started < SLOW_CALL_SECONDS
    return results


def error_surfaces(error: NebulaError) -> list[str]:
    """Everything of an error a user may print or log."""
    return [
        str(error),
        repr(error),
        *map(str, error.args),
        repr(getattr(error, "request_id", None)),
        repr(getattr(error, "body", None)),
    ]


def check_outcome(answer: Answer, outcome: Any, expected: type, seen: Counter[str]) -> None:
    if isinstance(outcome, NebulaError):
        for text in error_surfaces(outcome):
            assert API_KEY not in text, f"the API key leaked into an error: {text[:300]}"
        seen[type(outcome).__name__] += 1
        return
    if isinstance(outcome, BaseException):
        raise AssertionError(
            f"{type(outcome).__name__} escaped instead of a NebulaError: {outcome!r}"
        ) from outcome
    assert answer.status == 200, f"a result from a {answer.status} answer"
    assert isinstance(outcome, expected), outcome
    if isinstance(outcome, GenerationResult):
        assert not result_problems(outcome), result_problems(outcome)
    assert API_KEY not in repr(outcome), f"the API key leaked into a result: {outcome!r}"
    seen[type(outcome).__name__] += 1


MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff", "webp": b"RIFF"}


def check_images(answer: Answer, result: GenerationResult) -> None:
    """Each image is the strict base64 decoding of one b64_json of the body, and a picture."""
    sent = {
        base64.b64decode(item["b64_json"], validate=True)
        for item in json.loads(answer.body)["data"]
    }
    assert result.images
    for image in result.images:
        assert image.data in sent
        assert image.data.startswith(MAGIC[image.format]), image.data[:12]


def test_every_generation_answer_is_a_result_or_a_nebula_error() -> None:
    seen: Counter[str] = Counter()

    @settings(FUZZ, max_examples=GENERATE_EXAMPLES)
    @given(answer=answers(success_doc, SUCCESS))
    def run(answer: Answer) -> None:
        sync, asynchronous = outcomes(answer, "generate")
        for outcome in (sync, asynchronous):
            check_outcome(answer, outcome, GenerationResult, seen)
            if isinstance(outcome, GenerationResult):
                check_images(answer, outcome)
        assert type(sync) is type(asynchronous), (sync, asynchronous)

    run()
    # The fuzzing reached both kinds of outcome and many error classes.
    assert seen["GenerationResult"] > 0 and len(seen) >= 6, seen


def test_every_model_list_answer_is_a_list_or_a_nebula_error() -> None:
    seen: Counter[str] = Counter()

    @settings(FUZZ, max_examples=LIST_EXAMPLES)
    @given(answer=answers(models_doc, MODELS))
    def run(answer: Answer) -> None:
        sync, asynchronous = outcomes(answer, "list")
        for outcome in (sync, asynchronous):
            check_outcome(answer, outcome, list, seen)
            if isinstance(outcome, list):
                assert all(isinstance(model, ModelInfo) for model in outcome)
        assert type(sync) is type(asynchronous), (sync, asynchronous)

    run()
    assert seen["list"] > 0, seen


@pytest.mark.parametrize(
    "answer",
    [
        Answer(200, {}, f'{{"status": "failed", "message": "{API_KEY}"}}'.encode()),
        Answer(400, {}, f'{{"status": "failed", "message": "no {API_KEY}"}}'.encode()),
        Answer(401, {}, f'{{"status": "failed", "message": "x", "data": ["{API_KEY}"]}}'.encode()),
        Answer(500, {}, f"Internal error for {API_KEY}".encode()),
        Answer(200, {}, f'{{"model": "{API_KEY}", "object": "x"}}'.encode()),
        Answer(429, {"Retry-After": API_KEY}, b"{}"),
    ],
    ids=["200-failed", "400", "401-nested", "500-text", "200-off-contract", "retry-after"],
)
def test_an_echoed_key_never_reaches_an_error_message(answer: Answer) -> None:
    for outcome in outcomes(answer, "generate"):
        assert isinstance(outcome, NebulaError), outcome
        assert API_KEY not in str(outcome) and API_KEY not in repr(outcome)


# -- regressions: the bugs the fuzzing found, one minimal example each -------------------


def only_errors(answer: Answer, cls: type[NebulaError]) -> list[Any]:
    """Both outcomes of ``answer``, asserted to be ``cls`` errors that do not show the key."""
    errors = outcomes(answer, "generate")
    for outcome in errors:
        assert type(outcome) is cls, repr(outcome)
        for text in error_surfaces(outcome):
            assert API_KEY not in text, text[:300]
    return errors


def mixed_index_types() -> bytes:
    image = success_doc()["data"][0]
    return encode({**success_doc(2), "data": [{**image, "index": "1"}, image]})


def inference(value: Any) -> bytes:
    return encode(replace(success_doc(), ("data", 0, "timings", "inference"), value))


@pytest.mark.parametrize(
    ("answer", "cls", "check"),
    [
        # json.loads raises RecursionError, not ValueError, for deep nesting.
        (Answer(200, {}, b"[" * 100_000), ResponseValidationError, "nested too deeply"),
        (
            Answer(503, {}, b'{"message": ' + b"[" * 100_000),
            InternalServerError,
            '503: {"message": [[[',
        ),
        # sorted() of images by an unchecked `index`.
        (Answer(200, {}, mixed_index_types()), ResponseValidationError, "data[0].index is a str"),
        # float() of an unchecked timings.inference.
        (Answer(200, {}, inference("x")), ResponseValidationError, "timings.inference is a str"),
        (Answer(200, {}, inference(None)), ResponseValidationError, "timings.inference is None"),
        # .replace() on a message that is no string: the reason phrase stands in.
        (Answer(400, {}, b'{"status": "failed", "message": 5}'), BadRequestError, "Bad Request"),
        (
            Answer(401, {}, b'{"status": "failed", "message": {"k": "v"}}'),
            AuthenticationError,
            "Unauthorized",
        ),
        # math.isfinite() of an integer too big for a float: no usable wait.
        (
            Answer(
                429,
                {},
                b'{"message": "x", "status": "failed", "retry_after": 1' + b"0" * 400 + b"}",
            ),
            RateLimitError,
            "x; slow down",
        ),
    ],
    ids=[
        "200-deep-nesting",
        "503-deep-nesting",
        "200-index-str-and-int",
        "200-inference-str",
        "200-inference-null",
        "400-message-int",
        "401-message-object",
        "429-retry-after-huge-int",
    ],
)
def test_regression_minimal_examples(answer: Answer, cls: type[NebulaError], check: str) -> None:
    for error in only_errors(answer, cls):
        assert check in str(error), str(error)
        assert error.retry_after is None


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("model",), 5, "model is 5, expected a string"),
        (("message",), ["x"], "message is a list, expected a string"),
        (("data", 0, "index"), "0", "data[0].index is a str, expected an integer >= 0"),
        (("data", 0, "index"), -3, "data[0].index is -3, expected an integer >= 0"),
        (("data", 0, "index"), True, "data[0].index is True, expected an integer >= 0"),
        (("data", 0, "seed"), "42", "data[0].seed is a str, expected an integer"),
        (("data", 0, "timings", "inference"), -1, "inference is -1, expected a finite number >= 0"),
        (("data", 0, "timings", "inference"), 10**400, "inference is 1000"),
        (("data", 0, "timings", "inference"), float("nan"), "inference is nan"),
        (("data", 0, "b64_json"), 7, "data[0].b64_json is 7, expected a string"),
    ],
    ids=[
        "model-int",
        "message-list",
        "index-str",
        "index-negative",
        "index-bool",
        "seed-str",
        "inference-neg",
        "inference-huge-int",
        "inference-nan",
        "b64-int",
    ],
)
def test_an_off_contract_200_is_a_response_validation_error(
    path: tuple[Any, ...], value: Any, field: str
) -> None:
    answer = Answer(200, {}, encode(replace(success_doc(), path, value)))
    for error in only_errors(answer, ResponseValidationError):
        assert field in error.message and "contract" in error.message, error.message
        assert error.may_have_been_billed  # the same idempotency key replays the generation


def test_a_null_seed_reads_as_absent() -> None:
    answer = Answer(200, {}, encode(replace(success_doc(), ("data", 0, "seed"), None)))
    for outcome in outcomes(answer, "generate"):
        assert isinstance(outcome, GenerationResult) and not result_problems(outcome)
        assert outcome.images[0].seed == outcome.parameters["seed"]  # the seed sent


def test_a_key_echoed_in_the_request_id_is_redacted() -> None:
    echo = {"X-Request-ID": f"req-{API_KEY}"}
    for error in only_errors(Answer(400, echo, b"{}"), BadRequestError):
        assert error.request_id == "req-[redacted]"
    for result in outcomes(Answer(200, echo, SUCCESS[0]), "generate"):
        assert isinstance(result, GenerationResult)
        assert result.request_id == result.images[0].request_id == "req-[redacted]"


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (["x", API_KEY], ["x", "[redacted]"]),
        (
            {"message": "m", "data": [[{f"k{API_KEY}": f"a {API_KEY}"}]], "n": 1},
            {"message": "m", "data": [[{"k[redacted]": "a [redacted]"}]], "n": 1},
        ),
        (f"bad key {API_KEY}", "bad key [redacted]"),
    ],
    ids=["array", "nested-object", "string"],
)
def test_a_key_echoed_anywhere_in_an_error_body_is_redacted(body: Any, shown: Any) -> None:
    for error in only_errors(Answer(400, {}, json.dumps(body).encode()), BadRequestError):
        assert error.body == shown

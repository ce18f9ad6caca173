"""Absurd parameters get a 400 in the API's own error envelope, never a 500: Jaeger's
`{"data": null, "errors": [{"code": 400, "msg": ...}]}` on the classic query API, the v3
gateway's `{"error": {"httpCode": 400, ...}}`, and an OTLP Status on the receiver. Tested on a
collector process, table-driven and with generated parameters."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector_tests.conftest import now_us
from collector_tests.otlp_builders import SpanSpec, new_trace_id, traces_request
from onehub_collector.cli import READY_PREFIX

TRACE_ID = bytes(range(1, 17))  # fixed: test ids must be the same in every xdist worker


@pytest.fixture(scope="module")
def addresses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("bad-params")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "onehub_collector",
            "--otlp-grpc-addr",
            "127.0.0.1:0",
            "--otlp-http-addr",
            "127.0.0.1:0",
            "--ui-addr",
            "127.0.0.1:0",
            "--data-dir",
            str(Path(data_dir)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(READY_PREFIX), line
        found = dict(part.split("=", 1) for part in line.removeprefix(READY_PREFIX).split())
        spans = [SpanSpec("svc", "op", now_us(), 1000, TRACE_ID, attributes={"k": "v"})]
        stored = httpx.post(
            f"http://{found['otlp_http']}/v1/traces",
            content=traces_request(spans).SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
            timeout=10,
        )
        assert stored.status_code == 200  # committed: the searches below meet a real span
        yield found
    finally:
        process.terminate()
        process.wait(20)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="module")
def api(addresses: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=addresses["ui"] + "/api", timeout=30) as client:
        yield client


def _nested_object(depth: int) -> str:
    return '{"a":' * depth + '"b"' + "}" * depth


def _nested_array(depth: int) -> str:
    return "[" * depth + "]" * depth


HUGE = "1" + "0" * 23  # 1e23 written out
CLASSIC = [
    ("/traces", {"service": "svc", "tags": _nested_object(2500)}),
    ("/traces", {"service": "svc", "tags": _nested_array(5000)}),
    ("/traces", {"service": "svc", "start": "1e23"}),
    ("/traces", {"service": "svc", "start": HUGE}),
    ("/traces", {"service": "svc", "end": "-" + HUGE}),
    ("/traces", {"service": "svc", "start": "9" * 5000}),
    ("/traces", {"service": "svc", "minDuration": "9999999999h"}),
    ("/traces", {"service": "svc", "maxDuration": "9" * 400 + "h"}),
    ("/traces", {"service": "svc", "lookback": "9999999999h"}),
    ("/traces", {"service": "svc", "limit": HUGE}),
    ("/dependencies", {"endTs": "1e20"}),
    ("/dependencies", {"endTs": "1" + "0" * 20}),
    ("/dependencies", {"lookback": "1" + "0" * 20}),
    ("/x/stats", {"endTs": "1" + "0" * 20}),
    (f"/x/traces/{TRACE_ID.hex()}/findings", {"minRepeats": HUGE}),
]


@pytest.mark.parametrize(("path", "query"), CLASSIC)
def test_classic_api_answers_400_in_jaegers_envelope(
    api: httpx.Client, path: str, query: dict[str, str]
) -> None:
    response = api.get(path, params=query)
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["code"] == 400
    assert error["msg"]
    assert len(error["msg"]) < 300  # the message names the problem, not the whole input


V3_WINDOW = {
    "query.service_name": "svc",
    "query.start_time_min": "2020-01-01T00:00:00Z",
    "query.start_time_max": "2030-01-01T00:00:00Z",
}
V3 = [
    {**V3_WINDOW, "query.start_time_min": "9999-12-31T23:59:59-23:59"},
    {**V3_WINDOW, "query.start_time_max": "0001-01-01T00:00:00+23:59"},
    {**V3_WINDOW, "query.duration_min": "9999999999h"},
    {**V3_WINDOW, "query.attributes": _nested_object(2500)},
    {**V3_WINDOW, "query.num_traces": HUGE},
]


@pytest.mark.parametrize("query", V3)
def test_v3_api_answers_400_in_its_envelope(api: httpx.Client, query: dict[str, str]) -> None:
    response = api.get("/v3/traces", params=query)
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["httpCode"] == 400
    assert error["message"]


@pytest.mark.parametrize("depth", [150, 5000, 100_000])
def test_otlp_json_nested_too_deep_is_400_with_a_status(
    addresses: dict[str, str], depth: int
) -> None:
    attribute = {"key": "deep", "value": {"stringValue": "x"}}
    body = {"resourceSpans": [{"resource": {"attributes": [attribute]}, "deep": None}]}
    text = json.dumps(body).replace("null", _nested_array(depth))
    response = httpx.post(
        f"http://{addresses['otlp_http']}/v1/traces",
        content=text,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    status = response.json()
    assert status["code"] == 3  # INVALID_ARGUMENT
    assert "nested" in status["message"]


def test_otlp_json_nested_within_the_limit_is_accepted(addresses: dict[str, str]) -> None:
    value: dict[str, object] = {"stringValue": "leaf"}
    for _ in range(15):  # each level: AnyValue > KeyValueList > values[] > KeyValue
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    span = {
        "traceId": new_trace_id().hex(),
        "spanId": "0102030405060708",
        "name": "nested",
        "startTimeUnixNano": str(now_us() * 1000),
        "endTimeUnixNano": str(now_us() * 1000 + 1000),
        "attributes": [{"key": "deep", "value": value}],
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    response = httpx.post(
        f"http://{addresses['otlp_http']}/v1/traces",
        json=body,
        timeout=30,
    )
    assert response.status_code == 200, response.text


_VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.builds(lambda n, u: f"{n}{u}", st.integers(), st.sampled_from(["h", "ms", "us", "d"])),
    # Nested past the recursion limit (the URL stays short enough for the HTTP parser).
    st.integers(min_value=0, max_value=1500).map(_nested_array),
)
_CLASSIC_PARAMS = st.dictionaries(
    st.sampled_from(
        ["service", "start", "end", "lookback", "limit", "minDuration", "maxDuration", "tags"]
    ),
    _VALUES,
    max_size=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_CLASSIC_PARAMS, path=st.sampled_from(["/traces", "/dependencies", "/x/stats"]))
def test_generated_parameters_never_cause_a_500(
    api: httpx.Client, path: str, query: dict[str, str]
) -> None:
    response = api.get(path, params={"service": "svc", **query})
    assert response.status_code in (200, 400), (response.status_code, response.text[:300])
    if response.status_code == 400:
        assert response.json()["errors"][0]["code"] == 400

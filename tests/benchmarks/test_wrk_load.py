"""The wrk load generator (`benchmarks/wrk_load.py`): its report parsing and arithmetic, and real
wrk runs against a tiny keep-alive HTTP server in this process that records what it is sent and
answers some requests with a 500."""

from __future__ import annotations

import socketserver
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from benchmarks.clients import Operation, Target, rest_request
from benchmarks.load import LoadError, LoadJob
from benchmarks.runs import Repetition, failure_line, summarise
from benchmarks.wrk_load import (
    WrkLoad,
    WrkRun,
    describe_failures,
    load_result,
    lua_string,
    parse_report,
    request_script,
)
from tests.debian_packages import require_program
from tests.ports import free_port

# What wrk 4.1.0 printed in a run with this module's script: its human summary, then the line
# from the `done` hook.
_WRK_OUTPUT = """Running 31s test @ http://127.0.0.1:40000
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.80ms    1.22ms   9.57ms   92.99%
  2000 requests in 500.00ms, 765.00KB read
  Non-2xx or 3xx responses: 100
Requests/sec:   4000.00
{"requests": 2000, "duration_us": 500000, "errors": {"status": 100, "connect": 0, \
"read": 2, "write": 0, "timeout": 0}, "latency_us": {"p50": 1497, "p99": 7957}}
"""


def _run(requests: int, seconds: float, **errors: int) -> WrkRun:
    counts = {"status": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0, **errors}
    return WrkRun(requests, seconds, counts, 1.0, 2.0)


def test_the_report_is_read_from_the_done_hooks_line_not_the_summary() -> None:
    run = parse_report(_WRK_OUTPUT)

    assert run == WrkRun(
        requests=2000,
        duration_s=0.5,
        errors={"status": 100, "connect": 0, "read": 2, "write": 0, "timeout": 0},
        p50_ms=1.497,
        p99_ms=7.957,
    )
    assert (run.succeeded, run.failures) == (1900, 102)


def test_output_without_a_report_is_a_load_error() -> None:
    with pytest.raises(LoadError, match="no report"):
        parse_report("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_a_jobs_result_takes_rate_and_latency_from_the_window_and_calls_from_both_runs() -> None:
    warmup = _run(600, 1.0, status=10)
    measured = _run(3000, 2.0, status=20, timeout=3)

    result = load_result(warmup, measured, cpu_s=0.25)

    assert result.throughput == pytest.approx(2980 / 2.0)
    assert (result.p50_ms, result.p99_ms) == (1.0, 2.0)
    assert (result.completed, result.total_calls) == (2980, 590 + 2980)
    assert result.failures == 33
    assert result.first_failure == (
        "HTTP_NON_2XX: 30 responses with a status >= 400, SOCKET_TIMEOUT: 3"
    )
    assert result.client_cpu_s == 0.25


def test_error_statuses_seen_by_wrk_reach_the_failure_line_of_the_report() -> None:
    clean = Repetition(load_result(_run(10, 1.0), _run(20, 1.0), cpu_s=0.0), {"server": 1.0})
    failed = Repetition(load_result(_run(10, 1.0), _run(20, 1.0, status=5), 0.0), {"server": 1.0})

    summary = summarise([clean, failed], wall_s=2.0)

    assert summary.failures == 5  # what makes `python -m benchmarks` exit with status 1
    assert failure_line("sqlite GET topic 2 worker(s)", summary) == (
        "FAILED calls in sqlite GET topic 2 worker(s): 5, "
        "first: HTTP_NON_2XX: 5 responses with a status >= 400"
    )


def test_a_clean_job_has_no_failure_to_report() -> None:
    result = load_result(_run(10, 1.0), _run(20, 1.0), cpu_s=0.0)

    assert (result.failures, result.first_failure) == (0, None)
    assert describe_failures({"connect": 4}) == "SOCKET_CONNECT: 4"


def test_lua_strings_escape_quotes_backslashes_and_every_unprintable_byte() -> None:
    assert lua_string(b'{"a": "b\\c"}\r\n\xc3\xa9') == (
        '"{\\034a\\034: \\034b\\092c\\034}\\013\\010\\195\\169"'
    )


def test_the_script_sets_method_path_headers_and_body_but_leaves_length_to_wrk() -> None:
    request = rest_request(Target("127.0.0.1:9", "", "t1"), "post_message")

    script = request_script(request)

    assert 'wrk.method = "POST"\n' in script
    assert 'wrk.path = "/v1/topics/t1/messages"\n' in script
    assert 'wrk.headers["Host"] = "127.0.0.1:9"\n' in script
    assert 'wrk.headers["Content-Type"] = "application/json"\n' in script
    assert "Content-Length" not in script
    assert "wrk.body = " + lua_string(request.partition(b"\r\n\r\n")[2]) in script
    assert "function done(summary, latency, requests)" in script


def test_a_request_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="no blank line"):
        request_script(b"GET / HTTP/1.1\r\nHost: x\r\n")


class _RecordingServer(socketserver.ThreadingTCPServer):
    """HTTP/1.1 keep-alive on 127.0.0.1: answers every `fail_every`th request of a connection
    with a 500 and the others with a 200, keeps the first requests it got, counts statuses."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, fail_every: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fail_every = fail_every
        self.lock = threading.Lock()
        self.first_requests: list[bytes] = []
        self.statuses: Counter[int] = Counter()

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"


class _Handler(socketserver.StreamRequestHandler):
    server: _RecordingServer

    def handle(self) -> None:
        answered = 0
        try:
            while (request := self._read_request()) is not None:
                answered += 1
                every = self.server.fail_every
                status = 500 if every and answered % every == 0 else 200
                body = b'{"ok": true}' if status == 200 else b"boom"
                reason = b"OK" if status == 200 else b"Internal Server Error"
                self.wfile.write(
                    b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n%s"
                    % (status, reason, len(body), body)
                )
                with self.server.lock:
                    self.server.statuses[status] += 1
                    if len(self.server.first_requests) < 4:
                        self.server.first_requests.append(request)
        except OSError:
            return  # wrk exits with requests in flight

    def _read_request(self) -> bytes | None:
        lines = []
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            lines.append(line)
        if not lines:
            return None
        head = b"".join(lines) + b"\r\n"
        length = next(
            (
                int(value)
                for name, _, value in (line.partition(b":") for line in lines)
                if name.strip().lower() == b"content-length"
            ),
            0,
        )
        return head + self.rfile.read(length)


@pytest.fixture
def wrk() -> WrkLoad:
    require_program("wrk")
    found = WrkLoad.find()
    assert found is not None
    return found


def _serve(server: _RecordingServer) -> Iterator[_RecordingServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def recording_server() -> Iterator[_RecordingServer]:
    yield from _serve(_RecordingServer())


@pytest.fixture
def failing_server() -> Iterator[_RecordingServer]:
    yield from _serve(_RecordingServer(fail_every=4))


def _parts(request: bytes) -> tuple[bytes, set[bytes], bytes]:
    head, _, body = request.partition(b"\r\n\r\n")
    request_line, *headers = head.split(b"\r\n")
    return request_line, set(headers), body


@pytest.mark.parametrize("operation", ["get_topic", "post_message"])
def test_wrk_sends_the_request_the_python_client_sends(
    wrk: WrkLoad, recording_server: _RecordingServer, operation: Operation
) -> None:
    target = Target(recording_server.address, "", "topic-1")
    job = LoadJob("rest", operation, target, concurrency=2, warmup_s=0.1, duration_s=0.2)

    result = wrk.run(job)

    assert result.failures == 0
    assert result.completed > 0
    expected = _parts(rest_request(target, operation))
    assert recording_server.first_requests
    for sent in recording_server.first_requests:
        assert _parts(sent) == expected  # the same bytes but for the order of the headers


def test_a_wrk_job_counts_calls_and_reports_error_statuses_as_failures(
    wrk: WrkLoad, failing_server: _RecordingServer
) -> None:
    connections = 4
    target = Target(failing_server.address, "", "topic-1")
    job = LoadJob("rest", "get_topic", target, connections, warmup_s=0.3, duration_s=0.7)

    result = wrk.run(job)

    # Every response wrk counted was sent; the server may have sent a few more that wrk, told
    # to stop, never read: at most one per connection and run.
    sent_ok, sent_failed = failing_server.statuses[200], failing_server.statuses[500]
    in_flight = 2 * connections
    assert sent_ok - in_flight <= result.total_calls <= sent_ok
    assert sent_failed - in_flight <= result.failures <= sent_failed
    assert result.failures > 0
    assert result.first_failure == f"HTTP_NON_2XX: {result.failures} responses with a status >= 400"
    assert 0 < result.completed < result.total_calls
    assert result.throughput == pytest.approx(result.completed / 0.7, rel=0.25)
    assert 0 < result.p50_ms <= result.p99_ms
    assert 0 < result.client_cpu_s < 1.0


def test_a_wrk_job_against_a_closed_port_cannot_run(wrk: WrkLoad) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    job = LoadJob("rest", "get_topic", Target(address, "", "t"), 2, warmup_s=0.1, duration_s=0.1)

    with pytest.raises(LoadError, match="unable to connect"):
        wrk.run(job)

"""REST load from wrk (https://github.com/wg/wrk), a load generator written in C, for the rows
where the Python load workers would take the CPU that the server needs.

On a 2-core machine the Python client (`load.py`) takes a large share of a core to drive 16
keep-alive connections, so a server that could use both cores (`onehub serve --workers 2`)
never gets them. wrk drives the same connections from one C event loop for a few per cent of a
core. `WrkLoad.run` takes the same `LoadJob` as `LoadPool.run` and returns the same
`LoadResult`:

- the request is the one the Python client sends (`clients.rest_request`), given to wrk by a
  Lua script generated per job: method, path, headers and body (wrk sets Content-Length itself,
  to the same value; only the order of the headers may differ);
- a warm-up run of `warmup_s` is discarded (its calls count towards CPU per call), then a
  measured run of `duration_s`, each a wrk process with one thread and `concurrency` keep-alive
  connections, closed loop like the Python callers;
- results come from the script's `done` hook as one JSON line, never from wrk's human output;
- a response with a status of 400 or more is a failure (wrk counts it as a status error, as the
  Python client counts any answer but a 200), and so are socket errors and timeouts.

One thread: wrk's event loop needs a few per cent of a core for the ~1,000-2,000 requests per
second a OneHub server answers here; a second thread would add nothing but another runnable
thread competing with the server for the two cores (and split the connections between loops).
"""

from __future__ import annotations

import json
import math
import re
import resource
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.clients import rest_request
from benchmarks.load import LoadError, LoadJob, LoadResult

#: wrk's threads (`-t`); see the module docstring for why one.
THREADS = 1
#: A request unanswered for this long counts as a SOCKET_TIMEOUT failure (wrk's default is 2 s,
#: which a shared machine can exceed without the server being wrong; the Python client waits).
TIMEOUT_S = 10
#: How wrk itself reports each kind of failure, in the order they are reported.
ERROR_KINDS = ("status", "connect", "read", "write", "timeout")
#: What to run when wrk is missing (it is a Debian package; the machine set-up installs it).
INSTALL_HINT = "apt-get install wrk, or python3 scripts/setup_test_machine.py (make bench runs it)"
# wrk's -d takes whole seconds only: a run is ended by SIGINT (wrk stops within ~0.1 s and still
# reports), and -d is only a backstop this much later.
_BACKSTOP_S = 30
_EXIT_TIMEOUT_S = 30.0
_VERSION = re.compile(r"\bwrk\s+\S*?(\d+\.\d+(?:\.\d+)?)")

# The `done` hook: one JSON line with every count the result needs. %.0f, not %d: the counts
# are Lua numbers (doubles), and LuaJIT's %d does not take every double.
_DONE_HOOK = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %.0f, "duration_us": %.0f, "errors": {"status": %.0f, "connect": %.0f, '
    .. '"read": %.0f, "write": %.0f, "timeout": %.0f}, '
    .. '"latency_us": {"p50": %.0f, "p99": %.0f}}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True, slots=True)
class WrkRun:
    """What one wrk process reported: responses (any status), its run time and its errors."""

    requests: int
    duration_s: float
    errors: dict[str, int]
    p50_ms: float
    p99_ms: float

    @property
    def succeeded(self) -> int:
        return self.requests - self.errors["status"]

    @property
    def failures(self) -> int:
        return sum(self.errors.values())


def lua_string(raw: bytes) -> str:
    """`raw` as a Lua string literal: printable ASCII as is, every other byte (and the quote and
    backslash) as a decimal escape, so any request survives the trip byte for byte."""
    text = "".join(
        chr(byte) if 0x20 <= byte < 0x7F and byte not in b'"\\' else f"\\{byte:03d}" for byte in raw
    )
    return f'"{text}"'


def request_script(request: bytes) -> str:
    """The Lua script that makes wrk send `request` (a complete HTTP/1.1 request with a
    Content-Length header) and report through `done`. ValueError if it cannot be parsed."""
    head, separator, body = request.partition(b"\r\n\r\n")
    if not separator:
        raise ValueError("not an HTTP request: no blank line after the head")
    request_line, *header_lines = head.split(b"\r\n")
    method, path, version = request_line.split(b" ")
    if version != b"HTTP/1.1":
        raise ValueError(f"not an HTTP/1.1 request line: {request_line!r}")
    lines = [f"wrk.method = {lua_string(method)}", f"wrk.path = {lua_string(path)}"]
    for header in header_lines:
        name, colon, value = header.partition(b":")
        if not colon:
            raise ValueError(f"not a header: {header!r}")
        if name.strip().lower() == b"content-length":
            continue  # wrk.format sets it from the body (0 for the empty body of a GET)
        lines.append(f"wrk.headers[{lua_string(name.strip())}] = {lua_string(value.strip())}")
    lines.append(f"wrk.body = {lua_string(body)}")
    return "\n".join(lines) + "\n" + _DONE_HOOK


def parse_report(output: str) -> WrkRun:
    """The `done` hook's JSON line in wrk's standard output (the last line that is a JSON
    object). LoadError if there is none: wrk failed before it could report."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            report = json.loads(line)
            return WrkRun(
                requests=int(report["requests"]),
                duration_s=report["duration_us"] / 1e6,
                errors={kind: int(report["errors"][kind]) for kind in ERROR_KINDS},
                p50_ms=report["latency_us"]["p50"] / 1000,
                p99_ms=report["latency_us"]["p99"] / 1000,
            )
    raise LoadError("wrk printed no report")


def describe_failures(errors: dict[str, int]) -> str | None:
    """The failures of a job, worst first, as the Python client names its own (`CODE: detail`);
    wrk does not say which status a failed response had, only how many there were."""
    names = {
        "status": "HTTP_NON_2XX: {} responses with a status >= 400",
        "connect": "SOCKET_CONNECT: {}",
        "read": "SOCKET_READ: {}",
        "write": "SOCKET_WRITE: {}",
        "timeout": "SOCKET_TIMEOUT: {}",
    }
    parts = [names[kind].format(errors[kind]) for kind in ERROR_KINDS if errors.get(kind)]
    return ", ".join(parts) if parts else None


def load_result(warmup: WrkRun, measured: WrkRun, cpu_s: float) -> LoadResult:
    """A job's `LoadResult` from its two wrk runs and the CPU both took: throughput and latency
    from the measured run, calls for CPU per call from both, failures from both (as the Python
    client books failures in its warm-up too)."""
    errors = {kind: warmup.errors[kind] + measured.errors[kind] for kind in ERROR_KINDS}
    return LoadResult(
        throughput=measured.succeeded / measured.duration_s if measured.duration_s > 0 else 0.0,
        p50_ms=measured.p50_ms,
        p99_ms=measured.p99_ms,
        completed=measured.succeeded,
        total_calls=warmup.succeeded + measured.succeeded,
        failures=sum(errors.values()),
        first_failure=describe_failures(errors),
        client_cpu_s=cpu_s,
    )


class WrkLoad:
    """Runs REST load jobs with the wrk at `program` (see the module docstring)."""

    def __init__(self, program: str, version: str) -> None:
        self.program = program
        self.version = version

    @classmethod
    def find(cls) -> WrkLoad | None:
        """wrk from PATH, or None if it is not installed (or does not run)."""
        program = shutil.which("wrk")
        if program is None:
            return None
        try:
            probe = subprocess.run(
                [program, "--version"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        found = _VERSION.search(probe.stdout + probe.stderr)
        return None if found is None else cls(program, found[1])

    def describe(self, connections: int) -> str:
        """The line a report prints about its load."""
        return (
            f"load: wrk {self.version}, {THREADS} thread, {connections} keep-alive connections, "
            "closed loop (a C client: the server gets the cores; --processes does not apply)"
        )

    def run(self, job: LoadJob) -> LoadResult:
        """Run `job` (REST only): a warm-up run, then the measured one.

        LoadError if wrk cannot run it at all, e.g. nothing listens at the target (wrk checks
        with one connection before it starts); failed calls are counted in the result.
        """
        if job.transport != "rest":
            raise ValueError("wrk drives REST jobs only")
        if job.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        script = request_script(rest_request(job.target, job.operation))
        with tempfile.TemporaryDirectory(prefix="onehub-wrk-") as directory:
            path = Path(directory, "request.lua")
            path.write_text(script, encoding="ascii")
            cpu_before = _children_cpu_s()
            warmup = self._run_once(job, path, job.warmup_s)
            measured = self._run_once(job, path, job.duration_s)
            cpu_s = _children_cpu_s() - cpu_before
        return load_result(warmup, measured, cpu_s)

    def _run_once(self, job: LoadJob, script: Path, seconds: float) -> WrkRun:
        command = [
            self.program,
            f"-t{THREADS}",
            f"-c{job.concurrency}",
            f"-d{math.ceil(seconds) + _BACKSTOP_S}s",
            f"--timeout={TIMEOUT_S}s",
            f"--script={script}",
            f"http://{job.target.gateway}",
        ]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            try:
                try:
                    process.wait(seconds)
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGINT)  # the run is over: report and exit
                stdout, stderr = process.communicate(timeout=_EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise LoadError(
                    f"wrk did not stop within {_EXIT_TIMEOUT_S:g} s of SIGINT"
                ) from None
            finally:
                if process.poll() is None:  # also when this thread is interrupted (Ctrl-C)
                    process.kill()
                    process.wait()
        if process.returncode != 0:
            said = (stderr.strip() or stdout.strip()).splitlines()[-1:] or ["nothing"]
            raise LoadError(f"wrk exited with status {process.returncode}: {said[0]}")
        return parse_report(stdout)


def _children_cpu_s() -> float:
    """User + system CPU of this process's children that have been waited for (wrk's, here:
    nothing else of the benchmark's ends while a job runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

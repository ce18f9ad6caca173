"""The collector is a distribution that stands alone: `./collector` (a copy of it, so nothing
outside that directory can leak in) installed with uv into a fresh virtualenv, from the repository's
lock and uv's cache only (`--offline`: `make setup` fetched everything), holds no OneHub, and its
`onehub-collector` command takes a span over plain OTLP/HTTP (JSON written by hand) and answers
for it through the Jaeger API and serves the viewer's packaged files.

Measured here: the copy, venv and install (a wheel build included) take about 5 s."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from onehub_collector.cli import READY_PREFIX

# One fresh venv for the module: keep its tests on one xdist worker (make test: --dist loadgroup).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("standalone-venv")]

REPOSITORY = Path(__file__).resolve().parents[3]
DISTRIBUTION = REPOSITORY / "collector"
LOCK = REPOSITORY / "constraints.txt"
UV = Path(sys.executable).parent / "uv"


def _clean_environment() -> dict[str, str]:
    """This environment without anything that points Python at the repository's code."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=_clean_environment(), capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv holding onehub-collector, built from a copy of collector/, and its
    dependencies: nothing else."""
    work = tmp_path_factory.mktemp("standalone")
    source = work / "collector"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "tests")
    shutil.copytree(DISTRIBUTION, source, ignore=ignore)
    venv = work / "venv"
    created = _run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], work)
    assert created.returncode == 0, created.stderr
    install = [str(UV), "pip", "install", "--offline", "--python", str(venv / "bin" / "python")]
    installed = _run([*install, "-c", str(LOCK), str(source)], work)
    assert installed.returncode == 0, installed.stderr
    return venv


def test_the_venv_holds_the_collector_and_no_onehub(fresh_venv: Path) -> None:
    python = str(fresh_venv / "bin" / "python")
    code = "import onehub_collector; print(onehub_collector.__file__)"
    where = _run([python, "-c", code], fresh_venv)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(fresh_venv), where.stdout
    onehub = _run([python, "-c", "import onehub"], fresh_venv)
    assert "No module named 'onehub'" in onehub.stderr, onehub.stderr
    usage = _run([str(fresh_venv / "bin" / "onehub-collector"), "--help"], fresh_venv)
    assert usage.stdout.startswith("usage: onehub-collector"), usage.stdout + usage.stderr


@pytest.fixture
def running(fresh_venv: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """`onehub-collector` from the fresh venv on loopback ports the OS picks (announced on its
    ready line); its addresses."""
    loopback = "127.0.0.1:0"
    command = [str(fresh_venv / "bin" / "onehub-collector"), "--data-dir", str(tmp_path / "d")]
    for flag in ("--otlp-grpc-addr", "--otlp-http-addr", "--ui-addr"):
        command += [flag, loopback]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=_clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith(READY_PREFIX):
            process.kill()
            _, errors = process.communicate(timeout=10)
            pytest.fail(f"no ready line: {line!r}\n{errors}")
        yield dict(part.split("=", 1) for part in line.removeprefix(READY_PREFIX).split())
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=20)
    assert process.returncode == 0


def _one_span(trace_id: str) -> dict[str, object]:
    """An OTLP/JSON export request with one server span of service `standalone-check`."""
    now_ns = time.time_ns()
    attribute = {"key": "service.name", "value": {"stringValue": "standalone-check"}}
    span = {
        "traceId": trace_id,
        "spanId": os.urandom(8).hex(),
        "name": "GET /hello",
        "kind": 2,
        "startTimeUnixNano": str(now_ns - 5_000_000),
        "endTimeUnixNano": str(now_ns),
    }
    scope = {"scope": {"name": "by-hand"}, "spans": [span]}
    return {"resourceSpans": [{"resource": {"attributes": [attribute]}, "scopeSpans": [scope]}]}


def test_a_span_sent_over_plain_otlp_http_is_found_through_the_jaeger_api(
    running: dict[str, str],
) -> None:
    trace_id = os.urandom(16).hex()
    sent = httpx.post(
        f"http://{running['otlp_http']}/v1/traces",
        content=json.dumps(_one_span(trace_id)),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert sent.status_code == 200, sent.text

    ui = running["ui"]
    deadline = time.monotonic() + 15
    answer = httpx.get(f"{ui}/api/traces/{trace_id}", timeout=10)
    while answer.status_code == 404 and time.monotonic() < deadline:
        time.sleep(0.1)  # the batch processor stores it within its timeout
        answer = httpx.get(f"{ui}/api/traces/{trace_id}", timeout=10)
    assert answer.status_code == 200, answer.text
    [trace] = answer.json()["data"]
    [span] = trace["spans"]
    assert span["operationName"] == "GET /hello"
    assert trace["processes"][span["processID"]]["serviceName"] == "standalone-check"

    # The viewer's files came with the wheel: its page and the assets it links to.
    page = httpx.get(f"{ui}/", timeout=10)
    assert page.status_code == 200
    assets = re.findall(r'"(/jaeger/static/[^"?]+)', page.text)
    assert assets, page.text
    origin = ui.removesuffix("/jaeger")
    for asset in assets:
        assert httpx.get(origin + asset, timeout=10).status_code == 200, asset

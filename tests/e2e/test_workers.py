"""`onehub serve --workers 2`: real processes sharing real ports, killed and signalled for real."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

from .processes import request_across_signal, start_serve, stop

ADMIN = ("admin", "admin123")
SPREAD_TIMEOUT_S = 20.0
# Requests whose traces are checked to stay within one worker (each gateway's channel was
# connected once: with two workers, a shared port would send it to the other half the time).
MIN_TRACES = 8
# Two workers start at once on a machine that may be busy: more than one server's allowance.
STARTUP_TIMEOUT_S = 90.0
# What each started supervisor printed once ready, by pid.
_BANNERS: dict[int, str] = {}


@pytest.fixture
def ports() -> tuple[int, int]:
    return free_port(), free_port()


def _serve_two_workers(
    cwd: Path, ports: tuple[int, int], *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`onehub serve --workers 2` on `ports` (gRPC, gateway), started but not waited for."""
    grpc_port, gw_port = ports
    addresses = ("--addr", f"127.0.0.1:{grpc_port}", "--gw-addr", f"127.0.0.1:{gw_port}")
    return start_serve(cwd, "--workers", "2", *addresses, *args, env=env)


def _start_workers(
    cwd: Path, ports: tuple[int, int], *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    process = _serve_two_workers(cwd, ports, *args, env=env)
    url = f"http://127.0.0.1:{ports[1]}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    # The supervisor prints its banner once every worker is ready; it ends with "Press Ctrl-C".
    assert process.stdout is not None
    banner = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            _, err = stop(process)
            raise AssertionError(f"onehub serve exited {process.returncode}:\n{err}")
        banner += line
        if line.startswith("Press Ctrl-C"):
            _BANNERS[process.pid] = banner
            return process, url
    stop(process)
    raise AssertionError("onehub serve --workers 2 did not start")


@pytest.fixture
def workers(tmp_path: Path, ports: tuple[int, int]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process, url = _start_workers(tmp_path, ports)
    try:
        yield process, url
    finally:
        stop(process)


def _answering(url: str, count: int, *, avoid: int | None = None) -> dict[int, str]:
    """pid -> instance id of the workers answering /healthz, each request on a new connection
    (the kernel picks a worker per connection), until `count` distinct ones (none of them
    `avoid`) answered. Every request must succeed."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + SPREAD_TIMEOUT_S
    while time.monotonic() < deadline:
        reply = httpx.get(f"{url}/healthz", timeout=5)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        if body["pid"] != avoid:
            seen[body["pid"]] = body["instance"]
        if len(seen) >= count:
            return seen
    raise AssertionError(f"only these workers answered within {SPREAD_TIMEOUT_S}s: {seen}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_workers_serve_with_their_own_ids_and_metrics_and_sigterm_drains_both(
    tmp_path: Path, ports: tuple[int, int]
) -> None:
    # Telemetry on (exported nowhere): each worker's own /metrics names its instance.
    process, url = _start_workers(tmp_path, ports, env={"OTEL_SDK_DISABLED": "false"})
    try:
        answering = _answering(url, 2)
        assert len(set(answering.values())) == 2
        created = httpx.post(f"{url}/api/v1/topics", json={"topic": {"name": "t"}}, auth=ADMIN)
        assert created.status_code == 200
        targets = json.loads((tmp_path / ".data" / "metrics-targets.json").read_text())
        scraped: set[str] = set()
        for entry in targets:
            (target,) = entry["targets"]
            metrics = httpx.get(f"http://{target}/metrics", timeout=5).text
            instance = entry["labels"]["service_instance_id"]
            assert f'service_instance_id="{instance}"' in metrics
            scraped.add(instance)
        assert scraped == set(answering.values())
        reply = request_across_signal(process, ports[1], signal.SIGTERM)
        assert reply.startswith(b"HTTP/1.1 200")
        _, err = process.communicate(timeout=60)
    finally:
        stop(process)
    assert process.returncode == 0, err
    assert "draining every worker" in err
    assert not any(_alive(pid) for pid in answering)
    assert not (tmp_path / ".data" / "metrics-targets.json").exists()


def test_a_killed_worker_is_restarted_and_requests_keep_succeeding(
    workers: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = workers
    first = _answering(url, 2)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    # Requests succeed throughout: the survivor takes every new connection until the
    # replacement (a new pid, a new instance id) answers too.
    survivor = max(first)
    after = _answering(url, 2, avoid=victim)
    assert survivor in after
    (replacement,) = set(after) - {survivor}
    assert after[replacement] not in first.values()
    for _ in range(20):
        reply = httpx.get(f"{url}/api/v1/topics", auth=ADMIN, timeout=5)
        assert reply.status_code == 200
    _, err = stop(process)
    assert process.returncode == 0, err
    restarts = [line for line in err.splitlines() if "restarting" in line]
    assert restarts == [
        f"onehub: worker {_slot(err, victim)} (pid {victim}) exited with signal 9; restarting it"
    ]


def _slot(stderr: str, pid: int) -> str:
    for line in stderr.splitlines():
        if f"(pid {pid})" in line:
            return line.split("worker ", 1)[1].split(" ", 1)[0]
    raise AssertionError(f"no line names pid {pid}:\n{stderr}")


async def test_two_workers_writing_one_database_lose_nothing(
    tmp_path: Path, ports: tuple[int, int], database_url: str
) -> None:
    process, url = _start_workers(tmp_path, ports, "--db-endpoint", database_url)
    try:
        assert len(_answering(url, 2)) == 2
        async with httpx.AsyncClient(base_url=url, auth=ADMIN, timeout=30) as api:
            topic = await api.post("/api/v1/topics", json={"topic": {"name": "busy"}})
            topic_id = topic.json()["topic"]["base"]["id"]
            statuses = await _post_messages(url, topic_id, writers=2, each=300)
            assert statuses == {200: 600}
            listed = await api.get(
                f"/api/v1/topics/{topic_id}/messages", params={"pagination.page_size": 1000}
            )
        texts = [m["contentBase"]["contentText"] for m in listed.json()["messages"]]
        assert len(texts) == 600
        assert set(texts) == {f"w{w}-{i}" for w in range(2) for i in range(300)}
    finally:
        _, err = stop(process)
    assert process.returncode == 0, err


async def _post_messages(url: str, topic_id: str, *, writers: int, each: int) -> dict[int, int]:
    """`writers` clients, each on 8 connections of its own (so both workers get some), posting
    `each` messages as fast as they are answered; the count of each status."""
    statuses: dict[int, int] = {}

    async def writer(index: int) -> None:
        limits = httpx.Limits(max_connections=8)
        async with httpx.AsyncClient(auth=ADMIN, limits=limits, timeout=60) as client:

            async def post(i: int) -> None:
                reply = await client.post(
                    f"{url}/api/v1/topics/{topic_id}/messages",
                    json={"messages": [{"contentBase": {"contentText": f"w{index}-{i}"}}]},
                )
                statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1

            await asyncio.gather(*(post(i) for i in range(each)))

    await asyncio.gather(*(writer(index) for index in range(writers)))
    return statuses


@pytest.mark.parametrize("taken", ["gateway", "grpc"])
def test_a_port_in_use_is_one_line(tmp_path: Path, ports: tuple[int, int], taken: str) -> None:
    grpc_port, gw_port = ports
    port = gw_port if taken == "gateway" else grpc_port
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        process = _serve_two_workers(tmp_path, ports)
        _, err = process.communicate(timeout=60)
    what = "the REST gateway" if taken == "gateway" else "the gRPC server"
    assert process.returncode == 1
    assert err.splitlines() == [
        f"onehub: cannot start {what} on 127.0.0.1:{port}: Address already in use"
    ]


def test_workers_export_to_one_embedded_collector_and_each_serves_a_request_whole(
    tmp_path: Path, ports: tuple[int, int]
) -> None:
    # Each trace is one worker's: its gateway calls its own gRPC server, never a sibling's
    # through the shared port (where the kernel would pick one).
    process, url = _start_workers(
        tmp_path,
        ports,
        *("--collector", "embedded", "--otlp-grpc-addr", "127.0.0.1:0"),
        *("--otlp-http-addr", "127.0.0.1:0", "--ui-addr", "127.0.0.1:0"),
        env={"OTEL_SDK_DISABLED": "false", "OTEL_BSP_SCHEDULE_DELAY": "100"},
    )
    try:
        instances = set(_answering(url, 2).values())
        # A request per new connection until traces from both workers reached the one viewer.
        viewer = _viewer_url(_BANNERS[process.pid])
        seen: set[str] = set()
        deadline = time.monotonic() + SPREAD_TIMEOUT_S
        traces = 0
        while (seen != instances or traces < MIN_TRACES) and time.monotonic() < deadline:
            reply = httpx.get(f"{url}/api/v1/topics", auth=ADMIN, timeout=5)
            assert reply.status_code == 200
            trace_id = reply.headers["traceresponse"].split("-")[1]
            in_trace = _instances_in_trace(viewer, trace_id)
            assert len(in_trace) == 1, f"trace {trace_id} crossed workers: {in_trace}"
            seen |= in_trace
            traces += 1
        assert seen == instances
    finally:
        _, err = stop(process)
    assert process.returncode == 0, err


def _viewer_url(banner: str) -> str:
    for line in banner.splitlines():
        if line.strip().startswith("trace viewer"):
            return line.split()[-1]
    raise AssertionError(f"no trace viewer in the banner:\n{banner}")


def _instances_in_trace(viewer: str, trace_id: str) -> set[str]:
    """The instance ids of a trace's spans, once the gateway's and the gRPC server's are in."""
    deadline = time.monotonic() + SPREAD_TIMEOUT_S
    while time.monotonic() < deadline:
        reply = httpx.get(f"{viewer}/api/traces/{trace_id}", timeout=5)
        if reply.status_code == 200:
            (trace,) = reply.json()["data"]
            kinds = [
                tag["value"]
                for span in trace["spans"]
                for tag in span["tags"]
                if tag["key"] == "span.kind"
            ]
            if kinds.count("server") < 2 or "client" not in kinds:
                time.sleep(0.1)
                continue
            return {
                tag["value"]
                for process in trace["processes"].values()
                for tag in process["tags"]
                if tag["key"] == "service.instance.id"
            }
        time.sleep(0.1)
    raise AssertionError(f"trace {trace_id} never reached the viewer")

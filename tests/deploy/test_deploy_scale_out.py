"""The scale-out half of the production layout, checked offline by real tools.

- Kubernetes: `kubectl kustomize` renders the base and the cluster overlay; every object is
  validated against the Kubernetes API schemas (`kubernetes-validate --strict`), then the wiring
  between objects is checked (probes, selectors, ports, secrets by reference, autoscaling).
- Jaeger v2 configurations (Badger, OpenSearch) and the Collector's spanmetrics path: structural
  checks that each name refers to something configured and that the pieces meet (ports, paths,
  metric names).
- Prometheus rules: `promtool check rules` and `promtool test rules` on the committed unit tests.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import (
    COLLECTOR_YAML,
    JAEGER_BADGER,
    JAEGER_OPENSEARCH,
    K8S_BASE,
    K8S_CLUSTER,
    NGINX_CONF,
    PROMETHEUS_RULE_TESTS,
    PROMETHEUS_RULES,
    PROMETHEUS_YML,
    require_executable,
)

from onehub.config import parse_serve_args, split_host_port

# The oldest Kubernetes the manifests promise to work on (sidecar-free `preStop: sleep` needs
# 1.30) and the newest schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]


def kubectl() -> str:
    path = shutil.which("kubectl")
    assert path, "kubectl is missing: the machine set-up installs it (see docs/deploy.md)"
    return path


def render(kustomization: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(kustomization)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def validate(manifest: Path, version: str) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "kubernetes-validate"
    return subprocess.run(
        [str(command), "--strict", "--quiet", "-k", version, str(manifest)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def containers(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield doc["metadata"]["name"], container


LAYOUTS = [K8S_BASE, K8S_CLUSTER]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("kustomization", LAYOUTS, ids=["base", "cluster"])
def test_manifests_render_and_match_the_kubernetes_schemas(
    tmp_path: Path, kustomization: Path, version: str
) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(render(kustomization)))
    result = validate(rendered, version)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_validation_rejects_a_misspelt_field(tmp_path: Path) -> None:
    # The check above must be able to fail: a probe with a misspelt key is refused.
    docs = render(K8S_BASE)
    onehub = by_kind(docs, "Deployment")["onehub"]
    probe = onehub["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["periodSecond"] = probe.pop("periodSeconds")
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(docs))
    result = validate(rendered, KUBERNETES_VERSIONS[-1])
    assert result.returncode != 0
    assert "periodSecond" in result.stdout + result.stderr


@pytest.mark.parametrize("kustomization", LAYOUTS, ids=["base", "cluster"])
def test_onehub_pods_are_probed_on_healthz_and_take_secrets_by_reference(
    kustomization: Path,
) -> None:
    docs = render(kustomization)
    assert "Secret" not in {doc["kind"] for doc in docs}, "secrets are the operator's, by name"
    onehub = by_kind(docs, "Deployment")["onehub"]
    (container,) = onehub["spec"]["template"]["spec"]["containers"]
    assert container["args"][0] == "serve"
    # The very parser `onehub serve` uses: an unknown flag would fail here.
    settings = parse_serve_args(container["args"][1:], env={})
    assert settings.auth == "password"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["http"] == split_host_port(settings.gw_addr)[1]
    assert ports["grpc"] == split_host_port(settings.addr)[1]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    env = {item["name"]: item for item in container["env"]}
    assert env["ONEHUB_DB_ENDPOINT"]["valueFrom"]["secretKeyRef"]["name"] == "onehub-database"
    assert "value" not in env["ONEHUB_DB_ENDPOINT"]
    assert "service.instance.id=$(POD_NAME)" in env["OTEL_RESOURCE_ATTRIBUTES"]["value"]
    assert settings.collector.split(":")[0] in by_kind(docs, "Service")
    rolling = onehub["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0, "a rolling update never drops below the replicas asked"
    for name, each in containers(docs):
        assert each["resources"]["requests"], f"{name} has no resource requests"
        assert each["resources"]["limits"]["memory"], f"{name} has no memory limit"
        assert each["securityContext"]["allowPrivilegeEscalation"] is False, name


@pytest.mark.parametrize("kustomization", LAYOUTS, ids=["base", "cluster"])
def test_selectors_and_service_ports_meet_their_pods(kustomization: Path) -> None:
    docs = render(kustomization)
    workloads = {**by_kind(docs, "Deployment"), **by_kind(docs, "StatefulSet")}
    pod_labels = {
        name: workload["spec"]["template"]["metadata"]["labels"]
        for name, workload in workloads.items()
    }
    for name, workload in workloads.items():
        assert workload["spec"]["selector"]["matchLabels"].items() <= pod_labels[name].items()
    for name, service in by_kind(docs, "Service").items():
        selected = [
            workload
            for workload, labels in pod_labels.items()
            if service["spec"]["selector"].items() <= labels.items()
        ]
        assert selected == [name], f"service {name} selects {selected}"
        port_names = {
            port["name"]
            for container in workloads[name]["spec"]["template"]["spec"]["containers"]
            for port in container["ports"]
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, f"{name}: {port}"
    (pdb,) = by_kind(docs, "PodDisruptionBudget").values()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels["onehub"].items()
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["onehub"]
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "onehub")
    assert hpa["spec"]["minReplicas"] > pdb["spec"]["minAvailable"]


def test_the_cluster_overlay_scales_out_on_opensearch() -> None:
    docs = render(K8S_CLUSTER)
    assert {doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"} == {
        "onehub"
    }
    onehub = by_kind(docs, "Deployment")["onehub"]
    assert onehub["spec"]["replicas"] >= 3
    assert by_kind(docs, "HorizontalPodAutoscaler")["onehub"]["spec"]["minReplicas"] >= 3
    image = onehub["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith("/onehub:0.1.0")
    jaeger = by_kind(docs, "StatefulSet")["jaeger"]
    assert jaeger["spec"]["replicas"] >= 2
    assert "volumeClaimTemplates" not in jaeger["spec"], "OpenSearch holds the traces"
    config_maps = by_kind(docs, "ConfigMap")
    (volume,) = jaeger["spec"]["template"]["spec"]["volumes"]
    jaeger_config = yaml.safe_load(config_maps[volume["configMap"]["name"]]["data"]["config.yaml"])
    assert jaeger_config == yaml.safe_load(JAEGER_OPENSEARCH.read_text())
    (container,) = jaeger["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert env["OPENSEARCH_URL"]["valueFrom"]["secretKeyRef"]["name"] == "jaeger-opensearch"
    collector = by_kind(docs, "Deployment")["otel-collector"]
    queue = {v["name"]: v for v in collector["spec"]["template"]["spec"]["volumes"]}["queue"]
    assert set(queue) == {"name", "persistentVolumeClaim"}
    claim = queue["persistentVolumeClaim"]["claimName"]
    assert claim in by_kind(docs, "PersistentVolumeClaim")
    ingress = by_kind(docs, "Ingress")["onehub"]
    paths = {
        path["path"]: path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert paths == {"/jaeger": "jaeger", "/": "onehub"}


def test_the_base_keeps_traces_in_badger_on_a_volume() -> None:
    docs = render(K8S_BASE)
    jaeger = by_kind(docs, "StatefulSet")["jaeger"]
    (claim,) = jaeger["spec"]["volumeClaimTemplates"]
    mounts = {
        m["name"]: m["mountPath"]
        for m in jaeger["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }
    badger = yaml.safe_load(JAEGER_BADGER.read_text())["extensions"]["jaeger_storage"]["backends"]
    (store,) = badger.values()
    assert store["badger"]["ephemeral"] is False
    for directory in store["badger"]["directories"].values():
        assert Path(directory).is_relative_to(mounts[claim["metadata"]["name"]])
    (volume,) = jaeger["spec"]["template"]["spec"]["volumes"]
    config = by_kind(docs, "ConfigMap")[volume["configMap"]["name"]]["data"]["config.yaml"]
    assert yaml.safe_load(config) == yaml.safe_load(JAEGER_BADGER.read_text())


@pytest.mark.parametrize(
    "config_file", [JAEGER_BADGER, JAEGER_OPENSEARCH], ids=["badger", "opensearch"]
)
def test_jaeger_v2_configs_are_whole_and_meet_the_rest(config_file: Path) -> None:
    config = yaml.safe_load(config_file.read_text())
    service = config["service"]
    assert set(service["extensions"]) <= set(config["extensions"])
    for pipeline in service["pipelines"].values():
        for section in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(section, [])) <= set(config[section]), section
    storage = config["extensions"]["jaeger_storage"]
    query = config["extensions"]["jaeger_query"]
    assert query["storage"]["traces"] in storage["backends"]
    assert query["storage"]["metrics"] in storage["metric_backends"]
    assert config["exporters"]["jaeger_storage_exporter"]["trace_storage"] in storage["backends"]
    # nginx sends /jaeger to the UI without rewriting the path.
    assert query["base_path"] == "/jaeger"
    assert "location /jaeger" in NGINX_CONF.read_text()
    # The Monitor tab reads the span metrics from Prometheus, which serves under /prometheus/.
    (metrics,) = storage["metric_backends"].values()
    assert metrics["prometheus"]["endpoint"].endswith("prometheus:9090/prometheus}")
    assert metrics["prometheus"]["normalize_duration"] is True
    # The Collector forwards traces to the port Jaeger's OTLP receiver listens on.
    forward = yaml.safe_load(COLLECTOR_YAML.read_text())["exporters"]["otlp/jaeger"]["endpoint"]
    receiver = config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert forward.rsplit(":", 1)[1] == receiver.rsplit(":", 1)[1]


def test_spanmetrics_reach_prometheus_and_a_jaeger_outage_waits_on_disk() -> None:
    config = yaml.safe_load(COLLECTOR_YAML.read_text())
    pipelines = config["service"]["pipelines"]
    assert "spanmetrics" in pipelines["traces"]["exporters"]
    assert pipelines["metrics/spanmetrics"]["receivers"] == ["spanmetrics"]
    (exporter,) = pipelines["metrics/spanmetrics"]["exporters"]
    # No namespace: Jaeger's Monitor tab and the rules read traces_span_metrics_*.
    assert "namespace" not in config["exporters"][exporter]
    assert config["connectors"]["spanmetrics"]["histogram"]["unit"] == "ms"
    port = config["exporters"][exporter]["endpoint"].rsplit(":", 1)[1]
    scrape = yaml.safe_load(PROMETHEUS_YML.read_text())["scrape_configs"]
    targets = [
        t for job in scrape for group in job.get("static_configs", []) for t in group["targets"]
    ]
    assert f"otel-collector:{port}" in targets
    for name in ("traces", "metrics", "logs"):
        assert pipelines[name]["processors"][0] == "memory_limiter", name
    queue = config["exporters"]["otlp/jaeger"]["sending_queue"]
    assert queue["enabled"] is True
    assert queue["storage"] in config["extensions"]
    assert queue["storage"] in config["service"]["extensions"]
    assert queue["storage"].startswith("file_storage")


def test_prometheus_rules_are_valid_and_their_unit_tests_pass() -> None:
    promtool = require_executable("promtool")
    rules = sorted(PROMETHEUS_RULES.glob("*.yml"))
    assert rules
    checked = subprocess.run(
        [promtool, "check", "rules", *map(str, rules)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", *map(str, sorted(PROMETHEUS_RULE_TESTS.glob("*.yml")))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
    names = {
        rule.get("alert")
        for group in yaml.safe_load(rules[0].read_text())["groups"]
        for rule in group["rules"]
    }
    assert {"OneHubHighErrorRatio", "OneHubSlowP99"} <= names


def test_the_rule_unit_tests_catch_a_changed_threshold(tmp_path: Path) -> None:
    promtool = require_executable("promtool")
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for rules in PROMETHEUS_RULES.glob("*.yml"):
        text = rules.read_text().replace(
            "onehub:server_error_ratio:rate5m > 0.05", "onehub:server_error_ratio:rate5m > 0.5"
        )
        (tmp_path / "rules" / rules.name).write_text(text)
    for tests in PROMETHEUS_RULE_TESTS.glob("*.yml"):
        shutil.copy(tests, tmp_path / "tests" / tests.name)
    tested = subprocess.run(
        [promtool, "test", "rules", *map(str, sorted((tmp_path / "tests").glob("*.yml")))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tested.returncode != 0
    assert "OneHubHighErrorRatio" in tested.stdout + tested.stderr

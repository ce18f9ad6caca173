"""The collector YAML: the built-in default, the supported subset, and one clear line for
every configuration that cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

from onehub_collector import ConfigError, default_pipeline_config, load_config_file, parse_config
from onehub_collector.config import (
    AttributesConfig,
    BatchConfig,
    ClientTls,
    MemoryLimiterConfig,
    OtlpExporterConfig,
    StoreExporterConfig,
)


def test_default_config_listens_on_loopback_and_stores_every_signal() -> None:
    config = default_pipeline_config()
    assert config.receiver.grpc_endpoint == "127.0.0.1:4317"
    assert config.receiver.http_endpoint == "127.0.0.1:4318"
    assert {spec.signal for spec in config.pipelines} == {"traces", "metrics", "logs"}
    assert all(spec.exporters == ("onehub_store",) for spec in config.pipelines)
    store = config.exporters["onehub_store"]
    assert isinstance(store, StoreExporterConfig)
    assert store.retention.max_age_s == 168 * 3600
    assert store.retention.max_size_bytes == 1024 * 1024 * 1024


def test_full_subset_parses() -> None:
    config = parse_config(
        """
receivers:
  otlp/in:
    protocols:
      grpc: {endpoint: "0.0.0.0:14317"}
processors:
  batch/fast: {send_batch_size: 100, timeout: 1.5s}
  memory_limiter: {limit_mib: 8, check_interval: 1s}
  attributes/env:
    actions:
      - {key: env, action: upsert, value: prod}
      - {key: copy, action: insert, from_attribute: env}
      - {key: secret, action: delete}
exporters:
  jaeger_store: {retention: {max_age: 1h, max_size_mib: 5}}
  otlp/next: {endpoint: "collector:4317", tls: {insecure: true}, sending_queue: {queue_size: 7}}
  debug: {verbosity: detailed}
service:
  pipelines:
    traces/main:
      receivers: [otlp/in]
      processors: [memory_limiter, attributes/env, batch/fast]
      exporters: [jaeger_store, otlp/next, debug]
"""
    )
    assert config.receiver.http_endpoint is None
    assert config.receiver.grpc_endpoint == "0.0.0.0:14317"
    assert config.processors["batch/fast"] == BatchConfig(100, 1.5)
    assert config.processors["memory_limiter"] == MemoryLimiterConfig(8 * 1024 * 1024)
    attributes = config.processors["attributes/env"]
    assert isinstance(attributes, AttributesConfig)
    assert [a.action for a in attributes.actions] == ["upsert", "insert", "delete"]
    assert config.exporters["otlp/next"] == OtlpExporterConfig("collector:4317", queue_size=7)
    (pipeline,) = config.pipelines
    assert (pipeline.name, pipeline.signal) == ("traces/main", "traces")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("receivers: [", "not valid YAML at line 1"),
        (
            "receivers: {zipkin: {}}\nservice: {pipelines: {traces: {exporters: [x]}}}",
            "receivers: exactly one receiver of type otlp is supported",
        ),
        (
            "receivers: {otlp: {protocols: {grpc: {}}}}\nprocessors: {batch: {timeout: soon}}\n"
            "exporters: {debug: {}}\nservice: {pipelines: {traces: {exporters: [debug]}}}",
            "processors.batch.timeout: expected a duration like 200ms or 5s, got 'soon'",
        ),
        (
            "receivers: {otlp: {protocols: {grpc: {}}}}\nexporters: {kafka: {}}\n"
            "service: {pipelines: {traces: {exporters: [kafka]}}}",
            "exporters.kafka: unknown exporter type 'kafka'",
        ),
        (
            "receivers: {otlp: {protocols: {grpc: {}}}}\nexporters: {debug: {}}\n"
            "service: {pipelines: {traces: {exporters: [onehub_store]}}}",
            "service.pipelines.traces.exporters: 'onehub_store' is not defined under exporters",
        ),
        (
            "receivers: {otlp: {protocols: {grpc: {}}}}\n"
            "exporters: {otlp: {endpoint: 'x:1', tls: {insecure: true, ca_file: ca.pem}}}\n"
            "service: {pipelines: {traces: {exporters: [otlp]}}}",
            "exporters.otlp.tls.ca_file: has no effect with insecure: true",
        ),
        (
            "receivers: {otlp: {protocols: {grpc: {}}}}\n"
            "exporters: {otlp: {endpoint: 'x:1', tls: {insecure: 'yes'}}}\n"
            "service: {pipelines: {traces: {exporters: [otlp]}}}",
            "exporters.otlp.tls.insecure: expected true or false, got 'yes'",
        ),
        (
            "receivers: {otlp: {protocols: {grpc: {}}}}\n"
            "exporters: {otlp: {endpoint: 'x:1', tls: {insecure_skip_verify: true}}}\n"
            "service: {pipelines: {traces: {exporters: [otlp]}}}",
            "exporters.otlp.tls.insecure_skip_verify: unknown key",
        ),
        (
            "receivers: {otlp: {protocols: {grpc: {}}}}\n"
            "exporters: {otlp: {endpoint: 'x:1', tls: {ca_file: /nonexistent/ca.pem}}}\n"
            "service: {pipelines: {traces: {exporters: [otlp]}}}",
            "exporters.otlp.tls.ca_file: cannot read '/nonexistent/ca.pem'",
        ),
        (
            "receivers: {otlp: {protocols: {grpc: {}}}}\nexporters: {debug: {}}\n"
            "service: {pipelines: {spans: {exporters: [debug]}}}",
            "service.pipelines.spans: a pipeline is named traces, metrics or logs",
        ),
        (
            "receivers: {otlp: {protocols: {grpc: {}}}}\nprocessors: "
            "{attributes: {actions: [{key: k, action: rename}]}}\nexporters: {debug: {}}\n"
            "service: {pipelines: {traces: {exporters: [debug]}}}",
            "processors.attributes.actions[0].action: expected one of delete, insert, update",
        ),
        (
            "receivers: {otlp: {protocols: {grpc: {endpoint: 'x:1', tls: {}}}}}\n"
            "exporters: {debug: {}}\nservice: {pipelines: {traces: {exporters: [debug]}}}",
            "receivers.otlp.protocols.grpc.tls.cert_file: required to serve TLS",
        ),
        (
            "receivers: {otlp: {protocols: {http: {tls: {insecure: true}}}}}\n"
            "exporters: {debug: {}}\nservice: {pipelines: {traces: {exporters: [debug]}}}",
            "receivers.otlp.protocols.http.tls.insecure: unknown key",
        ),
    ],
)
def test_config_errors_are_one_clear_line(yaml_text: str, message: str) -> None:
    with pytest.raises(ConfigError) as failure:
        parse_config(yaml_text, "my.yaml")
    text = str(failure.value)
    assert "\n" not in text
    assert text.startswith("my.yaml: ")
    assert message in text


def test_missing_config_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read collector config .*nope\.yaml"):
        load_config_file(tmp_path / "nope.yaml")


def _forwarding(tls_yaml: str) -> str:
    return (
        "receivers: {otlp: {protocols: {grpc: {}}}}\n"
        f"exporters: {{otlp/next: {{endpoint: 'https://next:4317', tls: {tls_yaml}}}}}\n"
        "service: {pipelines: {traces: {exporters: [otlp/next]}}}"
    )


def test_forwarding_is_tls_unless_insecure_as_in_the_collector() -> None:
    secure = parse_config(_forwarding("{}")).exporters["otlp/next"]
    plain = parse_config(_forwarding("{insecure: true}")).exporters["otlp/next"]
    assert secure == OtlpExporterConfig("next:4317", tls=ClientTls())
    assert plain == OtlpExporterConfig("next:4317", tls=None)


def test_forwarding_tls_files_are_read_and_checked(tmp_path: Path) -> None:
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    (tmp_path / "ca.pem").write_bytes(pem)
    (tmp_path / "client.pem").write_bytes(pem)
    (tmp_path / "not-pem.txt").write_text("hello")
    ca, client, junk = (tmp_path / name for name in ("ca.pem", "client.pem", "not-pem.txt"))

    config = parse_config(_forwarding(f"{{ca_file: '{ca}', server_name_override: next.internal}}"))
    assert config.exporters["otlp/next"] == OtlpExporterConfig(
        "next:4317", tls=ClientTls(ca_pem=pem, server_name_override="next.internal")
    )
    with pytest.raises(ConfigError, match=r"tls\.key_file: cert_file and key_file go together"):
        parse_config(_forwarding(f"{{cert_file: '{client}'}}"))
    with pytest.raises(ConfigError, match=r"tls\.ca_file: .*not-pem\.txt' is not a PEM file"):
        parse_config(_forwarding(f"{{ca_file: '{junk}'}}"))

"""Reading the standard OTEL_* variables (and --collector) into a TelemetryConfig."""

from __future__ import annotations

import pytest

from onehub.telemetry import TelemetryConfigError, telemetry_config_from_env
from onehub.telemetry.config import BatchSettings


def test_defaults_export_otlp_grpc_to_the_embedded_collector() -> None:
    config = telemetry_config_from_env({}, collector=None)

    assert config.service_name is None
    assert not config.disabled
    assert config.otlp_endpoint == "http://127.0.0.1:4317"
    assert config.otlp_protocol == "grpc"
    assert config.traces_exporters == config.metrics_exporters == config.logs_exporters == ("otlp",)
    assert config.sampler == "parentbased_always_on"
    assert config.batch == BatchSettings()


def test_service_name_and_resource_attributes() -> None:
    config = telemetry_config_from_env(
        {
            "OTEL_SERVICE_NAME": "hub-a",
            "OTEL_RESOURCE_ATTRIBUTES": "service.version=0.0.1, deployment.environment=dev%20box",
        },
        collector=None,
    )

    assert config.service_name == "hub-a"
    assert config.resource_attributes == {
        "service.version": "0.0.1",
        "deployment.environment": "dev box",
    }


def test_endpoint_and_protocol() -> None:
    config = telemetry_config_from_env(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel.example:4318/",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20t0ken",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "1500",
            "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        },
        collector=None,
    )

    assert config.otlp_endpoint == "http://otel.example:4318"
    assert config.otlp_protocol == "http/protobuf"
    assert config.otlp_headers == {"authorization": "Bearer t0ken"}
    assert "t0ken" not in repr(config)
    assert config.otlp_timeout_ms == 1500
    assert config.otlp_gzip


def test_http_protocol_defaults_to_port_4318() -> None:
    config = telemetry_config_from_env(
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, collector=None
    )

    assert config.otlp_endpoint == "http://127.0.0.1:4318"


def test_the_originals_collector_addr_is_an_otlp_grpc_address() -> None:
    config = telemetry_config_from_env({"OTEL_COLLECTOR_ADDR": "jaeger:4317"}, collector=None)

    assert (config.otlp_endpoint, config.otlp_protocol) == ("http://jaeger:4317", "grpc")


def test_the_standard_endpoint_wins_over_collector_addr() -> None:
    config = telemetry_config_from_env(
        {"OTEL_COLLECTOR_ADDR": "old:4317", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://new:4317"},
        collector=None,
    )

    assert config.otlp_endpoint == "http://new:4317"


@pytest.mark.parametrize(
    ("collector", "endpoint"),
    [("embedded", "http://127.0.0.1:14317"), ("elsewhere:4317", "http://elsewhere:4317")],
)
def test_the_collector_flag_wins(collector: str, endpoint: str) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_COLLECTOR_ADDR": "legacy:4317",
    }
    config = telemetry_config_from_env(
        env, collector=collector, embedded_collector="127.0.0.1:14317"
    )

    assert (config.otlp_endpoint, config.otlp_protocol) == (endpoint, "grpc")


def test_collector_none_turns_off_otlp_but_keeps_console() -> None:
    config = telemetry_config_from_env({"OTEL_TRACES_EXPORTER": "console,otlp"}, collector="none")

    assert config.traces_exporters == ("console",)
    assert config.metrics_exporters == config.logs_exporters == ()
    assert not config.exports_otlp


def test_exporters_per_signal() -> None:
    config = telemetry_config_from_env(
        {
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "otlp,console",
        },
        collector=None,
    )

    assert config.traces_exporters == ("console",)
    assert config.metrics_exporters == ()
    assert config.logs_exporters == ("otlp", "console")


def test_sampler_and_ratio() -> None:
    config = telemetry_config_from_env(
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
        collector=None,
    )

    assert (config.sampler, config.sampler_ratio) == ("parentbased_traceidratio", 0.25)


def test_batch_span_processor_settings() -> None:
    config = telemetry_config_from_env(
        {
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_BSP_MAX_QUEUE_SIZE": "100",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "10",
            "OTEL_BSP_EXPORT_TIMEOUT": "700",
        },
        collector=None,
    )

    assert config.batch == BatchSettings(
        schedule_delay_ms=200, max_queue_size=100, max_export_batch_size=10, export_timeout_ms=700
    )


@pytest.mark.parametrize("value", ["true", "TRUE", " true "])
def test_sdk_disabled(value: str) -> None:
    assert telemetry_config_from_env({"OTEL_SDK_DISABLED": value}, collector=None).disabled


@pytest.mark.parametrize(
    ("env", "collector", "named"),
    [
        ({"OTEL_SDK_DISABLED": "yes"}, None, "OTEL_SDK_DISABLED"),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, None, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, None, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://collector:4317"},
            None,
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            },
            None,
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
        ({"OTEL_COLLECTOR_ADDR": "nohost"}, None, "OTEL_COLLECTOR_ADDR"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, None, "OTEL_TRACES_SAMPLER"),
        ({"OTEL_TRACES_SAMPLER_ARG": "1.5"}, None, "OTEL_TRACES_SAMPLER_ARG"),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "-3"}, None, "OTEL_BSP_MAX_QUEUE_SIZE"),
        ({"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "5000"}, None, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "a=1,oops"}, None, "resource"),
        ({}, "localhost", "--collector"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    env: dict[str, str], collector: str | None, named: str
) -> None:
    with pytest.raises(TelemetryConfigError, match=named):
        telemetry_config_from_env(env, collector=collector)


def test_bad_headers_do_not_echo_their_values() -> None:
    with pytest.raises(TelemetryConfigError) as raised:
        telemetry_config_from_env({"OTEL_EXPORTER_OTLP_HEADERS": "s3cret-token"}, collector=None)

    assert "s3cret" not in str(raised.value)

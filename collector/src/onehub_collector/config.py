"""Collector configuration as typed values. The YAML that produces them is parsed by
`onehub_collector.config_yaml` (see its docstring for the supported subset)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from onehub_collector.store.retention import Retention

Signal = Literal["traces", "metrics", "logs"]
SIGNALS: tuple[Signal, ...] = ("traces", "metrics", "logs")
STORE_EXPORTER_TYPES = frozenset({"onehub_store", "jaeger_store"})
ATTRIBUTE_ACTIONS = frozenset({"insert", "update", "upsert", "delete"})
# Even a pipeline without memory_limiter is bounded: never unbounded memory.
DEFAULT_LIMIT_BYTES = 64 * 1024 * 1024


class CollectorStartError(Exception):
    """The collector cannot start (an address in use or invalid, an unusable data directory or
    configuration); str() is one line naming the culprit."""


class ConfigError(CollectorStartError):
    """A configuration that cannot run; str() is one line for the user."""


@dataclass(frozen=True)
class ServerTls:
    """TLS on a receiver: its certificate and key, and the CA that client certificates must
    chain to (mutual TLS) when given. Paths; the files were checked when the configuration was
    read."""

    cert_file: str
    key_file: str
    client_ca_file: str | None = None


@dataclass(frozen=True)
class ReceiverConfig:
    grpc_endpoint: str | None = "127.0.0.1:4317"
    http_endpoint: str | None = "127.0.0.1:4318"
    grpc_tls: ServerTls | None = None  # None: plaintext
    http_tls: ServerTls | None = None
    grpc_max_message_bytes: int = 16 * 1024 * 1024
    http_max_body_bytes: int = 16 * 1024 * 1024
    cors_allowed_origins: tuple[str, ...] = ()
    cors_allowed_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchConfig:
    send_batch_size: int = 8192
    timeout_s: float = 0.2


@dataclass(frozen=True)
class MemoryLimiterConfig:
    limit_bytes: int = DEFAULT_LIMIT_BYTES


@dataclass(frozen=True)
class AttributeAction:
    key: str
    action: str
    value: Any = None
    from_attribute: str | None = None


@dataclass(frozen=True)
class AttributesConfig:
    actions: tuple[AttributeAction, ...] = ()


ProcessorConfig = BatchConfig | MemoryLimiterConfig | AttributesConfig


@dataclass(frozen=True)
class StoreExporterConfig:
    retention: Retention = field(default_factory=Retention)
    # True: a request is acknowledged once the transaction holding it is committed (it then
    # survives the collector being killed). False: once admitted to the pipeline (faster with
    # few concurrent senders; a crash loses what was acknowledged but not yet written).
    durable_ack: bool = True


@dataclass(frozen=True)
class ClientTls:
    """TLS towards the next collector. The PEM files are read when the configuration is."""

    ca_pem: bytes | None = None  # None: the system's trusted roots
    cert_pem: bytes | None = None  # with key_pem: a client certificate (mutual TLS)
    key_pem: bytes | None = field(default=None, repr=False)
    server_name_override: str | None = None


@dataclass(frozen=True)
class OtlpExporterConfig:
    endpoint: str
    tls: ClientTls | None = None  # None: plaintext (`tls: {insecure: true}`)
    timeout_s: float = 10.0
    queue_size: int = 100


@dataclass(frozen=True)
class DebugExporterConfig:
    verbosity: Literal["basic", "normal", "detailed"] = "basic"


ExporterConfig = StoreExporterConfig | OtlpExporterConfig | DebugExporterConfig


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    signal: Signal
    processors: tuple[str, ...]
    exporters: tuple[str, ...]


@dataclass(frozen=True)
class PipelineConfig:
    receiver: ReceiverConfig
    processors: dict[str, ProcessorConfig]
    exporters: dict[str, ExporterConfig]
    pipelines: tuple[PipelineSpec, ...]


@dataclass(frozen=True)
class CollectorConfig:
    """Everything `start_collector` needs. Addresses are HOST:PORT (port 0 picks a free one);
    None turns that server off. `pipeline` None means the built-in default configuration."""

    otlp_grpc_addr: str | None = "127.0.0.1:4317"
    otlp_http_addr: str | None = "127.0.0.1:4318"
    ui_addr: str | None = "127.0.0.1:16686"
    data_dir: Path = Path(".data/collector")
    pipeline: PipelineConfig | None = None
    # How long stop() waits for queued telemetry to be written or forwarded.
    shutdown_grace_s: float = 10.0
    # Host names the HTTP servers answer besides loopback ones (see host_check.py).
    allowed_hosts: tuple[str, ...] = ()

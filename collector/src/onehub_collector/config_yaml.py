"""Parse the collector configuration: a YAML of the OpenTelemetry Collector's own shape,
the subset below.

```yaml
receivers:
  otlp:                      # one otlp receiver (also `otlp/NAME`)
    protocols:
      grpc: {endpoint: HOST:PORT, max_recv_msg_size_mib: 16}
      http: {endpoint: HOST:PORT, max_request_body_size: BYTES,
             cors: {allowed_origins: [GLOB...], allowed_headers: [NAME...]}}
      # either protocol may add tls: {cert_file: PEM, key_file: PEM, client_ca_file: PEM};
      # with client_ca_file, clients must present a certificate it signed (mutual TLS)
processors:
  batch: {send_batch_size: 2048, timeout: 200ms}
  memory_limiter: {limit_mib: 64}          # bytes accepted but not yet exported
  attributes: {actions: [{key: K, action: insert|update|upsert|delete,
                          value: V | from_attribute: K2}]}   # span, log and point attributes
exporters:
  onehub_store: {retention: {max_age: 168h, max_size_mib: 1024},    # alias: jaeger_store
                 durable_ack: true}   # answer senders once their spans are committed
  otlp: {endpoint: HOST:PORT, timeout: 10s, sending_queue: {queue_size: 100},
         tls: {insecure: true}}   # plaintext. Without `tls`, TLS with the system's roots (as
                                  # the Collector); or tls: {ca_file: PEM, cert_file: PEM,
                                  # key_file: PEM, server_name_override: NAME} (mutual TLS)
  debug: {verbosity: basic|normal|detailed}
service:
  pipelines:
    traces|metrics|logs[/NAME]: {receivers: [...], processors: [...], exporters: [...]}
```
Component names are `type` or `type/name`. Anything else is a ConfigError whose message is one
line naming the file and the offending key.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import yaml

from onehub_collector.config import (
    ATTRIBUTE_ACTIONS,
    SIGNALS,
    STORE_EXPORTER_TYPES,
    AttributeAction,
    AttributesConfig,
    BatchConfig,
    ClientTls,
    ConfigError,
    DebugExporterConfig,
    ExporterConfig,
    MemoryLimiterConfig,
    OtlpExporterConfig,
    PipelineConfig,
    PipelineSpec,
    ProcessorConfig,
    ReceiverConfig,
    ServerTls,
    Signal,
    StoreExporterConfig,
)
from onehub_collector.durations import parse_duration_s
from onehub_collector.store.retention import Retention


def parse_config(text: str, source: str = "config") -> PipelineConfig:
    """Parse a collector YAML; ConfigError (one line, naming `source`) when it cannot run."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}: not valid YAML{where}") from exc
    try:
        return _Parser(source).parse(document)
    except _InvalidError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config_file(path: Path) -> PipelineConfig:
    """Read and parse a config file; ConfigError when it is missing or invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read collector config {path}: {exc.strerror}") from None
    return parse_config(text, str(path))


def default_pipeline_config() -> PipelineConfig:
    """The built-in configuration (default_config.yaml next to this module)."""
    text = importlib.resources.files("onehub_collector").joinpath("default_config.yaml")
    return parse_config(text.read_text(encoding="utf-8"), "built-in collector config")


class _InvalidError(Exception):
    pass


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _InvalidError(f"{where}: expected a mapping")
    return {str(key): item for key, item in value.items()}


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _InvalidError(f"{where}: expected a list of component names")
    return tuple(value)


def _integer(value: Any, where: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _InvalidError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value


def _duration(value: Any, where: str) -> float:
    try:
        return parse_duration_s(str(value))
    except ValueError:
        raise _InvalidError(
            f"{where}: expected a duration like 200ms or 5s, got {value!r}"
        ) from None


def _only(section: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise _InvalidError(
            f"{where}.{unknown[0]}: unknown key (supported: {', '.join(sorted(allowed))})"
        )


_CLIENT_TLS_KEYS = {"insecure", "ca_file", "cert_file", "key_file", "server_name_override"}


def _client_tls(tls: dict[str, Any], where: str) -> ClientTls | None:
    """The Collector's client TLS settings: TLS unless `insecure: true`, verified against
    `ca_file` (or the system's roots), with a client certificate when both files are given."""
    _only(tls, _CLIENT_TLS_KEYS, where)
    insecure = tls.get("insecure", False)
    if not isinstance(insecure, bool):
        raise _InvalidError(f"{where}.insecure: expected true or false, got {insecure!r}")
    if insecure:
        extra = sorted(set(tls) - {"insecure"})
        if extra:
            raise _InvalidError(f"{where}.{extra[0]}: has no effect with insecure: true")
        return None
    cert = _pem_file(tls.get("cert_file"), f"{where}.cert_file")
    key = _pem_file(tls.get("key_file"), f"{where}.key_file")
    if (cert is None) != (key is None):
        missing = "key_file" if key is None else "cert_file"
        raise _InvalidError(f"{where}.{missing}: cert_file and key_file go together")
    name = tls.get("server_name_override")
    if name is not None and (not isinstance(name, str) or not name):
        raise _InvalidError(f"{where}.server_name_override: expected a host name")
    return ClientTls(_pem_file(tls.get("ca_file"), f"{where}.ca_file"), cert, key, name)


def _server_tls(value: Any, where: str) -> ServerTls | None:
    """A receiver's TLS settings (absent: plaintext); every file must be a readable PEM."""
    if value is None:
        return None
    tls = _mapping(value, where)
    _only(tls, {"cert_file", "key_file", "client_ca_file"}, where)
    for key in ("cert_file", "key_file"):
        if tls.get(key) is None:
            raise _InvalidError(f"{where}.{key}: required to serve TLS")
        _pem_file(tls[key], f"{where}.{key}")
    client_ca = tls.get("client_ca_file")
    _pem_file(client_ca, f"{where}.client_ca_file")
    return ServerTls(tls["cert_file"], tls["key_file"], client_ca)


def _pem_file(value: Any, where: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _InvalidError(f"{where}: expected a file path")
    try:
        data = Path(value).read_bytes()
    except OSError as exc:
        raise _InvalidError(f"{where}: cannot read {value!r} ({exc.strerror})") from None
    if b"-----BEGIN " not in data:
        raise _InvalidError(f"{where}: {value!r} is not a PEM file")
    return data


def _type_of(name: str) -> str:
    return name.split("/", 1)[0]


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def parse(self, document: Any) -> PipelineConfig:
        root = _mapping(document, "top level")
        _only(root, {"receivers", "processors", "exporters", "service", "extensions"}, "top level")
        receivers = _mapping(root.get("receivers"), "receivers")
        receiver = self._receiver(receivers)
        processors = {
            name: self._processor(name, _mapping(body, f"processors.{name}"))
            for name, body in _mapping(root.get("processors"), "processors").items()
        }
        exporters = {
            name: self._exporter(name, _mapping(body, f"exporters.{name}"))
            for name, body in _mapping(root.get("exporters"), "exporters").items()
        }
        service = _mapping(root.get("service"), "service")
        pipelines_section = _mapping(service.get("pipelines"), "service.pipelines")
        if not pipelines_section:
            raise _InvalidError("service.pipelines: at least one pipeline is required")
        pipelines = tuple(
            self._pipeline(
                name,
                _mapping(body, f"service.pipelines.{name}"),
                set(receivers),
                processors,
                exporters,
            )
            for name, body in pipelines_section.items()
        )
        return PipelineConfig(receiver, processors, exporters, pipelines)

    def _receiver(self, receivers: dict[str, Any]) -> ReceiverConfig:
        names = list(receivers)
        if len(names) != 1 or _type_of(names[0]) != "otlp":
            raise _InvalidError("receivers: exactly one receiver of type otlp is supported")
        where = f"receivers.{names[0]}"
        body = _mapping(receivers[names[0]], where)
        _only(body, {"protocols"}, where)
        protocols = _mapping(body.get("protocols"), f"{where}.protocols")
        _only(protocols, {"grpc", "http"}, f"{where}.protocols")
        if not protocols:
            raise _InvalidError(f"{where}.protocols: enable grpc, http or both")
        grpc = _mapping(protocols.get("grpc"), f"{where}.protocols.grpc")
        http = _mapping(protocols.get("http"), f"{where}.protocols.http")
        _only(grpc, {"endpoint", "max_recv_msg_size_mib", "tls"}, f"{where}.protocols.grpc")
        _only(http, {"endpoint", "max_request_body_size", "cors", "tls"}, f"{where}.protocols.http")
        cors = _mapping(http.get("cors"), f"{where}.protocols.http.cors")
        _only(
            cors, {"allowed_origins", "allowed_headers", "max_age"}, f"{where}.protocols.http.cors"
        )
        defaults = ReceiverConfig()
        return ReceiverConfig(
            grpc_endpoint=str(grpc.get("endpoint", defaults.grpc_endpoint))
            if "grpc" in protocols
            else None,
            http_endpoint=str(http.get("endpoint", defaults.http_endpoint))
            if "http" in protocols
            else None,
            grpc_tls=_server_tls(grpc.get("tls"), f"{where}.protocols.grpc.tls"),
            http_tls=_server_tls(http.get("tls"), f"{where}.protocols.http.tls"),
            grpc_max_message_bytes=_integer(
                grpc.get("max_recv_msg_size_mib", 16),
                f"{where}.protocols.grpc.max_recv_msg_size_mib",
                minimum=1,
            )
            * 1024
            * 1024,
            http_max_body_bytes=_integer(
                http.get("max_request_body_size", defaults.http_max_body_bytes),
                f"{where}.protocols.http.max_request_body_size",
                minimum=1,
            ),
            cors_allowed_origins=_names(
                cors.get("allowed_origins"), f"{where}.protocols.http.cors.allowed_origins"
            ),
            cors_allowed_headers=_names(
                cors.get("allowed_headers"), f"{where}.protocols.http.cors.allowed_headers"
            ),
        )

    def _processor(self, name: str, body: dict[str, Any]) -> ProcessorConfig:
        kind, where = _type_of(name), f"processors.{name}"
        if kind == "batch":
            _only(body, {"send_batch_size", "timeout", "send_batch_max_size"}, where)
            return BatchConfig(
                send_batch_size=_integer(
                    body.get("send_batch_size", 8192), f"{where}.send_batch_size", minimum=1
                ),
                timeout_s=_duration(body.get("timeout", "200ms"), f"{where}.timeout"),
            )
        if kind == "memory_limiter":
            _only(body, {"limit_mib", "check_interval", "spike_limit_mib"}, where)
            limit = _integer(body.get("limit_mib", 64), f"{where}.limit_mib", minimum=1)
            return MemoryLimiterConfig(limit_bytes=limit * 1024 * 1024)
        if kind == "attributes":
            _only(body, {"actions"}, where)
            actions = body.get("actions")
            if not isinstance(actions, list) or not actions:
                raise _InvalidError(f"{where}.actions: expected a non-empty list of actions")
            return AttributesConfig(
                tuple(
                    self._action(_mapping(item, f"{where}.actions[{i}]"), f"{where}.actions[{i}]")
                    for i, item in enumerate(actions)
                )
            )
        raise _InvalidError(
            f"{where}: unknown processor type {kind!r}"
            " (supported: attributes, batch, memory_limiter)"
        )

    def _action(self, body: dict[str, Any], where: str) -> AttributeAction:
        _only(body, {"key", "action", "value", "from_attribute"}, where)
        key, action = body.get("key"), body.get("action")
        if not isinstance(key, str) or not key:
            raise _InvalidError(f"{where}.key: required")
        if action not in ATTRIBUTE_ACTIONS:
            raise _InvalidError(
                f"{where}.action: expected one of"
                f" {', '.join(sorted(ATTRIBUTE_ACTIONS))}, got {action!r}"
            )
        source = body.get("from_attribute")
        if action != "delete" and "value" not in body and source is None:
            raise _InvalidError(f"{where}: {action} needs value or from_attribute")
        return AttributeAction(
            key, action, body.get("value"), None if source is None else str(source)
        )

    def _exporter(self, name: str, body: dict[str, Any]) -> ExporterConfig:
        kind, where = _type_of(name), f"exporters.{name}"
        if kind in STORE_EXPORTER_TYPES:
            _only(body, {"retention", "durable_ack"}, where)
            durable_ack = body.get("durable_ack", True)
            if not isinstance(durable_ack, bool):
                raise _InvalidError(f"{where}.durable_ack: expected true or false")
            retention = _mapping(body.get("retention"), f"{where}.retention")
            _only(retention, {"max_age", "max_size_mib", "check_interval"}, f"{where}.retention")
            default = Retention()
            max_age = retention.get("max_age")
            size = retention.get("max_size_mib")
            return StoreExporterConfig(
                Retention(
                    max_age_s=default.max_age_s
                    if max_age is None
                    else _duration(max_age, f"{where}.retention.max_age"),
                    max_size_bytes=default.max_size_bytes
                    if size is None
                    else _integer(size, f"{where}.retention.max_size_mib", minimum=1) * 1024 * 1024,
                    check_interval_s=_duration(
                        retention.get("check_interval", "10s"), f"{where}.retention.check_interval"
                    ),
                ),
                durable_ack=durable_ack,
            )
        if kind == "otlp":
            _only(body, {"endpoint", "tls", "timeout", "sending_queue", "compression"}, where)
            endpoint = body.get("endpoint")
            if not isinstance(endpoint, str) or not endpoint:
                raise _InvalidError(
                    f"{where}.endpoint: required (host:port of an OTLP/gRPC collector)"
                )
            queue = _mapping(body.get("sending_queue"), f"{where}.sending_queue")
            return OtlpExporterConfig(
                endpoint=endpoint.removeprefix("http://").removeprefix("https://"),
                tls=_client_tls(_mapping(body.get("tls"), f"{where}.tls"), f"{where}.tls"),
                timeout_s=_duration(body.get("timeout", "10s"), f"{where}.timeout"),
                queue_size=_integer(
                    queue.get("queue_size", 100), f"{where}.sending_queue.queue_size", minimum=1
                ),
            )
        if kind == "debug":
            _only(body, {"verbosity"}, where)
            verbosity = body.get("verbosity", "basic")
            if verbosity not in ("basic", "normal", "detailed"):
                raise _InvalidError(f"{where}.verbosity: expected basic, normal or detailed")
            return DebugExporterConfig(verbosity)
        raise _InvalidError(
            f"{where}: unknown exporter type {kind!r} (supported: onehub_store, otlp, debug)"
        )

    def _pipeline(
        self,
        name: str,
        body: dict[str, Any],
        receivers: set[str],
        processors: dict[str, ProcessorConfig],
        exporters: dict[str, ExporterConfig],
    ) -> PipelineSpec:
        where = f"service.pipelines.{name}"
        signal = _type_of(name)
        if signal not in SIGNALS:
            raise _InvalidError(
                f"{where}: a pipeline is named traces, metrics or logs (optionally /NAME)"
            )
        _only(body, {"receivers", "processors", "exporters"}, where)
        for receiver in _names(body.get("receivers"), f"{where}.receivers"):
            if receiver not in receivers:
                raise _InvalidError(
                    f"{where}.receivers: {receiver!r} is not defined under receivers"
                )
        used_processors = _names(body.get("processors"), f"{where}.processors")
        for processor in used_processors:
            if processor not in processors:
                raise _InvalidError(
                    f"{where}.processors: {processor!r} is not defined under processors"
                )
        used_exporters = _names(body.get("exporters"), f"{where}.exporters")
        if not used_exporters:
            raise _InvalidError(f"{where}.exporters: at least one exporter is required")
        for exporter in used_exporters:
            if exporter not in exporters:
                raise _InvalidError(
                    f"{where}.exporters: {exporter!r} is not defined under exporters"
                )
        signal_literal: Signal = (
            "traces" if signal == "traces" else "metrics" if signal == "metrics" else "logs"
        )
        return PipelineSpec(name, signal_literal, used_processors, used_exporters)

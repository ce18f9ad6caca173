"""What to export and where, read once from the standard `OTEL_*` variables.

`telemetry_config_from_env` takes the environment as a mapping (never `os.environ` behind the
caller's back), so a test or the composition root decides what the process sees. Bad values raise
`TelemetryConfigError` naming the variable, so start-up fails with one clear line instead of
exporting to the wrong place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Final, Literal, cast, get_args
from urllib.parse import unquote, urlsplit

from onehub_collector import netaddr

# --- The standard variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/)
#: "true" turns every signal into a no-op.
OTEL_SDK_DISABLED: Final = "OTEL_SDK_DISABLED"
#: Sets `service.name`; wins over a `service.name` in OTEL_RESOURCE_ATTRIBUTES.
OTEL_SERVICE_NAME: Final = "OTEL_SERVICE_NAME"
#: Comma-separated `key=value` pairs (values percent-encoded) merged over the detected resource.
OTEL_RESOURCE_ATTRIBUTES: Final = "OTEL_RESOURCE_ATTRIBUTES"
#: Base URL of the OTLP receiver (`http://host:4317` for grpc, `http://host:4318` for http).
OTEL_EXPORTER_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
#: `grpc` (default) or `http/protobuf`.
OTEL_EXPORTER_OTLP_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_PROTOCOL"
#: Comma-separated `key=value` headers sent with every export (may hold credentials: never logged).
OTEL_EXPORTER_OTLP_HEADERS: Final = "OTEL_EXPORTER_OTLP_HEADERS"
#: Per-export deadline in milliseconds, retries included (OpenTelemetry's unit, not the SDK's).
OTEL_EXPORTER_OTLP_TIMEOUT: Final = "OTEL_EXPORTER_OTLP_TIMEOUT"
#: `gzip` or `none`.
OTEL_EXPORTER_OTLP_COMPRESSION: Final = "OTEL_EXPORTER_OTLP_COMPRESSION"
#: OTLP/gRPC to an endpoint without a scheme: `true` for plaintext (`http://` and `https://`
#: decide for themselves).
OTEL_EXPORTER_OTLP_INSECURE: Final = "OTEL_EXPORTER_OTLP_INSECURE"
#: PEM files: the CA that verifies the receiver, and the client's key and certificate (mutual TLS).
OTEL_EXPORTER_OTLP_CERTIFICATE: Final = "OTEL_EXPORTER_OTLP_CERTIFICATE"
OTEL_EXPORTER_OTLP_CLIENT_KEY: Final = "OTEL_EXPORTER_OTLP_CLIENT_KEY"
OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: Final = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
#: Each of the OTLP variables above also exists per signal, `OTEL_EXPORTER_OTLP_<SIGNAL>_<NAME>`
#: with SIGNAL one of TRACES, METRICS, LOGS, and wins over the generic one for that signal. A
#: per-signal OTLP/HTTP endpoint is the URL posted to, as it is; the generic one is a base URL to
#: which `/v1/<signal>` is appended.
OTLP_SIGNAL_VARIABLE: Final = "OTEL_EXPORTER_OTLP_{signal}_{name}"
#: Context propagation formats, comma-separated: `tracecontext`, `baggage` (the default is
#: both), `none`, or any other that an installed package registers.
OTEL_PROPAGATORS: Final = "OTEL_PROPAGATORS"
#: Exporter per signal: `otlp`, `console` or `none` (comma-separated for several).
OTEL_TRACES_EXPORTER: Final = "OTEL_TRACES_EXPORTER"
OTEL_METRICS_EXPORTER: Final = "OTEL_METRICS_EXPORTER"
OTEL_LOGS_EXPORTER: Final = "OTEL_LOGS_EXPORTER"
#: `always_on`, `always_off`, `traceidratio`, `parentbased_always_on` (default),
#: `parentbased_always_off`, `parentbased_traceidratio`; the ratio goes in the `_ARG` twin.
OTEL_TRACES_SAMPLER: Final = "OTEL_TRACES_SAMPLER"
OTEL_TRACES_SAMPLER_ARG: Final = "OTEL_TRACES_SAMPLER_ARG"
#: Batch span processor: delay between exports (ms), queue bound, batch size, export deadline (ms).
OTEL_BSP_SCHEDULE_DELAY: Final = "OTEL_BSP_SCHEDULE_DELAY"
OTEL_BSP_MAX_QUEUE_SIZE: Final = "OTEL_BSP_MAX_QUEUE_SIZE"
OTEL_BSP_MAX_EXPORT_BATCH_SIZE: Final = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
OTEL_BSP_EXPORT_TIMEOUT: Final = "OTEL_BSP_EXPORT_TIMEOUT"
#: Interval between metric exports over OTLP (ms).
OTEL_METRIC_EXPORT_INTERVAL: Final = "OTEL_METRIC_EXPORT_INTERVAL"
# --- The original OneHub's variable: host:port of an OTLP/gRPC collector.
OTEL_COLLECTOR_ADDR: Final = "OTEL_COLLECTOR_ADDR"

Exporter = Literal["otlp", "console", "none"]
Signal = Literal["traces", "metrics", "logs"]
SIGNALS: Final[tuple[Signal, ...]] = ("traces", "metrics", "logs")
OtlpProtocol = Literal["grpc", "http/protobuf"]
Sampler = Literal[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
]

DEFAULT_SERVICE_NAME: Final = "onehub"
DEFAULT_EMBEDDED_COLLECTOR: Final = "127.0.0.1:4317"
_EXPORTERS: Final = frozenset({"otlp", "console", "none"})
_PROTOCOLS: Final = frozenset({"grpc", "http/protobuf"})
_SAMPLERS: Final = frozenset(get_args(Sampler))
_DEFAULT_SAMPLER: Final = "parentbased_always_on"
_DEFAULT_PORTS: Final = {"grpc": 4317, "http/protobuf": 4318}
_DEFAULT_PROPAGATORS: Final = ("tracecontext", "baggage")
_PROPAGATOR_ENTRY_POINTS: Final = "opentelemetry_propagator"


class TelemetryConfigError(ValueError):
    """A telemetry setting is invalid; the message is one line naming the variable."""


@dataclass(frozen=True, slots=True)
class BatchSettings:
    """Bounds of the span queue. Short export deadlines keep a stalled receiver from holding
    spans (and shutdown) hostage; requests never wait on export either way."""

    schedule_delay_ms: int = 1000
    max_queue_size: int = 2048
    max_export_batch_size: int = 512
    export_timeout_ms: int = 5000


@dataclass(frozen=True, slots=True)
class SignalOverrides:
    """The per-signal OTLP variables that were set (None: take the generic one)."""

    endpoint: str | None = None
    protocol: OtlpProtocol | None = None
    headers: Mapping[str, str] | None = field(default=None, repr=False)
    timeout_ms: int | None = None
    gzip: bool | None = None
    insecure: bool | None = None
    certificate: str | None = None
    client_key: str | None = None
    client_certificate: str | None = None


@dataclass(frozen=True, slots=True)
class OtlpTarget:
    """Where and how one signal is exported over OTLP, as the exporter is told."""

    #: OTLP/gRPC: `http(s)://host:port` or `host:port`; OTLP/HTTP: the full URL posted to.
    url: str
    protocol: OtlpProtocol
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_ms: int = 5000
    gzip: bool = False
    #: OTLP/gRPC without TLS (for OTLP/HTTP the URL's scheme says it).
    insecure: bool = True
    certificate: str | None = None
    client_key: str | None = None
    client_certificate: str | None = None


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    """Everything `setup_telemetry` needs; build it with `telemetry_config_from_env`."""

    #: OTEL_SERVICE_NAME, or None to take `service.name` from the resource attributes or default.
    service_name: str | None = None
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    disabled: bool = False
    traces_exporters: tuple[Exporter, ...] = ("otlp",)
    metrics_exporters: tuple[Exporter, ...] = ("otlp",)
    logs_exporters: tuple[Exporter, ...] = ("otlp",)
    #: Base URL of the OTLP receiver, e.g. `http://127.0.0.1:4317`.
    otlp_endpoint: str = f"http://{DEFAULT_EMBEDDED_COLLECTOR}"
    otlp_protocol: OtlpProtocol = "grpc"
    otlp_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    otlp_timeout_ms: int = 5000
    otlp_gzip: bool = False
    #: OTEL_EXPORTER_OTLP_INSECURE; None: not set (a scheme-less gRPC endpoint then uses TLS).
    otlp_insecure: bool | None = None
    otlp_certificate: str | None = None
    otlp_client_key: str | None = None
    otlp_client_certificate: str | None = None
    #: False when otlp_endpoint is only the default: a signal switched to the other protocol then
    #: goes to that protocol's default port.
    otlp_endpoint_given: bool = True
    signal_overrides: Mapping[Signal, SignalOverrides] = field(default_factory=dict)
    propagators: tuple[str, ...] = _DEFAULT_PROPAGATORS
    sampler: Sampler = "parentbased_always_on"
    sampler_ratio: float = 1.0
    batch: BatchSettings = BatchSettings()
    metric_export_interval_ms: int = 10_000
    #: Serve Prometheus text through `metrics_asgi_app`.
    prometheus: bool = True
    #: Log dropped spans at most this often.
    drop_warning_interval_s: float = 30.0

    @property
    def exports_otlp(self) -> bool:
        signals = (self.traces_exporters, self.metrics_exporters, self.logs_exporters)
        return any("otlp" in chosen for chosen in signals)

    def otlp_target(self, signal: Signal) -> OtlpTarget:
        """Where `signal` goes: its own variables where set, else the generic ones. Raise
        TelemetryConfigError naming the variable when the endpoint is unusable."""
        own = self.signal_overrides.get(signal, SignalOverrides())
        protocol = own.protocol or self.otlp_protocol
        if own.endpoint is not None:
            url = own.endpoint
            scheme = _check_endpoint(url, protocol, _signal_variable(signal, "ENDPOINT"))
            if protocol == "http/protobuf" and not urlsplit(url).path:
                url += "/"  # used as it is: the root, never /v1/<signal>
        else:
            url = self.otlp_endpoint.rstrip("/")
            if not self.otlp_endpoint_given and protocol != self.otlp_protocol:
                host = urlsplit(url).hostname or "127.0.0.1"
                url = f"http://{host}:{_DEFAULT_PORTS[protocol]}"
            scheme = _check_endpoint(url, protocol, OTEL_EXPORTER_OTLP_ENDPOINT)
            if protocol == "http/protobuf":
                url = f"{url}/v1/{signal}"
        insecure = own.insecure if own.insecure is not None else self.otlp_insecure
        return OtlpTarget(
            url=url,
            protocol=protocol,
            headers=self.otlp_headers if own.headers is None else own.headers,
            timeout_ms=own.timeout_ms or self.otlp_timeout_ms,
            gzip=self.otlp_gzip if own.gzip is None else own.gzip,
            insecure=scheme == "http" or (scheme == "" and bool(insecure)),
            certificate=own.certificate or self.otlp_certificate,
            client_key=own.client_key or self.otlp_client_key,
            client_certificate=own.client_certificate or self.otlp_client_certificate,
        )


def telemetry_config_from_env(
    env: Mapping[str, str],
    *,
    collector: str | None,
    embedded_collector: str = DEFAULT_EMBEDDED_COLLECTOR,
) -> TelemetryConfig:
    """Read the standard variables from `env`; `collector` (the `--collector` flag) wins.

    `collector` is `"embedded"` (OTLP/gRPC to `embedded_collector`), `"none"` (no OTLP export at
    all; console exporters stay), `"host:port"` (OTLP/gRPC there) or None (the flag was not given:
    OTEL_EXPORTER_OTLP_ENDPOINT, then OTEL_COLLECTOR_ADDR, then the embedded collector).
    Raise TelemetryConfigError naming the variable for any value that makes no sense.
    """
    protocol = _choice(env, OTEL_EXPORTER_OTLP_PROTOCOL, _PROTOCOLS, "grpc")
    endpoint = _endpoint(env, protocol, embedded_collector)
    endpoint_given = bool(
        env.get(OTEL_EXPORTER_OTLP_ENDPOINT, "").strip() or env.get(OTEL_COLLECTOR_ADDR, "").strip()
    )
    overrides = {signal: _signal_overrides(env, signal) for signal in SIGNALS}
    traces = _exporters(env, OTEL_TRACES_EXPORTER)
    metrics = _exporters(env, OTEL_METRICS_EXPORTER)
    logs = _exporters(env, OTEL_LOGS_EXPORTER)
    if collector is not None:
        if collector == "none":
            traces, metrics, logs = (_without_otlp(chosen) for chosen in (traces, metrics, logs))
        else:
            # The flag names the one receiver of every signal: the variables' endpoints yield.
            address = embedded_collector if collector == "embedded" else collector
            endpoint, protocol = f"http://{_host_port(address, '--collector')}", "grpc"
            endpoint_given, overrides = True, {}
    config = TelemetryConfig(
        service_name=env.get(OTEL_SERVICE_NAME, "").strip() or None,
        resource_attributes=parse_key_values(env.get(OTEL_RESOURCE_ATTRIBUTES, ""), "resource"),
        disabled=_boolean(env, OTEL_SDK_DISABLED),
        traces_exporters=traces,
        metrics_exporters=metrics,
        logs_exporters=logs,
        otlp_endpoint=endpoint,
        otlp_protocol=cast(OtlpProtocol, protocol),  # checked against _PROTOCOLS
        otlp_headers=parse_key_values(env.get(OTEL_EXPORTER_OTLP_HEADERS, ""), "headers"),
        otlp_timeout_ms=_positive_int(env, OTEL_EXPORTER_OTLP_TIMEOUT, 5000),
        otlp_gzip=_choice(env, OTEL_EXPORTER_OTLP_COMPRESSION, {"gzip", "none"}, "none") == "gzip",
        otlp_insecure=_optional_boolean(env, OTEL_EXPORTER_OTLP_INSECURE),
        otlp_certificate=_pem_file(env, OTEL_EXPORTER_OTLP_CERTIFICATE),
        otlp_client_key=_pem_file(env, OTEL_EXPORTER_OTLP_CLIENT_KEY),
        otlp_client_certificate=_pem_file(env, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE),
        otlp_endpoint_given=endpoint_given,
        signal_overrides={signal: own for signal, own in overrides.items() if own != _NOTHING},
        propagators=_propagators(env),
        sampler=cast(Sampler, _choice(env, OTEL_TRACES_SAMPLER, _SAMPLERS, _DEFAULT_SAMPLER)),
        sampler_ratio=_ratio(env),
        batch=_batch_settings(env),
        metric_export_interval_ms=_positive_int(env, OTEL_METRIC_EXPORT_INTERVAL, 10_000),
    )
    for signal, chosen in zip(SIGNALS, (traces, metrics, logs), strict=True):
        if "otlp" in chosen and not config.disabled:
            config.otlp_target(signal)  # refuses an unusable endpoint now, not at first export
    return config


_NOTHING: Final = SignalOverrides()


def _signal_variable(signal: Signal, name: str) -> str:
    return OTLP_SIGNAL_VARIABLE.format(signal=signal.upper(), name=name)


def _signal_overrides(env: Mapping[str, str], signal: Signal) -> SignalOverrides:
    def name(suffix: str) -> str:
        return _signal_variable(signal, suffix)

    protocol = env.get(name("PROTOCOL"), "").strip()
    headers = env.get(name("HEADERS"), "").strip()
    timeout = env.get(name("TIMEOUT"), "").strip()
    compression = env.get(name("COMPRESSION"), "").strip()
    return SignalOverrides(
        endpoint=env.get(name("ENDPOINT"), "").strip() or None,
        protocol=cast(OtlpProtocol, _choice(env, name("PROTOCOL"), _PROTOCOLS, "grpc"))
        if protocol
        else None,
        headers=parse_key_values(headers, name("HEADERS")) if headers else None,
        timeout_ms=_positive_int(env, name("TIMEOUT"), 0) if timeout else None,
        gzip=_choice(env, name("COMPRESSION"), {"gzip", "none"}, "none") == "gzip"
        if compression
        else None,
        insecure=_optional_boolean(env, name("INSECURE")),
        certificate=_pem_file(env, name("CERTIFICATE")),
        client_key=_pem_file(env, name("CLIENT_KEY")),
        client_certificate=_pem_file(env, name("CLIENT_CERTIFICATE")),
    )


def _check_endpoint(url: str, protocol: str, source: str) -> str:
    """Return the URL's scheme ("" for a gRPC `host:port`); raise naming `source` if unusable."""
    if url.startswith(("http://", "https://")):
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 (raises ValueError for a port out of range or not a number)
        except ValueError:
            parts = parts._replace(netloc="")
        if parts.hostname:
            return parts.scheme
    elif protocol == "grpc" and _is_host_port(url):
        return ""
    if protocol == "grpc":
        raise TelemetryConfigError(f"{source}: {url!r} is not a URL or host:port")
    raise TelemetryConfigError(f"{source}: {url!r} is not an http:// or https:// URL")


def _is_host_port(address: str) -> bool:
    try:
        netaddr.dial_host_port(address)
    except netaddr.AddressError:
        return False
    return True


def _pem_file(env: Mapping[str, str], name: str) -> str | None:
    path = env.get(name, "").strip()
    if not path:
        return None
    if not Path(path).is_file():
        raise TelemetryConfigError(f"{name}: {path!r} is not a readable file")
    return path


def _optional_boolean(env: Mapping[str, str], name: str) -> bool | None:
    return _boolean(env, name) if env.get(name, "").strip() else None


def available_propagators() -> frozenset[str]:
    """Names OTEL_PROPAGATORS may use: those the installed packages register, and `none`."""
    return frozenset(point.name for point in entry_points(group=_PROPAGATOR_ENTRY_POINTS)) | {
        "none"
    }


def _propagators(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get(OTEL_PROPAGATORS, "").strip().lower()
    if not raw:
        return _DEFAULT_PROPAGATORS
    chosen = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    known = available_propagators()
    for name in chosen:
        if name not in known:
            raise TelemetryConfigError(
                f"{OTEL_PROPAGATORS}: {name!r} is not one of {', '.join(sorted(known))}"
            )
    return tuple(name for name in chosen if name != "none")


def parse_key_values(raw: str, what: str) -> dict[str, str]:
    """Parse an OTEL_* `k1=v1,k2=v2` list (values percent-decoded). Raise on a pair without
    `=` so a typo does not silently lose an attribute; never echo values (headers hold tokens)."""
    pairs: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            position = len(pairs) + 1
            raise TelemetryConfigError(f"{what}: entry {position} is not key=value")
        pairs[unquote(key.strip())] = unquote(value.strip())
    return pairs


def _endpoint(env: Mapping[str, str], protocol: str, embedded_collector: str) -> str:
    raw = env.get(OTEL_EXPORTER_OTLP_ENDPOINT, "").strip()
    if raw:
        _check_endpoint(raw, protocol, OTEL_EXPORTER_OTLP_ENDPOINT)
        return raw.rstrip("/")
    legacy = env.get(OTEL_COLLECTOR_ADDR, "").strip()
    if legacy:
        return f"http://{_host_port(legacy, OTEL_COLLECTOR_ADDR)}"
    host = embedded_collector.rpartition(":")[0] or "127.0.0.1"
    return f"http://{host}:{_DEFAULT_PORTS[protocol]}"


def _host_port(address: str, name: str) -> str:
    try:
        netaddr.dial_host_port(address)
    except netaddr.AddressError as error:
        raise TelemetryConfigError(f"{name}: {error}") from None
    return address


def _exporters(env: Mapping[str, str], name: str) -> tuple[Exporter, ...]:
    raw = env.get(name, "").strip().lower() or "otlp"
    chosen = tuple(part.strip() for part in raw.split(",") if part.strip())
    for value in chosen:
        if value not in _EXPORTERS:
            raise TelemetryConfigError(f"{name}: {value!r} is not one of otlp, console, none")
    picked = tuple(value for value in chosen if value != "none")
    return cast(tuple[Exporter, ...], picked)  # checked against _EXPORTERS


def _without_otlp(chosen: tuple[Exporter, ...]) -> tuple[Exporter, ...]:
    return tuple(value for value in chosen if value != "otlp")


def _choice(
    env: Mapping[str, str], name: str, allowed: frozenset[str] | set[str], default: str
) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in allowed:
        raise TelemetryConfigError(f"{name}: {value!r} is not one of {', '.join(sorted(allowed))}")
    return value


def _boolean(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "false"):
        return False
    if value == "true":
        return True
    raise TelemetryConfigError(f"{name}: {value!r} is not true or false")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise TelemetryConfigError(f"{name}: {raw!r} is not a positive integer")
    return int(raw)


def _ratio(env: Mapping[str, str]) -> float:
    raw = env.get(OTEL_TRACES_SAMPLER_ARG, "").strip()
    if not raw:
        return 1.0
    try:
        ratio = float(raw)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise TelemetryConfigError(f"{OTEL_TRACES_SAMPLER_ARG}: {raw!r} is not a ratio in [0, 1]")
    return ratio


def _batch_settings(env: Mapping[str, str]) -> BatchSettings:
    defaults = BatchSettings()
    settings = BatchSettings(
        schedule_delay_ms=_positive_int(env, OTEL_BSP_SCHEDULE_DELAY, defaults.schedule_delay_ms),
        max_queue_size=_positive_int(env, OTEL_BSP_MAX_QUEUE_SIZE, defaults.max_queue_size),
        max_export_batch_size=_positive_int(
            env, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, defaults.max_export_batch_size
        ),
        export_timeout_ms=_positive_int(env, OTEL_BSP_EXPORT_TIMEOUT, defaults.export_timeout_ms),
    )
    if settings.max_export_batch_size > settings.max_queue_size:
        raise TelemetryConfigError(
            f"{OTEL_BSP_MAX_EXPORT_BATCH_SIZE}: {settings.max_export_batch_size} exceeds "
            f"{OTEL_BSP_MAX_QUEUE_SIZE} ({settings.max_queue_size})"
        )
    return settings

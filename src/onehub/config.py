"""One `Settings` object, built once from flags and environment, then passed down.

Every `onehub serve` flag has an environment twin (`SERVE_ENV`, named in each flag's help); a
flag given on the command line wins over the environment, which wins over the default. A twin's
value is checked like the flag's, and a bad one is refused with a line naming the variable.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from onehub.domain.errors import InvalidArgument
from onehub.domain.faults import FAULT_NAMES, Fault, parse_fault
from onehub_collector import netaddr

# Environment twins of the serve flags.
ENV_ADDR = "ONEHUB_ADDR"
ENV_GW_ADDR = "ONEHUB_GW_ADDR"
ENV_DB_ENDPOINT = "ONEHUB_DB_ENDPOINT"
ENV_COLLECTOR = "ONEHUB_COLLECTOR"
ENV_OTLP_GRPC_ADDR = "ONEHUB_OTLP_GRPC_ADDR"
ENV_OTLP_HTTP_ADDR = "ONEHUB_OTLP_HTTP_ADDR"
ENV_UI_ADDR = "ONEHUB_UI_ADDR"
ENV_AUTH = "ONEHUB_AUTH"
ENV_FORCE_DEV_AUTH = "ONEHUB_FORCE_DEV_AUTH"
ENV_COLLECTOR_CONFIG = "ONEHUB_COLLECTOR_CONFIG"
ENV_VIEWER_URL = "ONEHUB_VIEWER_URL"
ENV_ALLOWED_HOSTS = "ONEHUB_ALLOWED_HOSTS"
ENV_MAX_IN_FLIGHT = "ONEHUB_MAX_IN_FLIGHT"
ENV_MAX_BODY_BYTES = "ONEHUB_MAX_BODY_BYTES"
ENV_GRACE_SECONDS = "ONEHUB_GRACE_SECONDS"
ENV_LOG_LEVEL = "ONEHUB_LOG_LEVEL"
ENV_WORKERS = "ONEHUB_WORKERS"
ENV_GATEWAY_DISPATCH = "ONEHUB_GATEWAY_DISPATCH"
ENV_LOOP = "ONEHUB_LOOP"
# The original OneHub's variable: host:port of an OTLP/gRPC collector. Kept so its deployments
# work unchanged; ONEHUB_COLLECTOR wins when both are set.
ENV_ORIGINAL_COLLECTOR = "OTEL_COLLECTOR_ADDR"
# Standard OpenTelemetry variables that name a collector: when one is set and no --collector (or
# twin) is given, the standard variables decide where telemetry goes, and no collector is started.
ENV_OTLP_ENDPOINTS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
)
# Faults to switch on at start, comma-separated: ONEHUB_FAULT=db-latency=200ms@0.3,n-plus-one
ENV_FAULT = "ONEHUB_FAULT"
ENV_FORCE_FAULTS = "ONEHUB_FORCE_FAULTS"

DEFAULT_ADDR = "127.0.0.1:9000"
DEFAULT_GW_ADDR = "127.0.0.1:9080"
DEFAULT_DB_ENDPOINT = "sqlite:///.data/onehub.db"
DEFAULT_OTLP_GRPC_ADDR = "127.0.0.1:4317"
DEFAULT_OTLP_HTTP_ADDR = "127.0.0.1:4318"
DEFAULT_UI_ADDR = "127.0.0.1:16686"
AUTH_SCHEMES = ("dev", "password")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# How the REST gateway reaches the services: over a gRPC channel to the server (the original
# OneHub's hop), or by calling the server's handlers in this process (docs/api.md).
GATEWAY_DISPATCHES = ("network", "in-process")
# The event loop the servers run on (app/event_loop.py): auto is uvloop where it is installed.
EVENT_LOOPS = ("auto", "asyncio", "uvloop")
DEFAULT_MAX_IN_FLIGHT = 1000
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


class StartupError(Exception):
    """OneHub cannot start. str() is one line naming the culprit (a setting, an address, a
    file); `onehub` prints it as `onehub: <message>` and exits 1."""


class ConfigError(StartupError, ValueError):
    """A setting is invalid; the message is one line naming the setting (exit status 2)."""


@dataclass(frozen=True, slots=True)
class Settings:
    addr: str = DEFAULT_ADDR
    gw_addr: str = DEFAULT_GW_ADDR
    db_endpoint: str = DEFAULT_DB_ENDPOINT
    # "embedded", "none", host:port of an external OTLP/gRPC collector, or "env": no flag was
    # given but OTEL_EXPORTER_OTLP_ENDPOINT was, so the standard variables decide.
    collector: str = "embedded"
    otlp_grpc_addr: str = DEFAULT_OTLP_GRPC_ADDR
    otlp_http_addr: str = DEFAULT_OTLP_HTTP_ADDR
    ui_addr: str = DEFAULT_UI_ADDR
    auth: str = "dev"
    # The dev checker is refused on a non-loopback bind unless this is set.
    force_dev_auth: bool = False
    collector_config: str | None = None
    # Where the web front end links trace ids (e.g. "/jaeger" behind nginx); None: the embedded
    # viewer, or the page's host on port 16686.
    viewer_url: str | None = None
    collector_data_dir: str = ".data/collector"
    max_body_bytes: int = 1 << 20
    grace_seconds: float = 5.0
    log_level: str = "INFO"
    # Host names the HTTP servers answer besides the loopback ones (checked on a loopback bind,
    # or on any bind once some are given); "*" accepts any.
    allowed_hosts: tuple[str, ...] = ()
    # Requests in progress at once, per server (gateway and gRPC); more are answered 503 /
    # UNAVAILABLE with a retry hint.
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    # Faults to find (domain/faults.py), switched on at start; off by default.
    faults: tuple[Fault, ...] = ()
    # Faults, at start or at run time, are refused on a non-loopback bind unless this is set.
    force_faults: bool = False
    # Serving processes sharing the gRPC and gateway ports (app/workers.py); 1 serves in this
    # process, as always.
    workers: int = 1
    # "network" (a gRPC call over loopback) or "in-process" (GATEWAY_DISPATCHES).
    gateway_dispatch: str = "network"
    # "auto" (uvloop where it is installed, else asyncio's own), "asyncio" or "uvloop".
    event_loop: str = "auto"

    @property
    def is_public(self) -> bool:
        return not (is_loopback(self.addr) and is_loopback(self.gw_addr))

    @property
    def faults_allowed(self) -> bool:
        return self.force_faults or not self.is_public

    def validate(self) -> Settings:
        """Return self, or raise ConfigError for the first setting that makes no sense."""
        for name in ("addr", "gw_addr", "otlp_grpc_addr", "otlp_http_addr", "ui_addr"):
            split_host_port(getattr(self, name), name)
        if self.collector not in ("embedded", "none", "env"):
            split_host_port(self.collector, "collector")
        if self.auth not in AUTH_SCHEMES:
            raise ConfigError(f"--auth must be one of {', '.join(AUTH_SCHEMES)}, not {self.auth!r}")
        public = not (is_loopback(self.addr) and is_loopback(self.gw_addr))
        if self.auth == "dev" and public and not self.force_dev_auth:
            raise ConfigError(
                "--auth dev (password = user id + '123') refused on a non-loopback address; "
                "use --auth password, or --force-dev-auth if you really mean it"
            )
        if self.faults and not self.faults_allowed:
            raise ConfigError(
                "--fault refused on a non-loopback address (it degrades the service on purpose);"
                " use --force-faults if you really mean it"
            )
        if self.max_body_bytes <= 0:
            raise ConfigError("--max-body-bytes must be positive")
        if self.grace_seconds < 0:
            raise ConfigError("--grace-seconds must not be negative")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"--log-level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}"
            )
        if self.max_in_flight <= 0:
            raise ConfigError("--max-in-flight must be positive")
        if self.workers <= 0:
            raise ConfigError("--workers must be positive")
        if self.gateway_dispatch not in GATEWAY_DISPATCHES:
            raise ConfigError(
                f"--gateway-dispatch must be one of {', '.join(GATEWAY_DISPATCHES)}, "
                f"not {self.gateway_dispatch!r}"
            )
        if self.event_loop not in EVENT_LOOPS:
            raise ConfigError(
                f"--loop must be one of {', '.join(EVENT_LOOPS)}, not {self.event_loop!r}"
            )
        return self


def split_host_port(addr: str, name: str = "address") -> tuple[str, int]:
    """(host, port) of a listen address by the rules of `onehub_collector.netaddr`, "0.0.0.0" for an
    empty host. Raise ConfigError naming `name` if malformed."""
    try:
        host, port = netaddr.split_host_port(addr)
    except netaddr.AddressError as error:
        raise ConfigError(f"{name}: {error}") from None
    return netaddr.listen_host(host), port


def is_loopback(addr: str) -> bool:
    host, _ = split_host_port(addr)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of `onehub serve` (defaults come from the environment, see `from_args`)."""
    add = parser.add_argument
    add("--addr", help=f"gRPC server address (env {ENV_ADDR}; default {DEFAULT_ADDR})")
    add(
        "--gw-addr",
        help=f"REST gateway and web address (env {ENV_GW_ADDR}; default {DEFAULT_GW_ADDR})",
    )
    add(
        "--db-endpoint",
        help=f"SQLAlchemy or postgres:// URL (env {ENV_DB_ENDPOINT}; default {DEFAULT_DB_ENDPOINT})",  # noqa: E501 (one help string reads better whole)
    )
    add(
        "--collector",
        help=f"embedded | host:port | none (env {ENV_COLLECTOR}, or the original's "
        f"{ENV_ORIGINAL_COLLECTOR}; default embedded)",
    )
    add(
        "--otlp-grpc-addr",
        help=f"embedded collector's OTLP/gRPC receiver (env {ENV_OTLP_GRPC_ADDR}; "
        f"default {DEFAULT_OTLP_GRPC_ADDR})",
    )
    add(
        "--otlp-http-addr",
        help=f"embedded collector's OTLP/HTTP receiver (env {ENV_OTLP_HTTP_ADDR}; "
        f"default {DEFAULT_OTLP_HTTP_ADDR})",
    )
    add(
        "--ui-addr",
        help=f"embedded trace viewer and Jaeger query API (env {ENV_UI_ADDR}; "
        f"default {DEFAULT_UI_ADDR})",
    )
    add(
        "--auth",
        choices=AUTH_SCHEMES,
        help=f"credential checker (env {ENV_AUTH}; default dev on loopback)",
    )
    add(
        "--force-dev-auth",
        action="store_true",
        default=None,
        help=f"allow --auth dev on a non-loopback address (env {ENV_FORCE_DEV_AUTH}=true)",
    )
    add(
        "--collector-config",
        help=f"collector pipeline YAML (OpenTelemetry Collector shape; env {ENV_COLLECTOR_CONFIG})",
    )
    add(
        "--viewer-url",
        help="trace viewer the web page links to, e.g. /jaeger behind nginx "
        f"(env {ENV_VIEWER_URL})",
    )
    add(
        "--max-body-bytes",
        type=int,
        help=f"largest accepted REST request body (env {ENV_MAX_BODY_BYTES}; default 1 MiB)",
    )
    add(
        "--grace-seconds",
        type=float,
        help=f"how long shutdown waits for in-flight requests (env {ENV_GRACE_SECONDS}; default 5)",
    )
    add(
        "--log-level",
        help=f"{', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]} (env {ENV_LOG_LEVEL}; "
        "default INFO)",
    )
    add(
        "--allowed-hosts",
        help="comma-separated Host names the HTTP servers answer besides localhost and loopback "
        f"addresses, e.g. chat.example,.example.org; * for any (env {ENV_ALLOWED_HOSTS})",
    )
    add(
        "--max-in-flight",
        type=int,
        help="requests in progress at once per server; more get 503 + Retry-After "
        f"(env {ENV_MAX_IN_FLIGHT}; default {DEFAULT_MAX_IN_FLIGHT})",
    )
    add(
        "--workers",
        help="serving processes sharing the ports, or auto for one per core "
        f"(env {ENV_WORKERS}; default 1)",
    )
    add(
        "--gateway-dispatch",
        choices=GATEWAY_DISPATCHES,
        help="how the REST gateway calls the services: network (a gRPC call to the server, "
        "as the original) or in-process (the server's handlers, same interceptors) "
        f"(env {ENV_GATEWAY_DISPATCH}; default network)",
    )
    add(
        "--loop",
        choices=EVENT_LOOPS,
        help="event loop to serve on: auto picks uvloop where it is installed, else asyncio's "
        f"own (env {ENV_LOOP}; default auto)",
    )
    add(
        "--fault",
        action="append",
        metavar="NAME[=VALUE]",
        help=f"switch on a fault to find in traces: {', '.join(FAULT_NAMES)}; repeatable"
        f" (env {ENV_FAULT}, a list split by commas)",
    )
    add(
        "--force-faults",
        action="store_true",
        help=f"allow --fault on a non-loopback address (env {ENV_FORCE_FAULTS})",
    )


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
    """Build and validate Settings: flag, else environment twin, else default. Raise ConfigError
    naming the flag or the variable for a value that makes no sense."""
    base = Settings()

    def pick(flag: str, env_name: str, default: str) -> tuple[str, str]:
        """The value and where it came from (the flag or the variable), for error messages."""
        value = getattr(args, flag, None)
        if value is not None:
            return str(value), "--" + flag.replace("_", "-")
        if env.get(env_name, "").strip():
            return env[env_name].strip(), env_name
        return default, env_name

    def text(flag: str, env_name: str, default: str) -> str:
        return pick(flag, env_name, default)[0]

    def number(flag: str, env_name: str, default: float, kind: type[int] | type[float]) -> Any:
        raw, source = pick(flag, env_name, str(default))
        try:
            return kind(raw)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise ConfigError(f"{source}: {raw!r} is not {noun}") from None

    def choice(flag: str, env_name: str, default: str, allowed: Sequence[str]) -> str:
        raw, source = pick(flag, env_name, default)
        for value in allowed:
            if raw.lower() == value.lower():
                return value
        raise ConfigError(f"{source}: {raw!r} is not one of {', '.join(allowed)}")

    return Settings(
        addr=text("addr", ENV_ADDR, base.addr),
        gw_addr=text("gw_addr", ENV_GW_ADDR, base.gw_addr),
        db_endpoint=text("db_endpoint", ENV_DB_ENDPOINT, base.db_endpoint),
        collector=_collector(args, env, base.collector),
        otlp_grpc_addr=text("otlp_grpc_addr", ENV_OTLP_GRPC_ADDR, base.otlp_grpc_addr),
        otlp_http_addr=text("otlp_http_addr", ENV_OTLP_HTTP_ADDR, base.otlp_http_addr),
        ui_addr=text("ui_addr", ENV_UI_ADDR, base.ui_addr),
        auth=choice("auth", ENV_AUTH, base.auth, AUTH_SCHEMES),
        force_dev_auth=_flag_or_boolean(args, "force_dev_auth", env, ENV_FORCE_DEV_AUTH),
        collector_config=text("collector_config", ENV_COLLECTOR_CONFIG, "") or None,
        viewer_url=text("viewer_url", ENV_VIEWER_URL, "") or None,
        max_body_bytes=number("max_body_bytes", ENV_MAX_BODY_BYTES, base.max_body_bytes, int),
        grace_seconds=number("grace_seconds", ENV_GRACE_SECONDS, base.grace_seconds, float),
        log_level=choice("log_level", ENV_LOG_LEVEL, base.log_level, LOG_LEVELS),
        allowed_hosts=split_host_list(text("allowed_hosts", ENV_ALLOWED_HOSTS, "")),
        max_in_flight=number("max_in_flight", ENV_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT, int),
        faults=_faults(getattr(args, "fault", None), env.get(ENV_FAULT, "")),
        force_faults=_flag_or_boolean(args, "force_faults", env, ENV_FORCE_FAULTS),
        workers=_workers(*pick("workers", ENV_WORKERS, str(base.workers))),
        gateway_dispatch=choice(
            "gateway_dispatch", ENV_GATEWAY_DISPATCH, base.gateway_dispatch, GATEWAY_DISPATCHES
        ),
        event_loop=choice("loop", ENV_LOOP, base.event_loop, EVENT_LOOPS),
    ).validate()


def split_host_list(text: str) -> tuple[str, ...]:
    """ "a.example, .b.example" -> ("a.example", ".b.example"); empty entries are dropped."""
    return tuple(part.strip().lower() for part in text.split(",") if part.strip())


def _collector(args: argparse.Namespace, env: Mapping[str, str], default: str) -> str:
    """--collector, else its twin, else the original's variable; with none of them, "env" when a
    standard variable names a collector, else the default."""
    flag = getattr(args, "collector", None)
    if flag is not None:
        return str(flag)
    for name in (ENV_COLLECTOR, ENV_ORIGINAL_COLLECTOR):
        if env.get(name, "").strip():
            return env[name].strip()
    if any(env.get(name, "").strip() for name in ENV_OTLP_ENDPOINTS):
        return "env"
    return default


def _workers(raw: str, source: str) -> int:
    """A count, or "auto": the cores this process may run on."""
    if raw.lower() == "auto":
        return (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{source}: {raw!r} is not an integer or auto") from None


def _flag_or_boolean(
    args: argparse.Namespace, flag: str, env: Mapping[str, str], env_name: str
) -> bool:
    if getattr(args, flag, None):
        return True
    raw = env.get(env_name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{env_name}: {env[env_name].strip()!r} is not true or false")


def _faults(flags: Sequence[str] | None, env_value: str) -> tuple[Fault, ...]:
    """The --fault flags, else the comma-separated twin; a later fault of one name wins."""
    texts = flags if flags is not None else [t for t in env_value.split(",") if t.strip()]
    by_name: dict[str, Fault] = {}
    for text in texts:
        try:
            fault = parse_fault(text)
        except InvalidArgument as error:
            raise ConfigError(f"--fault: {error.message}") from None
        by_name[fault.name] = fault
    return tuple(by_name.values())


def parse_serve_args(argv: Sequence[str], env: Mapping[str, str]) -> Settings:
    parser = argparse.ArgumentParser(prog="onehub serve")
    add_serve_arguments(parser)
    return settings_from_args(parser.parse_args(argv), env)

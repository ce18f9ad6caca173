"""One `Settings` object, built once from flags and environment, then passed down.

Every `onehub serve` flag has an environment twin (see run.md); a flag given on the command line
wins over the environment, which wins over the default.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from onehub.domain.errors import InvalidArgument
from onehub.domain.faults import FAULT_NAMES, Fault, parse_fault

# Environment twins of the serve flags.
ENV_ADDR = "ONEHUB_ADDR"
ENV_GW_ADDR = "ONEHUB_GW_ADDR"
ENV_DB_ENDPOINT = "ONEHUB_DB_ENDPOINT"
ENV_AUTH = "ONEHUB_AUTH"
# The original's variable: host:port of an OTLP/gRPC collector.
ENV_COLLECTOR = "OTEL_COLLECTOR_ADDR"
ENV_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
ENV_VIEWER_URL = "ONEHUB_VIEWER_URL"
# Faults to switch on at start, comma-separated: ONEHUB_FAULT=db-latency=200ms@0.3,n-plus-one
ENV_FAULT = "ONEHUB_FAULT"

DEFAULT_ADDR = "127.0.0.1:9000"
DEFAULT_GW_ADDR = "127.0.0.1:9080"
DEFAULT_DB_ENDPOINT = "sqlite:///.data/onehub.db"
DEFAULT_OTLP_GRPC_ADDR = "127.0.0.1:4317"
DEFAULT_OTLP_HTTP_ADDR = "127.0.0.1:4318"
DEFAULT_UI_ADDR = "127.0.0.1:16686"
AUTH_SCHEMES = ("dev", "password")


class ConfigError(ValueError):
    """A setting is invalid; the message is one line naming the setting."""


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
    # Faults to find (domain/faults.py), switched on at start; off by default.
    faults: tuple[Fault, ...] = ()
    # Faults, at start or at run time, are refused on a non-loopback bind unless this is set.
    force_faults: bool = False

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
        return self


def split_host_port(addr: str, name: str = "address") -> tuple[str, int]:
    """Split "host:port" ("[::1]:80" for IPv6). Raise ConfigError naming `name` if malformed."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{name}: {addr!r} is not host:port")
    return host.strip("[]") or "0.0.0.0", int(port)


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
    add("--collector", help=f"embedded | host:port | none (env {ENV_COLLECTOR}; default embedded)")
    add(
        "--otlp-grpc-addr",
        help=f"embedded collector's OTLP/gRPC receiver (default {DEFAULT_OTLP_GRPC_ADDR})",
    )
    add(
        "--otlp-http-addr",
        help=f"embedded collector's OTLP/HTTP receiver (default {DEFAULT_OTLP_HTTP_ADDR})",
    )
    add("--ui-addr", help=f"embedded trace viewer and Jaeger query API (default {DEFAULT_UI_ADDR})")
    add(
        "--auth",
        choices=AUTH_SCHEMES,
        help=f"credential checker (env {ENV_AUTH}; default dev on loopback)",
    )
    add("--force-dev-auth", action="store_true", help="allow --auth dev on a non-loopback address")
    add("--collector-config", help="collector pipeline YAML (OpenTelemetry Collector shape)")
    add(
        "--viewer-url",
        help=f"trace viewer the web page links to, e.g. /jaeger behind nginx ({ENV_VIEWER_URL})",
    )
    add("--max-body-bytes", type=int, help="largest accepted REST request body (default 1 MiB)")
    add(
        "--grace-seconds",
        type=float,
        help="how long shutdown waits for in-flight requests (default 5)",
    )
    add("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    add(
        "--fault",
        action="append",
        metavar="NAME[=VALUE]",
        help=f"switch on a fault to find in traces: {', '.join(FAULT_NAMES)}; repeatable"
        f" (env {ENV_FAULT}, a list split by commas)",
    )
    add("--force-faults", action="store_true", help="allow --fault on a non-loopback address")


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
    """Build and validate Settings: flag, else environment twin, else default."""

    def pick(flag: str, env_name: str | None, default: str) -> str:
        value = getattr(args, flag, None)
        if value is not None:
            return str(value)
        if env_name and env.get(env_name):
            return env[env_name]
        return default

    base = Settings()
    collector = pick("collector", ENV_COLLECTOR, base.collector)
    if getattr(args, "collector", None) is None and not env.get(ENV_COLLECTOR):
        # The standard variable names a collector: honour it rather than start our own.
        collector = "env" if env.get(ENV_OTLP_ENDPOINT) else collector
    return Settings(
        addr=pick("addr", ENV_ADDR, base.addr),
        gw_addr=pick("gw_addr", ENV_GW_ADDR, base.gw_addr),
        db_endpoint=pick("db_endpoint", ENV_DB_ENDPOINT, base.db_endpoint),
        collector=collector,
        otlp_grpc_addr=pick("otlp_grpc_addr", None, base.otlp_grpc_addr),
        otlp_http_addr=pick("otlp_http_addr", None, base.otlp_http_addr),
        ui_addr=pick("ui_addr", None, base.ui_addr),
        auth=pick("auth", ENV_AUTH, base.auth),
        force_dev_auth=bool(getattr(args, "force_dev_auth", False)),
        collector_config=getattr(args, "collector_config", None),
        viewer_url=pick("viewer_url", ENV_VIEWER_URL, "") or None,
        max_body_bytes=int(pick("max_body_bytes", None, str(base.max_body_bytes))),
        grace_seconds=float(pick("grace_seconds", None, str(base.grace_seconds))),
        log_level=pick("log_level", None, base.log_level).upper(),
        faults=_faults(getattr(args, "fault", None), env.get(ENV_FAULT, "")),
        force_faults=bool(getattr(args, "force_faults", False)),
    ).validate()


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

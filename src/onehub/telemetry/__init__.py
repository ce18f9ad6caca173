"""OneHub's telemetry: the only package that imports the OpenTelemetry SDK.

The composition root calls, in order: `telemetry_config_from_env`, `setup_telemetry`,
`configure_logging`, `instrument_sqlalchemy`; passes `grpc_server_interceptors()` /
`grpc_client_interceptors()` to the gRPC server and the gateway's channel; mounts
`metrics_asgi_app(telemetry)` at `/metrics`; and calls `Telemetry.shutdown()` on the way out.
Everything else (services, storage, transports) uses only the OpenTelemetry API.
"""

from onehub.telemetry.config import (
    TelemetryConfig,
    TelemetryConfigError,
    telemetry_config_from_env,
)
from onehub.telemetry.logs import configure_logging
from onehub.telemetry.metrics import metrics_asgi_app
from onehub.telemetry.rpc import grpc_client_interceptors, grpc_server_interceptors
from onehub.telemetry.setup import Telemetry, setup_telemetry
from onehub.telemetry.sql import instrument_sqlalchemy

__all__ = [
    "Telemetry",
    "TelemetryConfig",
    "TelemetryConfigError",
    "configure_logging",
    "grpc_client_interceptors",
    "grpc_server_interceptors",
    "instrument_sqlalchemy",
    "metrics_asgi_app",
    "setup_telemetry",
    "telemetry_config_from_env",
]

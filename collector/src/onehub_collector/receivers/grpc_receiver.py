"""OTLP/gRPC receiver: the trace, metrics and logs `Export` services on one grpc.aio server.

Requests arrive as raw bytes and are decoded here, so a body that is not protobuf gets
INVALID_ARGUMENT (grpc's own deserializer would answer INTERNAL). gRPC enforces the message
size limit itself with RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from onehub_collector.config import SIGNALS, ServerTls, Signal
from onehub_collector.pipeline import Pipelines
from onehub_collector.receivers.ingest import (
    ReceiveError,
    decode,
    export_response,
    ingest,
    wait_for_room,
)

_SERVICES: dict[Signal, str] = {
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
}
EXPORT_METHODS: dict[Signal, str] = {
    signal: f"/{name}/Export" for signal, name in _SERVICES.items()
}
RESPONSE_TYPES: dict[
    Signal,
    type[ExportTraceServiceResponse]
    | type[ExportMetricsServiceResponse]
    | type[ExportLogsServiceResponse],
] = {
    "traces": ExportTraceServiceResponse,
    "metrics": ExportMetricsServiceResponse,
    "logs": ExportLogsServiceResponse,
}

Handler = Callable[[bytes, grpc.aio.ServicerContext[bytes, bytes]], Awaitable[bytes]]


def _export_handler(pipelines: Pipelines, signal: Signal) -> Handler:
    async def export(raw: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        try:
            await wait_for_room(pipelines, signal, len(raw))
            request = decode(signal, raw, "protobuf")
            rejected = await ingest(pipelines, signal, request, len(raw))
        except ReceiveError as exc:
            await context.abort(exc.grpc_code, str(exc))
        return export_response(signal, rejected).SerializeToString()

    return export


async def start_grpc_receiver(
    pipelines: Pipelines,
    address: str,
    *,
    max_message_bytes: int,
    tls: ServerTls | None = None,
) -> tuple[grpc.aio.Server, int]:
    """Start the receiver on `address` (HOST:PORT, port 0 allowed); returns (server, port).

    Raises OSError naming the address when it cannot be bound.
    """
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            # One listener per address: a port in use must fail, not be shared.
            ("grpc.so_reuseport", 0),
        ]
    )
    handlers = []
    for signal in SIGNALS:
        method: grpc.RpcMethodHandler[bytes, bytes]
        method = grpc.unary_unary_rpc_method_handler(_export_handler(pipelines, signal))
        handlers.append(grpc.method_handlers_generic_handler(_SERVICES[signal], {"Export": method}))
    server.add_generic_rpc_handlers(handlers)
    try:
        if tls is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, _server_credentials(tls))
    except RuntimeError:
        port = 0
    if port == 0:
        raise OSError(
            f"cannot listen for OTLP/gRPC on {address}: Address already in use or not available"
        )
    await server.start()
    return server, port


def _server_credentials(tls: ServerTls) -> grpc.ServerCredentials:
    client_ca = None if tls.client_ca_file is None else Path(tls.client_ca_file).read_bytes()
    return grpc.ssl_server_credentials(
        [(Path(tls.key_file).read_bytes(), Path(tls.cert_file).read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )

"""Stand-ins for a collector: real OTLP/gRPC trace and metrics receivers, and one that never
answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager

import grpc
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class OtlpTraceReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """Accepts OTLP trace exports and keeps the names of the spans it received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: list[str] = []

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self._lock:
            self._names.extend(
                span.name
                for resource_spans in request.resource_spans
                for scope_spans in resource_spans.scope_spans
                for span in scope_spans.spans
            )
        return trace_service_pb2.ExportTraceServiceResponse()

    @property
    def span_names(self) -> list[str]:
        with self._lock:
            return list(self._names)

    def wait_for(self, done: Callable[[list[str]], bool], timeout_s: float) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while not done(self.span_names) and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.span_names


@contextmanager
def otlp_receiver(port: int = 0) -> Iterator[tuple[OtlpTraceReceiver, int]]:
    """Serve OTLP/gRPC traces on 127.0.0.1:`port` (0 picks one) until the block ends."""
    receiver = OtlpTraceReceiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)  # type: ignore[no-untyped-call]  # generated without annotations
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        yield receiver, bound
    finally:
        server.stop(None)


class OtlpMetricsReceiver(metrics_service_pb2_grpc.MetricsServiceServicer):
    """Accepts OTLP metric exports and keeps every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[metrics_service_pb2.ExportMetricsServiceRequest] = []

    def Export(
        self,
        request: metrics_service_pb2.ExportMetricsServiceRequest,
        context: grpc.ServicerContext,
    ) -> metrics_service_pb2.ExportMetricsServiceResponse:
        with self._lock:
            self._requests.append(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()

    @property
    def requests(self) -> list[metrics_service_pb2.ExportMetricsServiceRequest]:
        with self._lock:
            return list(self._requests)


@contextmanager
def otlp_metrics_receiver() -> Iterator[tuple[OtlpMetricsReceiver, int]]:
    """Serve OTLP/gRPC metrics on 127.0.0.1 (a port the OS picks) until the block ends."""
    receiver = OtlpMetricsReceiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(receiver, server)  # type: ignore[no-untyped-call]  # generated without annotations
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield receiver, port
    finally:
        server.stop(None)


@contextmanager
def silent_receiver() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) but never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]

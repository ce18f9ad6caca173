"""Real telemetry for the viewer's browser tests: the OpenTelemetry SDK exporting over
OTLP/gRPC to a running collector, with OneHub's span shapes (docs/telemetry.md)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from onehub_collector import CollectorConfig, RunningCollector, start_collector

SERVICE = "onehub.backend"
CLIENT_SERVICE = "web.client"
QUERY_TEXT = "SELECT topics.id, topics.name FROM topics WHERE topics.id = ?"
SELECT_REPEATS = 5  # the collector reports an N+1 from five repeats
BREAKOUT = "</script><script>alert(1)</script>"
T = TypeVar("T")


class CollectorThread:
    """The real collector on loopback ports the OS picks, on an event loop in its own thread,
    so synchronous Playwright tests can drive a browser against it."""

    def __init__(self, data_dir: Path) -> None:
        self._config = CollectorConfig(
            otlp_grpc_addr="127.0.0.1:0",
            otlp_http_addr="127.0.0.1:0",
            ui_addr="127.0.0.1:0",
            data_dir=data_dir,
            shutdown_grace_s=2.0,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.running: RunningCollector | None = None

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def __enter__(self) -> CollectorThread:
        self._thread.start()
        self.running = self.call(start_collector(self._config))
        return self

    def _started(self) -> RunningCollector:
        if self.running is None:
            raise RuntimeError("the collector is not running")
        return self.running

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self._started().ui_port}"

    @property
    def grpc_port(self) -> int:
        port = self._started().otlp_grpc_port
        if port is None:
            raise RuntimeError("the collector's OTLP/gRPC receiver is off")
        return port

    def flush(self) -> None:
        """Wait until everything received so far is stored and searchable."""
        self.call(self._started().flush())

    def __exit__(self, *args: object) -> None:
        if self.running is not None:
            self.call(self.running.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class OtlpFeed:
    """One SDK tracer and logger provider per service, exporting to `grpc_port`."""

    def __init__(self, grpc_port: int) -> None:
        self._endpoint = f"http://127.0.0.1:{grpc_port}"
        self._tracers: dict[str, TracerProvider] = {}
        self._loggers: dict[str, LoggerProvider] = {}

    def _resource(self, service: str) -> Resource:
        return Resource.create({"service.name": service, "service.version": "0.0.1"})

    def tracer(self, service: str) -> trace.Tracer:
        if service not in self._tracers:
            provider = TracerProvider(resource=self._resource(service))
            exporter = OTLPSpanExporter(endpoint=self._endpoint, insecure=True)
            provider.add_span_processor(BatchSpanProcessor(exporter))
            self._tracers[service] = provider
        return self._tracers[service].get_tracer("onehub.tests.viewer")

    def log(
        self, service: str, span: Span, at_ns: int, severity: SeverityNumber, body: str
    ) -> None:
        if service not in self._loggers:
            provider = LoggerProvider(resource=self._resource(service))
            exporter = OTLPLogExporter(endpoint=self._endpoint, insecure=True)
            provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
            self._loggers[service] = provider
        self._loggers[service].get_logger("onehub.tests.viewer").emit(
            timestamp=at_ns,
            context=trace.set_span_in_context(span),
            severity_number=severity,
            severity_text=severity.name,
            body=body,
            attributes={"code.function.name": "list_topics"},
        )

    def flush(self) -> None:
        flushed = [p.force_flush(10_000) for p in self._tracers.values()]
        flushed += [p.force_flush(10_000) for p in self._loggers.values()]
        assert all(flushed), "the SDK could not export everything to the collector"

    def shutdown(self) -> None:
        for tracer_provider in self._tracers.values():
            tracer_provider.shutdown()
        for logger_provider in self._loggers.values():
            logger_provider.shutdown()

    def span(
        self,
        name: str,
        *,
        parent: Span | None,
        start_ns: int,
        kind: SpanKind = SpanKind.INTERNAL,
        service: str = SERVICE,
        **attributes: Any,
    ) -> Span:
        """Start a span with explicit times; the caller ends it with `end(span)`."""
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer(service).start_span(
            name,
            context=context,
            kind=kind,
            attributes={k.replace("__", "."): v for k, v in attributes.items()},
            start_time=start_ns,
        )
        return span


def _offsets(start_ns: int) -> Callable[[int], int]:
    """Microsecond offsets from `start_ns` as nanosecond timestamps: the traces read best so."""
    return lambda offset_us: start_ns + offset_us * 1000


def _end(span: Span, start_ns: int, duration_us: int) -> None:
    span.end(end_time=start_ns + duration_us * 1000)


def send_list_topics(
    feed: OtlpFeed,
    start_ns: int,
    *,
    selects: int = SELECT_REPEATS,
    select_us: int = 1_600,
    cache_lookup: bool = False,
) -> str:
    """GET /api/v1/topics: the six levels of docs/telemetry.md, `selects` SELECTs (an N+1) of
    `select_us` each, two logs and an attribute that tries to break out of an HTML script
    element; with `cache_lookup`, a cache span under the method too. Returns the trace id."""
    at = _offsets(start_ns)
    spacing = select_us + 200
    grow = selects * spacing - SELECT_REPEATS * 1_800  # 0 for the default shape
    gateway = feed.span(
        "gateway GET /v1/topics",
        parent=None,
        start_ns=at(0),
        kind=SpanKind.SERVER,
        http__request__method="GET",
        url__path="/api/v1/topics",
        http__route="/v1/topics",
        http__response__status_code=200,
        user__note=BREAKOUT,
    )
    rpc = {"rpc__system__name": "grpc", "rpc__method": "onehub.v1.TopicService/ListTopics"}
    client = feed.span(
        "onehub.v1.TopicService/ListTopics",
        parent=gateway,
        start_ns=at(400),
        kind=SpanKind.CLIENT,
        **rpc,
    )
    server = feed.span(
        "onehub.v1.TopicService/ListTopics",
        parent=client,
        start_ns=at(800),
        kind=SpanKind.SERVER,
        **rpc,
    )
    method = feed.span("ListTopics", parent=server, start_ns=at(1_000), enduser__id="alice")
    if cache_lookup:
        cache = feed.span("cache.get topics", parent=method, start_ns=at(1_050))
        _end(cache, at(1_050), 100)
    store = feed.span("db.ListTopics", parent=method, start_ns=at(1_200))
    feed.log(SERVICE, method, at(1_100), SeverityNumber.INFO, "listing topics for alice")
    for i in range(selects):
        query = feed.span(
            "SELECT topics",
            parent=store,
            start_ns=at(1_400 + i * spacing),
            kind=SpanKind.CLIENT,
            db__system__name="sqlite",
            db__operation__name="SELECT",
            db__query__text=QUERY_TEXT,
        )
        _end(query, at(1_400 + i * spacing), select_us)
    feed.log(SERVICE, store, at(10_500), SeverityNumber.WARN, "five queries where one would do")
    for span, begin, length in (
        (store, 1_200, 9_400 + grow),
        (method, 1_000, 9_800 + grow),
        (server, 800, 10_200 + grow),
        (client, 400, 11_000 + grow),
        (gateway, 0, 12_000 + grow),
    ):
        _end(span, at(begin), length)
    return format(gateway.get_span_context().trace_id, "032x")


def send_server_error(feed: OtlpFeed, start_ns: int, service: str, *, failed: bool) -> str:
    """One request of `service`: a SERVER span of 2 ms, failed (ERROR, 500) or not."""
    span = feed.span(
        "POST /checkout",
        parent=None,
        start_ns=start_ns,
        kind=SpanKind.SERVER,
        service=service,
        http__response__status_code=500 if failed else 200,
    )
    if failed:
        span.set_status(Status(StatusCode.ERROR, "payment backend down"))
    _end(span, start_ns, 2_000)
    return format(span.get_span_context().trace_id, "032x")


def send_failed_get_topic(feed: OtlpFeed, start_ns: int) -> str:
    """A browser's GET /api/v1/topics/{id} that ends in NotFound: two services, one error."""
    at = _offsets(start_ns)
    browser = feed.span(
        "GET /api/v1/topics/{id}",
        parent=None,
        start_ns=at(0),
        kind=SpanKind.CLIENT,
        service=CLIENT_SERVICE,
    )
    gateway = feed.span(
        "gateway GET /v1/topics/{id}",
        parent=browser,
        start_ns=at(300),
        kind=SpanKind.SERVER,
        http__response__status_code=404,
    )
    call = feed.span(
        "onehub.v1.TopicService/GetTopic",
        parent=gateway,
        start_ns=at(600),
        kind=SpanKind.CLIENT,
        rpc__status_code=5,
    )
    call.record_exception(LookupError("topic 42 not found"), timestamp=at(4_000))
    call.set_status(Status(StatusCode.ERROR, "NOT_FOUND: topic 42 not found"))
    _end(call, at(600), 3_800)
    _end(gateway, at(300), 4_400)
    _end(browser, at(0), 5_000)
    return format(browser.get_span_context().trace_id, "032x")


def send_wide_trace(feed: OtlpFeed, start_ns: int, span_count: int) -> str:
    """A root, a chunk span per 50 rows, and rows: `span_count` spans in all."""
    at = _offsets(start_ns)
    root = feed.span(
        "batch import",
        parent=None,
        start_ns=at(0),
        kind=SpanKind.SERVER,
    )
    chunk: Span | None = None
    chunk_start = 0
    for i in range(1, span_count):
        if i % 50 == 1:
            if chunk is not None:
                _end(chunk, at(chunk_start), 1_000)
            chunk_start = i * 20
            chunk = feed.span(f"chunk {i // 50}", parent=root, start_ns=at(chunk_start))
        else:
            row = feed.span(f"row {i}", parent=chunk, start_ns=at(i * 20), row__index=i)
            _end(row, at(i * 20), 15)
    if chunk is not None:
        _end(chunk, at(chunk_start), 1_000)
    _end(root, at(0), span_count * 20)
    return format(root.get_span_context().trace_id, "032x")


def send_probe(feed: OtlpFeed, start_ns: int, service: str) -> str:
    """One span of its own service, for tests that must not change other services' results."""
    span = feed.span("probe", parent=None, start_ns=start_ns, kind=SpanKind.SERVER, service=service)
    _end(span, start_ns, 700)
    return format(span.get_span_context().trace_id, "032x")

"""Start and stop the whole collector: receivers, pipelines, exporters, store and UI server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
from pathlib import Path
from typing import Any

import grpc
from starlette.types import ASGIApp

from onehub_collector.config import (
    CollectorConfig,
    CollectorStartError,
    DebugExporterConfig,
    OtlpExporterConfig,
    PipelineConfig,
    StoreExporterConfig,
)
from onehub_collector.config_yaml import default_pipeline_config
from onehub_collector.exporters import STORE_FILE, DebugExporter, StoreExporter
from onehub_collector.forward import OtlpForwardExporter
from onehub_collector.host_check import with_host_check
from onehub_collector.pipeline import Exporter, Pipelines
from onehub_collector.query.app import ui_app
from onehub_collector.query.service import QueryService
from onehub_collector.receivers.grpc_receiver import start_grpc_receiver
from onehub_collector.receivers.http_receiver import http_receiver_app
from onehub_collector.servers import (
    HttpServer,
    display_address,
    listen,
    split_address,
)
from onehub_collector.store.reader import StoreReader
from onehub_collector.tail import TailHub

logger = logging.getLogger(__name__)


class RunningCollector:
    """A started collector. Ports are the bound ones (None when that server is off)."""

    def __init__(self, config: CollectorConfig, pipelines: Pipelines) -> None:
        self.config = config
        self.pipelines = pipelines
        self.exporters: dict[str, Exporter] = {}
        self.store: StoreExporter | None = None
        self.otlp_grpc_port: int | None = None
        self.otlp_http_port: int | None = None
        self.ui_port: int | None = None
        self._grpc_server: grpc.aio.Server | None = None
        self._http_servers: list[HttpServer] = []
        self._ui_server: HttpServer | None = None
        self._query: QueryService | None = None
        self._tail: TailHub | None = None
        self._stopped = False

    @property
    def ui_url(self) -> str | None:
        """The viewer's URL, e.g. http://127.0.0.1:16686/jaeger."""
        if self.ui_port is None or self.config.ui_addr is None:
            return None
        return f"http://{display_address(self.config.ui_addr, self.ui_port)}/jaeger"

    def addresses(self) -> dict[str, str]:
        found = {}
        for key, address, port in (
            ("otlp_grpc", self.config.otlp_grpc_addr, self.otlp_grpc_port),
            ("otlp_http", self.config.otlp_http_addr, self.otlp_http_port),
            ("ui", self.config.ui_addr, self.ui_port),
        ):
            if address is not None and port is not None:
                found[key] = display_address(address, port)
        return found

    async def flush(self, wait_s: float = 10.0) -> None:
        """Push what the batch processors hold to the exporters and wait until the store has
        committed it (tests and benchmarks use this instead of sleeping)."""
        self.pipelines.flush()
        if self.store is not None:
            await asyncio.to_thread(self.store.writer.flush, wait_s)

    def status(self) -> dict[str, Any]:
        """Counters for `/jaeger/api/x/status`."""
        status: dict[str, Any] = {
            "received": {s: dataclasses.asdict(c) for s, c in self.pipelines.counters.items()},
            "pendingBytes": self.pipelines.pending_bytes(),
        }
        if self.store is not None:
            status["store"] = dataclasses.asdict(self.store.writer.counters)
            status["metrics"] = dataclasses.asdict(self.store.metrics.counters)
        status["forward"] = {
            name: dataclasses.asdict(exporter.counters)
            for name, exporter in self.exporters.items()
            if isinstance(exporter, OtlpForwardExporter)
        }
        return status

    async def stop(self) -> None:
        """Stop receiving, export what is queued (within the config's grace), stop serving."""
        if self._stopped:
            return
        self._stopped = True
        grace = self.config.shutdown_grace_s
        if self._grpc_server is not None:
            await self._grpc_server.stop(1.0)
        for server in self._http_servers:
            await server.stop()
        self.pipelines.flush()
        for exporter in self.exporters.values():
            try:
                await exporter.stop(grace)
            except Exception:
                logger.exception("an exporter failed to stop cleanly")
        if self._tail is not None:
            self._tail.close()
        if self._ui_server is not None:
            await self._ui_server.stop()
        if self._query is not None:
            self._query.close()


def _host_checked(app: ASGIApp, address: str | None, config: CollectorConfig) -> ASGIApp:
    host, _ = split_address(address or "")
    return with_host_check(app, host, config.allowed_hosts)


def _build_exporters(
    pipeline: PipelineConfig, data_dir: Path, tail: TailHub
) -> tuple[dict[str, Exporter], StoreExporter | None]:
    used = {name for spec in pipeline.pipelines for name in spec.exporters}
    exporters: dict[str, Exporter] = {}
    store: StoreExporter | None = None
    for name in sorted(used):
        config = pipeline.exporters[name]
        if isinstance(config, StoreExporterConfig):
            if store is not None:
                raise CollectorStartError(
                    "only one store exporter may be used: the store has one writer"
                )
            store = StoreExporter(data_dir, config, tail)
            exporters[name] = store
        elif isinstance(config, OtlpExporterConfig):
            exporters[name] = OtlpForwardExporter(name, config)
        elif isinstance(config, DebugExporterConfig):
            exporters[name] = DebugExporter(name, config)
    return exporters, store


async def start_collector(config: CollectorConfig) -> RunningCollector:
    """Bind OTLP/gRPC, OTLP/HTTP and the UI/query server and start serving.

    Raises CollectorStartError (an address in use or invalid), ConfigError (an unusable
    pipeline) or StoreOpenError (the data directory's store cannot be used); on any of them
    nothing is left running.
    """
    pipeline = config.pipeline or default_pipeline_config()
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CollectorStartError(
            f"cannot create data directory {config.data_dir}: {exc.strerror}"
        ) from None
    sockets: list[tuple[socket.socket, str]] = []
    try:
        if config.otlp_http_addr is not None:
            sockets.append((listen(config.otlp_http_addr, "OTLP/HTTP"), "otlp_http"))
        if config.ui_addr is not None:
            sockets.append((listen(config.ui_addr, "the trace viewer"), "ui"))
    except CollectorStartError:
        for sock, _ in sockets:
            sock.close()
        raise
    tail = TailHub()
    running: RunningCollector | None = None
    try:
        exporters, store = _build_exporters(pipeline, config.data_dir, tail)
        pipelines = Pipelines(pipeline, exporters)
        running = RunningCollector(config, pipelines)
        running.exporters, running.store, running._tail = exporters, store, tail
        for exporter in exporters.values():
            await exporter.start()
        if config.otlp_grpc_addr is not None:
            # Probe the address first: grpc's own failure is a C-core log line, not ours.
            if split_address(config.otlp_grpc_addr)[1] != 0:
                listen(config.otlp_grpc_addr, "OTLP/gRPC").close()
            try:
                running._grpc_server, running.otlp_grpc_port = await start_grpc_receiver(
                    pipelines,
                    config.otlp_grpc_addr,
                    max_message_bytes=pipeline.receiver.grpc_max_message_bytes,
                    tls=pipeline.receiver.grpc_tls,
                )
            except OSError as exc:
                raise CollectorStartError(str(exc)) from None
        for sock, role in sockets:
            if role == "otlp_http":
                server = HttpServer(
                    _host_checked(
                        http_receiver_app(pipelines, pipeline.receiver),
                        config.otlp_http_addr,
                        config,
                    ),
                    sock,
                    "OTLP/HTTP",
                    tls=pipeline.receiver.http_tls,
                )
                running._http_servers.append(server)
                running.otlp_http_port = server.port
            else:
                running._query = QueryService(StoreReader(config.data_dir / STORE_FILE))
                app = ui_app(running._query, tail, running.status)
                server = HttpServer(_host_checked(app, config.ui_addr, config), sock, "UI")
                running._ui_server = server
                running.ui_port = server.port
            await server.start()
        return running
    except BaseException:
        if running is not None:
            with contextlib.suppress(Exception):
                await running.stop()
        for sock, _ in sockets:
            sock.close()
        raise

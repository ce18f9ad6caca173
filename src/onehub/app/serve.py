"""`onehub serve`: run until SIGINT or SIGTERM, then drain in-flight requests and exit 0."""

from __future__ import annotations

import asyncio
import signal
import sys

from onehub.app import event_loop
from onehub.app.gc_tuning import tune_for_serving
from onehub.app.wiring import RunningOneHub, start_onehub
from onehub.config import Settings


def serve(settings: Settings) -> int:
    """Run OneHub in the foreground. Return 0 after a clean shutdown (SIGINT or SIGTERM: drain,
    flush telemetry into the collector, then stop it). Raise ConfigError or StartupError, one
    line naming the culprit, if it cannot start; nothing is left running then. With
    `settings.workers` above 1, worker processes serve and this one supervises them."""
    try:
        if settings.workers > 1:
            from onehub.app.workers import serve_workers

            return serve_workers(settings)
        return event_loop.run(_serve(settings), settings.event_loop)
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130


async def _serve(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    running = await start_onehub(settings)
    tune_for_serving()
    _announce(running)
    await stop.wait()
    print("onehub: shutting down (draining in-flight requests)", file=sys.stderr, flush=True)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
    await running.stop()
    return 0


def _announce(running: RunningOneHub) -> None:
    lines = [
        "OneHub is running:",
        f"  web front end   {running.gateway_url}/",
        f"  REST API        {running.gateway_url}/api/v1/topics   (OpenAPI: /api/openapi.json)",
        f"  gRPC            {running.grpc_target}",
        f"  metrics         {running.gateway_url}/metrics",
        f"  event loop      {event_loop.describe(asyncio.get_running_loop())}",
    ]
    if running.collector is not None:
        lines += [
            f"  trace viewer    {running.viewer_url}",
            f"  OTLP receivers  grpc {running.collector.otlp_grpc_addr}  "
            f"http {running.collector.otlp_http_addr}",
        ]
    faults = running.faults.active()
    if faults:
        on = ", ".join(fault.text for fault in faults.values())
        lines.append(f"  faults on       {on}   (switch: {running.gateway_url}/admin/faults)")
    if running.settings.auth == "dev":
        lines.append("  sign in as admin / admin123 (dev auth: password = user id + 123)")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)

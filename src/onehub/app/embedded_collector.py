"""The embedded collector, trace store and viewer, run as a child process of `onehub serve`.

A child keeps span ingest and storage off the service's GIL (see the closing notes of issue 4
for the measurement). It is `onehub collector` with the serve command's addresses; we wait
until its query API answers, so the viewer URL we print works when it is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from dataclasses import dataclass

import httpx

from onehub.config import Settings, split_host_port

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


class CollectorStartError(RuntimeError):
    """The embedded collector did not come up; the message says where and why."""


@dataclass
class EmbeddedCollector:
    process: asyncio.subprocess.Process
    otlp_grpc_addr: str
    otlp_http_addr: str
    ui_addr: str

    @property
    def viewer_url(self) -> str:
        return f"http://{self.ui_addr}/jaeger"

    async def stop(self) -> None:
        """Ask the child to flush and exit (SIGTERM); kill it if it has not within the limit."""
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


def _concrete(addr: str, name: str) -> str:
    """`addr` with port 0 replaced by a port free right now (the child must know its ports)."""
    host, port = split_host_port(addr, name)
    if port:
        return addr
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        free = probe.getsockname()[1]
    return f"[{host}]:{free}" if ":" in host else f"{host}:{free}"


async def start_embedded_collector(settings: Settings) -> EmbeddedCollector:
    """Start `onehub collector` as a child and wait until its query API answers.

    Raise CollectorStartError (one line) if the child exits or does not answer in time.
    """
    grpc_addr = _concrete(settings.otlp_grpc_addr, "--otlp-grpc-addr")
    http_addr = _concrete(settings.otlp_http_addr, "--otlp-http-addr")
    ui_addr = _concrete(settings.ui_addr, "--ui-addr")
    args = [
        "--otlp-grpc-addr", grpc_addr,
        "--otlp-http-addr", http_addr,
        "--ui-addr", ui_addr,
        "--data-dir", settings.collector_data_dir,
    ]  # fmt: skip
    if settings.allowed_hosts:
        args += ["--allowed-hosts", ",".join(settings.allowed_hosts)]
    if settings.collector_config:
        args += ["--config", settings.collector_config]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "onehub", "collector", *args, stdin=asyncio.subprocess.DEVNULL
    )
    collector = EmbeddedCollector(process, grpc_addr, http_addr, ui_addr)
    try:
        await _wait_ready(collector)
    except BaseException:
        await collector.stop()
        raise
    return collector


async def _wait_ready(collector: EmbeddedCollector) -> None:
    url = f"http://{collector.ui_addr}/jaeger/api/services"
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if collector.process.returncode is not None:
                raise CollectorStartError(
                    f"the embedded collector exited with status {collector.process.returncode} "
                    f"(OTLP {collector.otlp_grpc_addr} / {collector.otlp_http_addr}, "
                    f"UI {collector.ui_addr}); see its message above, or run with --collector none"
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise CollectorStartError(
        f"the embedded collector did not answer on {collector.ui_addr} "
        f"within {READY_TIMEOUT_S:.0f}s"
    )

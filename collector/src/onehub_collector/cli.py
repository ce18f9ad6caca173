"""`onehub-collector` (OneHub runs it as `onehub collector`): the collector, store and viewer as
a process of its own (the all-in-one role).

Prints one ready line on stdout once every server listens (a parent process may wait for it):

    onehub collector ready: otlp_grpc=127.0.0.1:4317 otlp_http=127.0.0.1:4318 ui=http://127.0.0.1:16686/jaeger

SIGINT or SIGTERM stops it cleanly with status 0. A configuration, address or store problem
ends it at once with one line on stderr and a non-zero status (2 for usage and configuration,
1 for everything else).

With --watch-parent (how `onehub serve` runs it) it lives and dies with the process that started
it: Ctrl-C at the terminal is ignored (the parent decides when the collector stops, after it has
flushed its own telemetry), and it stops as on SIGTERM, storing what it holds, once its stdin
reaches end of file, which happens however the parent ends, kill -9 included. On Linux the
parent's death also delivers SIGTERM directly (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from onehub_collector.collector import start_collector
from onehub_collector.config import CollectorConfig, CollectorStartError, ConfigError
from onehub_collector.config_yaml import default_pipeline_config, load_config_file
from onehub_collector.store.schema import StoreOpenError

READY_PREFIX = "onehub collector ready:"
ENV_ALLOWED_HOSTS = "ONEHUB_ALLOWED_HOSTS"
DEFAULT_DATA_DIR = Path(".data/collector")
DEFAULT_UI_ADDR = "127.0.0.1:16686"

# The command's name in usage and help when it runs on its own.
PROG = "onehub-collector"

# Environment twins of the flags (a flag wins over its twin); `onehub serve` reads the same
# names for the collector it runs.
ENV_OTLP_GRPC_ADDR = "ONEHUB_OTLP_GRPC_ADDR"
ENV_OTLP_HTTP_ADDR = "ONEHUB_OTLP_HTTP_ADDR"
ENV_UI_ADDR = "ONEHUB_UI_ADDR"
ENV_CONFIG = "ONEHUB_COLLECTOR_CONFIG"
ENV_DATA_DIR = "ONEHUB_COLLECTOR_DATA_DIR"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line; `prog` names the command in usage and help (`onehub collector` when
    OneHub runs it)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the OTLP collector, trace store and Jaeger-compatible viewer. "
        "Every flag has an environment twin; a flag wins over its twin.",
    )
    parser.add_argument(
        "--otlp-grpc-addr",
        metavar="HOST:PORT",
        help=f"OTLP/gRPC receiver (env {ENV_OTLP_GRPC_ADDR}; default: the config's, "
        "127.0.0.1:4317)",
    )
    parser.add_argument(
        "--otlp-http-addr",
        metavar="HOST:PORT",
        help=f"OTLP/HTTP receiver (env {ENV_OTLP_HTTP_ADDR}; default: the config's, "
        "127.0.0.1:4318)",
    )
    parser.add_argument(
        "--ui-addr",
        metavar="HOST:PORT",
        help="trace viewer at /jaeger and query API at /jaeger/api "
        f"(env {ENV_UI_ADDR}; default: {DEFAULT_UI_ADDR})",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="collector YAML in the OpenTelemetry Collector's shape "
        f"(env {ENV_CONFIG}; default: the built-in configuration)",
    )
    parser.add_argument(
        "--allowed-hosts",
        metavar="HOSTS",
        help="comma-separated Host names the HTTP servers answer besides localhost and loopback "
        f"addresses; * for any (env {ENV_ALLOWED_HOSTS})",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        help=f"where the trace store lives (env {ENV_DATA_DIR}; default: {DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--watch-parent",
        action="store_true",
        # How `onehub serve` runs its child (stop when stdin closes or the parent dies, ignore
        # SIGINT): a protocol between the two processes, not a setting, so neither shown in the
        # help nor given an environment twin.
        help=argparse.SUPPRESS,
    )
    return parser


def config_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> CollectorConfig:
    """The collector config the flags ask for, each missing flag taken from its environment
    twin; ConfigError when the YAML is unusable. Flags (and twins) win over the YAML's receiver
    endpoints."""

    def pick(value: object, env_name: str) -> str | None:
        if value is not None:
            return str(value)
        return env.get(env_name, "").strip() or None

    config_file = pick(args.config, ENV_CONFIG)
    pipeline = load_config_file(Path(config_file)) if config_file else default_pipeline_config()
    receiver = pipeline.receiver
    return CollectorConfig(
        otlp_grpc_addr=pick(args.otlp_grpc_addr, ENV_OTLP_GRPC_ADDR) or receiver.grpc_endpoint,
        otlp_http_addr=pick(args.otlp_http_addr, ENV_OTLP_HTTP_ADDR) or receiver.http_endpoint,
        ui_addr=pick(args.ui_addr, ENV_UI_ADDR) or DEFAULT_UI_ADDR,
        data_dir=Path(pick(args.data_dir, ENV_DATA_DIR) or DEFAULT_DATA_DIR),
        pipeline=pipeline,
        allowed_hosts=tuple(
            host.strip().lower()
            for host in (pick(args.allowed_hosts, ENV_ALLOWED_HOSTS) or "").split(",")
            if host.strip()
        ),
    )


async def serve(config: CollectorConfig, *, watch_parent: bool = False) -> None:
    """Run until SIGINT or SIGTERM (only SIGTERM, or the parent's end, with `watch_parent`),
    then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    if watch_parent:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_with_parent(lambda: loop.call_soon_threadsafe(stop.set))
    else:
        loop.add_signal_handler(signal.SIGINT, stop.set)
    running = await start_collector(config)
    try:
        parts = [f"{key}={value}" for key, value in running.addresses().items() if key != "ui"]
        if running.ui_url is not None:
            parts.append(f"ui={running.ui_url}")
        print(READY_PREFIX, " ".join(parts), flush=True)
        await stop.wait()
    finally:
        await running.stop()


def stop_with_parent(stop: Callable[[], object]) -> None:
    """Call `stop` (from another thread) once stdin reaches end of file: the parent holds the
    other end of that pipe, and the kernel closes it however the parent ends."""
    _ask_for_sigterm_on_parent_death()

    def watch() -> None:
        while True:
            try:
                if not os.read(0, 4096):
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        stop()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _ask_for_sigterm_on_parent_death() -> None:
    """Linux only: have the kernel send SIGTERM when the parent dies (the stdin pipe is the
    portable mechanism; this one does not depend on the parent's file descriptors)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Entry point of `onehub-collector`, `python -m onehub_collector` and `onehub collector`;
    the exit status."""
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("uvicorn", "uvicorn.error", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = config_from_args(args, os.environ)
        asyncio.run(serve(config, watch_parent=args.watch_parent))
    except ConfigError as exc:
        print(f"onehub collector: {exc}", file=sys.stderr)
        return 2
    except (CollectorStartError, StoreOpenError) as exc:
        print(f"onehub collector: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place
        return 130
    return 0

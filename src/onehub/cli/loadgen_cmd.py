"""`onehub loadgen`: create users, topics and messages at a chosen rate and report latencies."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys

from . import output
from .client import ClientOptions, UsageError, client_options, connect
from .commands import Subparsers
from .loadgen import (
    LoadClient,
    LoadgenError,
    LoadPlan,
    LoadReport,
    format_report,
    remove_run,
    require_loopback,
    run_load,
)
from .loadgen_clients import GrpcLoadClient, RestLoadClient
from .loadgen_progress import ProgressPrinter

DEFAULT_GATEWAY = "http://127.0.0.1:9080"
ENV_GATEWAY = "ONEHUB_GATEWAY"

DESCRIPTION = """\
Create users, then topics, then messages against a running server at a steady rate, and report
throughput and latency percentiles per operation. Acts as --user (admin by default: creating
users needs it). It stops by itself at --count operations or after --duration seconds, whichever
comes first, and only targets this machine unless --allow-remote is given.

Everything it creates is named loadgen-<run id>-...; --cleanup deletes it (topics with their
messages, then users) when the run ends. Progress (rate, errors, p50/p99 so far) goes to stderr
once a second.
"""

EXAMPLES = """\
examples:
  onehub loadgen                                   50 ops/s for 10 s over gRPC
  onehub loadgen --rate 100 --duration 5 --cleanup leave nothing behind
  onehub loadgen --rate 200 --count 2000 --concurrency 16
  onehub loadgen --via rest --gateway http://127.0.0.1:9080 --duration 30 --json
"""


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "loadgen",
        parents=[common],
        help="generate load against a running server and report latencies",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = LoadPlan()
    add = parser.add_argument
    add("--rate", type=float, default=defaults.rate, help="operations per second (0 = unpaced)")
    add(
        "--duration",
        type=float,
        help=f"seconds to run (default {defaults.duration:g}, or up to an hour with --count)",
    )
    add("--count", type=int, help="operations in total, users and topics included")
    add("--concurrency", type=int, default=defaults.concurrency, help="calls in flight at most")
    add("--users", type=int, default=defaults.users, help="users to create first")
    add("--topics", type=int, default=defaults.topics, help="topics to create next")
    add("--via", choices=("grpc", "rest"), default="grpc", help="API to load (default grpc)")
    add(
        "--gateway",
        help=f"REST gateway base URL for --via rest (env {ENV_GATEWAY}; default {DEFAULT_GATEWAY})",
    )
    add("--allow-remote", action="store_true", help="allow a target that is not on this machine")
    add(
        "--cleanup",
        action="store_true",
        help="delete the run's users and topics (and so its messages) when it ends",
    )
    add("--no-progress", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(local_command=run_loadgen)


def plan_from_args(args: argparse.Namespace, options: ClientOptions) -> LoadPlan:
    duration = args.duration
    if duration is None:
        # A --count run is bounded by its count; the hour is only the backstop.
        duration = 3600.0 if args.count is not None else LoadPlan().duration
    return LoadPlan(
        rate=args.rate,
        duration=duration,
        count=args.count,
        concurrency=args.concurrency,
        users=args.users,
        topics=args.topics,
        call_timeout=options.timeout,
    )


def target_of(args: argparse.Namespace, options: ClientOptions) -> str:
    if args.via == "rest":
        return str(args.gateway or os.environ.get(ENV_GATEWAY) or DEFAULT_GATEWAY)
    return options.server


async def _run(
    args: argparse.Namespace, options: ClientOptions, plan: LoadPlan, printer: ProgressPrinter
) -> LoadReport:
    target = target_of(args, options)

    async def load(client: LoadClient) -> LoadReport:
        try:
            report = await run_load(
                plan,
                client,
                target=target,
                via=args.via,
                on_progress=None if args.no_progress else printer,
            )
        except LoadgenError as error:
            if not args.cleanup:
                raise
            raise LoadgenError(f"{error}; {(await remove_run(client, plan)).line()}") from None
        except asyncio.CancelledError:
            # Ctrl-C: asyncio.run cancels this task once; the run's data still goes.
            if args.cleanup:
                printer.finish()
                print((await remove_run(client, plan)).line(), file=sys.stderr)
            raise
        if not args.cleanup:
            return report
        return dataclasses.replace(report, cleanup=await remove_run(client, plan))

    if args.via == "rest":
        rest = RestLoadClient.open(target, options.user, options.password, options.timeout)
        try:
            return await load(rest)
        finally:
            await rest.aclose()
    async with connect(options) as hub:
        return await load(GrpcLoadClient(hub))


def run_loadgen(args: argparse.Namespace) -> int:
    """Exit 2 for a bad plan or a refused target, 1 if the run failed or nothing succeeded."""
    options = client_options(args, os.environ)
    target = target_of(args, options)
    try:
        plan = plan_from_args(args, options).validate()
        require_loopback(target, args.allow_remote)
    except LoadgenError as error:
        raise UsageError(str(error)) from None
    printer = ProgressPrinter(sys.stderr)
    try:
        report = asyncio.run(_run(args, options, plan, printer))
    except LoadgenError as error:
        printer.finish()
        line = f"error: {error} (target {target})".replace(options.password, "***")
        print(line, file=sys.stderr)
        return 1
    printer.finish()
    if options.as_json:
        output.emit(sys.stdout, json.dumps(report.as_dict(), indent=2))
    else:
        output.emit(sys.stdout, format_report(report))
    if report.cleanup is not None and report.cleanup.failures:
        return 1
    return 0 if report.overall.ok else 1

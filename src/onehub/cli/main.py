"""`onehub`: the entry point. Builds the argument parser and dispatches to one command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from onehub import __version__
from onehub.config import ConfigError, StartupError

from . import demo_cmd, loadgen_cmd, msgs_cmd, serve_cmd, topics_cmd, users_cmd
from .client import UsageError, add_client_arguments, client_options, run_client

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
OneHub: group messaging with a gRPC API, a REST gateway and built-in tracing.

`onehub serve` runs the server; the other commands are clients of a running server
(gRPC at --server, default 127.0.0.1:9000, acting as --user with --password).
"""

EXAMPLES = """\
examples:
  onehub serve                                 start everything on the default addresses
  onehub topics create "Book club" --member alice
  onehub msgs send t1 "hello"                  post in topic t1
  onehub --json users list --all               every user as JSON
  ONEHUB_USER=alice ONEHUB_PASSWORD=alice123 onehub topics list
  onehub loadgen --rate 50 --duration 10       load a local server and report latencies
  onehub demo                                  fill a local server with a demo community
  onehub collector --help                      the embedded collector on its own
"""


def build_parser() -> argparse.ArgumentParser:
    return _build_parsers()[0]


def _build_parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and each command's own (by name), for usage errors that show the
    usage of the command they belong to."""
    parser = argparse.ArgumentParser(
        prog="onehub",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"onehub {__version__}")
    add_client_arguments(parser, top_level=True)
    # The same flags after the subcommand: `onehub topics list --json` reads naturally.
    common = argparse.ArgumentParser(add_help=False)
    add_client_arguments(common, top_level=False)

    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_cmd.register(commands)
    commands.add_parser(
        "collector",
        help="run the embedded OTLP collector, trace store and viewer alone",
        add_help=False,
    )
    topics_cmd.register(commands, common)
    msgs_cmd.register(commands, common)
    users_cmd.register(commands, common)
    loadgen_cmd.register(commands, common)
    demo_cmd.register(commands, common)
    return parser, dict(commands.choices)


def run_collector(argv: Sequence[str]) -> int:
    # Imported only when asked for: the collector brings its own servers and storage.
    import onehub_collector

    try:
        return onehub_collector.main(list(argv), prog="onehub collector")
    except SystemExit as exit_:
        # Its argparse exits for --help and bad flags; `main` returns statuses instead.
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `onehub` command; return its exit status (0 ok, 1 failed, 2 bad usage)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["collector"]:
        # Everything after `collector` is the collector's own (including --help).
        return run_collector(arguments[1:])
    parser, command_parsers = _build_parsers()
    try:
        args, unknown = parser.parse_known_args(arguments)
        if unknown:
            # An unknown flag after the command is that command's usage error, not the top
            # level's (whose usage would not list the command's flags).
            culprit = command_parsers.get(getattr(args, "command", ""), parser)
            culprit.error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exit_:
        # argparse exits for --help, --version and bad usage; callers get the status instead.
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        if hasattr(args, "client_command"):
            options = client_options(args, os.environ)
            return run_client(args.client_command, args, options)
        status: int = args.local_command(args)
        return status
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except StartupError as error:
        # The one place a start-up mistake is reported: one line, no traceback.
        print(f"onehub: {error}", file=sys.stderr, flush=True)
        return EXIT_USAGE if isinstance(error, ConfigError) else EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED

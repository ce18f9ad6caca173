"""`onehub serve`: start the whole system (what `make run` runs)."""

from __future__ import annotations

import argparse
import os

from onehub.config import add_serve_arguments, settings_from_args

from .commands import Subparsers

EXAMPLES = """\
examples:
  onehub serve
  onehub serve --db-endpoint postgres://postgres@127.0.0.1:5432/onehub --auth password
  onehub serve --collector none --addr 127.0.0.1:9001 --gw-addr 127.0.0.1:9081
  onehub serve --workers auto                      one serving process per core
"""


def register(subparsers: Subparsers) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the gRPC server, REST gateway, web front end and embedded collector",
        description=(
            "Run OneHub: gRPC API, REST gateway and web front end, with the embedded "
            "OpenTelemetry collector and trace viewer unless told otherwise. "
            "Every flag has an environment twin; a flag wins over its twin."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_serve_arguments(serve)
    serve.set_defaults(local_command=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Run `onehub serve`; ConfigError and StartupError propagate to `onehub.cli.main`."""
    settings = settings_from_args(args, os.environ)
    # Imported only now: the composition root pulls in every layer, which the client commands
    # and --help have no use for.
    from onehub.app import serve

    return serve(settings)

"""What the client subcommands share: building a leaf parser and printing one or many rows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TypeAlias

from google.protobuf.message import Message as ProtoMessage

from onehub.gen.onehub.v1 import models_pb2

from . import output
from .client import ClientCommand, Hub
from .paging import note_more

# A string: argparse's class is not subscriptable at run time.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_leaf(
    commands: Subparsers,
    common: argparse.ArgumentParser,
    name: str,
    summary: str,
    examples: str,
    handler: ClientCommand,
) -> argparse.ArgumentParser:
    """Add one client subcommand that takes the global client flags and runs `handler`."""
    leaf = commands.add_parser(
        name,
        parents=[common],
        help=summary,
        description=summary[:1].upper() + summary[1:] + ".",
        epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    leaf.set_defaults(client_command=handler)
    return leaf


def show_one(hub: Hub, response: ProtoMessage, fields: Sequence[tuple[str, str]]) -> None:
    if hub.options.as_json:
        output.emit(sys.stdout, output.to_json(response))
    else:
        output.emit(sys.stdout, output.format_fields(fields))


def show_list(
    hub: Hub,
    args: argparse.Namespace,
    response: ProtoMessage,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    pagination: models_pb2.PaginationResponse,
) -> None:
    if hub.options.as_json:
        output.emit(sys.stdout, output.to_json(response))
    elif rows:
        output.emit(sys.stdout, output.format_table(headers, rows))
    else:
        output.emit(sys.stdout, "(none)")
    note_more(args, pagination)

"""`onehub users create|list|get|delete|set-password`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from onehub.config import DEFAULT_DB_ENDPOINT, ENV_DB_ENDPOINT
from onehub.gen.onehub.v1 import models_pb2, users_pb2

from . import output
from .client import Hub, UsageError
from .commands import Subparsers, add_leaf, show_list, show_one
from .paging import add_paging_arguments, fetch_pages

EXAMPLES = """\
examples:
  onehub users create alice --name "Alice Liddell"
  onehub users list --all
  onehub users get alice --json
  onehub users delete alice
  onehub users set-password alice --db-endpoint sqlite:///.data/onehub.db
  printf 'Secret-Phrase\\n' | onehub users set-password alice --password-stdin
"""

SET_PASSWORD_HELP = """\
Set a user's password for the `password` credential checker (onehub serve --auth password).

There is no RPC for this: the command writes the salted hash straight into the database, so run
it where the database is reachable. It prompts twice for the password unless --password-stdin
is given.
"""


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    users = subparsers.add_parser(
        "users",
        help="create, list, show and delete users; set passwords",
        description="Users post messages and are members of topics; `admin` manages them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = users.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = add_leaf(
        commands, common, "create", "create a user (admin only)", EXAMPLES, create_user
    )
    create.add_argument("id", help="the new user's id")
    create.add_argument("--name", help="display name (default: the id)")
    create.add_argument("--avatar", default="", help="avatar URL")

    listing = add_leaf(commands, common, "list", "list users by id", EXAMPLES, list_users)
    add_paging_arguments(listing)

    get = add_leaf(commands, common, "get", "show one user", EXAMPLES, get_user)
    get.add_argument("id", help="user id")

    delete = add_leaf(commands, common, "delete", "delete a user", EXAMPLES, delete_user)
    delete.add_argument("id", help="user id")

    set_password = commands.add_parser(
        "set-password",
        help="set a user's password in the database (for --auth password)",
        description=SET_PASSWORD_HELP,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    set_password.add_argument("user_id", help="whose password to set")
    set_password.add_argument(
        "--db-endpoint",
        help=f"database URL (env {ENV_DB_ENDPOINT}; default {DEFAULT_DB_ENDPOINT})",
    )
    set_password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    set_password.set_defaults(local_command=run_set_password)


async def create_user(args: argparse.Namespace, hub: Hub) -> int:
    user = models_pb2.User(id=args.id, name=args.name or args.id, avatar=args.avatar)
    request = users_pb2.CreateUserRequest(user=user)
    response = await hub.users.CreateUser(request, metadata=hub.metadata, timeout=hub.timeout)
    show_one(hub, response, output.user_fields(response.user))
    return 0


async def list_users(args: argparse.Namespace, hub: Hub) -> int:
    async def fetch(pagination: models_pb2.Pagination) -> users_pb2.ListUsersResponse:
        request = users_pb2.ListUsersRequest(pagination=pagination)
        return await hub.users.ListUsers(request, metadata=hub.metadata, timeout=hub.timeout)

    response = await fetch_pages(args, "users", fetch)
    rows = [output.user_row(u) for u in response.users]
    show_list(hub, args, response, output.USER_HEADERS, rows, response.pagination)
    return 0


async def get_user(args: argparse.Namespace, hub: Hub) -> int:
    request = users_pb2.GetUserRequest(id=args.id)
    response = await hub.users.GetUser(request, metadata=hub.metadata, timeout=hub.timeout)
    show_one(hub, response, output.user_fields(response.user))
    return 0


async def delete_user(args: argparse.Namespace, hub: Hub) -> int:
    request = users_pb2.DeleteUserRequest(id=args.id)
    response = await hub.users.DeleteUser(request, metadata=hub.metadata, timeout=hub.timeout)
    show_one(hub, response, [("deleted user", args.id)])
    return 0


def read_new_password(from_stdin: bool) -> str:
    """The new password: first line of stdin, or typed twice at a prompt that does not echo.

    Raise UsageError if it is empty or the two entries differ.
    """
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise UsageError("the two passwords differ; nothing changed")
    if not password:
        raise UsageError("the password is empty; nothing changed")
    return password


def run_set_password(args: argparse.Namespace) -> int:
    # Imported here: it pulls in SQLAlchemy and the services, which the other commands never need.
    from onehub.app.passwords import set_password_command

    db_endpoint = args.db_endpoint or os.environ.get(ENV_DB_ENDPOINT) or DEFAULT_DB_ENDPOINT
    password = read_new_password(args.password_stdin)
    return set_password_command(db_endpoint, args.user_id, password)

"""The client side of the CLI: global flags, one gRPC channel with credentials, error lines.

Every client command is an async function of (parsed args, `Hub`); `run_client` connects, runs it
and turns a gRPC failure into one `error: CODE: message` line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import grpc

from onehub.config import ConfigError, split_host_port
from onehub.gen.onehub.v1 import messages_pb2_grpc, topics_pb2_grpc, users_pb2_grpc
from onehub.transport.grpc.limits import GRPC_SIZE_OPTIONS

if TYPE_CHECKING:
    from onehub.gen.onehub.v1.messages_pb2_grpc import MessageServiceAsyncStub
    from onehub.gen.onehub.v1.topics_pb2_grpc import TopicServiceAsyncStub
    from onehub.gen.onehub.v1.users_pb2_grpc import UserServiceAsyncStub

# Environment twins of the global client flags.
ENV_SERVER = "ONEHUB_SERVER"
ENV_USER = "ONEHUB_USER"
ENV_PASSWORD = "ONEHUB_PASSWORD"

DEFAULT_SERVER = "127.0.0.1:9000"
# The dev credential checker's scheme: password = user id + "123".
DEFAULT_USER = "admin"
DEFAULT_PASSWORD = "admin123"
DEFAULT_TIMEOUT = 10.0

# The metadata keys of the original's clients (gRPC lowercases keys on the wire anyway).
USERNAME_KEY = "onehubusername"
PASSWORD_KEY = "onehubpassword"

EXIT_ERROR = 1


class UsageError(Exception):
    """Bad flags or arguments that argparse cannot catch; printed as one line, exit status 2."""


@dataclass(frozen=True, slots=True)
class ClientOptions:
    server: str = DEFAULT_SERVER
    user: str = DEFAULT_USER
    # Kept out of repr so that no traceback or debug print ever shows it.
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    as_json: bool = False

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return ((USERNAME_KEY, self.user), (PASSWORD_KEY, self.password))


def add_client_arguments(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """Add --server, --user, --password, --timeout and --json.

    They are accepted before the subcommand (`top_level`, real defaults of None) and after it
    (SUPPRESS, so a flag given early is not overwritten by the subcommand's absent one).
    """
    default = None if top_level else argparse.SUPPRESS
    add = parser.add_argument
    add(
        "--server",
        default=default,
        help=f"gRPC address of the server (env {ENV_SERVER}; default {DEFAULT_SERVER})",
    )
    add("--user", default=default, help=f"user to act as (env {ENV_USER}; default {DEFAULT_USER})")
    add(
        "--password",
        default=default,
        help=f"that user's password (env {ENV_PASSWORD}; default: the dev scheme's admin123)",
    )
    add(
        "--timeout",
        type=float,
        default=default,
        help=f"seconds to wait for each call (default {DEFAULT_TIMEOUT:g})",
    )
    add(
        "--json",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="print the response as JSON (the REST gateway's shape)",
    )


def client_options(args: argparse.Namespace, env: Mapping[str, str]) -> ClientOptions:
    """Flag, else environment twin, else default.

    Raise UsageError for a non-positive timeout or a server address that is not host:port.
    """

    def pick(name: str, env_name: str, default: str) -> str:
        value = getattr(args, name, None)
        if value is not None:
            return str(value)
        return env.get(env_name) or default

    timeout = getattr(args, "timeout", None)
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    if timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    server = pick("server", ENV_SERVER, DEFAULT_SERVER)
    try:
        if "://" in server:
            raise ConfigError(f"--server: {server!r} is not host:port (no scheme)")
        split_host_port(server, "--server")
    except ConfigError as error:
        raise UsageError(str(error)) from None
    return ClientOptions(
        server=server,
        user=pick("user", ENV_USER, DEFAULT_USER),
        password=pick("password", ENV_PASSWORD, DEFAULT_PASSWORD),
        timeout=timeout,
        as_json=bool(getattr(args, "json", False)),
    )


@dataclass(slots=True)
class Hub:
    """The stubs of one connection, plus what every call needs (credentials, deadline)."""

    options: ClientOptions
    topics: TopicServiceAsyncStub
    messages: MessageServiceAsyncStub
    users: UserServiceAsyncStub

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return self.options.metadata

    @property
    def timeout(self) -> float:
        return self.options.timeout


@asynccontextmanager
async def connect(options: ClientOptions) -> AsyncIterator[Hub]:
    """Open one channel to `options.server`; nothing is sent until the first call."""
    async with grpc.aio.insecure_channel(options.server, options=GRPC_SIZE_OPTIONS) as channel:
        yield Hub(
            options=options,
            topics=topics_pb2_grpc.TopicServiceStub(channel),
            messages=messages_pb2_grpc.MessageServiceStub(channel),
            users=users_pb2_grpc.UserServiceStub(channel),
        )


def describe_rpc_error(error: grpc.aio.AioRpcError, options: ClientOptions) -> str:
    """One line for a failed call, without the password even if a server echoed it."""
    code = error.code()
    details = (error.details() or "").strip()
    if code is grpc.StatusCode.UNAVAILABLE:
        reason = "connection refused" if "refused" in details.lower() else details
        line = (
            f"error: UNAVAILABLE: cannot reach the OneHub server at {options.server} ({reason}); "
            f"is `onehub serve` running? (set --server or {ENV_SERVER})"
        )
    elif code is grpc.StatusCode.DEADLINE_EXCEEDED:
        line = (
            f"error: DEADLINE_EXCEEDED: no answer from {options.server} "
            f"within {options.timeout:g}s (see --timeout)"
        )
    else:
        line = f"error: {code.name}: {details or 'no details'}"
    line = " ".join(line.split())
    if options.password:
        line = line.replace(options.password, "***")
    return line


ClientCommand = Callable[[argparse.Namespace, Hub], Awaitable[int]]


def run_client(command: ClientCommand, args: argparse.Namespace, options: ClientOptions) -> int:
    """Run one client command on a fresh connection; return its exit status (1 on RPC failure)."""

    async def body() -> int:
        async with connect(options) as hub:
            return await command(args, hub)

    try:
        return asyncio.run(body())
    except grpc.aio.AioRpcError as error:
        print(describe_rpc_error(error, options), file=sys.stderr)
        return EXIT_ERROR

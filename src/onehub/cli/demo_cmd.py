"""`onehub demo`: fill a running server with a believable community through the public API.

People and topics are created with CreateUser and CreateTopic, the week of messages is sent
with the bulk ImportMessages call (which keeps the generated timestamps) in batches of
DEMO_BATCH_SIZE. Running it again adds only what is missing: a user or topic that exists is
kept, and each batch first asks which of its message ids are already stored.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from onehub.gen.onehub.v1 import messages_pb2, models_pb2, topics_pb2, users_pb2

from .client import EXIT_ERROR, Hub, UsageError, client_options, connect, describe_rpc_error
from .commands import Subparsers
from .demo_data import (
    DEFAULT_MESSAGES,
    DEFAULT_SEED,
    DEFAULT_USERS,
    Community,
    DemoMessage,
    build_community,
)
from .loadgen import LoadgenError, require_loopback

# Messages per ImportMessages request: within the server's batch limit, and small enough that
# one request stays well under the gRPC message size limit.
DEMO_BATCH_SIZE = 1000
MAX_DEMO_MESSAGES = 100_000

DESCRIPTION = """\
Fill a running server with demo data: people with names, avatars and profiles, topics they are
members of, and a week of conversation (replies, threads, plausible hours), all generated here
from --seed. It acts as --user (admin by default: creating users and importing messages needs
it), only targets this machine unless --allow-remote is given, and is safe to run again: what
is already there is kept, only what is missing is added.
"""

EXAMPLES = """\
examples:
  onehub demo                                  30 people, 8 topics, 3000 messages
  onehub demo --messages 20000 --users 36
  onehub demo --server 127.0.0.1:9001
"""


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "demo",
        parents=[common],
        help="fill a running server with a demo community (people, topics, a week of messages)",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--users", type=int, default=DEFAULT_USERS, help=f"people (default {DEFAULT_USERS})")
    add(
        "--messages",
        type=int,
        default=DEFAULT_MESSAGES,
        help=f"messages over the past week (default {DEFAULT_MESSAGES})",
    )
    add("--seed", type=int, default=DEFAULT_SEED, help="what to generate (default %(default)s)")
    add("--allow-remote", action="store_true", help="allow a server that is not on this machine")
    parser.set_defaults(local_command=run_demo)


@dataclass(frozen=True, slots=True)
class DemoResult:
    users_added: int
    topics_added: int
    messages_added: int


def _timestamp(when: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


def _message(message: DemoMessage) -> models_pb2.Message:
    created = _timestamp(message.created_at)
    return models_pb2.Message(
        base=models_pb2.MessageBase(
            id=message.id, creator_id=message.creator_id, created_at=created, updated_at=created
        ),
        content_base=models_pb2.ContentBase(content_type="text/plain", content_text=message.text),
        topic_id=message.topic_id,
        parent_message_id=message.parent_id,
    )


async def _created(call: Awaitable[object]) -> bool:
    """True if the create call stored something, False if it was already there."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        if error.code() is grpc.StatusCode.ALREADY_EXISTS:
            return False
        raise
    return True


def _batches(messages: Sequence[DemoMessage]) -> list[Sequence[DemoMessage]]:
    return [messages[i : i + DEMO_BATCH_SIZE] for i in range(0, len(messages), DEMO_BATCH_SIZE)]


async def load_community(hub: Hub, community: Community) -> DemoResult:
    """Create what of `community` the server lacks; return how much was added."""
    metadata, timeout = hub.metadata, hub.timeout
    users_added = 0
    for user in community.users:
        profile = Struct()
        profile.update(user.profile)
        proto = models_pb2.User(
            id=user.id, name=user.name, avatar=user.avatar, profile_data=profile
        )
        request = users_pb2.CreateUserRequest(user=proto)
        users_added += await _created(
            hub.users.CreateUser(request, metadata=metadata, timeout=timeout)
        )
    topics_added = 0
    for topic in community.topics:
        request_topic = topics_pb2.CreateTopicRequest(
            topic=models_pb2.Topic(
                base=models_pb2.MessageBase(id=topic.id),
                name=topic.name,
                users=dict.fromkeys(topic.members, True),
            )
        )
        topics_added += await _created(
            hub.topics.CreateTopic(request_topic, metadata=metadata, timeout=timeout)
        )
    messages_added = 0
    for batch in _batches(community.messages):
        stored = await hub.messages.GetMessages(
            messages_pb2.GetMessagesRequest(ids=[m.id for m in batch]),
            metadata=metadata,
            timeout=timeout,
        )
        missing = [_message(m) for m in batch if m.id not in stored.messages]
        if missing:
            await hub.messages.ImportMessages(
                messages_pb2.ImportMessagesRequest(messages=missing),
                metadata=metadata,
                timeout=timeout,
            )
            messages_added += len(missing)
    return DemoResult(users_added, topics_added, messages_added)


def run_demo(args: argparse.Namespace) -> int:
    """Exit 2 for bad flags or a refused server, 1 if a call failed, else 0."""
    options = client_options(args, os.environ)
    if not 1 <= args.users <= 500:
        raise UsageError("--users must be between 1 and 500")
    if not 0 <= args.messages <= MAX_DEMO_MESSAGES:
        raise UsageError(f"--messages must be between 0 and {MAX_DEMO_MESSAGES}")
    try:
        require_loopback(options.server, args.allow_remote, purpose="write demo data")
    except LoadgenError as error:
        raise UsageError(str(error)) from None
    began = time.perf_counter()
    community = build_community(
        datetime.now(UTC), seed=args.seed, users=args.users, messages=args.messages
    )

    async def body() -> DemoResult:
        async with connect(options) as hub:
            return await load_community(hub, community)

    try:
        result = asyncio.run(body())
    except grpc.aio.AioRpcError as error:
        print(describe_rpc_error(error, options), file=sys.stderr)
        return EXIT_ERROR
    elapsed = time.perf_counter() - began
    total = (len(community.users), len(community.topics), len(community.messages))
    if result == DemoResult(0, 0, 0):
        print(
            f"demo data already there: {total[0]} users, {total[1]} topics, "
            f"{total[2]} messages; nothing added"
        )
    else:
        print(
            f"demo: added {result.users_added} users, {result.topics_added} topics and "
            f"{result.messages_added} messages (of {total[0]}, {total[1]} and {total[2]}) "
            f"to {options.server} in {elapsed:.1f}s"
        )
    return 0

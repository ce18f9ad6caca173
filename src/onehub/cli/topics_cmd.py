"""`onehub topics list|create|get|delete|update`."""

from __future__ import annotations

import argparse
import sys

from google.protobuf.field_mask_pb2 import FieldMask

from onehub.gen.onehub.v1 import models_pb2, topics_pb2

from . import output
from .client import Hub, UsageError
from .commands import Subparsers, add_leaf, show_list, show_one
from .paging import add_paging_arguments, fetch_pages

EXAMPLES = """\
examples:
  onehub topics list --all
  onehub topics create "Weekend plans" --member alice --member bob
  TOPIC=$(onehub topics create "Book club" -q)     print only the new id, for the next command
  onehub topics get t1
  onehub topics update t1 --name "Plans" --add-user carol --remove-user bob
  onehub topics delete t1
"""


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    topics = subparsers.add_parser(
        "topics",
        help="list, create, show, change and delete topics",
        description="Topics are the group chats; their members may post messages in them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = topics.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = add_leaf(commands, common, "list", "list topics by name", EXAMPLES, list_topics)
    add_paging_arguments(listing)

    create = add_leaf(commands, common, "create", "create a topic", EXAMPLES, create_topic)
    create.add_argument("name", help="the topic's name")
    create.add_argument("--id", default="", help="the topic's id (default: server-assigned)")
    create.add_argument(
        "--member", action="append", default=[], metavar="USER_ID", help="a member (repeatable)"
    )
    create.add_argument("--quiet", "-q", action="store_true", help="print only the new topic's id")

    get = add_leaf(commands, common, "get", "show one topic", EXAMPLES, get_topic)
    get.add_argument("id", help="topic id")

    delete = add_leaf(
        commands, common, "delete", "delete a topic and its messages", EXAMPLES, delete_topic
    )
    delete.add_argument("id", help="topic id")

    update = add_leaf(
        commands, common, "update", "rename a topic or change its members", EXAMPLES, update_topic
    )
    update.add_argument("id", help="topic id")
    update.add_argument("--name", help="new name")
    update.add_argument(
        "--add-user", action="append", default=[], metavar="USER_ID", help="add a member"
    )
    update.add_argument(
        "--remove-user", action="append", default=[], metavar="USER_ID", help="remove a member"
    )


async def list_topics(args: argparse.Namespace, hub: Hub) -> int:
    async def fetch(pagination: models_pb2.Pagination) -> topics_pb2.ListTopicsResponse:
        request = topics_pb2.ListTopicsRequest(pagination=pagination)
        return await hub.topics.ListTopics(request, metadata=hub.metadata, timeout=hub.timeout)

    response = await fetch_pages(args, "topics", fetch)
    rows = [output.topic_row(t) for t in response.topics]
    show_list(hub, args, response, output.TOPIC_HEADERS, rows, response.pagination)
    return 0


async def create_topic(args: argparse.Namespace, hub: Hub) -> int:
    topic = models_pb2.Topic(
        base=models_pb2.MessageBase(id=args.id),
        name=args.name,
        users={user: True for user in args.member},
    )
    request = topics_pb2.CreateTopicRequest(topic=topic)
    response = await hub.topics.CreateTopic(request, metadata=hub.metadata, timeout=hub.timeout)
    if args.quiet:
        output.emit(sys.stdout, response.topic.base.id)
    else:
        show_one(hub, response, output.topic_fields(response.topic))
    return 0


async def get_topic(args: argparse.Namespace, hub: Hub) -> int:
    request = topics_pb2.GetTopicRequest(id=args.id)
    response = await hub.topics.GetTopic(request, metadata=hub.metadata, timeout=hub.timeout)
    show_one(hub, response, output.topic_fields(response.topic))
    return 0


async def delete_topic(args: argparse.Namespace, hub: Hub) -> int:
    request = topics_pb2.DeleteTopicRequest(id=args.id)
    response = await hub.topics.DeleteTopic(request, metadata=hub.metadata, timeout=hub.timeout)
    show_one(hub, response, [("deleted topic", args.id)])
    return 0


async def update_topic(args: argparse.Namespace, hub: Hub) -> int:
    if args.name is None and not args.add_user and not args.remove_user:
        raise UsageError("nothing to change: give --name, --add-user or --remove-user")
    request = topics_pb2.UpdateTopicRequest(
        topic=models_pb2.Topic(base=models_pb2.MessageBase(id=args.id), name=args.name or ""),
        update_mask=FieldMask(paths=["name"] if args.name is not None else []),
        add_users=args.add_user,
        remove_users=args.remove_user,
    )
    response = await hub.topics.UpdateTopic(request, metadata=hub.metadata, timeout=hub.timeout)
    show_one(hub, response, output.topic_fields(response.topic))
    return 0

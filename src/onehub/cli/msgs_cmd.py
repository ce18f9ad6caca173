"""`onehub msgs send|list|search|get|delete`."""

from __future__ import annotations

import argparse
import sys

from onehub.gen.onehub.v1 import messages_pb2, models_pb2

from . import output
from .client import Hub, UsageError
from .commands import Subparsers, add_leaf, show_list, show_one
from .paging import add_paging_arguments, fetch_pages

EXAMPLES = """\
examples:
  onehub msgs send t1 "see you at eight"
  echo "from a pipe" | onehub msgs send t1 -
  onehub msgs list t1 --all
  onehub msgs search --phrase dinner --sender alice --order-by -created_at
  onehub msgs get m1 --json
  onehub msgs delete m1
"""


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    msgs = subparsers.add_parser(
        "msgs",
        help="send, list, search, show and delete messages",
        description="Messages are posted in topics.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = msgs.add_subparsers(dest="action", required=True, metavar="ACTION")

    send = add_leaf(commands, common, "send", "post a message in a topic", EXAMPLES, send_message)
    send.add_argument("topic_id", help="topic to post in")
    send.add_argument("text", help='the message text; "-" reads it from standard input')
    send.add_argument("--id", default="", help="the message's id (default: server-assigned)")
    send.add_argument("--parent", default="", help="id of the message this one replies to")
    send.add_argument("--content-type", default="", help="e.g. text/plain")

    listing = add_leaf(
        commands, common, "list", "list a topic's messages, oldest first", EXAMPLES, list_messages
    )
    listing.add_argument("topic_id", help="topic id")
    add_paging_arguments(listing)

    search = add_leaf(
        commands,
        common,
        "search",
        "search messages by words, sender and topic",
        EXAMPLES,
        search_messages,
    )
    search.add_argument("--phrase", "-q", default="", help="words that must all occur")
    search.add_argument("--sender", default="", help="only messages by this user id")
    search.add_argument("--topic", default="", help="only messages in this topic id")
    search.add_argument(
        "--order-by",
        action="append",
        default=[],
        metavar="FIELD",
        help="sort key such as created_at or -created_at (repeatable; default newest first)",
    )
    add_paging_arguments(search)

    get = add_leaf(commands, common, "get", "show one message", EXAMPLES, get_message)
    get.add_argument("id", help="message id")

    delete = add_leaf(commands, common, "delete", "delete a message", EXAMPLES, delete_message)
    delete.add_argument("id", help="message id")


async def send_message(args: argparse.Namespace, hub: Hub) -> int:
    text = sys.stdin.read().rstrip("\n") if args.text == "-" else args.text
    if not text:
        raise UsageError("the message text is empty")
    message = models_pb2.Message(
        base=models_pb2.MessageBase(id=args.id),
        content_base=models_pb2.ContentBase(content_type=args.content_type, content_text=text),
        topic_id=args.topic_id,
        parent_message_id=args.parent,
    )
    request = messages_pb2.CreateMessagesRequest(topic_id=args.topic_id, messages=[message])
    response = await hub.messages.CreateMessages(
        request, metadata=hub.metadata, timeout=hub.timeout
    )
    sent = response.messages[0] if response.messages else message
    show_one(hub, response, output.message_fields(sent))
    return 0


async def list_messages(args: argparse.Namespace, hub: Hub) -> int:
    async def fetch(pagination: models_pb2.Pagination) -> messages_pb2.ListMessagesResponse:
        request = messages_pb2.ListMessagesRequest(topic_id=args.topic_id, pagination=pagination)
        return await hub.messages.ListMessages(request, metadata=hub.metadata, timeout=hub.timeout)

    response = await fetch_pages(args, "messages", fetch)
    rows = [output.message_row(m) for m in response.messages]
    show_list(hub, args, response, output.MESSAGE_HEADERS, rows, response.pagination)
    return 0


async def search_messages(args: argparse.Namespace, hub: Hub) -> int:
    async def fetch(pagination: models_pb2.Pagination) -> messages_pb2.SearchMessagesResponse:
        request = messages_pb2.SearchMessagesRequest(
            search_phrase=args.phrase,
            sender_id=args.sender,
            topic_id=args.topic,
            order_by=args.order_by,
            pagination=pagination,
        )
        return await hub.messages.SearchMessages(
            request, metadata=hub.metadata, timeout=hub.timeout
        )

    response = await fetch_pages(args, "messages", fetch)
    rows = [output.message_row(m) for m in response.messages]
    show_list(hub, args, response, output.MESSAGE_HEADERS, rows, response.pagination)
    return 0


async def get_message(args: argparse.Namespace, hub: Hub) -> int:
    request = messages_pb2.GetMessageRequest(id=args.id)
    response = await hub.messages.GetMessage(request, metadata=hub.metadata, timeout=hub.timeout)
    show_one(hub, response, output.message_fields(response.message))
    return 0


async def delete_message(args: argparse.Namespace, hub: Hub) -> int:
    request = messages_pb2.DeleteMessageRequest(id=args.id)
    response = await hub.messages.DeleteMessage(request, metadata=hub.metadata, timeout=hub.timeout)
    show_one(hub, response, [("deleted message", args.id)])
    return 0

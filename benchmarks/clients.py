"""The two ways a benchmark client calls OneHub: REST through the gateway, and direct gRPC.

Each `Call` makes one request and raises `OperationError` for anything but success, so the load
engine (`onehub.cli.load_engine`, the one `onehub loadgen` runs on) only times and counts. The
REST caller speaks HTTP/1.1 keep-alive on a raw asyncio stream with pre-built request bytes: a
Python HTTP client library would cost more CPU than the server's own HTTP parsing, and on a
two-core machine that CPU is taken from the server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Literal

import grpc

from onehub.cli.load_engine import Call, OperationError
from onehub.gen.onehub.v1 import (
    messages_pb2,
    messages_pb2_grpc,
    models_pb2,
    topics_pb2,
    topics_pb2_grpc,
)

Transport = Literal["rest", "grpc"]
Operation = Literal["get_topic", "post_message"]
TRANSPORTS: tuple[Transport, ...] = ("rest", "grpc")
OPERATIONS: tuple[Operation, ...] = ("get_topic", "post_message")
OPERATION_LABELS: dict[Operation, str] = {
    "get_topic": "GET topic",
    "post_message": "POST message",
}

# Dev auth (docs/api.md): the password of a user is its id followed by 123.
USER = "admin"
PASSWORD = "admin123"
GRPC_METADATA = (("onehubusername", USER), ("onehubpassword", PASSWORD))
MESSAGE_TEXT = "benchmark message: the quick brown fox jumps over the lazy dog"
_MAX_HEADER_BYTES = 64 * 1024
#: The code of a failure whose response could not be read as HTTP/1.1.
_UNFRAMED = "BAD_RESPONSE"


@dataclass(frozen=True, slots=True)
class Target:
    """Where the clients send their load and what they ask for."""

    gateway: str  # host:port of the REST gateway
    grpc: str  # host:port of the gRPC server
    topic_id: str


def rest_request(target: Target, operation: Operation) -> bytes:
    """The complete HTTP/1.1 request (head and body) for one call of `operation`."""
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    head = [f"Host: {target.gateway}", f"Authorization: Basic {token}"]
    if operation == "get_topic":
        return _http("GET", f"/v1/topics/{target.topic_id}", head, b"")
    message = {
        "topicId": target.topic_id,
        "contentBase": {"contentType": "text/plain", "contentText": MESSAGE_TEXT},
    }
    body = json.dumps({"messages": [message]}).encode()
    head.append("Content-Type: application/json")
    return _http("POST", f"/v1/topics/{target.topic_id}/messages", head, body)


def _http(method: str, path: str, head: list[str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", *head, f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("ascii") + body


class RestConnection:
    """One keep-alive HTTP/1.1 connection that sends the same request again and again."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, address: str) -> RestConnection:
        host, _, port = address.rpartition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def send(self, request: bytes) -> None:
        """Send `request` and read the whole response; raise OperationError unless it is a 200."""
        self._writer.write(request)
        try:
            head = await self._reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as error:
            raise OperationError("UNAVAILABLE", f"connection: {type(error).__name__}") from None
        status, length = _parse_head(head)
        body = await self._reader.readexactly(length) if length else b""
        if status != 200:
            raise OperationError(f"HTTP_{status}", body[:200].decode(errors="replace"))

    async def close(self) -> None:
        self._writer.close()
        # The server may already have dropped it; nothing is left to release then.
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class RestCaller:
    """One caller's `Call` over its own keep-alive connection, opened on first use and opened
    again after a failure (the stream may then be mid-response). `close` when done."""

    def __init__(self, address: str, request: bytes) -> None:
        self._address = address
        self._request = request
        self._connection: RestConnection | None = None

    async def __call__(self, _index: int) -> None:
        if self._connection is None:
            try:
                self._connection = await RestConnection.open(self._address)
            except OSError as error:
                raise OperationError("UNAVAILABLE", f"connect: {error}") from None
        try:
            await self._connection.send(self._request)
        except OperationError:
            await self.close()
            raise

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()


def _parse_head(head: bytes) -> tuple[int, int]:
    """(status, content length) of a response head; OperationError if we cannot frame it."""
    if len(head) > _MAX_HEADER_BYTES:
        raise OperationError(_UNFRAMED, "response head too large")
    status_line, *headers = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise OperationError(_UNFRAMED, f"not an HTTP response: {status_line[:80]!r}")
    for header in headers:
        name, _, value = header.partition(":")
        if name.strip().lower() == "content-length":
            return int(parts[1]), int(value.strip())
    raise OperationError(
        _UNFRAMED, "response without Content-Length (chunked responses are not expected)"
    )


def grpc_call(channel: grpc.aio.Channel, target: Target, operation: Operation) -> Call:
    """A call of `operation` on `channel` through the generated stubs, with dev credentials."""
    if operation == "get_topic":
        topics = topics_pb2_grpc.TopicServiceStub(channel)
        get_request = topics_pb2.GetTopicRequest(id=target.topic_id)

        async def get_topic(_index: int) -> None:
            await _checked(topics.GetTopic(get_request, metadata=GRPC_METADATA))

        return get_topic

    messages = messages_pb2_grpc.MessageServiceStub(channel)
    content = models_pb2.ContentBase(content_type="text/plain", content_text=MESSAGE_TEXT)
    post_request = messages_pb2.CreateMessagesRequest(
        topic_id=target.topic_id,
        messages=[models_pb2.Message(topic_id=target.topic_id, content_base=content)],
    )

    async def post_message(_index: int) -> None:
        await _checked(messages.CreateMessages(post_request, metadata=GRPC_METADATA))

    return post_message


async def _checked(call: Awaitable[object]) -> None:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        raise OperationError(error.code().name, error.details() or "") from None


async def create_topic(grpc_address: str, name: str) -> str:
    """Create a topic as admin over gRPC and return its id (the benchmarks' fixture)."""
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        stub = topics_pb2_grpc.TopicServiceStub(channel)
        topic = models_pb2.Topic(name=name, users={USER: True})
        response = await stub.CreateTopic(
            topics_pb2.CreateTopicRequest(topic=topic), metadata=GRPC_METADATA, timeout=10
        )
        return str(response.topic.base.id)

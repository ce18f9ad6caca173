"""The web front end's event stream fed by the services' event hub.

Credentials are checked by the same authenticator as every RPC, and events are rendered by the
gateway's own JSON rendering of the gRPC messages, so a pushed message looks exactly like the
one `POST /api/v1/topics/{id}/messages` returned.
"""

from __future__ import annotations

import json

from onehub.domain.errors import Unauthenticated
from onehub.gen.onehub.v1 import messages_pb2, topics_pb2
from onehub.services.auth import Authenticator
from onehub.services.events import (
    ChatEvent,
    EventHub,
    Lagged,
    MessagesPosted,
    Subscription,
    TopicDeleted,
)
from onehub.transport.gateway.rendering import render_json
from onehub.transport.grpc.convert import add_messages, topic_to_proto
from onehub.transport.grpc.interceptors import credentials_from_metadata


class HubPushFeed:
    """`onehub.web.push.PushFeed` over an `EventHub` and an `Authenticator`."""

    def __init__(self, hub: EventHub, authenticator: Authenticator) -> None:
        self._hub = hub
        self._authenticator = authenticator

    async def user_for(self, authorization: str) -> str | None:
        try:
            username, password = credentials_from_metadata([("authorization", authorization)])
            principal = await self._authenticator.authenticate(username, password)
        except Unauthenticated:
            return None
        return principal.user_id

    def open(self) -> _HubStream:
        return _HubStream(self._hub.subscribe())


class _HubStream:
    def __init__(self, subscription: Subscription) -> None:
        self._subscription = subscription

    @property
    def closed(self) -> bool:
        return self._subscription.closed

    async def next(self, wait_s: float) -> tuple[str, str] | None:
        event = await self._subscription.next(wait_s)
        return None if event is None else render_event(event)

    def close(self) -> None:
        self._subscription.close()


def render_event(event: ChatEvent) -> tuple[str, str]:
    """(event name, JSON data) for the page."""
    if isinstance(event, MessagesPosted):
        reply = messages_pb2.CreateMessagesResponse()
        add_messages(reply.messages, event.messages)
        rendered = json.loads(render_json(reply))
        return "messages", json.dumps(
            {"topicId": event.topic_id, **rendered}, ensure_ascii=False, separators=(",", ":")
        )
    if isinstance(event, Lagged):
        return "resync", "{}"
    if isinstance(event, TopicDeleted):
        return "topicDeleted", json.dumps({"topicId": event.topic_id}, ensure_ascii=False)
    reply_topic = topics_pb2.GetTopicResponse(topic=topic_to_proto(event.topic))
    return "topic", render_json(reply_topic).decode()

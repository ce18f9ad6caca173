"""What changed, told to whoever listens in this process: new messages, changed topics.

The services publish after their transaction commits; the web front end's event stream
subscribes and pushes each event to the open pages. The hub is in-process and best effort:

- A subscriber that falls `queue_size` events behind loses its queue and gets one `Lagged`
  instead, so one slow page never holds up the services or grows memory; it re-reads.
- It knows only what this process committed. With several processes or replicas, a page
  hears at once what was posted through the process its stream is connected to, and catches
  up on the rest by re-reading (the page does so on reconnect and now and then while visible).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from onehub.domain.models import Message, Topic

DEFAULT_QUEUE_SIZE = 256


@dataclass(frozen=True, slots=True)
class MessagesPosted:
    """Messages committed to one topic, in the order they were posted."""

    topic_id: str
    messages: tuple[Message, ...]


@dataclass(frozen=True, slots=True)
class TopicChanged:
    """A topic as stored after its creation or update."""

    topic: Topic


@dataclass(frozen=True, slots=True)
class TopicDeleted:
    """A topic deleted, with its messages."""

    topic_id: str


@dataclass(frozen=True, slots=True)
class Lagged:
    """The subscriber fell behind and lost events: what it holds may be stale."""


ChatEvent = MessagesPosted | TopicChanged | TopicDeleted | Lagged


class Subscription:
    """One listener's queue. `next` waits for the next event; `closed` once the hub closed it
    or the listener did."""

    def __init__(self, hub: EventHub, queue_size: int) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[ChatEvent | None] = asyncio.Queue(queue_size + 1)
        self._queue_size = queue_size
        self.closed = False

    def offer(self, event: ChatEvent) -> None:
        if self.closed:
            return
        if self._queue.qsize() >= self._queue_size:
            _drain(self._queue)
            self._queue.put_nowait(Lagged())
            return
        self._queue.put_nowait(event)

    async def next(self, wait_s: float) -> ChatEvent | None:
        """The next event; None after `wait_s` seconds without one, or once closed."""
        if self.closed and self._queue.empty():
            return None
        try:
            event = await asyncio.wait_for(self._queue.get(), wait_s)
        except TimeoutError:
            return None
        return event

    def close(self) -> None:
        """Stop listening (idempotent); a waiting `next` returns None."""
        if self.closed:
            return
        self.closed = True
        self._hub.discard(self)
        _drain(self._queue)
        self._queue.put_nowait(None)


class EventHub:
    """Fans published events out to every current subscription, without ever waiting."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()
        self._closed = False

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def subscribe(self) -> Subscription:
        """A new subscription; already closed when the hub is."""
        subscription = Subscription(self, self._queue_size)
        if self._closed:
            subscription.close()
        else:
            self._subscriptions.add(subscription)
        return subscription

    def discard(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def publish(self, event: ChatEvent) -> None:
        for subscription in list(self._subscriptions):
            subscription.offer(event)

    def messages_posted(self, topic_id: str, messages: Sequence[Message]) -> None:
        if messages:
            self.publish(MessagesPosted(topic_id, tuple(messages)))

    def topic_changed(self, topic: Topic) -> None:
        self.publish(TopicChanged(topic))

    def topic_deleted(self, topic_id: str) -> None:
        self.publish(TopicDeleted(topic_id))

    def close(self) -> None:
        """End every subscription (at shutdown, so open streams finish); later ones start
        closed."""
        self._closed = True
        for subscription in list(self._subscriptions):
            subscription.close()


def _drain(queue: asyncio.Queue[ChatEvent | None]) -> None:
    while not queue.empty():
        queue.get_nowait()

"""The event hub: what the services publish after they commit, and how it reaches listeners."""

from __future__ import annotations

import asyncio

import pytest

from onehub.domain.errors import NotFound, PermissionDenied
from onehub.domain.models import Message, Topic
from onehub.services.bundle import Services
from onehub.services.events import EventHub, Lagged, MessagesPosted, TopicChanged, TopicDeleted

from .conftest import ALICE, BOB, add_people


def text(body: str) -> Message:
    return Message(id="", topic_id="", creator_id="", content_text=body)


async def test_posted_messages_reach_every_listener_as_stored(services: Services) -> None:
    topic = await services.topics.create_topic(ALICE, Topic(id="", creator_id="", name="t"))
    first, second = services.events.subscribe(), services.events.subscribe()

    created = await services.messages.create_messages(BOB, topic.id, [text("hi"), text("there")])

    for listener in (first, second):
        event = await listener.next(1)
        assert event == MessagesPosted(topic.id, tuple(created))
        assert [m.content_text for m in event.messages] == ["hi", "there"]


async def test_created_and_updated_topics_are_published(services: Services) -> None:
    await add_people(services, "bob")
    listener = services.events.subscribe()
    topic = await services.topics.create_topic(ALICE, Topic(id="", creator_id="", name="t"))
    updated = await services.topics.update_topic(ALICE, topic, [], add_users=["bob"])
    assert await listener.next(1) == TopicChanged(topic)
    assert await listener.next(1) == TopicChanged(updated)
    assert updated.users == frozenset({"bob"})


async def test_deleted_topics_are_published(services: Services) -> None:
    topic = await services.topics.create_topic(ALICE, Topic(id="", creator_id="", name="t"))
    listener = services.events.subscribe()
    with pytest.raises(PermissionDenied):
        await services.topics.delete_topic(BOB, topic.id)
    await services.topics.delete_topic(ALICE, topic.id)
    assert await listener.next(1) == TopicDeleted(topic.id)
    assert await listener.next(0.05) is None


async def test_nothing_is_published_for_what_did_not_commit(services: Services) -> None:
    topic = await services.topics.create_topic(ALICE, Topic(id="", creator_id="", name="t"))
    listener = services.events.subscribe()
    with pytest.raises(NotFound):
        await services.messages.create_messages(BOB, "no-such-topic", [text("lost")])
    with pytest.raises(PermissionDenied):
        await services.topics.update_topic(BOB, topic, [], add_users=["bob"])
    assert await listener.next(0.05) is None
    assert not listener.closed


async def test_a_listener_that_falls_behind_gets_lagged_instead_of_growing() -> None:
    hub = EventHub(queue_size=3)
    slow, keeping_up = hub.subscribe(), hub.subscribe()
    for n in range(3):
        hub.topic_changed(Topic(id=f"t{n}", creator_id="a", name="x"))
        assert await keeping_up.next(1) == TopicChanged(Topic(id=f"t{n}", creator_id="a", name="x"))
    hub.topic_changed(Topic(id="t3", creator_id="a", name="x"))
    # The three it held and the one that did not fit are gone; it hears that it missed some.
    assert await slow.next(1) == Lagged()
    assert await slow.next(0.01) is None
    hub.topic_changed(Topic(id="t4", creator_id="a", name="x"))
    assert await slow.next(1) == TopicChanged(Topic(id="t4", creator_id="a", name="x"))


async def test_closing_the_hub_ends_waiting_listeners_and_later_ones() -> None:
    hub = EventHub()
    listener = hub.subscribe()
    waiting = asyncio.create_task(listener.next(30))
    await asyncio.sleep(0)
    hub.close()
    assert await asyncio.wait_for(waiting, 1) is None
    assert listener.closed
    assert hub.subscriber_count == 0
    late = hub.subscribe()
    assert late.closed
    assert await late.next(30) is None


async def test_a_closed_subscription_leaves_the_hub() -> None:
    hub = EventHub()
    listener = hub.subscribe()
    assert hub.subscriber_count == 1
    listener.close()
    listener.close()
    assert hub.subscriber_count == 0
    hub.messages_posted("t", [text("nobody hears this")])
    assert await listener.next(0.01) is None

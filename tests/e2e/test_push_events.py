"""`GET /web/events` on a real gateway: who may listen, what a page hears, and that an open
stream does not hold up shutdown."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from onehub.app import RunningOneHub

EVENTS = "/web/events"


async def events_of(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event, decoded data) pairs of a server-sent event stream, comments skipped."""
    name, data = "message", []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())


async def test_listening_needs_valid_credentials(
    as_user: Callable[..., httpx.AsyncClient], hub: RunningOneHub
) -> None:
    async with httpx.AsyncClient(base_url=hub.gateway_url) as anonymous:
        refused = await anonymous.get(EVENTS)
    assert refused.status_code == 401
    assert refused.json()["message"] == "invalid username or password"
    wrong = await as_user("alice", "not-her-password").get(EVENTS)
    assert wrong.status_code == 401


async def test_a_page_hears_new_topics_and_messages_as_the_api_returned_them(
    as_user: Callable[..., httpx.AsyncClient],
) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    async with bob.stream("GET", EVENTS) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        heard = events_of(response)
        name, ready = await anext(heard)
        assert name == "ready"
        assert ready["catchUpSeconds"] > 0

        created = await alice.post("/api/v1/topics", json={"topic": {"name": "Pushed"}})
        topic = created.json()["topic"]
        assert await asyncio.wait_for(anext(heard), 5) == ("topic", {"topic": topic})

        posted = await alice.post(
            f"/api/v1/topics/{topic['base']['id']}/messages",
            json={"messages": [{"contentBase": {"contentText": "héllo"}}, {}]},
        )
        assert posted.status_code == 200
        name, data = await asyncio.wait_for(anext(heard), 5)
        assert name == "messages"
        assert data == {"topicId": topic["base"]["id"], **posted.json()}

        # A refused post is not heard of.
        refused = await bob.patch(
            f"/api/v1/topics/{topic['base']['id']}",
            json={"topic": {"base": {"id": topic["base"]["id"]}}, "addUsers": ["bob"]},
        )
        assert refused.status_code == 403
        await alice.post(
            f"/api/v1/topics/{topic['base']['id']}/messages",
            json={"messages": [{"contentBase": {"contentText": "next"}}]},
        )
        name, data = await asyncio.wait_for(anext(heard), 5)
        assert (name, data["messages"][0]["contentBase"]["contentText"]) == ("messages", "next")

        deleted = await alice.delete(f"/api/v1/topics/{topic['base']['id']}")
        assert deleted.status_code == 200
        heard_next = await asyncio.wait_for(anext(heard), 5)
        assert heard_next == ("topicDeleted", {"topicId": topic["base"]["id"]})


async def test_shutdown_ends_open_streams_at_once(
    as_user: Callable[..., httpx.AsyncClient], hub: RunningOneHub
) -> None:
    async with as_user("bob").stream("GET", EVENTS) as response:
        heard = events_of(response)
        assert (await anext(heard))[0] == "ready"
        started = time.monotonic()
        await hub.stop()
        took = time.monotonic() - started
        # The stream ended cleanly rather than being cut at the end of the grace period.
        assert [event async for event in heard] == []
    assert took < hub.settings.grace_seconds, took


async def test_a_page_that_goes_away_stops_listening(
    as_user: Callable[..., httpx.AsyncClient], hub: RunningOneHub
) -> None:
    events = hub._events  # the hub the services publish to
    assert events is not None
    async with as_user("bob").stream("GET", EVENTS) as response:
        assert (await anext(events_of(response)))[0] == "ready"
        assert events.subscriber_count == 1
    # The server notices the closed connection on its own time: wait for it, up to 5 s.
    for _ in range(250):
        if events.subscriber_count == 0:
            break
        await asyncio.sleep(0.02)
    assert events.subscriber_count == 0

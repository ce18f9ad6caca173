"""`GET /web/events`: what changed, pushed to the chat page as server-sent events.

The page reads the stream with `fetch` (so it can send its HTTP Basic credentials, which an
`EventSource` cannot) and gets:

    event: ready      data: {"catchUpSeconds": N}   once, when the stream opens
    event: messages   data: {"topicId": ..., "messages": [...]}   as POST .../messages answers
    event: topic      data: {"topic": {...}}        as GET /topics/{id} answers
    event: topicDeleted  data: {"topicId": ...}
    event: resync     data: {}                      events were lost: re-read what is shown

and a comment line every `heartbeat_seconds` so proxies keep the connection. The stream ends
when the server shuts down; the page reconnects. The web layer reads no storage: a `PushFeed`
given by the composition root checks the credentials and supplies the events, already
rendered as the REST API renders them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

EVENTS_PATH = "/web/events"
HEARTBEAT_SECONDS = 15.0
# Events reach a page only from the process its stream is connected to; with several
# processes behind one address, the page re-reads the open topic this often while visible.
CATCH_UP_SECONDS = 60
RECONNECT_MS = 3000


class PushStream(Protocol):
    @property
    def closed(self) -> bool: ...

    async def next(self, wait_s: float) -> tuple[str, str] | None:
        """The next (event name, JSON data); None after `wait_s` seconds or once closed."""
        ...

    def close(self) -> None: ...


class PushFeed(Protocol):
    async def user_for(self, authorization: str) -> str | None:
        """The user id the `Authorization` header value signs in as; None if refused."""
        ...

    def open(self) -> PushStream:
        """Start listening; the stream sees every event from now until it is closed."""
        ...


def push_routes(feed: PushFeed, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> list[Route]:
    """The event stream route over `feed`."""

    async def events(request: Request) -> Response:
        user = await feed.user_for(request.headers.get("authorization", ""))
        if user is None:
            return JSONResponse(
                {"code": 16, "message": "invalid username or password"}, status_code=401
            )
        stream = feed.open()
        return StreamingResponse(
            _frames(stream, heartbeat_seconds),
            media_type="text/event-stream",
            headers={
                "Cache-Control": "no-store",
                # nginx (deploy/) would otherwise hold events back in its buffer.
                "X-Accel-Buffering": "no",
            },
        )

    return [Route(EVENTS_PATH, events, methods=["GET"], name="web_events")]


async def _frames(stream: PushStream, heartbeat_seconds: float) -> AsyncIterator[str]:
    try:
        ready = json.dumps({"catchUpSeconds": CATCH_UP_SECONDS})
        yield f"retry: {RECONNECT_MS}\nevent: ready\ndata: {ready}\n\n"
        while True:
            item = await stream.next(heartbeat_seconds)
            if item is None:
                if stream.closed:
                    return
                yield ": still here\n\n"
                continue
            name, data = item
            yield f"event: {name}\ndata: {data}\n\n"
    finally:
        stream.close()

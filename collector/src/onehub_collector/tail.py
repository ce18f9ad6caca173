"""Live tail: fan-out of newly stored root spans to Server-Sent-Events subscribers.

Bounded in every direction: at most `max_subscribers` listeners, each with a queue of
`queue_size` events; a listener that falls that far behind is dropped (its stream ends), so a
slow browser tab never holds memory or slows the store's writer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from onehub_collector.store.writer import StoredRoot


class TooManySubscribersError(Exception):
    """The tail already has its maximum number of listeners."""


class _Subscriber:
    def __init__(self, queue_size: int) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(queue_size)
        self.dropped = False


class TailHub:
    """Created on the event loop; `publish_from_thread` may be called from any thread."""

    def __init__(self, *, max_subscribers: int = 16, queue_size: int = 256) -> None:
        self._loop = asyncio.get_running_loop()
        self._max = max_subscribers
        self._queue_size = queue_size
        self._subscribers: set[_Subscriber] = set()
        self.dropped_subscribers = 0

    def has_subscribers(self) -> bool:
        return bool(self._subscribers)

    def publish_from_thread(self, roots: list[StoredRoot]) -> None:
        if self._loop.is_closed():
            return
        # The loop may close between the check and the call: then nobody is listening.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._publish, roots)

    def _publish(self, roots: list[StoredRoot]) -> None:
        events = [_event(root) for root in roots]
        for subscriber in list(self._subscribers):
            for event in events:
                try:
                    subscriber.queue.put_nowait(event)
                except asyncio.QueueFull:
                    self._drop(subscriber)
                    break

    def _drop(self, subscriber: _Subscriber) -> None:
        self._subscribers.discard(subscriber)
        subscriber.dropped = True
        self.dropped_subscribers += 1
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(None)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
        """A queue of trace events; None in it means the stream is over (dropped or closed).
        Raises TooManySubscribersError when full."""
        if len(self._subscribers) >= self._max:
            raise TooManySubscribersError(f"the live tail already has {self._max} listeners")
        subscriber = _Subscriber(self._queue_size)
        self._subscribers.add(subscriber)
        try:
            yield subscriber.queue
        finally:
            self._subscribers.discard(subscriber)

    def close(self) -> None:
        """End every stream (collector shutdown)."""
        for subscriber in list(self._subscribers):
            self._drop(subscriber)
        self.dropped_subscribers = 0


def _event(root: StoredRoot) -> dict[str, Any]:
    return {
        "traceID": root.trace_id.hex(),
        "service": root.service,
        "operation": root.operation,
        "startTime": root.start_us,
        "duration": root.duration_us,
        "spanCount": root.span_count,
        "errors": root.errors,
    }

"""Watch streams, once: every Watch* RPC of a replica fans its events out through a WatchHub.

A stream subscribes to topics (a room id, a user id); publishing to a topic puts the event on
the queue of each of its streams. One policy for a slow watcher: a stream whose queue is full
drops what it holds and resyncs (it is sent the current state again, then new events), as does
every stream when the replica may have missed changes (its LISTEN connection was lost). A
stream idle for `keepalive_seconds` is sent a keepalive, so proxies keep it open. A failure
published to a topic (the room is gone) ends its streams with that error. Leaving the stream
(the client cancels, the server stops) frees its subscription.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from services.common import observability

E = TypeVar("E")
QUEUE_SIZE = 100
KEEPALIVE_SECONDS = 15.0
_RESYNC = object()


class _Subscription:
    def __init__(self, topics: frozenset[str], queue_size: int) -> None:
        self.topics = topics
        self.queue: asyncio.Queue[object] = asyncio.Queue(maxsize=queue_size)

    def put(self, item: object) -> None:
        if self.queue.full():
            # Too slow to keep up: what it missed is replaced by the current state.
            while not self.queue.empty():
                self.queue.get_nowait()
            item = _RESYNC
        self.queue.put_nowait(item)


class WatchHub(Generic[E]):
    def __init__(
        self,
        name: str,
        *,
        queue_size: int = QUEUE_SIZE,
        keepalive_seconds: float = KEEPALIVE_SECONDS,
    ) -> None:
        self.name = name
        self.keepalive_seconds = keepalive_seconds
        self._queue_size = queue_size
        self._by_topic: dict[str, set[_Subscription]] = {}

    def watched(self, topic: str) -> bool:
        return topic in self._by_topic

    def publish(self, topic: str, event: E) -> None:
        for subscription in self._by_topic.get(topic, ()):
            subscription.put(event)

    def fail(self, topic: str, error: Exception) -> None:
        """End the topic's streams with `error` (after what they were sent before)."""
        for subscription in self._by_topic.get(topic, ()):
            subscription.put(error)

    def resync(self) -> None:
        """Every stream may have missed changes: each is sent the current state again."""
        for subscription in {s for subs in self._by_topic.values() for s in subs}:
            subscription.put(_RESYNC)

    async def stream(
        self,
        topics: Iterable[str],
        *,
        resync: Callable[[], Awaitable[list[E]]],
        keepalive: Callable[[], E],
        start_with_resync: bool,
        subscribed: Callable[[], Awaitable[None]] | None = None,
    ) -> AsyncIterator[E]:
        """Events published to `topics` from the moment of subscribing (then `subscribed()`
        runs), in order; `resync()`'s events first if asked and whenever the stream may have
        missed some; `keepalive()` after `keepalive_seconds` without any."""
        subscription = _Subscription(frozenset(topics), self._queue_size)
        self._add(subscription)
        try:
            if subscribed is not None:
                await subscribed()
            if start_with_resync:
                subscription.put(_RESYNC)
            while True:
                try:
                    # asyncio.timeout, not wait_for: no task per event, which a fan-out to
                    # thousands of streams feels.
                    async with asyncio.timeout(self.keepalive_seconds):
                        item = await subscription.queue.get()
                except TimeoutError:
                    yield keepalive()
                    continue
                if item is _RESYNC:
                    for event in await resync():
                        yield event
                elif isinstance(item, Exception):
                    raise item
                else:
                    yield item  # type: ignore[misc]
        finally:
            self._remove(subscription)

    def _add(self, subscription: _Subscription) -> None:
        for topic in subscription.topics:
            self._by_topic.setdefault(topic, set()).add(subscription)
        observability.WATCHERS.labels(self.name).inc()

    def _remove(self, subscription: _Subscription) -> None:
        for topic in subscription.topics:
            subscriptions = self._by_topic.get(topic, set())
            subscriptions.discard(subscription)
            if not subscriptions:
                self._by_topic.pop(topic, None)
        observability.WATCHERS.labels(self.name).dec()

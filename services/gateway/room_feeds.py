"""Hot rooms held by each gateway replica, so their reads cost no backend call.

A room read through this gateway gets a feed: ONE WatchRoom stream from the room service
(opened with the gateway's service token alone), whose snapshot and change events carry the
Room as GetRoom answers it. GetRoom and GetRoomView's room are answered from the feed's copy;
the clients' WatchRoom streams of the room share the same stream (a WatchHub fans it out).

The copy is only served while nothing newer is known. A room's versions are ordered by
`update_time`, which every write of a room moves forward (services/room/repository.py): a
write through this gateway drops the copy when it moved the room past it, and the copy comes
back only with a stream message at least as new as that write, so the writer reads its own
write (from the backend meanwhile) and an older message in flight never overwrites it.
Writes made elsewhere reach the copy with their NOTIFY, as they reach every WatchRoom.

Bounded: at most `size` feeds; a new one replaces the least recently read feed nobody
watches (none: the read goes to the backend, a watcher gets a stream of its own). A feed
nobody read for `idle_seconds` and nobody watches is closed. When its stream breaks (the
room service restarts, the room is purged) or stays silent longer than its keepalives allow,
the feed is dropped with its copy, its watchers end with the stream's error, and the next
read opens it again."""

import asyncio
import contextvars
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import grpc
import structlog
from costream.room.v1 import room_pb2, room_service_pb2

from services.common.errors import Unavailable
from services.common.watch import WatchHub

log = structlog.get_logger()

SNAPSHOT = room_pb2.ROOM_EVENT_KIND_SNAPSHOT
KEEPALIVE = room_pb2.ROOM_EVENT_KIND_KEEPALIVE
# A backend stream lives as long as its feed; grpc wants a deadline, so a day.
STREAM_SECONDS = 24 * 3600.0
# How often idle and silent feeds are looked for, at most.
SWEEP_SECONDS = 5.0


def version(room: room_pb2.Room) -> int:
    """Where a Room stands among its versions: its update_time, in nanoseconds."""
    return room.update_time.ToNanoseconds()


class RoomFeed:
    """One hot room: what its stream delivered and what this replica wrote. No I/O."""

    def __init__(self, room_id: str, now: float) -> None:
        self.room_id = room_id
        # The copy reads are answered with; None while something newer is known.
        self.room: room_pb2.Room | None = None
        # The newest Room the stream delivered (a new watcher's snapshot).
        self.latest: room_pb2.Room | None = None
        # The newest version seen on the stream or written through this replica.
        self.newest = -1
        self.read_at = float("-inf")
        self.heard_at = now
        self.ready = asyncio.Event()
        self.error: Exception | None = None
        self.task: asyncio.Task[None] | None = None

    def delivered(self, room: room_pb2.Room, now: float) -> None:
        """A message of the stream: it becomes the copy unless something newer is known."""
        self.heard_at = now
        self.latest = room
        if version(room) >= self.newest:
            self.newest = version(room)
            self.room = room
        self.ready.set()

    def wrote(self, room: room_pb2.Room) -> None:
        """A write through this replica answered `room`: a copy older than it is dropped,
        until the stream delivers this version or a later one."""
        if version(room) > self.newest:
            self.newest = version(room)
            self.room = None

    def unsure(self) -> None:
        """A write through this replica may have changed the room, to a version unknown: the
        copy is dropped until the stream delivers a version newer than any seen."""
        self.newest += 1
        self.room = None

    def failed(self, error: Exception) -> None:
        self.error = error
        self.room = None
        self.ready.set()

    async def wait_ready(self) -> None:
        """Until the stream's first message; the stream's error if it failed first."""
        await self.ready.wait()
        if self.error is not None:
            raise self.error

    def idle(self, now: float, idle_seconds: float) -> bool:
        return now - self.read_at >= idle_seconds


class RoomFeeds:
    def __init__(
        self,
        rooms: Any,  # room_service_pb2_grpc.RoomServiceStub
        *,
        size: int,
        idle_seconds: float,
        keepalive_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rooms = rooms
        self._size = size
        self._idle_seconds = idle_seconds
        # The room service sends a keepalive this often on a quiet stream; three missed and
        # the stream is taken for dead.
        self._silence_seconds = 3 * keepalive_seconds
        self._clock = clock
        self._feeds: OrderedDict[str, RoomFeed] = OrderedDict()
        self._hub: WatchHub[room_pb2.RoomEvent] = WatchHub(
            "gateway_room", keepalive_seconds=keepalive_seconds
        )

    def __len__(self) -> int:
        return len(self._feeds)

    def holds(self, room_id: str) -> bool:
        return room_id in self._feeds

    # --- reads -----------------------------------------------------------------------------

    def room(self, room_id: str) -> room_pb2.Room | None:
        """The room as GetRoom would answer it now, if its feed is current; None: ask the
        backend (then `read(room_id)` after it answered)."""
        feed = self._feeds.get(room_id)
        if feed is None:
            return None
        self._feeds.move_to_end(room_id)
        feed.read_at = self._clock()
        return feed.room

    def read(self, room_id: str) -> None:
        """The backend answered GetRoom for this room: a room that exists is read, so it
        gets a feed (if one can be had)."""
        feed = self._open(room_id)
        if feed is not None:
            feed.read_at = self._clock()

    # --- writes ----------------------------------------------------------------------------

    def wrote(self, room: room_pb2.Room) -> None:
        """A write through this replica answered `room` (call before answering the writer)."""
        feed = self._feeds.get(room.room_id)
        if feed is not None:
            feed.wrote(room)

    def unsure(self, room_id: str) -> None:
        """A write through this replica failed in a way that may have changed the room."""
        feed = self._feeds.get(room_id)
        if feed is not None:
            feed.unsure()

    # --- watchers --------------------------------------------------------------------------

    def watch(
        self, room_id: str, subscribed: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[room_pb2.RoomEvent] | None:
        """The room's events for one client through its feed (a snapshot first, then
        changes, as WatchRoom sends them), `subscribed()` once the feed has the room; None
        when no feed can be had (the caller streams from the backend itself)."""
        feed = self._open(room_id)
        if feed is None:
            return None
        return self._watch(feed, subscribed)

    async def _watch(
        self, feed: RoomFeed, subscribed: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[room_pb2.RoomEvent]:
        async def snapshot() -> list[room_pb2.RoomEvent]:
            if feed.error is not None:  # it failed before this stream could hear of it
                raise feed.error
            return [room_pb2.RoomEvent(room=feed.latest, kind=SNAPSHOT)]

        try:
            await feed.wait_ready()
            await subscribed()
            # Subscribed with nothing in between, so the snapshot comes first and covers
            # whatever the feed heard since it was ready.
            events = self._hub.stream(
                [feed.room_id],
                resync=snapshot,
                keepalive=lambda: room_pb2.RoomEvent(kind=KEEPALIVE),
                start_with_resync=True,
            )
            async with aclosing(events):
                async for event in events:
                    yield event
        finally:
            # The last watcher of a feed nobody reads closes it (its stream is cancelled).
            if not self._hub.watched(feed.room_id) and feed.idle(self._clock(), self._idle_seconds):
                self._drop(feed)

    # --- lifetime --------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Close idle feeds and drop silent ones, forever."""
        while True:
            await asyncio.sleep(max(0.05, min(SWEEP_SECONDS, self._idle_seconds / 2)))
            self.sweep_once()

    def sweep_once(self) -> None:
        now = self._clock()
        for feed in list(self._feeds.values()):
            if now - feed.heard_at > self._silence_seconds:
                self._fail(feed, Unavailable("the room's stream went silent; reconnect"))
            elif not self._hub.watched(feed.room_id) and feed.idle(now, self._idle_seconds):
                self._drop(feed)

    async def close_all(self) -> None:
        feeds = list(self._feeds.values())
        for feed in feeds:
            self._fail(feed, Unavailable("the gateway is shutting down; reconnect"))
        await asyncio.gather(*(f.task for f in feeds if f.task), return_exceptions=True)

    def _open(self, room_id: str) -> RoomFeed | None:
        feed = self._feeds.get(room_id)
        if feed is not None:
            self._feeds.move_to_end(room_id)
            return feed
        if self._size <= 0:
            return None
        if len(self._feeds) >= self._size:
            victim = next(
                (f for f in self._feeds.values() if not self._hub.watched(f.room_id)), None
            )
            if victim is None:
                return None
            self._drop(victim)
        feed = RoomFeed(room_id, self._clock())
        self._feeds[room_id] = feed
        # A context of its own: the stream must not carry the caller's token or deadline.
        feed.task = asyncio.create_task(self._follow(feed), context=contextvars.Context())
        return feed

    async def _follow(self, feed: RoomFeed) -> None:
        call = self._rooms.WatchRoom(
            room_service_pb2.WatchRoomRequest(room_id=feed.room_id), timeout=STREAM_SECONDS
        )
        try:
            async for event in call:
                if event.kind == KEEPALIVE:
                    feed.heard_at = self._clock()
                    continue
                first = feed.latest is None
                feed.delivered(event.room, self._clock())
                if not first:  # the first message is the snapshot every watcher starts with
                    self._hub.publish(feed.room_id, event)
            self._fail(feed, Unavailable("the room's stream ended; reconnect"))
        except asyncio.CancelledError:
            raise
        except grpc.aio.AioRpcError as error:
            self._fail(feed, error)
        except Exception as error:
            log.exception("room feed failed", room_id=feed.room_id)
            self._fail(feed, error)
        finally:
            call.cancel()

    def _drop(self, feed: RoomFeed) -> None:
        """Forget the feed and cancel its stream (nobody watches it)."""
        if self._feeds.get(feed.room_id) is feed:
            del self._feeds[feed.room_id]
        feed.failed(Unavailable("the room's feed was closed; reconnect"))
        if feed.task is not None and feed.task is not asyncio.current_task():
            feed.task.cancel()

    def _fail(self, feed: RoomFeed, error: Exception) -> None:
        """Forget the feed; its watchers end with `error`."""
        if self._feeds.get(feed.room_id) is feed:
            del self._feeds[feed.room_id]
            self._hub.fail(feed.room_id, error)
        feed.failed(error)
        if feed.task is not None and feed.task is not asyncio.current_task():
            feed.task.cancel()

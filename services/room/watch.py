"""WatchRoom on one replica: every committed change to a room (a NOTIFY on room_events, sent by
services.room.side_effects) is read from the database once, however many streams of this
replica watch the room, and fanned out to them through a WatchHub."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import structlog
from costream.room.v1 import room_pb2

from services.common.db import Database, listen
from services.common.errors import NotFound, Unavailable
from services.common.watch import WatchHub
from services.room import handlers
from services.room.cache import RoomCache
from services.room.domain import ChangeKind, RoomView
from services.room.repository import RoomUnitOfWork
from services.room.side_effects import ROOM_EVENTS_CHANNEL

log = structlog.get_logger()

# What watchers are told, by the kind of the change (bans change nothing they see).
EVENT_KIND = {
    ChangeKind.UPDATED: room_pb2.ROOM_EVENT_KIND_UPDATED,
    ChangeKind.STATUS_CHANGED: room_pb2.ROOM_EVENT_KIND_STATUS_CHANGED,
    ChangeKind.PARTICIPANTS_CHANGED: room_pb2.ROOM_EVENT_KIND_PARTICIPANTS_CHANGED,
    ChangeKind.STATS_CHANGED: room_pb2.ROOM_EVENT_KIND_STATS_CHANGED,
    ChangeKind.RECORDED: room_pb2.ROOM_EVENT_KIND_RECORDED,
    ChangeKind.DELETED: room_pb2.ROOM_EVENT_KIND_DELETED,
}
READ_ATTEMPTS = 3


class RoomWatch:
    def __init__(
        self,
        database: Database,
        cache: RoomCache,
        to_proto: Callable[[RoomView], room_pb2.Room],
        *,
        keepalive_seconds: float,
    ) -> None:
        self._database = database
        self._cache = cache
        self._to_proto = to_proto
        self._hub: WatchHub[room_pb2.RoomEvent] = WatchHub(
            "room", keepalive_seconds=keepalive_seconds
        )
        # Changes waiting for their read, by room; a room is read by one task at a time.
        self._pending: dict[str, ChangeKind] = {}
        self._reading: dict[str, asyncio.Task[None]] = {}

    async def listen(self) -> None:
        """Follow committed changes; after a lost LISTEN connection, the cache is forgotten
        and every stream resyncs."""
        await listen(self._database, ROOM_EVENTS_CHANNEL, self._on_notify, self._listening)

    def _listening(self) -> None:
        self._cache.clear()
        self._hub.resync()

    def stream(self, room_id: str) -> AsyncIterator[room_pb2.RoomEvent]:
        """The room now (a snapshot), then its changes as they commit."""
        return self._hub.stream(
            [room_id],
            resync=lambda: self._snapshot(room_id),
            keepalive=lambda: room_pb2.RoomEvent(kind=room_pb2.ROOM_EVENT_KIND_KEEPALIVE),
            start_with_resync=True,
        )

    async def _snapshot(self, room_id: str) -> list[room_pb2.RoomEvent]:
        view = await handlers.get_room(room_id, RoomUnitOfWork(self._database, self._cache))
        snapshot = room_pb2.ROOM_EVENT_KIND_SNAPSHOT
        return [room_pb2.RoomEvent(room=self._to_proto(view), kind=snapshot)]

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            notice = json.loads(payload)
            room_id, kind = notice["room_id"], ChangeKind(notice["kind"])
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable room event", payload=payload[:200])
            return
        self._cache.evict([room_id])
        if kind is ChangeKind.BANS_CHANGED or not self._hub.watched(room_id):
            return
        waiting = self._pending.get(room_id)
        if waiting is None or kind.rank > waiting.rank:
            self._pending[room_id] = kind
        if room_id not in self._reading:
            self._reading[room_id] = asyncio.create_task(self._publish(room_id))

    async def _publish(self, room_id: str) -> None:
        """Read the room once for the changes waiting, publish, repeat while more arrived."""
        try:
            while room_id in self._pending and self._hub.watched(room_id):
                kind = self._pending.pop(room_id)
                try:
                    view = await self._read(room_id)
                except (NotFound, Unavailable) as error:
                    self._hub.fail(room_id, error)
                    continue
                event = room_pb2.RoomEvent(room=self._to_proto(view), kind=EVENT_KIND[kind])
                self._hub.publish(room_id, event)
        finally:
            self._pending.pop(room_id, None)
            self._reading.pop(room_id, None)

    async def _read(self, room_id: str) -> RoomView:
        """The room, retried through a short database blip."""
        for attempt in range(READ_ATTEMPTS - 1):
            try:
                return await handlers.get_room(room_id, RoomUnitOfWork(self._database, self._cache))
            except Unavailable:
                await asyncio.sleep(0.2 * 2**attempt)
        return await handlers.get_room(room_id, RoomUnitOfWork(self._database, self._cache))

"""Fixtures shared by integration tests."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from livekit.protocol import models
from livekit.protocol import room as livekit_room_pb

from services.common.auth import Caller
from services.common.db import Database
from services.common.outbox import OutboxRelay
from services.common.server import peer_channel
from services.room import handlers
from services.room.deliveries import outbox_deliveries
from services.room.domain import RoomType, SeatTemplate
from services.room.repository import RoomUnitOfWork


@dataclass
class Mirror:
    database: Database
    relay: OutboxRelay
    deliveries: dict
    emulator: object

    def uow(self) -> RoomUnitOfWork:
        return RoomUnitOfWork(self.database)

    async def room(self, host: str, **fields: object) -> str:
        """A room, and its LiveKit room as the broadcast service would have created it."""
        values = {
            "room_id": "", "title": "Before", "description": "", "thumbnail_file_id": "",
            "metadata": {}, "live_chat_enabled": False, "parent_room_id": "",
            "type": RoomType.CO_HOSTS, "seat_template": SeatTemplate.VIDEO_DYNAMIC_GRID_9,
            "co_host_user_ids": [], "request_id": "", **fields,
        }  # fmt: skip
        view, _ = await handlers.create_room(
            handlers.CreateRoom(**values),  # type: ignore[arg-type]
            Caller(user_id=host),
            self.uow(),
        )
        self.emulator.registry.create_room(livekit_room_pb.CreateRoomRequest(name=view.room_id))
        return view.room_id

    async def pending(self, kind: str, room_id: str) -> list[dict]:
        rows = await self.database.pool.fetch(
            """SELECT payload FROM room.outbox WHERE kind = $1 AND payload->>'room_id' = $2
               AND delivered_time IS NULL ORDER BY id""",
            kind,
            room_id,
        )
        return [row["payload"] for row in rows]

    def calls(self, method: str, room_id: str) -> list[str]:
        records = self.emulator.calls.records
        return [r.code for r in records if (r.method, r.room) == (method, room_id)]

    def participant(self, room_id: str, identity: str) -> models.ParticipantInfo:
        return self.emulator.registry.get_participant(room_id, identity)


@pytest.fixture
async def mirror(
    make_database, make_settings, broadcast_service, livekit_emulator
) -> AsyncIterator[Mirror]:
    database = Database(await make_database())
    await database.open()
    settings = make_settings("room")
    broadcast, invitations = (
        peer_channel(settings, "broadcast"),
        peer_channel(settings, "invitation"),
    )
    deliveries = outbox_deliveries(database, broadcast, invitations)
    # A relay's first try on a channel still connecting fails (and is retried later); these
    # tests deliver once, by hand.
    await asyncio.wait_for(broadcast.channel_ready(), 10)
    try:
        yield Mirror(
            database, OutboxRelay(database, "room", deliveries), deliveries, livekit_emulator
        )
    finally:
        await broadcast.close()
        await invitations.close()
        await database.close()

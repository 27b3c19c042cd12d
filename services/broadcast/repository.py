"""SQL of the broadcast service (asyncpg, $n parameters)."""

from datetime import datetime

import asyncpg

from services.common.unit_of_work import UnitOfWork


class LiveKitRoomRepository:
    """Which rooms have a LiveKit room, and of which session (sid)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def session(self, room_id: str) -> str | None:
        return await self._conn.fetchval(
            "SELECT livekit_room_sid FROM broadcast.livekit_rooms WHERE room_id = $1", room_id
        )

    async def save(self, room_id: str, livekit_room_sid: str, now: datetime) -> None:
        await self._conn.execute(
            """INSERT INTO broadcast.livekit_rooms (room_id, livekit_room_sid, create_time)
               VALUES ($1, $2, $3)
               ON CONFLICT (room_id) DO UPDATE SET livekit_room_sid = EXCLUDED.livekit_room_sid,
                   create_time = EXCLUDED.create_time""",
            room_id,
            livekit_room_sid,
            now,
        )

    async def forget(self, room_id: str, livekit_room_sid: str | None = None) -> None:
        """The LiveKit room ended: all of it, or only that session."""
        await self._conn.execute(
            """DELETE FROM broadcast.livekit_rooms
               WHERE room_id = $1 AND ($2::text IS NULL OR livekit_room_sid = $2)""",
            room_id,
            livekit_room_sid,
        )


class BroadcastUnitOfWork(UnitOfWork):
    livekit_rooms: LiveKitRoomRepository

    def _open(self, connection: asyncpg.Connection) -> None:
        self.livekit_rooms = LiveKitRoomRepository(connection)

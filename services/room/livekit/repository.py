"""SQL of what LiveKit reported about rooms (asyncpg, $n parameters); the tables are in the room
schema (services/room/migrations)."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.room.domain import EGRESS_RANK, Recording


@dataclass(frozen=True)
class Connection:
    """A participant sid counted as connected, since it was applied."""

    identity: str
    can_publish: bool
    join_time: datetime


# Rooms whose connections are compared with LiveKit's: a LiveKit session that has not ended.
_RECONCILED = """NOT deleted AND (status IN ('live', 'waiting_reconnect')
                 OR (status = 'idle' AND livekit_room_sid IS NOT NULL))"""


class LiveKitRepository:
    """What LiveKit reported about a room: applied events, its sessions, connected and departed
    participant sids, and recordings."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def record_event(
        self, event_id: str, room_id: str, event: str, room_sid: str, now: datetime
    ) -> bool:
        """Remember an event; False when it was seen before (a duplicate)."""
        status = await self._conn.execute(
            """INSERT INTO room.livekit_events (event_id, room_id, event, room_sid, receive_time)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING""",
            event_id,
            room_id,
            event,
            room_sid,
            now,
        )
        return status == "INSERT 0 1"

    async def park(self, event_id: str, payload: bytes) -> None:
        await self._conn.execute(
            "UPDATE room.livekit_events SET state = 'parked', payload = $2 WHERE event_id = $1",
            event_id,
            payload,
        )

    async def take_parked(self, room_id: str, room_sid: str) -> list[tuple[bytes, datetime]]:
        """The parked events of a session with when each arrived, marked done."""
        rows = await self._conn.fetch(
            """UPDATE room.livekit_events SET state = 'done'
               WHERE room_id = $1 AND room_sid = $2 AND state = 'parked'
               RETURNING payload, receive_time""",
            room_id,
            room_sid,
        )
        return [(row["payload"], row["receive_time"]) for row in rows]

    async def session_time(self, room_id: str) -> datetime | None:
        return await self._conn.fetchval(
            "SELECT livekit_session_time FROM room.rooms WHERE room_id = $1", room_id
        )

    async def set_session_time(self, room_id: str, since: datetime | None) -> None:
        await self._conn.execute(
            "UPDATE room.rooms SET livekit_session_time = $2 WHERE room_id = $1", room_id, since
        )

    async def connect(
        self,
        room_id: str,
        participant_sid: str,
        identity: str,
        room_sid: str,
        can_publish: bool,
        now: datetime,
    ) -> bool:
        """Count a participant sid as connected unless its departure was already seen; True
        when the counts changed."""
        status = await self._conn.execute(
            """INSERT INTO room.connections
                   (room_id, participant_sid, identity, livekit_room_sid, can_publish, join_time)
               SELECT $1, $2, $3, $4, $5, $6
               WHERE NOT EXISTS (SELECT 1 FROM room.livekit_departures
                                 WHERE room_id = $1 AND participant_sid = $2)
               ON CONFLICT (room_id, participant_sid) DO UPDATE SET can_publish = true
               WHERE EXCLUDED.can_publish AND NOT room.connections.can_publish""",
            room_id,
            participant_sid,
            identity,
            room_sid,
            can_publish,
            now,
        )
        return status != "INSERT 0 0"

    async def disconnect(
        self,
        room_id: str,
        participant_sid: str,
        identity: str,
        room_sid: str,
        reason: str,
        leave_time: datetime,
    ) -> bool:
        """Remember the departure of a participant sid and stop counting it; True when the
        counts changed."""
        await self._conn.execute(
            """INSERT INTO room.livekit_departures (room_id, participant_sid, identity,
                   livekit_room_sid, disconnect_reason, leave_time)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room_id, participant_sid) DO NOTHING""",
            room_id,
            participant_sid,
            identity,
            room_sid,
            reason,
            leave_time,
        )
        return await self.drop_connection(room_id, participant_sid)

    async def set_publishing(self, room_id: str, identity: str, can_publish: bool) -> None:
        """The identity's connections count as a publisher's (on stage) or a viewer's from
        now on: LiveKit is told to change its permissions to match."""
        await self._conn.execute(
            """UPDATE room.connections SET can_publish = $3
               WHERE room_id = $1 AND identity = $2 AND can_publish <> $3""",
            room_id,
            identity,
            can_publish,
        )

    async def drop_connection(self, room_id: str, participant_sid: str) -> bool:
        status = await self._conn.execute(
            "DELETE FROM room.connections WHERE room_id = $1 AND participant_sid = $2",
            room_id,
            participant_sid,
        )
        return status != "DELETE 0"

    async def drop_connections(self, room_id: str) -> bool:
        """Stop counting every connection of the room; True if any went."""
        status = await self._conn.execute(
            "DELETE FROM room.connections WHERE room_id = $1", room_id
        )
        return status != "DELETE 0"

    async def presence(
        self, room_id: str, identity: str, room_sid: str
    ) -> tuple[int, list[tuple[datetime, str]]]:
        """In one session: how many of the identity's sids are connected, and its departures
        as (leave_time, disconnect_reason)."""
        connected = await self._conn.fetchval(
            """SELECT count(*) FROM room.connections
               WHERE room_id = $1 AND identity = $2 AND livekit_room_sid = $3""",
            room_id,
            identity,
            room_sid,
        )
        rows = await self._conn.fetch(
            """SELECT leave_time, disconnect_reason FROM room.livekit_departures
               WHERE room_id = $1 AND identity = $2 AND livekit_room_sid = $3""",
            room_id,
            identity,
            room_sid,
        )
        return connected, [(row["leave_time"], row["disconnect_reason"]) for row in rows]

    async def connections(self, room_id: str, room_sid: str) -> dict[str, Connection]:
        """The participant sids of one session counted as connected."""
        rows = await self._conn.fetch(
            """SELECT participant_sid, identity, can_publish, join_time FROM room.connections
               WHERE room_id = $1 AND livekit_room_sid = $2""",
            room_id,
            room_sid,
        )
        return {
            row["participant_sid"]: Connection(
                row["identity"], row["can_publish"], row["join_time"]
            )
            for row in rows
        }

    async def claim_reconciliations(self, limit: int, interval_seconds: float) -> list[str]:
        """Rooms due for reconciliation, each then not due for `interval_seconds` (replicas
        skip the rooms another is claiming)."""
        rows = await self._conn.fetch(
            f"""UPDATE room.rooms SET livekit_reconcile_time = now() + make_interval(secs => $2)
                WHERE room_id IN (SELECT room_id FROM room.rooms
                                  WHERE {_RECONCILED} AND livekit_reconcile_time <= now()
                                  ORDER BY livekit_reconcile_time LIMIT $1
                                  FOR UPDATE SKIP LOCKED)
                RETURNING room_id""",  # noqa: S608 (a constant)
            limit,
            interval_seconds,
        )
        return [row["room_id"] for row in rows]

    async def reconcile_soon(self, room_id: str, seconds: float = 0.0) -> None:
        """A gap is suspected: the room is due within `seconds`."""
        await self._conn.execute(
            """UPDATE room.rooms
               SET livekit_reconcile_time = now() + make_interval(secs => $2)
               WHERE room_id = $1 AND livekit_reconcile_time > now() + make_interval(secs => $2)""",
            room_id,
            seconds,
        )

    async def update_peak(self, room_id: str) -> None:
        await self._conn.execute(
            """UPDATE room.rooms SET peak_viewer_count = GREATEST(peak_viewer_count,
                   (SELECT count(DISTINCT identity) FROM room.connections
                    WHERE room_id = $1 AND NOT can_publish))
               WHERE room_id = $1""",
            room_id,
        )

    async def add_recording(self, room_id: str, recording: Recording, now: datetime) -> bool:
        """Append a recording; False when this egress was recorded before."""
        status = await self._conn.execute(
            """INSERT INTO room.playbacks
                   (room_id, egress_id, url, thumbnail_url, duration_ms, create_time)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room_id, egress_id) DO NOTHING""",
            room_id,
            recording.egress_id,
            recording.url,
            recording.thumbnail_url,
            recording.duration_ms,
            now,
        )
        return status == "INSERT 0 1"

    async def egress_seen(self, room_id: str, egress_id: str, status: str) -> tuple[str, bool]:
        """Note an egress of the room at a status (LiveKit's EgressStatus name, one
        EGRESS_RANK knows); return its furthest status so far and whether it was new."""
        row = await self._conn.fetchrow(
            """INSERT INTO room.egresses AS e (egress_id, room_id, status, rank)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (egress_id) DO UPDATE
                   SET status = CASE WHEN EXCLUDED.rank > e.rank THEN EXCLUDED.status
                                     ELSE e.status END,
                       rank = GREATEST(e.rank, EXCLUDED.rank)
               RETURNING status, xmax = 0 AS inserted""",
            egress_id,
            room_id,
            status,
            EGRESS_RANK.get(status, -1),
        )
        return row["status"], row["inserted"]

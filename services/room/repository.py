"""SQL for the room aggregate (asyncpg, $n parameters). One class per aggregate."""

import json
from datetime import datetime
from typing import Any

import asyncpg

from services.common.db import UnitOfWork
from services.common.outbox import Outbox
from services.room.domain import EndReason, Role, Room, RoomStatus

ROOM_EVENTS_CHANNEL = "room_events"

# A room with everything the API shows: participants (connected or not), live counts from the
# set of connected participant sids (none once ended, even if LiveKit's last events were lost),
# and recordings. One query for any number of rooms.
_VIEW_COLUMNS = """
    r.*,
    COALESCE((
        SELECT jsonb_agg(jsonb_build_object(
                   'user_id', p.user_id, 'role', p.role, 'join_time', p.join_time,
                   'connected', r.status NOT IN ('ended', 'recorded')
                                AND EXISTS (SELECT 1 FROM room.connections c
                                            WHERE c.room_id = p.room_id
                                              AND c.identity = p.user_id))
               ORDER BY p.role = 'host' DESC, p.join_time, p.user_id)
        FROM room.participants p WHERE p.room_id = r.room_id), '[]') AS participants,
    (SELECT count(DISTINCT c.identity) FROM room.connections c
     WHERE c.room_id = r.room_id AND NOT c.can_publish
       AND r.status NOT IN ('ended', 'recorded')) AS viewer_count,
    (SELECT count(DISTINCT c.identity) FROM room.connections c
     WHERE c.room_id = r.room_id AND c.can_publish
       AND r.status NOT IN ('ended', 'recorded')) AS publisher_count,
    COALESCE((
        SELECT jsonb_agg(jsonb_build_object(
                   'url', pb.url, 'thumbnail_url', pb.thumbnail_url,
                   'duration_ms', pb.duration_ms) ORDER BY pb.create_time, pb.egress_id)
        FROM room.playbacks pb WHERE pb.room_id = r.room_id), '[]') AS playbacks
"""

_UPDATABLE = frozenset(
    {"title", "description", "thumbnail_file_id", "metadata", "live_chat_enabled", "parent_room_id"}
)


def _room(row: asyncpg.Record) -> Room:
    return Room(
        room_id=row["room_id"],
        host_user_id=row["host_user_id"],
        status=RoomStatus(row["status"]),
        max_co_hosts=row["max_co_hosts"],
        live_time=row["live_time"],
        end_time=row["end_time"],
        end_reason=EndReason(row["end_reason"]) if row["end_reason"] else None,
        recorded_time=row["recorded_time"],
        reconnect_deadline=row["reconnect_deadline"],
        livekit_room_sid=row["livekit_room_sid"],
        deleted=row["deleted"],
    )


class RoomRepository:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    # --- reads for the API ---

    async def views(self, room_ids: list[str]) -> list[asyncpg.Record]:
        """Full rows of these rooms (deleted ones too), in the order asked."""
        rows = await self._conn.fetch(
            f"SELECT {_VIEW_COLUMNS} FROM room.rooms r WHERE r.room_id = ANY($1::text[])",  # noqa: S608
            room_ids,
        )
        by_id = {row["room_id"]: row for row in rows}
        return [by_id[room_id] for room_id in dict.fromkeys(room_ids) if room_id in by_id]

    async def view(self, room_id: str) -> asyncpg.Record | None:
        rows = await self.views([room_id])
        return rows[0] if rows else None

    async def list_views(
        self,
        *,
        statuses: list[str],
        types: list[str],
        host_user_id: str,
        parent_room_id: str,
        include_deleted: bool,
        newest_first: bool,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        where: list[str] = []
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if statuses:
            where.append(f"r.status = ANY({arg(statuses)}::text[])")
        if types:
            where.append(f"r.type = ANY({arg(types)}::text[])")
        if host_user_id:
            where.append(f"r.host_user_id = {arg(host_user_id)}")
        if parent_room_id:
            where.append(f"r.parent_room_id = {arg(parent_room_id)}")
        if not include_deleted:
            where.append("NOT r.deleted")
        if after is not None:
            op = "<" if newest_first else ">"
            where.append(f"(r.create_time, r.room_id) {op} ({arg(after[0])}, {arg(after[1])})")
        order = "DESC" if newest_first else "ASC"
        sql = (
            f"SELECT {_VIEW_COLUMNS} FROM room.rooms r"  # noqa: S608
            f" {'WHERE ' + ' AND '.join(where) if where else ''}"
            f" ORDER BY r.create_time {order}, r.room_id {order} LIMIT {arg(limit)}"
        )
        return await self._conn.fetch(sql, *args)

    # --- the aggregate ---

    async def get(self, room_id: str, *, for_update: bool = False) -> Room | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM room.rooms WHERE room_id = $1"  # noqa: S608
            + (" FOR UPDATE" if for_update else ""),
            room_id,
        )
        return _room(row) if row else None

    async def find_by_request(self, host_user_id: str, request_id: str) -> str | None:
        return await self._conn.fetchval(
            "SELECT room_id FROM room.rooms WHERE host_user_id = $1 AND create_request_id = $2",
            host_user_id,
            request_id,
        )

    async def insert(self, row: dict[str, Any]) -> None:
        columns = list(row)
        await self._conn.execute(
            f"INSERT INTO room.rooms ({', '.join(columns)})"  # noqa: S608
            f" VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))})",
            *row.values(),
        )

    async def save_status(self, room: Room, now: datetime) -> None:
        await self._conn.execute(
            """UPDATE room.rooms SET status = $2, live_time = $3, end_time = $4, end_reason = $5,
                   recorded_time = $6, reconnect_deadline = $7, livekit_room_sid = $8,
                   update_time = $9
               WHERE room_id = $1""",
            room.room_id,
            room.status.value,
            room.live_time,
            room.end_time,
            room.end_reason.value if room.end_reason else None,
            room.recorded_time,
            room.reconnect_deadline,
            room.livekit_room_sid,
            now,
        )

    async def update_fields(self, room_id: str, fields: dict[str, Any], now: datetime) -> None:
        assert set(fields) <= _UPDATABLE
        sets = [f"{name} = ${i}" for i, name in enumerate(fields, start=2)]
        sets.append(f"update_time = ${len(fields) + 2}")
        await self._conn.execute(
            f"UPDATE room.rooms SET {', '.join(sets)} WHERE room_id = $1",  # noqa: S608
            room_id,
            *fields.values(),
            now,
        )

    async def mark_deleted(self, room_id: str, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE room.rooms SET deleted = true, delete_time = $2, update_time = $2"
            " WHERE room_id = $1",
            room_id,
            now,
        )

    async def purge(self, room_id: str) -> None:
        """Remove a room for good; participants, bans, connections and playbacks go with it
        (ON DELETE CASCADE)."""
        await self._conn.execute("DELETE FROM room.rooms WHERE room_id = $1", room_id)

    async def set_dismiss_reason(self, room_id: str, reason: str) -> None:
        await self._conn.execute(
            "UPDATE room.rooms SET dismiss_reason = $2 WHERE room_id = $1", room_id, reason
        )

    # --- participants and seats ---

    async def add_participant(
        self, room_id: str, user_id: str, role: Role, now: datetime, invitation_id: str | None
    ) -> None:
        await self._conn.execute(
            """INSERT INTO room.participants (room_id, user_id, role, join_time, invitation_id)
               VALUES ($1, $2, $3, $4, $5)""",
            room_id,
            user_id,
            role.value,
            now,
            invitation_id,
        )

    async def add_co_hosts(self, room_id: str, user_ids: list[str], now: datetime) -> None:
        await self._conn.executemany(
            """INSERT INTO room.participants (room_id, user_id, role, join_time)
               VALUES ($1, $2, 'co_host', $3)""",
            [(room_id, user_id, now) for user_id in user_ids],
        )

    async def remove_participant(self, room_id: str, user_id: str) -> bool:
        status = await self._conn.execute(
            """DELETE FROM room.participants
               WHERE room_id = $1 AND user_id = $2 AND role = 'co_host'""",
            room_id,
            user_id,
        )
        return status != "DELETE 0"

    async def role_of(self, room_id: str, user_id: str) -> Role | None:
        role = await self._conn.fetchval(
            "SELECT role FROM room.participants WHERE room_id = $1 AND user_id = $2",
            room_id,
            user_id,
        )
        return Role(role) if role else None

    async def co_host_count(self, room_id: str) -> int:
        return await self._conn.fetchval(
            "SELECT count(*) FROM room.participants WHERE room_id = $1 AND role = 'co_host'",
            room_id,
        )

    async def seat_claimed(self, invitation_id: str) -> str | None:
        """The room an invitation already claimed a seat in, if it did."""
        return await self._conn.fetchval(
            "SELECT room_id FROM room.seat_claims WHERE invitation_id = $1", invitation_id
        )

    async def claim_seat(
        self, room_id: str, user_id: str, invitation_id: str, now: datetime
    ) -> None:
        await self._conn.execute(
            """INSERT INTO room.seat_claims (invitation_id, room_id, user_id, claim_time)
               VALUES ($1, $2, $3, $4)""",
            invitation_id,
            room_id,
            user_id,
            now,
        )
        await self.add_participant(room_id, user_id, Role.CO_HOST, now, invitation_id)

    # --- bans ---

    async def ban(
        self,
        room_id: str,
        user_id: str,
        reason: str,
        banned_by: str,
        now: datetime,
        expire_time: datetime | None,
    ) -> None:
        await self._conn.execute(
            """INSERT INTO room.bans
                   (room_id, user_id, reason, banned_by_user_id, create_time, expire_time)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (room_id, user_id) DO UPDATE SET reason = EXCLUDED.reason,
                   banned_by_user_id = EXCLUDED.banned_by_user_id,
                   create_time = EXCLUDED.create_time, expire_time = EXCLUDED.expire_time""",
            room_id,
            user_id,
            reason,
            banned_by,
            now,
            expire_time,
        )

    async def unban(self, room_id: str, user_id: str) -> None:
        await self._conn.execute(
            "DELETE FROM room.bans WHERE room_id = $1 AND user_id = $2", room_id, user_id
        )

    async def is_banned(self, room_id: str, user_id: str, now: datetime) -> bool:
        return await self._conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM room.bans WHERE room_id = $1 AND user_id = $2
                              AND (expire_time IS NULL OR expire_time > $3))""",
            room_id,
            user_id,
            now,
        )

    async def list_bans(
        self, room_id: str, now: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[asyncpg.Record]:
        return await self._conn.fetch(
            """SELECT * FROM room.bans
               WHERE room_id = $1 AND (expire_time IS NULL OR expire_time > $2)
                 AND ($3::timestamptz IS NULL OR (create_time, user_id) > ($3, $4))
               ORDER BY create_time, user_id LIMIT $5""",
            room_id,
            now,
            after[0] if after else None,
            after[1] if after else "",
            limit,
        )

    # --- timers ---

    async def lock_overdue(self, now: datetime, live_since: datetime, limit: int) -> list[Room]:
        """Rooms past their reconnect deadline or live since before `live_since`, locked;
        rows another replica holds are skipped."""
        rows = await self._conn.fetch(
            """SELECT * FROM room.rooms
               WHERE (status = 'waiting_reconnect' AND reconnect_deadline <= $1)
                  OR (status = 'live' AND live_time <= $2)
               LIMIT $3 FOR UPDATE SKIP LOCKED""",
            now,
            live_since,
            limit,
        )
        return [_room(row) for row in rows]

    # --- events ---

    async def notify(self, room_id: str, kind: str) -> None:
        """Tell every replica's watchers once the transaction commits."""
        await self._conn.execute(
            "SELECT pg_notify($1, $2)",
            ROOM_EVENTS_CHANNEL,
            json.dumps({"room_id": room_id, "kind": kind}),
        )


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

    async def take_parked(self, room_id: str, room_sid: str) -> list[bytes]:
        """The parked events of a session, marked done."""
        rows = await self._conn.fetch(
            """UPDATE room.livekit_events SET state = 'done'
               WHERE room_id = $1 AND room_sid = $2 AND state = 'parked'
               RETURNING payload""",
            room_id,
            room_sid,
        )
        return [row["payload"] for row in rows]

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

    async def drop_connection(self, room_id: str, participant_sid: str) -> bool:
        status = await self._conn.execute(
            "DELETE FROM room.connections WHERE room_id = $1 AND participant_sid = $2",
            room_id,
            participant_sid,
        )
        return status != "DELETE 0"

    async def drop_connections(self, room_id: str, *, keep_session: str | None = None) -> bool:
        """Stop counting every connection (but those of `keep_session`); True if any went."""
        status = await self._conn.execute(
            """DELETE FROM room.connections
               WHERE room_id = $1 AND ($2::text IS NULL OR livekit_room_sid <> $2)""",
            room_id,
            keep_session,
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

    async def update_peak(self, room_id: str) -> None:
        await self._conn.execute(
            """UPDATE room.rooms SET peak_viewer_count = GREATEST(peak_viewer_count,
                   (SELECT count(DISTINCT identity) FROM room.connections
                    WHERE room_id = $1 AND NOT can_publish))
               WHERE room_id = $1""",
            room_id,
        )

    async def add_playback(
        self,
        room_id: str,
        egress_id: str,
        url: str,
        thumbnail_url: str,
        duration_ms: int,
        now: datetime,
    ) -> bool:
        """Append a recording; False when this egress was recorded before."""
        status = await self._conn.execute(
            """INSERT INTO room.playbacks
                   (room_id, egress_id, url, thumbnail_url, duration_ms, create_time)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room_id, egress_id) DO NOTHING""",
            room_id,
            egress_id,
            url,
            thumbnail_url,
            duration_ms,
            now,
        )
        return status == "INSERT 0 1"

    async def set_recording_pending(self, room_id: str, pending: bool) -> bool:
        """Set or clear the flag; True when it changed."""
        status = await self._conn.execute(
            """UPDATE room.rooms SET recording_pending = $2
               WHERE room_id = $1 AND recording_pending <> $2""",
            room_id,
            pending,
        )
        return status != "UPDATE 0"


class RoomUnitOfWork(UnitOfWork):
    rooms: RoomRepository
    outbox: Outbox
    livekit: LiveKitRepository

    def _open(self, connection: asyncpg.Connection) -> None:
        self.rooms = RoomRepository(connection)
        self.outbox = Outbox(connection, "room")
        self.livekit = LiveKitRepository(connection)

"""SQL for the room aggregate and its read models (asyncpg, $n parameters), and the room
service's unit of work."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.common import sql
from services.common.db import Database
from services.common.events import DomainEvent, SideEffects
from services.common.sql import Params
from services.common.unit_of_work import UnitOfWork
from services.room.cache import BANS_PER_ROOM, RoomCache
from services.room.domain import (
    UPDATABLE_FIELDS,
    Ban,
    EndReason,
    IngressStatus,
    Participant,
    Recording,
    RecordingState,
    RecordingStatus,
    Role,
    Room,
    RoomChanged,
    RoomStatus,
    RoomType,
    RoomView,
    SeatTemplate,
    Viewer,
)
from services.room.livekit.repository import LiveKitRepository
from services.room.side_effects import side_effects

# Unique indexes of room.rooms, by the domain key they guard.
_UNIQUE_KEYS = {"rooms_pkey": "room_id", "rooms_create_request": "request_id"}
# Every write of a room moves update_time forward, even when clocks or concurrent writers
# would not: readers (the gateway's room feeds) order a room's versions by it.
_NEXT_UPDATE_TIME = "GREATEST({}, update_time + interval '1 microsecond')"

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
                   'egress_id', pb.egress_id, 'url', pb.url, 'thumbnail_url', pb.thumbnail_url,
                   'duration_ms', pb.duration_ms) ORDER BY pb.create_time, pb.egress_id)
        FROM room.playbacks pb WHERE pb.room_id = r.room_id), '[]') AS playbacks,
    ARRAY(SELECT m.user_id FROM room.moderators m WHERE m.room_id = r.room_id
          ORDER BY m.add_time, m.user_id) AS moderator_user_ids
"""


def _in_force(expire_time: datetime | None, now: datetime) -> bool:
    """Whether a ban that lapses at `expire_time` (None: until unbanned) holds now."""
    return expire_time is None or expire_time > now


def _time(value: datetime | str) -> datetime:
    """A timestamp as jsonb gives it back (ISO 8601 text)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _room(row: asyncpg.Record, co_host_ids: list[str], moderator_ids: list[str]) -> Room:
    return Room(
        room_id=row["room_id"],
        host_user_id=row["host_user_id"],
        status=RoomStatus(row["status"]),
        max_co_hosts=row["max_co_hosts"],
        co_host_ids=co_host_ids,
        live_time=row["live_time"],
        end_time=row["end_time"],
        end_reason=EndReason(row["end_reason"]) if row["end_reason"] else None,
        recorded_time=row["recorded_time"],
        reconnect_deadline=row["reconnect_deadline"],
        livekit_room_sid=row["livekit_room_sid"],
        recording_pending=row["recording_pending"],
        deleted=row["deleted"],
        moderator_ids=moderator_ids,
        recording=RecordingState(
            auto_record=row["auto_record"],
            status=RecordingStatus(row["recording_status"]),
            attempt=row["recording_attempt"],
            egress_id=row["egress_id"],
            egress_status=row["egress_status"],
            deadline=row["recording_deadline"],
            retried=row["recording_retried"],
            live_playback_url=row["live_playback_url"],
        ),
        type=RoomType(row["type"]),
        ingress_id=row["ingress_id"],
        ingress_status=_ingress_status(row),
        ingress_event_time=row["ingress_event_time"],
    )


def _ingress_status(row: asyncpg.Record) -> IngressStatus | None:
    return IngressStatus(row["ingress_status"]) if row["ingress_status"] else None


def _view(row: asyncpg.Record) -> RoomView:
    return RoomView(
        room_id=row["room_id"],
        type=RoomType(row["type"]),
        status=RoomStatus(row["status"]),
        title=row["title"],
        description=row["description"],
        thumbnail_file_id=row["thumbnail_file_id"],
        metadata=row["metadata"],
        live_chat_enabled=row["live_chat_enabled"],
        parent_room_id=row["parent_room_id"],
        seat_template=SeatTemplate(row["seat_template"]),
        max_co_hosts=row["max_co_hosts"],
        host_user_id=row["host_user_id"],
        end_reason=EndReason(row["end_reason"]) if row["end_reason"] else None,
        participants=tuple(
            Participant(
                user_id=p["user_id"],
                role=Role(p["role"]),
                join_time=_time(p["join_time"]),
                connected=p["connected"],
            )
            for p in row["participants"]
        ),
        viewer_count=row["viewer_count"],
        publisher_count=row["publisher_count"],
        stored_peak_viewer_count=row["peak_viewer_count"],
        recordings=tuple(
            Recording(
                egress_id=pb["egress_id"],
                url=pb["url"],
                thumbnail_url=pb["thumbnail_url"],
                duration_ms=pb["duration_ms"],
            )
            for pb in row["playbacks"]
        ),
        create_time=row["create_time"],
        update_time=row["update_time"],
        live_time=row["live_time"],
        end_time=row["end_time"],
        recorded_time=row["recorded_time"],
        deleted=row["deleted"],
        delete_time=row["delete_time"],
        moderator_user_ids=tuple(row["moderator_user_ids"]),
        auto_record=row["auto_record"],
        recording_status=RecordingStatus(row["recording_status"]),
        live_playback_url=row["live_playback_url"],
        ingress_status=_ingress_status(row),
        ingress_id=row["ingress_id"],
    )


def _ban(row: asyncpg.Record) -> Ban:
    return Ban(
        room_id=row["room_id"],
        user_id=row["user_id"],
        reason=row["reason"],
        banned_by_user_id=row["banned_by_user_id"],
        create_time=row["create_time"],
        expire_time=row["expire_time"],
    )


class RoomRepository:
    def __init__(
        self,
        connection: asyncpg.Connection,
        seen: Callable[[Room], Room],
        cache: RoomCache | None = None,
    ) -> None:
        """`cache`: for reads outside a transaction only (a transaction sees its own writes,
        which nobody else may see before it commits)."""
        self._conn = connection
        self._seen = seen
        self._cache = cache

    # --- reads for the API ---

    async def views(self, room_ids: Sequence[str]) -> list[RoomView]:
        """These rooms (deleted ones too), in the order asked; missing ones left out."""
        wanted = list(dict.fromkeys(room_ids))
        found: dict[str, RoomView] = {}
        if self._cache is not None:
            for room_id in wanted:
                view = self._cache.view(room_id)
                if view is not None:
                    found[room_id] = view
        missing = [room_id for room_id in wanted if room_id not in found]
        if missing:
            read_at = self._cache.now() if self._cache is not None else 0
            rows = await self._conn.fetch(
                f"SELECT {_VIEW_COLUMNS} FROM room.rooms r WHERE r.room_id = ANY($1::text[])",  # noqa: S608
                missing,
            )
            for row in rows:
                view = found[row["room_id"]] = _view(row)
                if self._cache is not None:
                    self._cache.keep_view(view, read_at)
        return [found[room_id] for room_id in wanted if room_id in found]

    async def view(self, room_id: str) -> RoomView | None:
        views = await self.views([room_id])
        return views[0] if views else None

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
    ) -> list[RoomView]:
        where: list[str] = []
        arg = Params()
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
        statement = (
            "SELECT r.room_id FROM room.rooms r"  # noqa: S608
            f" {'WHERE ' + ' AND '.join(where) if where else ''}"
            f" ORDER BY r.create_time {order}, r.room_id {order} LIMIT {arg(limit)}"
        )
        # The page's ids by the index, then the rooms (from the cache where it has them).
        page = [row["room_id"] for row in await self._conn.fetch(statement, *arg.values)]
        return await self.views(page)

    # --- the aggregate ---

    async def get(self, room_id: str, *, for_update: bool = False) -> Room | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM room.rooms WHERE room_id = $1"  # noqa: S608
            + (" FOR UPDATE" if for_update else ""),
            room_id,
        )
        rooms = await self._aggregates([row] if row else [])
        return rooms[0] if rooms else None

    async def _aggregates(self, rows: list[asyncpg.Record]) -> list[Room]:
        """The rooms with their co-hosts and moderators, read in a statement of its own: after
        the lock, so it sees the seats taken by whoever held the lock before."""
        if not rows:
            return []
        people = await self._conn.fetch(
            """SELECT room_id, user_id, 'co_host' AS kind, join_time AS since
               FROM room.participants WHERE room_id = ANY($1::text[]) AND role = 'co_host'
               UNION ALL
               SELECT room_id, user_id, 'moderator', add_time
               FROM room.moderators WHERE room_id = ANY($1::text[])
               ORDER BY since, user_id""",
            [row["room_id"] for row in rows],
        )
        co_hosts: dict[str, list[str]] = {row["room_id"]: [] for row in rows}
        moderators: dict[str, list[str]] = {row["room_id"]: [] for row in rows}
        for person in people:
            found = co_hosts if person["kind"] == "co_host" else moderators
            found[person["room_id"]].append(person["user_id"])
        return [
            self._seen(_room(row, co_hosts[row["room_id"]], moderators[row["room_id"]]))
            for row in rows
        ]

    async def exists(self, room_id: str) -> bool:
        return await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM room.rooms WHERE room_id = $1)", room_id
        )

    async def find_by_request(self, host_user_id: str, request_id: str) -> str | None:
        return await self._conn.fetchval(
            "SELECT room_id FROM room.rooms WHERE host_user_id = $1 AND create_request_id = $2",
            host_user_id,
            request_id,
        )

    async def insert(self, row: dict[str, Any]) -> None:
        """A new room; DuplicateKey("room_id" or "request_id") when one has that key."""
        statement, args = sql.insert("room.rooms", row)
        with sql.unique_keys(_UNIQUE_KEYS):
            await self._conn.execute(statement, *args)

    async def save(self, room: Room, now: datetime) -> None:
        """Write the aggregate's state (its co-hosts are written as they change)."""
        await self._conn.execute(
            f"""UPDATE room.rooms SET status = $2, live_time = $3, end_time = $4, end_reason = $5,
                   recorded_time = $6, reconnect_deadline = $7, livekit_room_sid = $8,
                   recording_pending = $9, deleted = $10,
                   delete_time = CASE WHEN $10 THEN COALESCE(delete_time, $11) END,
                   update_time = {_NEXT_UPDATE_TIME.format("$11")},
                   recording_status = $12, recording_attempt = $13, egress_id = $14,
                   egress_status = $15, recording_deadline = $16, recording_retried = $17,
                   live_playback_url = $18
               WHERE room_id = $1""",  # noqa: S608
            room.room_id,
            room.status.value,
            room.live_time,
            room.end_time,
            room.end_reason.value if room.end_reason else None,
            room.recorded_time,
            room.reconnect_deadline,
            room.livekit_room_sid,
            room.recording_pending,
            room.deleted,
            now,
            room.recording.status.value,
            room.recording.attempt,
            room.recording.egress_id,
            room.recording.egress_status,
            room.recording.deadline,
            room.recording.retried,
            room.recording.live_playback_url,
        )
        if room.ingress_id is not None:
            await self._save_ingress(room)

    async def _save_ingress(self, room: Room) -> None:
        """A direct-streaming room's ingress, written only for rooms that have one."""
        await self._conn.execute(
            """UPDATE room.rooms SET ingress_id = $2, ingress_status = $3, ingress_event_time = $4
               WHERE room_id = $1""",
            room.room_id,
            room.ingress_id,
            room.ingress_status.value if room.ingress_status else None,
            room.ingress_event_time,
        )

    async def update_fields(self, room_id: str, fields: dict[str, Any], now: datetime) -> None:
        assert set(fields) <= set(UPDATABLE_FIELDS)
        p = sql.Params(room_id)
        sets = [f"{name} = {p(value)}" for name, value in fields.items()]
        sets.append(f"update_time = {_NEXT_UPDATE_TIME.format(p(now))}")
        await self._conn.execute(
            f"UPDATE room.rooms SET {', '.join(sets)} WHERE room_id = $1",  # noqa: S608
            *p.values,
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

    # --- moderators ---

    async def add_moderator(self, room_id: str, user_id: str, by: str, now: datetime) -> None:
        await self._conn.execute(
            """INSERT INTO room.moderators (room_id, user_id, added_by_user_id, add_time)
               VALUES ($1, $2, $3, $4) ON CONFLICT (room_id, user_id) DO NOTHING""",
            room_id,
            user_id,
            by,
            now,
        )

    async def remove_moderator(self, room_id: str, user_id: str) -> None:
        await self._conn.execute(
            "DELETE FROM room.moderators WHERE room_id = $1 AND user_id = $2", room_id, user_id
        )

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
        return user_id in await self.banned_among(room_id, [user_id], now)

    async def banned_among(self, room_id: str, user_ids: Sequence[str], now: datetime) -> set[str]:
        """Which of these users a ban keeps out of the room now."""
        wanted = set(user_ids)
        if self._cache is not None:
            bans = self._cache.bans(room_id)
            if bans is None:
                read_at = self._cache.now()
                rows = await self._conn.fetch(
                    """SELECT user_id, expire_time FROM room.bans WHERE room_id = $1
                       AND (expire_time IS NULL OR expire_time > $2)
                       LIMIT $3""",
                    room_id,
                    now,
                    BANS_PER_ROOM + 1,
                )
                bans = {row["user_id"]: row["expire_time"] for row in rows}
                self._cache.keep_bans(room_id, bans, read_at)
            if len(bans) <= BANS_PER_ROOM:
                return {u for u in wanted if u in bans and _in_force(bans[u], now)}
        rows = await self._conn.fetch(
            """SELECT user_id FROM room.bans WHERE room_id = $1 AND user_id = ANY($2::text[])
               AND (expire_time IS NULL OR expire_time > $3)""",
            room_id,
            list(wanted),
            now,
        )
        return {row["user_id"] for row in rows}

    async def list_bans(
        self, room_id: str, now: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[Ban]:
        rows = await self._conn.fetch(
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
        return [_ban(row) for row in rows]

    # --- viewers ---

    async def list_viewers(
        self, room_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Viewer]:
        """The identities viewer_count counts (connected, not publishing, the room not ended),
        each since its earliest such connection, earliest first."""
        rows = await self._conn.fetch(
            """SELECT c.identity, min(c.join_time) AS join_time
               FROM room.connections c JOIN room.rooms r ON r.room_id = c.room_id
               WHERE c.room_id = $1 AND NOT c.can_publish
                 AND r.status NOT IN ('ended', 'recorded')
               GROUP BY c.identity
               HAVING $2::timestamptz IS NULL OR (min(c.join_time), c.identity) > ($2, $3)
               ORDER BY 2, 1 LIMIT $4""",
            room_id,
            after[0] if after else None,
            after[1] if after else "",
            limit,
        )
        return [Viewer(row["identity"], row["join_time"]) for row in rows]

    # --- timers ---

    async def lock_stuck_recordings(self, now: datetime, limit: int) -> list[Room]:
        """Rooms whose recording is still starting past its deadline, locked; rows another
        replica holds are skipped."""
        rows = await self._conn.fetch(
            """SELECT * FROM room.rooms
               WHERE recording_status = 'starting' AND recording_deadline <= $1
               LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
        return await self._aggregates(rows)

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
        return await self._aggregates(rows)


class RoomUnitOfWork(UnitOfWork):
    schema = "room"
    rooms: RoomRepository
    livekit: LiveKitRepository

    def __init__(self, database: Database, cache: RoomCache | None = None) -> None:
        super().__init__(database)
        self._cache = cache

    def _open(self, connection: asyncpg.Connection) -> None:
        self.rooms = RoomRepository(connection, self.seen, self._cache if self._read_only else None)
        self.livekit = LiveKitRepository(connection)

    def side_effects(self, events: Sequence[DomainEvent]) -> SideEffects:
        return side_effects(events)

    def committed(self, events: Sequence[DomainEvent]) -> None:
        """What changed is read again from the database from now on, on this replica at once
        (others when the NOTIFY arrives)."""
        if self._cache is not None:
            self._cache.evict({e.room_id for e in events if isinstance(e, RoomChanged)})

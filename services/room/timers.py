"""Room timers, run in the service and not in clients: a room never stays in waitingReconnect
or live past its deadline, even when a webhook was lost, and a recording whose egress never
starts is failed (and, with auto_record, tried once more). Every replica runs them; FOR UPDATE
SKIP LOCKED shares the rooms out, so no room is handled twice."""

import asyncio
import time
from datetime import datetime, timedelta

import structlog

from services.common import observability
from services.common.db import CONNECTION_ERRORS, Database
from services.common.errors import Unavailable
from services.common.timestamps import utcnow
from services.room.domain import EndReason, Room, RoomStatus
from services.room.repository import RoomUnitOfWork

log = structlog.get_logger()

TIMER_SECONDS = 1.0
BATCH = 100
HOUSEKEEPING_SECONDS = 15.0
EVENT_RETENTION = timedelta(days=7)


def overdue_reason(room: Room, now: datetime, max_live_duration: timedelta) -> EndReason | None:
    """Why the room must end now, if it must."""
    deadline = room.reconnect_deadline
    if room.status is RoomStatus.WAITING_RECONNECT and deadline and deadline <= now:
        return EndReason.RECONNECT_TIMEOUT
    live_time = room.live_time
    if room.status is RoomStatus.LIVE and live_time and live_time + max_live_duration <= now:
        return EndReason.MAX_DURATION
    return None


async def end_overdue_rooms(
    database: Database,
    *,
    max_live_duration: timedelta,
    now: datetime | None = None,
    limit: int = BATCH,
) -> int:
    """End a batch of rooms past their deadline, with the side effects of every end; return
    how many were looked at."""
    now = now or utcnow()
    async with RoomUnitOfWork(database) as uow:
        rooms = await uow.rooms.lock_overdue(now, now - max_live_duration, limit)
        for room in rooms:
            reason = overdue_reason(room, now, max_live_duration)
            if reason is not None:
                room.end(reason, now)
                await uow.rooms.save(room, now)
                log.info("room ended by timer", room_id=room.room_id, reason=reason.value)
        await uow.commit()
    return len(rooms)


async def fail_stuck_recordings(
    database: Database, *, now: datetime | None = None, limit: int = BATCH
) -> int:
    """Fail a batch of recordings still starting past their deadline; return how many were
    looked at."""
    now = now or utcnow()
    async with RoomUnitOfWork(database) as uow:
        rooms = await uow.rooms.lock_stuck_recordings(now, limit)
        for room in rooms:
            room.recording_timed_out()
            await uow.rooms.save(room, now)
            log.warning("recording did not start in time", room_id=room.room_id)
        await uow.commit()
    return len(rooms)


async def keep_house(database: Database) -> None:
    """Rooms by status for the metrics, and applied LiveKit events forgotten after a week
    (LiveKit retries a webhook for minutes, not days)."""
    async with database.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM room.rooms WHERE NOT deleted GROUP BY status"
        )
        counts = {row["status"]: row["n"] for row in rows}
        for status in RoomStatus:
            observability.ROOMS_BY_STATUS.labels(status.value).set(counts.get(status.value, 0))
        await conn.execute(
            """DELETE FROM room.livekit_events
               WHERE state = 'done' AND receive_time < now() - $1::interval""",
            EVENT_RETENTION,
        )


async def run_timers(
    database: Database, max_live_duration: timedelta, interval: float = TIMER_SECONDS
) -> None:
    next_housekeeping = 0.0
    while True:
        try:
            while await end_overdue_rooms(database, max_live_duration=max_live_duration) == BATCH:
                pass
            while await fail_stuck_recordings(database) == BATCH:
                pass
            if time.monotonic() >= next_housekeeping:
                next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
                await keep_house(database)
        except (Unavailable, *CONNECTION_ERRORS) as e:
            log.warning("room timers wait for the database", error=str(e))
        await asyncio.sleep(interval)

"""Which rooms are compared with LiveKit, and when, against PostgreSQL (on a database of its
own): rooms with a LiveKit session that has not ended, each once per interval, shared out
between replicas, sooner after a suspected gap; and what the repository reads for it."""

import asyncio
from datetime import UTC, datetime

import pytest

from services.common.db import Database
from services.room.livekit.repository import Connection, LiveKitRepository
from tests.support import unique


@pytest.fixture
async def database(make_database):
    db = Database(await make_database(), 4)
    await db.open()
    yield db
    await db.close()


async def add_room(database: Database, status: str, sid: str | None, deleted: bool = False) -> str:
    room_id = unique("room")
    await database.pool.execute(
        """INSERT INTO room.rooms (room_id, type, status, title, seat_template, max_co_hosts,
               host_user_id, livekit_room_sid, deleted, create_time, update_time)
           VALUES ($1, 'co_hosts', $2, 't', 'video_dynamic_grid_9', 8, 'host', $3, $4, now(), now())""",
        room_id,
        status,
        sid,
        deleted,
    )
    return room_id


async def claim(database: Database, limit: int = 100, interval: float = 60.0) -> list[str]:
    async with database.pool.acquire() as conn:
        return await LiveKitRepository(conn).claim_reconciliations(limit, interval)


async def test_rooms_with_a_session_that_has_not_ended_are_due_once_per_interval(database):
    due = {
        await add_room(database, "live", "RM_1"),
        await add_room(database, "waiting_reconnect", "RM_2"),
        await add_room(database, "idle", "RM_3"),
    }
    for status, sid, deleted in [
        ("idle", None, False),  # no session yet: nothing to compare
        ("ended", "RM_4", False),
        ("recorded", "RM_5", False),
        ("live", "RM_6", True),
    ]:
        await add_room(database, status, sid, deleted)
    assert set(await claim(database)) == due
    assert await claim(database) == []  # not again within the interval
    assert await claim(database, interval=0.0) == []  # the first claim made them due in a minute


async def test_a_claim_takes_at_most_its_limit_and_replicas_share_the_rooms(database):
    rooms = {await add_room(database, "live", f"RM_{i}") for i in range(40)}
    assert len(await claim(database, limit=5)) == 5
    first, second = await asyncio.gather(claim(database, limit=20), claim(database, limit=20))
    assert len(first) + len(second) == 35
    assert not set(first) & set(second)
    assert set(first) | set(second) <= rooms


async def test_a_suspected_gap_makes_a_room_due_sooner_never_later(database):
    room_id = await add_room(database, "live", "RM_1")
    assert await claim(database) == [room_id]  # next due in a minute
    async with database.pool.acquire() as conn:
        await LiveKitRepository(conn).reconcile_soon(room_id, 0.0)
    assert await claim(database, interval=0.5) == [room_id]  # due now; next in half a second
    async with database.pool.acquire() as conn:
        await LiveKitRepository(conn).reconcile_soon(room_id, 120.0)  # later: no change
    await asyncio.sleep(0.6)
    assert await claim(database) == [room_id]


async def test_the_connections_of_one_session_are_read_with_when_they_were_applied(database):
    room_id = await add_room(database, "live", "RM_2")
    joined = datetime(2026, 6, 1, tzinfo=UTC)
    async with database.pool.acquire() as conn:
        livekit = LiveKitRepository(conn)
        await livekit.connect(room_id, "PA_1", "vic", "RM_2", False, joined)
        await livekit.connect(room_id, "PA_2", "host", "RM_2", True, joined)
        await livekit.connect(room_id, "PA_0", "old", "RM_1", False, joined)
        assert await livekit.connections(room_id, "RM_2") == {
            "PA_1": Connection("vic", False, joined),
            "PA_2": Connection("host", True, joined),
        }

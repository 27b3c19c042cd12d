"""PostgreSQL connections cut in the middle of a load (GetRoom and CreateRoom through the
gateway): every call answers OK or UNAVAILABLE (safe to retry), never INTERNAL, and the stack
works again at once."""

import asyncio

from costream.room.v1 import room_service_pb2 as rs

from tests.e2e.flow import auth
from tests.fault.conftest import Load
from tests.support import unique


async def test_cut_database_connections_answer_only_success_or_unavailable(gateway, db):
    host = unique("host")
    room = await gateway.CreateRoom(
        rs.CreateRoomRequest(title="blip"), wait_for_ready=True, **auth(host)
    )

    async def read_or_create(caller: int) -> None:
        if caller % 4:
            await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(host))
        else:
            await gateway.CreateRoom(rs.CreateRoomRequest(title="more"), **auth(f"h{caller}"))

    async with Load(read_or_create) as load:
        for _ in range(5):
            await asyncio.sleep(0.3)
            cut = await db.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()"""
            )
            assert cut > 0
        await asyncio.sleep(0.5)
    assert load.only("OK", "UNAVAILABLE"), load.codes
    assert load.codes["OK"] > 0
    again = await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(host))
    assert again.room_id == room.room_id

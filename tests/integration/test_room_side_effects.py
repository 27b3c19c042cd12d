"""Late side effects do nothing: a LiveKit removal written before the user took a seat again
(and is not banned) is dropped at delivery, so a slow outbox cannot put out a co-host the room
has seated since."""

from datetime import timedelta

import grpc
import pytest
from costream.room.v1 import room_service_pb2 as rs
from costream.room.v1 import room_service_pb2_grpc

from services.common.db import Database
from services.common.timestamps import utcnow
from services.room.deliveries import seated_again
from tests.support import service_metadata, unique, user_metadata


@pytest.fixture(scope="module")
async def rooms(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


@pytest.fixture(scope="module")
async def database(database_url):
    db = Database(database_url, 2)
    await db.open()
    yield db
    await db.close()


async def seat(rooms, room_id: str, user_id: str) -> None:
    await rooms.AddCoHost(
        rs.AddCoHostRequest(room_id=room_id, user_id=user_id, invitation_id=unique("inv")),
        metadata=service_metadata(),
    )


async def test_a_removal_from_before_the_user_was_seated_again_is_late(rooms, database):
    host, guest = unique("host"), unique("guest")
    room = await rooms.CreateRoom(rs.CreateRoomRequest(title="t"), metadata=user_metadata(host))
    await seat(rooms, room.room_id, guest)
    removed_at = utcnow()
    await rooms.RemoveParticipant(
        rs.RemoveParticipantRequest(room_id=room.room_id, user_id=guest),
        metadata=user_metadata(host),
    )
    payload = {"room_id": room.room_id, "user_id": guest, "since": removed_at.isoformat()}
    assert await seated_again(database, payload) is False  # still off stage: remove
    await seat(rooms, room.room_id, guest)
    assert await seated_again(database, payload) is True  # seated since: leave him be
    later = {**payload, "since": (utcnow() + timedelta(seconds=1)).isoformat()}
    assert await seated_again(database, later) is False


async def test_a_ban_removal_is_never_late_while_the_ban_holds(rooms, database):
    host, guest = unique("host"), unique("guest")
    room = await rooms.CreateRoom(rs.CreateRoomRequest(title="t"), metadata=user_metadata(host))
    banned_at = utcnow() - timedelta(seconds=5)
    await rooms.BanUser(
        rs.BanUserRequest(room_id=room.room_id, user_id=guest), metadata=user_metadata(host)
    )
    await rooms.UnbanUser(
        rs.UnbanUserRequest(room_id=room.room_id, user_id=guest), metadata=user_metadata(host)
    )
    await seat(rooms, room.room_id, guest)
    await rooms.BanUser(
        rs.BanUserRequest(room_id=room.room_id, user_id=guest), metadata=user_metadata(host)
    )
    payload = {"room_id": room.room_id, "user_id": guest, "since": banned_at.isoformat()}
    assert await seated_again(database, payload) is False

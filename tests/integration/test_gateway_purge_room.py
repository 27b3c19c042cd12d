"""PurgeRoom, the room service's internal RPC the gateway undoes half a CreateLiveRoomPost
with: only through a costream service, only for the host, only a room never used."""

import grpc
import pytest
from costream.room.v1 import room_service_pb2 as rs
from costream.room.v1 import room_service_pb2_grpc

from tests.support import reason_of, service_metadata, unique, user_metadata


@pytest.fixture(scope="module")
async def rooms(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


def as_gateway(user: str) -> list[tuple[str, str]]:
    """What the gateway sends: its service token and the caller's token."""
    return service_metadata("gateway") + user_metadata(user)


async def _error(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), reason_of(caught.value)


async def test_purge_room_removes_an_unused_room_for_good(rooms):
    host = unique("host")
    room = await rooms.CreateRoom(rs.CreateRoomRequest(title="oops"), metadata=user_metadata(host))
    await rooms.PurgeRoom(rs.PurgeRoomRequest(room_id=room.room_id), metadata=as_gateway(host))
    assert await _error(
        rooms.GetRoom(rs.GetRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    ) == (grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND")
    # Again: already gone, nothing to do.
    await rooms.PurgeRoom(rs.PurgeRoomRequest(room_id=room.room_id), metadata=as_gateway(host))


async def test_purge_room_is_internal_only(rooms):
    host = unique("host")
    room = await rooms.CreateRoom(rs.CreateRoomRequest(title="x"), metadata=user_metadata(host))
    assert await _error(
        rooms.PurgeRoom(rs.PurgeRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    ) == (grpc.StatusCode.PERMISSION_DENIED, "INTERNAL_ONLY")


async def test_purge_room_only_for_the_host(rooms):
    host = unique("host")
    room = await rooms.CreateRoom(rs.CreateRoomRequest(title="x"), metadata=user_metadata(host))
    assert await _error(
        rooms.PurgeRoom(rs.PurgeRoomRequest(room_id=room.room_id), metadata=as_gateway("eve"))
    ) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_ROOM_HOST")


async def test_purge_room_refuses_a_room_that_was_used(rooms):
    host = unique("host")
    room = await rooms.CreateRoom(rs.CreateRoomRequest(title="x"), metadata=user_metadata(host))
    await rooms.StopRoom(rs.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    assert await _error(
        rooms.PurgeRoom(rs.PurgeRoomRequest(room_id=room.room_id), metadata=as_gateway(host))
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "ROOM_IN_USE")

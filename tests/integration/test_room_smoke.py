import grpc
import pytest

from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from tests.support import unique, user_metadata


async def test_create_then_get_room(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        stub = room_service_pb2_grpc.RoomServiceStub(channel)
        host = unique("host")
        room = await stub.CreateRoom(
            room_service_pb2.CreateRoomRequest(title="  Hello  "), metadata=user_metadata(host)
        )
        assert room.title == "Hello"
        assert room.status == room_pb2.ROOM_STATUS_IDLE
        assert room.max_co_hosts == 8
        got = await stub.GetRoom(
            room_service_pb2.GetRoomRequest(room_id=room.room_id), metadata=user_metadata("x")
        )
        assert got.participants[0].user_id == host
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.GetRoom(room_service_pb2.GetRoomRequest(room_id=room.room_id))
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED

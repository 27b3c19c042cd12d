"""Reads served from each replica's room cache stay right: the replica that made a change
reads it at once, another replica within moments (its NOTIFY), bans included."""

import asyncio

import grpc
import pytest
from costream.room.v1 import room_pb2, room_service_pb2_grpc
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import field_mask_pb2

from tests.conftest import RunningService
from tests.support import service_metadata, unique, user_metadata
from tools.devstack import free_port


@pytest.fixture(scope="module")
async def replicas(room_service, make_settings, ports):
    """The shared room service and a second replica of it on the same database."""
    from services.room.app import build

    second = await RunningService(
        build(make_settings("room", grpc_ports={**ports, "room": free_port()}))
    ).start()
    async with (
        grpc.aio.insecure_channel(room_service.address) as a,
        grpc.aio.insecure_channel(second.address) as b,
    ):
        yield room_service_pb2_grpc.RoomServiceStub(a), room_service_pb2_grpc.RoomServiceStub(b)
    await second.close()


async def title_of(stub, room_id: str) -> str:
    room = await stub.GetRoom(rs.GetRoomRequest(room_id=room_id), metadata=user_metadata("r"))
    return room.title


async def rename(stub, room_id: str, host: str, title: str) -> room_pb2.Room:
    return await stub.UpdateRoom(
        rs.UpdateRoomRequest(
            room=room_pb2.Room(room_id=room_id, title=title),
            update_mask=field_mask_pb2.FieldMask(paths=["title"]),
        ),
        metadata=user_metadata(host),
    )


async def eventually(check, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not seen in time")


async def test_the_replica_that_wrote_reads_its_write_at_once(replicas):
    a, _ = replicas
    host = unique("host")
    room = await a.CreateRoom(rs.CreateRoomRequest(title="one"), metadata=user_metadata(host))
    assert await title_of(a, room.room_id) == "one"  # now in a's cache
    for i in range(20):
        await rename(a, room.room_id, host, f"title {i}")
        assert await title_of(a, room.room_id) == f"title {i}"


async def test_another_replica_sees_the_write_once_its_notify_arrives(replicas):
    a, b = replicas
    host = unique("host")
    room = await a.CreateRoom(rs.CreateRoomRequest(title="one"), metadata=user_metadata(host))
    assert await title_of(b, room.room_id) == "one"  # now in b's cache
    await rename(a, room.room_id, host, "two")

    async def renamed() -> bool:
        return await title_of(b, room.room_id) == "two"

    await eventually(renamed)


@pytest.mark.parametrize("batched", [False, True], ids=["GetRoomAccess", "BatchGetRoomAccess"])
async def test_a_ban_is_seen_by_the_access_check_of_every_replica(replicas, batched):
    a, b = replicas
    host, guest = unique("host"), unique("guest")
    room = await a.CreateRoom(rs.CreateRoomRequest(title="t"), metadata=user_metadata(host))

    async def banned(stub) -> bool:
        if batched:
            reply = await stub.BatchGetRoomAccess(
                rs.BatchGetRoomAccessRequest(room_id=room.room_id, user_ids=[unique("v"), guest]),
                metadata=service_metadata(),
            )
            return reply.users[1].banned
        access = await stub.GetRoomAccess(
            rs.GetRoomAccessRequest(room_id=room.room_id, user_id=guest),
            metadata=service_metadata(),
        )
        return access.banned

    assert not await banned(a) and not await banned(b)  # cached on both
    await a.BanUser(
        rs.BanUserRequest(room_id=room.room_id, user_id=guest), metadata=user_metadata(host)
    )
    assert await banned(a)
    await eventually(lambda: banned(b))
    await b.UnbanUser(
        rs.UnbanUserRequest(room_id=room.room_id, user_id=guest), metadata=user_metadata(host)
    )
    assert not await banned(b)

    async def unbanned() -> bool:
        return not await banned(a)

    await eventually(unbanned)

"""PurgeRoom, the room service's internal RPC the gateway undoes half a CreateLiveRoomPost
with: only through a costream service, only for the host, only a room never used and with
nothing attached (no post, no invitation, no LiveKit session)."""

import asyncio

import grpc
import pytest
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.invitation.v1 import invitation_service_pb2_grpc
from costream.post.v1 import post_service_pb2 as ps
from costream.post.v1 import post_service_pb2_grpc
from costream.room.v1 import room_pb2, room_service_pb2_grpc
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import timestamp_pb2

from tests.support import reason_of, service_metadata, unique, user_metadata


@pytest.fixture(scope="module")
async def stubs(room_service, post_service, invitation_service):
    async with (
        grpc.aio.insecure_channel(room_service.address) as rooms,
        grpc.aio.insecure_channel(post_service.address) as posts,
        grpc.aio.insecure_channel(invitation_service.address) as invitations,
    ):
        yield (
            room_service_pb2_grpc.RoomServiceStub(rooms),
            post_service_pb2_grpc.PostServiceStub(posts),
            invitation_service_pb2_grpc.InvitationServiceStub(invitations),
        )


@pytest.fixture(scope="module")
def rooms(stubs):
    return stubs[0]


def as_gateway(user: str) -> list[tuple[str, str]]:
    """What the gateway sends: its service token and the caller's token."""
    return service_metadata("gateway") + user_metadata(user)


async def purge(rooms, room_id: str, user: str) -> None:
    """PurgeRoom as the gateway calls it: retried while a peer the room service asks is
    (still) unreachable."""
    for attempt in range(10):
        try:
            await rooms.PurgeRoom(rs.PurgeRoomRequest(room_id=room_id), metadata=as_gateway(user))
            return
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or attempt == 9:
                raise
            await asyncio.sleep(0.5)


async def _error(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), reason_of(caught.value)


async def new_room(rooms, host: str) -> room_pb2.Room:
    return await rooms.CreateRoom(rs.CreateRoomRequest(title="oops"), metadata=user_metadata(host))


async def test_purge_room_removes_an_unused_room_for_good(rooms):
    host = unique("host")
    room = await new_room(rooms, host)
    await purge(rooms, room.room_id, host)
    assert await _error(
        rooms.GetRoom(rs.GetRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    ) == (grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND")
    # Again: already gone, nothing to do.
    await purge(rooms, room.room_id, host)


async def test_purge_room_is_internal_only(rooms):
    host = unique("host")
    room = await new_room(rooms, host)
    assert await _error(
        rooms.PurgeRoom(rs.PurgeRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    ) == (grpc.StatusCode.PERMISSION_DENIED, "INTERNAL_ONLY")


async def test_purge_room_only_for_the_host(rooms):
    host = unique("host")
    room = await new_room(rooms, host)
    assert await _error(purge(rooms, room.room_id, "eve")) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "NOT_ROOM_HOST",
    )


async def test_purge_room_refuses_a_room_that_was_used(rooms):
    host = unique("host")
    room = await new_room(rooms, host)
    await rooms.StopRoom(rs.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    assert await _error(purge(rooms, room.room_id, host)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ROOM_IN_USE",
    )


async def test_purge_room_keeps_a_room_with_a_post(stubs):
    rooms, posts, _ = stubs
    host = unique("host")
    room = await new_room(rooms, host)
    await posts.CreateRoomPost(
        ps.CreateRoomPostRequest(room_id=room.room_id, text="hi"), metadata=user_metadata(host)
    )
    assert await _error(purge(rooms, room.room_id, host)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ROOM_IN_USE",
    )
    kept = await rooms.GetRoom(
        rs.GetRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    assert kept.room_id == room.room_id


async def test_purge_room_keeps_a_room_with_an_invitation(stubs):
    rooms, _, invitations = stubs
    host = unique("host")
    room = await new_room(rooms, host)
    await invitations.CreateInvitation(
        inv.CreateInvitationRequest(room_id=room.room_id, user_id=unique("guest")),
        metadata=user_metadata(host),
    )
    assert await _error(purge(rooms, room.room_id, host)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ROOM_IN_USE",
    )


async def test_purge_room_keeps_a_room_that_had_a_livekit_session(rooms):
    host = unique("host")
    room = await new_room(rooms, host)
    started = room_pb2.LiveKitEvent(
        event_id=unique("EV"),
        event="room_started",
        create_time=timestamp_pb2.Timestamp(seconds=1_800_000_000),
        room_name=room.room_id,
        room_sid=unique("RM"),
    )
    await rooms.ApplyLiveKitEvent(
        rs.ApplyLiveKitEventRequest(event=started), metadata=service_metadata("broadcast")
    )
    assert await _error(purge(rooms, room.room_id, host)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ROOM_IN_USE",
    )

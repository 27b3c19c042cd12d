"""Hot rooms answered from the gateway's room feeds (in-process gateway in front of the real
room, post and invitation services, real PostgreSQL): the same answers and errors as the room
service, the writer reads its own writes, other writers' changes arrive with their NOTIFY, and
a room service that goes away is not answered for from memory. Whether a read came from the
feed is told by the room service's own call counter: a feed's read calls no GetRoom."""

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest
from costream.gateway.v1 import gateway_pb2, gateway_service_pb2_grpc
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2, room_service_pb2_grpc
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import field_mask_pb2, struct_pb2
from prometheus_client import REGISTRY

from services.gateway.app import build as build_gateway
from services.room.app import build as build_room
from services.room.watch import RoomWatch
from tests.conftest import RunningService
from tests.support import reason_of, served, service_metadata, unique, user_metadata
from tools.devstack import free_port

ROOM = "/costream.room.v1.RoomService/"
WAIT_SECONDS = 10.0


def as_user(user: str, *roles: str) -> dict:
    return {"metadata": user_metadata(user, *roles), "timeout": 10}


@pytest.fixture(scope="module")
async def gateway(gateway_service) -> AsyncIterator[gateway_service_pb2_grpc.GatewayServiceStub]:
    async with grpc.aio.insecure_channel(gateway_service.address) as channel:
        yield gateway_service_pb2_grpc.GatewayServiceStub(channel)


@pytest.fixture(scope="module")
async def rooms(room_service) -> AsyncIterator[room_service_pb2_grpc.RoomServiceStub]:
    """The room service itself, as another gateway replica reaches it."""
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


@pytest.fixture
def slow_feed(monkeypatch):
    """The room service reads each change for its watchers 0.3 s late, so a feed lags behind
    the writes: what a writer reads next must not depend on the feed being quick."""
    read = RoomWatch._read

    async def late(self, room_id: str):
        await asyncio.sleep(0.3)
        return await read(self, room_id)

    monkeypatch.setattr(RoomWatch, "_read", late)


async def get(gateway, room_id: str, user: str = "") -> room_pb2.Room:
    # A new reader each time by default: the rate limit is per user.
    return await gateway.GetRoom(
        rs.GetRoomRequest(room_id=room_id), **as_user(user or unique("reader"))
    )


async def from_the_feed(gateway, room_id: str, user: str = "") -> room_pb2.Room:
    """GetRoom through the gateway, once its feed answers it (no GetRoom reached the room
    service)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        before = served(ROOM + "GetRoom")
        room = await get(gateway, room_id, user)
        if served(ROOM + "GetRoom") == before:
            return room
        assert time.monotonic() < deadline, "the room's feed never answered"
        await asyncio.sleep(0.02)


async def until(gateway, room_id: str, check, user: str = "") -> room_pb2.Room:
    """GetRoom through the gateway until `check(room)` (bounded)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        room = await get(gateway, room_id, user)
        if check(room):
            return room
        assert time.monotonic() < deadline, f"never came: {room}"
        await asyncio.sleep(0.02)


async def backend(rooms, room_id: str, user: str = "") -> room_pb2.Room:
    return await rooms.GetRoom(
        rs.GetRoomRequest(room_id=room_id), **as_user(user or unique("reader"))
    )


async def error_of(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value.code(), reason_of(raised.value)


def titled(title: str, room_id: str) -> rs.UpdateRoomRequest:
    return rs.UpdateRoomRequest(
        room=room_pb2.Room(room_id=room_id, title=title),
        update_mask=field_mask_pb2.FieldMask(paths=["title"]),
    )


async def hot_room(gateway, host: str, **fields) -> room_pb2.Room:
    fields.setdefault("title", "hot")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(**fields), **as_user(host))
    await from_the_feed(gateway, room.room_id)
    return room


# --- the same answers ---------------------------------------------------------------------------


async def test_get_room_from_the_feed_equals_the_backends_answer(gateway, rooms):
    host, co_host, moderator = unique("host"), unique("co"), unique("mod")
    metadata = struct_pb2.Struct()
    metadata.update({"lang": "fr", "tags": ["a", "b"]})
    room = await hot_room(
        gateway, host, description="d", metadata=metadata, co_host_user_ids=[co_host]
    )
    await gateway.AddModerator(
        rs.AddModeratorRequest(room_id=room.room_id, user_id=moderator), **as_user(host)
    )
    cached = await until(gateway, room.room_id, lambda r: moderator in r.moderator_user_ids)
    assert await from_the_feed(gateway, room.room_id) == cached
    assert cached == await backend(rooms, room.room_id)
    assert [p.user_id for p in cached.participants] == [host, co_host]


async def test_get_room_view_takes_the_room_from_the_feed_and_asks_post_and_invitation(
    gateway, rooms
):
    host, guest, other = unique("host"), unique("guest"), unique("other")
    room = await hot_room(gateway, host, title="viewed")
    post = await gateway.CreateRoomPost(
        ps.CreateRoomPostRequest(room_id=room.room_id, text="come"), **as_user(host)
    )
    invitation = await gateway.CreateInvitation(
        inv.CreateInvitationRequest(room_id=room.room_id, user_id=guest), **as_user(host)
    )
    await from_the_feed(gateway, room.room_id)
    before = served(ROOM + "GetRoom")
    mine = await gateway.GetRoomView(gw.GetRoomViewRequest(room_id=room.room_id), **as_user(guest))
    theirs = await gateway.GetRoomView(
        gw.GetRoomViewRequest(room_id=room.room_id), **as_user(other)
    )
    hosts = await gateway.GetRoomView(gw.GetRoomViewRequest(room_id=room.room_id), **as_user(host))
    assert served(ROOM + "GetRoom") == before  # every room part came from the feed
    assert mine.room == theirs.room == await backend(rooms, room.room_id)
    assert mine.post.post_id == theirs.post.post_id == post.post_id
    assert mine.my_invitation.invitation_id == invitation.invitation_id
    assert not theirs.HasField("my_invitation")
    assert (mine.my_role, hosts.my_role) == (
        gateway_pb2.ROOM_ROLE_VIEWER,
        gateway_pb2.ROOM_ROLE_HOST,
    )


# --- read-your-writes on this replica -----------------------------------------------------------


async def test_after_update_room_through_the_gateway_the_next_get_room_shows_it_among_many_readers(
    gateway, slow_feed
):
    host = unique("host")
    room = await hot_room(gateway, host, title="t0")
    updated_at: dict[str, float] = {}
    reads: list[tuple[float, str]] = []
    done = asyncio.Event()

    async def reader() -> None:
        me = unique("reader")
        while not done.is_set():
            started = time.monotonic()
            seen = await get(gateway, room.room_id, me)
            reads.append((started, seen.title))

    readers = [asyncio.create_task(reader()) for _ in range(40)]
    try:
        for i in range(1, 6):
            title = f"t{i}"
            answered = await gateway.UpdateRoom(titled(title, room.room_id), **as_user(host))
            updated_at[title] = time.monotonic()
            assert answered.title == title
            assert (await get(gateway, room.room_id, host)).title == title
            await asyncio.sleep(0.05)
    finally:
        done.set()
        await asyncio.gather(*readers)
    # A read that began after an update was answered shows that update or a later one.
    for started, title in reads:
        newest = max((t for t, at in updated_at.items() if at < started), default="t0")
        assert title >= newest, (started, title, newest)
    assert (await from_the_feed(gateway, room.room_id)).title == "t5"


async def test_stage_and_moderator_writes_through_the_gateway_show_in_the_next_get_room(
    gateway, slow_feed
):
    host, co_host, guest, moderator = (unique(p) for p in ("host", "co", "guest", "mod"))
    room = await hot_room(gateway, host, co_host_user_ids=[co_host])

    def on_stage(r: room_pb2.Room) -> list[str]:
        return [p.user_id for p in r.participants]

    await gateway.AddModerator(
        rs.AddModeratorRequest(room_id=room.room_id, user_id=moderator), **as_user(host)
    )
    assert moderator in (await get(gateway, room.room_id)).moderator_user_ids
    await from_the_feed(gateway, room.room_id)
    await gateway.BanUser(
        rs.BanUserRequest(room_id=room.room_id, user_id=moderator), **as_user(host)
    )
    assert moderator not in (await get(gateway, room.room_id)).moderator_user_ids
    await from_the_feed(gateway, room.room_id)
    await gateway.RemoveParticipant(
        rs.RemoveParticipantRequest(room_id=room.room_id, user_id=co_host), **as_user(host)
    )
    assert on_stage(await get(gateway, room.room_id)) == [host]
    await from_the_feed(gateway, room.room_id)
    # A write that answers no room: the invitation service seats the guest.
    invitation = await gateway.CreateInvitation(
        inv.CreateInvitationRequest(room_id=room.room_id, user_id=guest), **as_user(host)
    )
    await from_the_feed(gateway, room.room_id)
    await gateway.AcceptInvitation(
        inv.AcceptInvitationRequest(invitation_id=invitation.invitation_id), **as_user(guest)
    )
    assert on_stage(await get(gateway, room.room_id)) == [host, guest]
    await from_the_feed(gateway, room.room_id)
    await gateway.LeaveRoom(rs.LeaveRoomRequest(room_id=room.room_id), **as_user(guest))
    assert on_stage(await get(gateway, room.room_id)) == [host]
    await from_the_feed(gateway, room.room_id)
    await gateway.StopRoom(rs.StopRoomRequest(room_id=room.room_id), **as_user(host))
    assert (await get(gateway, room.room_id)).status == room_pb2.ROOM_STATUS_ENDED
    await from_the_feed(gateway, room.room_id)
    await gateway.DeleteRoom(rs.DeleteRoomRequest(room_id=room.room_id), **as_user(host))
    assert (await get(gateway, room.room_id)).deleted
    assert (await from_the_feed(gateway, room.room_id)).deleted


# --- other writers ------------------------------------------------------------------------------


async def test_an_update_made_through_another_replica_shows_once_the_feed_delivers_it(
    gateway, rooms
):
    host = unique("host")
    room = await hot_room(gateway, host, title="before")
    await rooms.UpdateRoom(titled("elsewhere", room.room_id), **as_user(host))
    await until(gateway, room.room_id, lambda r: r.title == "elsewhere")
    cached = await from_the_feed(gateway, room.room_id)
    assert cached.title == "elsewhere"
    assert cached == await backend(rooms, room.room_id)


async def test_a_room_ended_then_deleted_elsewhere_shows_as_the_backend_shows_it(gateway, rooms):
    host = unique("host")
    room = await hot_room(gateway, host)
    await rooms.StopRoom(rs.StopRoomRequest(room_id=room.room_id), **as_user(host))
    await until(gateway, room.room_id, lambda r: r.status == room_pb2.ROOM_STATUS_ENDED)
    assert await from_the_feed(gateway, room.room_id) == await backend(rooms, room.room_id)
    await rooms.DeleteRoom(rs.DeleteRoomRequest(room_id=room.room_id), **as_user(host))
    await until(gateway, room.room_id, lambda r: r.deleted)
    cached = await from_the_feed(gateway, room.room_id, unique("viewer"))
    assert cached.deleted and cached.status == room_pb2.ROOM_STATUS_ENDED
    assert cached == await backend(rooms, room.room_id, unique("viewer"))


async def test_a_room_purged_elsewhere_is_room_not_found_again(gateway, rooms):
    host = unique("host")
    room = await hot_room(gateway, host)
    await rooms.PurgeRoom(
        rs.PurgeRoomRequest(room_id=room.room_id),
        metadata=[*service_metadata(), *user_metadata(host)],
    )
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            await get(gateway, room.room_id)
        except grpc.aio.AioRpcError as error:
            assert (error.code(), reason_of(error)) == (grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND")
            break
        assert time.monotonic() < deadline, "the purged room was still served"
        await asyncio.sleep(0.02)


# --- authorization, as the room service decides it ----------------------------------------------


async def test_a_deleted_room_reads_the_same_for_anyone_as_from_the_room_service(gateway, rooms):
    host, viewer, admin = unique("host"), unique("viewer"), unique("admin")
    room = await hot_room(gateway, host)
    await gateway.DeleteRoom(rs.DeleteRoomRequest(room_id=room.room_id), **as_user(host))
    for who, roles in ((viewer, ()), (admin, ("admin",)), (host, ())):
        cached = await from_the_feed(gateway, room.room_id, who)
        direct = await rooms.GetRoom(
            rs.GetRoomRequest(room_id=room.room_id), **as_user(who, *roles)
        )
        assert cached == direct and cached.deleted


async def test_a_banned_user_reads_the_room_as_the_room_service_answers_them(gateway, rooms):
    host, banned = unique("host"), unique("banned")
    room = await hot_room(gateway, host)
    await gateway.BanUser(rs.BanUserRequest(room_id=room.room_id, user_id=banned), **as_user(host))
    assert await from_the_feed(gateway, room.room_id, banned) == await backend(
        rooms, room.room_id, banned
    )


async def test_a_hot_room_still_needs_a_token_and_the_callers_allowance(
    gateway, make_settings, ports, room_service, post_service, invitation_service
):
    room = await hot_room(gateway, unique("host"))
    call = gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), timeout=10)
    assert await error_of(call) == (grpc.StatusCode.UNAUTHENTICATED, "MISSING_CREDENTIALS")
    settings = make_settings(
        "gateway", grpc_ports={**ports, "gateway": free_port()}, rate_limit_per_minute=5
    )
    limited = await RunningService(build_gateway(settings)).start()
    try:
        async with grpc.aio.insecure_channel(limited.address) as channel:
            stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
            await from_the_feed(stub, room.room_id, "busy")
            outcomes = []
            for _ in range(6):
                try:
                    await get(stub, room.room_id, "busy")
                    outcomes.append("ok")
                except grpc.aio.AioRpcError as error:
                    outcomes.append(reason_of(error))
            assert outcomes[-1] == "RATE_LIMITED"
    finally:
        await limited.close()


@pytest.mark.parametrize("room_id", ["Bad Room", "", "missing-room-id"])
async def test_rooms_no_feed_holds_fail_as_the_room_service_fails_them(gateway, rooms, room_id):
    room_id = room_id if room_id != "missing-room-id" else unique("missing")
    for _ in range(2):  # and again, after the gateway saw the first failure
        through = await error_of(get(gateway, room_id))
        assert through == await error_of(backend(rooms, room_id))


# --- watchers share the feed --------------------------------------------------------------------


def backend_watchers() -> float:
    return REGISTRY.get_sample_value("costream_watchers", {"stream": "room"}) or 0.0


async def test_watchers_of_a_room_share_one_backend_stream(gateway):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="watched"), **as_user(host))
    before = backend_watchers()
    streams = [
        gateway.WatchRoom(rs.WatchRoomRequest(room_id=room.room_id), **as_user(unique("w")))
        for _ in range(5)
    ]
    try:
        for stream in streams:
            snapshot = await asyncio.wait_for(stream.read(), WAIT_SECONDS)
            assert (snapshot.kind, snapshot.room.title) == (
                room_pb2.ROOM_EVENT_KIND_SNAPSHOT,
                "watched",
            )
        assert backend_watchers() == before + 1
        await gateway.UpdateRoom(titled("renamed", room.room_id), **as_user(host))
        for stream in streams:
            event = await asyncio.wait_for(stream.read(), WAIT_SECONDS)
            assert (event.kind, event.room.title) == (room_pb2.ROOM_EVENT_KIND_UPDATED, "renamed")
    finally:
        for stream in streams:
            stream.cancel()
    deadline = time.monotonic() + WAIT_SECONDS
    while backend_watchers() != before:  # nobody reads it: the last watcher took it along
        assert time.monotonic() < deadline, "the backend stream outlived its watchers"
        await asyncio.sleep(0.02)


# --- a room service that goes away ----------------------------------------------------------------


async def test_when_the_room_service_stops_reads_fall_back_and_never_serve_the_old_copy(
    make_settings, make_database, ports
):
    database_url = await make_database()
    room_port = free_port()
    room_ports = {**ports, "room": room_port}

    def start_room() -> RunningService:
        return RunningService(
            build_room(make_settings("room", database_url=database_url, grpc_ports=room_ports))
        )

    room_service = await start_room().start()
    addrs = {name: f"127.0.0.1:{port}" for name, port in room_ports.items()}
    settings = make_settings(
        "gateway", grpc_ports={**room_ports, "gateway": free_port()}, service_addrs=addrs
    )
    gateway_service = await RunningService(build_gateway(settings)).start()
    try:
        async with grpc.aio.insecure_channel(gateway_service.address) as channel:
            stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
            host = unique("host")
            room = await hot_room(stub, host, title="before the restart")
            await room_service.close()
            deadline = time.monotonic() + WAIT_SECONDS
            while True:  # the stream's end drops the copy
                try:
                    await get(stub, room.room_id)
                except grpc.aio.AioRpcError as error:
                    assert error.code() == grpc.StatusCode.UNAVAILABLE
                    assert reason_of(error) == "DEPENDENCY_UNAVAILABLE"
                    break
                assert time.monotonic() < deadline, "the old copy was served with no room service"
                await asyncio.sleep(0.02)
            for _ in range(3):
                assert await error_of(get(stub, room.room_id)) == (
                    grpc.StatusCode.UNAVAILABLE,
                    "DEPENDENCY_UNAVAILABLE",
                )
            # Changed while the room service was down: no NOTIFY reached anyone.
            conn = await asyncpg.connect(database_url)
            try:
                await conn.execute(
                    "UPDATE room.rooms SET title = 'after the restart' WHERE room_id = $1",
                    room.room_id,
                )
            finally:
                await conn.close()
            room_service = await start_room().start()
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                try:
                    seen = await get(stub, room.room_id)
                    assert seen.title == "after the restart"
                    break
                except grpc.aio.AioRpcError as error:
                    assert error.code() == grpc.StatusCode.UNAVAILABLE
                    assert time.monotonic() < deadline, "the room service never came back"
                    await asyncio.sleep(0.05)
            assert (await from_the_feed(stub, room.room_id)).title == "after the restart"
    finally:
        await gateway_service.close()
        await room_service.close()

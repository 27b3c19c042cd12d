"""Moderators through the room service's gRPC API on a real PostgreSQL: naming them (host only,
at most 5), their powers, and a ban ending them."""

import asyncio

import asyncpg
import grpc
import pytest
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.protobuf import field_mask_pb2

from tests.support import reason_of, service_metadata, unique, user_metadata, violated_fields

DENIED = grpc.StatusCode.PERMISSION_DENIED
rs = room_service_pb2


@pytest.fixture(scope="module")
async def stub(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


@pytest.fixture(scope="module")
async def db(database_url):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def refused(call, code: grpc.StatusCode, reason: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    assert (e.value.code(), reason_of(e.value)) == (code, reason), e.value.details()
    return e.value


async def new_room(stub, host: str, **fields) -> room_pb2.Room:
    return await stub.CreateRoom(
        rs.CreateRoomRequest(title="Moderated", **fields), metadata=user_metadata(host)
    )


def add(stub, by: str, room_id: str, user_id: str):
    return stub.AddModerator(
        rs.AddModeratorRequest(room_id=room_id, user_id=user_id), metadata=user_metadata(by)
    )


def remove(stub, by: str, room_id: str, user_id: str):
    return stub.RemoveModerator(
        rs.RemoveModeratorRequest(room_id=room_id, user_id=user_id), metadata=user_metadata(by)
    )


async def stored_moderators(db, room_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT user_id FROM room.moderators WHERE room_id = $1 ORDER BY add_time, user_id",
        room_id,
    )
    return [r["user_id"] for r in rows]


async def test_the_host_names_five_moderators_and_a_sixth_is_moderator_limit_reached(stub, db):
    host = unique("host")
    room = await new_room(stub, host)
    mods = [unique("mod") for _ in range(5)]
    for i, mod in enumerate(mods):
        reply = await add(stub, host, room.room_id, mod)
        assert list(reply.moderator_user_ids) == mods[: i + 1]
    error = await refused(
        add(stub, host, room.room_id, unique("sixth")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "MODERATOR_LIMIT_REACHED",
    )
    assert "5" in error.details()
    # Naming one of the five again is no error and changes nothing, even at the limit.
    again = await add(stub, host, room.room_id, mods[0])
    assert list(again.moderator_user_ids) == mods
    assert await stored_moderators(db, room.room_id) == mods
    got = await stub.GetRoom(rs.GetRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    assert list(got.moderator_user_ids) == mods


async def test_removing_a_moderator_frees_a_place_and_removing_a_non_moderator_changes_nothing(
    stub, db
):
    host = unique("host")
    room = await new_room(stub, host)
    mods = [unique("mod") for _ in range(5)]
    for mod in mods:
        await add(stub, host, room.room_id, mod)
    reply = await remove(stub, host, room.room_id, mods[2])
    assert list(reply.moderator_user_ids) == mods[:2] + mods[3:]
    stranger = unique("stranger")
    same = await remove(stub, host, room.room_id, stranger)
    assert list(same.moderator_user_ids) == mods[:2] + mods[3:]
    newcomer = unique("mod")
    assert newcomer in (await add(stub, host, room.room_id, newcomer)).moderator_user_ids
    assert await stored_moderators(db, room.room_id) == [*mods[:2], *mods[3:], newcomer]


async def test_only_the_host_names_or_withdraws_moderators_and_nothing_is_written(stub, db):
    host, mod, co_host = unique("host"), unique("mod"), unique("co")
    room = await new_room(stub, host, co_host_user_ids=[co_host])
    await add(stub, host, room.room_id, mod)
    for by in (mod, co_host, unique("stranger")):
        await refused(add(stub, by, room.room_id, unique("x")), DENIED, "NOT_ROOM_HOST")
        await refused(remove(stub, by, room.room_id, mod), DENIED, "NOT_ROOM_HOST")
    admin = stub.AddModerator(
        rs.AddModeratorRequest(room_id=room.room_id, user_id=unique("x")),
        metadata=user_metadata(unique("admin"), "admin"),
    )
    await refused(admin, DENIED, "NOT_ROOM_HOST")
    assert await stored_moderators(db, room.room_id) == [mod]


async def test_the_host_a_banned_user_an_ended_or_missing_room_cannot_get_a_moderator(stub, db):
    host, banned = unique("host"), unique("banned")
    room = await new_room(stub, host)
    error = await refused(
        add(stub, host, room.room_id, host), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD"
    )
    assert violated_fields(error) == {"user_id"}
    await stub.BanUser(
        rs.BanUserRequest(room_id=room.room_id, user_id=banned), metadata=user_metadata(host)
    )
    await refused(add(stub, host, room.room_id, banned), DENIED, "USER_BANNED")
    await refused(
        add(stub, host, "no-such-room-" + unique(), unique("x")),
        grpc.StatusCode.NOT_FOUND,
        "ROOM_NOT_FOUND",
    )
    await stub.StopRoom(rs.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    for call in (add(stub, host, room.room_id, unique("x")), remove(stub, host, room.room_id, "x")):
        await refused(call, grpc.StatusCode.FAILED_PRECONDITION, "ROOM_ENDED")
    assert await stored_moderators(db, room.room_id) == []


@pytest.mark.parametrize(
    ("room_id", "user_id", "bad"),
    [
        ("", "u1", {"room_id"}),
        ("Not A Room", "u1", {"room_id"}),
        ("r" * 49, "u1", {"room_id"}),
        ("some-room", "", {"user_id"}),
        ("some-room", "u" * 129, {"user_id"}),
        ("some-room", "bad\x01id", {"user_id"}),
    ],
)
async def test_malformed_ids_are_invalid_argument(stub, room_id, user_id, bad):
    host = unique("host")
    for rpc, message in (
        (stub.AddModerator, rs.AddModeratorRequest),
        (stub.RemoveModerator, rs.RemoveModeratorRequest),
    ):
        call = rpc(message(room_id=room_id, user_id=user_id), metadata=user_metadata(host))
        error = await refused(call, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
        assert violated_fields(error) == bad


async def test_a_moderator_bans_unbans_lists_and_takes_co_hosts_off_stage(stub):
    host, mod, co_host, target = unique("host"), unique("mod"), unique("co"), unique("target")
    room = await new_room(stub, host, co_host_user_ids=[co_host])
    await add(stub, host, room.room_id, mod)
    as_mod = user_metadata(mod)
    off = await stub.RemoveParticipant(
        rs.RemoveParticipantRequest(room_id=room.room_id, user_id=co_host), metadata=as_mod
    )
    assert co_host not in {p.user_id for p in off.participants}
    await stub.BanUser(rs.BanUserRequest(room_id=room.room_id, user_id=target), metadata=as_mod)
    bans = await stub.ListBannedUsers(
        rs.ListBannedUsersRequest(room_id=room.room_id), metadata=as_mod
    )
    assert [(b.user_id, b.banned_by_user_id) for b in bans.bans] == [(target, mod)]
    await stub.UnbanUser(rs.UnbanUserRequest(room_id=room.room_id, user_id=target), metadata=as_mod)
    bans = await stub.ListBannedUsers(
        rs.ListBannedUsersRequest(room_id=room.room_id), metadata=as_mod
    )
    assert list(bans.bans) == []
    # Banning the host stays refused, whoever asks.
    await refused(
        stub.BanUser(rs.BanUserRequest(room_id=room.room_id, user_id=host), metadata=as_mod),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )


async def test_a_moderator_cannot_stop_update_delete_or_dismiss_the_room(stub):
    host, mod = unique("host"), unique("mod")
    room = await new_room(stub, host)
    await add(stub, host, room.room_id, mod)
    as_mod = user_metadata(mod)
    await refused(stub.StopRoom(rs.StopRoomRequest(room_id=room.room_id), metadata=as_mod),
                  DENIED, "NOT_ROOM_HOST")  # fmt: skip
    update = rs.UpdateRoomRequest(
        room=room_pb2.Room(room_id=room.room_id, title="mine now"),
        update_mask=field_mask_pb2.FieldMask(paths=["title"]),
    )
    await refused(stub.UpdateRoom(update, metadata=as_mod), DENIED, "NOT_ROOM_HOST")
    await refused(stub.DeleteRoom(rs.DeleteRoomRequest(room_id=room.room_id), metadata=as_mod),
                  DENIED, "NOT_ROOM_HOST")  # fmt: skip
    await refused(
        stub.DismissRoom(rs.DismissRoomRequest(room_id=room.room_id), metadata=as_mod),
        DENIED,
        "ADMIN_ONLY",
    )
    got = await stub.GetRoom(rs.GetRoomRequest(room_id=room.room_id), metadata=as_mod)
    assert (got.status, got.title, got.deleted) == (room_pb2.ROOM_STATUS_IDLE, "Moderated", False)


async def test_a_withdrawn_moderator_loses_the_powers(stub):
    host, mod, target = unique("host"), unique("mod"), unique("target")
    room = await new_room(stub, host)
    await add(stub, host, room.room_id, mod)
    await remove(stub, host, room.room_id, mod)
    await refused(
        stub.BanUser(rs.BanUserRequest(room_id=room.room_id, user_id=target),
                     metadata=user_metadata(mod)),
        DENIED,
        "NOT_ROOM_MODERATOR",
    )  # fmt: skip


async def test_a_banned_moderator_stops_being_one_in_the_same_transaction(stub, db):
    host, mod, other = unique("host"), unique("mod"), unique("mod")
    room = await new_room(stub, host)
    await add(stub, host, room.room_id, mod)
    await add(stub, host, room.room_id, other)
    # One moderator bans the other: the ban and the end of the moderation come together.
    reply = await stub.BanUser(
        rs.BanUserRequest(room_id=room.room_id, user_id=mod), metadata=user_metadata(other)
    )
    assert list(reply.moderator_user_ids) == [other]
    assert await stored_moderators(db, room.room_id) == [other]
    await refused(
        stub.BanUser(rs.BanUserRequest(room_id=room.room_id, user_id=other),
                     metadata=user_metadata(mod)),
        DENIED,
        "NOT_ROOM_MODERATOR",
    )  # fmt: skip
    # Unbanning does not make them a moderator again.
    await stub.UnbanUser(
        rs.UnbanUserRequest(room_id=room.room_id, user_id=mod), metadata=user_metadata(host)
    )
    assert await stored_moderators(db, room.room_id) == [other]


async def test_room_access_carries_the_moderators(stub):
    host, mod = unique("host"), unique("mod")
    room = await new_room(stub, host)
    await add(stub, host, room.room_id, mod)
    access = await stub.GetRoomAccess(
        rs.GetRoomAccessRequest(room_id=room.room_id, user_id=mod), metadata=service_metadata()
    )
    assert list(access.room.moderator_user_ids) == [mod]


async def test_watchers_see_moderator_changes_as_updates(stub):
    host, mod = unique("host"), unique("mod")
    room = await new_room(stub, host)
    stream = stub.WatchRoom(rs.WatchRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    try:
        first = await asyncio.wait_for(stream.read(), timeout=5)
        assert first.kind == room_pb2.ROOM_EVENT_KIND_SNAPSHOT
        await add(stub, host, room.room_id, mod)
        event = await asyncio.wait_for(stream.read(), timeout=5)
        assert event.kind == room_pb2.ROOM_EVENT_KIND_UPDATED
        assert list(event.room.moderator_user_ids) == [mod]
        await remove(stub, host, room.room_id, mod)
        event = await asyncio.wait_for(stream.read(), timeout=5)
        assert event.kind == room_pb2.ROOM_EVENT_KIND_UPDATED
        assert list(event.room.moderator_user_ids) == []
    finally:
        stream.cancel()


async def test_concurrent_namings_never_exceed_five(stub, db):
    host = unique("host")
    room = await new_room(stub, host)
    results = await asyncio.gather(
        *(add(stub, host, room.room_id, unique("mod")) for _ in range(12)),
        return_exceptions=True,
    )
    ok = [r for r in results if isinstance(r, room_pb2.Room)]
    errors = [r for r in results if not isinstance(r, room_pb2.Room)]
    assert len(ok) == 5
    assert all(reason_of(e) == "MODERATOR_LIMIT_REACHED" for e in errors)
    assert len(await stored_moderators(db, room.room_id)) == 5

"""RoomService through gRPC against a real PostgreSQL: happy paths, permissions, read-back state
and the side effects written to the outbox."""

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime

import asyncpg
import grpc
import pytest
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.protobuf import duration_pb2, field_mask_pb2, json_format, struct_pb2, timestamp_pb2

from services.common.errors import FailedPrecondition
from services.room.domain import EndReason, RoomStatus
from services.room.repository import RoomRepository
from tests.support import reason_of, service_metadata, unique, user_metadata, violated_fields

ROOM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}\Z")
URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+\Z")


@pytest.fixture(scope="module")
async def stub(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


@pytest.fixture(scope="module")
async def db(database_url):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


def admin() -> list[tuple[str, str]]:
    return user_metadata(unique("admin"), "admin")


async def failure(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


async def create(stub, host: str, **fields) -> room_pb2.Room:
    fields.setdefault("title", "A room")
    return await stub.CreateRoom(
        room_service_pb2.CreateRoomRequest(**fields), metadata=user_metadata(host)
    )


async def get(stub, room_id: str) -> room_pb2.Room:
    return await stub.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=room_id), metadata=user_metadata(unique("viewer"))
    )


async def add_co_host(stub, room_id: str, user_id: str, invitation_id: str = "") -> room_pb2.Room:
    return await stub.AddCoHost(
        room_service_pb2.AddCoHostRequest(
            room_id=room_id, user_id=user_id, invitation_id=invitation_id or unique("inv")
        ),
        metadata=service_metadata(),
    )


async def list_ids(stub, metadata=None, **fields) -> list[str]:
    reply = await stub.ListRooms(
        room_service_pb2.ListRoomsRequest(**fields),
        metadata=metadata or user_metadata(unique("viewer")),
    )
    return [r.room_id for r in reply.rooms]


def co_hosts(room: room_pb2.Room) -> list[str]:
    return [p.user_id for p in room.participants if p.role == room_pb2.PARTICIPANT_ROLE_CO_HOST]


async def outbox(db, room_id: str) -> list[tuple[str, str | None]]:
    rows = await db.fetch(
        "SELECT kind, payload->>'user_id' AS user_id FROM room.outbox"
        " WHERE payload->>'room_id' = $1 ORDER BY id",
        room_id,
    )
    return [(r["kind"], r["user_id"]) for r in rows]


async def rooms_of(db, host: str) -> int:
    return await db.fetchval("SELECT count(*) FROM room.rooms WHERE host_user_id = $1", host)


async def host_joins_livekit(stub, room_id: str, host: str) -> None:
    """The webhooks broadcast passes on when the host connects to the room's LiveKit room."""
    room_sid, created = unique("RM"), timestamp_pb2.Timestamp()
    created.GetCurrentTime()
    for kind in ("room_started", "participant_joined"):
        joined = kind == "participant_joined"
        await stub.ApplyLiveKitEvent(
            room_service_pb2.ApplyLiveKitEventRequest(
                event=room_pb2.LiveKitEvent(
                    event_id=unique("ev"),
                    event=kind,
                    create_time=created,
                    room_name=room_id,
                    room_sid=room_sid,
                    participant_identity=host if joined else "",
                    participant_sid=unique("PA") if joined else "",
                    participant_can_publish=joined,
                )
            ),
            metadata=service_metadata("broadcast"),
        )


# --- CreateRoom ---------------------------------------------------------------------------------


async def test_create_room_generates_a_url_safe_valid_id_and_makes_caller_host(stub):
    host = unique("host")
    first = await create(stub, host, title="  Hello  ")
    second = await create(stub, host)
    for room in (first, second):
        assert ROOM_ID.match(room.room_id) and URL_SAFE.match(room.room_id)
    assert first.room_id != second.room_id
    assert first.title == "Hello"
    assert first.status == room_pb2.ROOM_STATUS_IDLE
    assert first.host_user_id == host
    assert [(p.user_id, p.role) for p in first.participants] == [
        (host, room_pb2.PARTICIPANT_ROLE_HOST)
    ]
    assert (await get(stub, first.room_id)) == first


async def test_create_room_uses_client_chosen_id(stub):
    room_id = unique("room")
    room = await create(stub, unique("host"), room_id=room_id)
    assert room.room_id == room_id
    assert (await get(stub, room_id)).room_id == room_id


async def test_create_room_with_taken_id_is_room_id_taken_and_keeps_first_room(stub):
    room_id, first_host, second_host = unique("room"), unique("host"), unique("host")
    await create(stub, first_host, room_id=room_id, title="first")
    error = await failure(create(stub, second_host, room_id=room_id, title="second"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason_of(error) == "ROOM_ID_TAKEN"
    room = await get(stub, room_id)
    assert (room.host_user_id, room.title) == (first_host, "first")


@pytest.mark.parametrize(
    ("template", "max_co_hosts"),
    [
        (room_pb2.SEAT_TEMPLATE_VIDEO_DYNAMIC_GRID_9, 8),
        (room_pb2.SEAT_TEMPLATE_VIDEO_FIXED_GRID_9, 8),
        (room_pb2.SEAT_TEMPLATE_VIDEO_DYNAMIC_FLOAT_7, 6),
        (room_pb2.SEAT_TEMPLATE_VIDEO_FIXED_FLOAT_7, 6),
        (room_pb2.SEAT_TEMPLATE_VIDEO_LANDSCAPE_4, 3),
    ],
)
async def test_seat_template_sets_max_co_hosts_to_seats_minus_host(stub, template, max_co_hosts):
    room = await create(stub, unique("host"), seat_template=template)
    assert (room.seat_template, room.max_co_hosts) == (template, max_co_hosts)
    assert (await get(stub, room.room_id)).max_co_hosts == max_co_hosts


async def test_create_room_defaults_to_dynamic_grid_9_co_hosts_room(stub):
    room = await create(stub, unique("host"))
    assert room.seat_template == room_pb2.SEAT_TEMPLATE_VIDEO_DYNAMIC_GRID_9
    assert room.max_co_hosts == 8
    assert room.type == room_pb2.ROOM_TYPE_CO_HOSTS


async def test_initial_co_host_user_ids_become_co_hosts(stub):
    guests = [unique("guest") for _ in range(3)]
    room = await create(
        stub,
        unique("host"),
        co_host_user_ids=guests,
        seat_template=room_pb2.SEAT_TEMPLATE_VIDEO_LANDSCAPE_4,
    )
    assert sorted(co_hosts(room)) == sorted(guests)
    assert sorted(co_hosts(await get(stub, room.room_id))) == sorted(guests)


async def test_create_retry_with_same_request_id_returns_same_room_and_creates_nothing(stub, db):
    host, request_id = unique("host"), unique("req")
    first = await create(stub, host, request_id=request_id, title="once")
    again = await create(stub, host, request_id=request_id, title="twice")
    assert again.room_id == first.room_id
    assert again.title == "once"
    assert await rooms_of(db, host) == 1


@pytest.mark.parametrize("client_chosen_id", [False, True])
async def test_concurrent_create_retries_with_one_request_id_create_one_room(
    stub, db, client_chosen_id
):
    host, request_id = unique("host"), unique("req")
    room_id = unique("room") if client_chosen_id else ""
    rooms = await asyncio.gather(
        *(create(stub, host, request_id=request_id, room_id=room_id) for _ in range(10))
    )
    assert len({room.room_id for room in rooms}) == 1
    assert await rooms_of(db, host) == 1


async def test_same_request_id_from_another_caller_creates_another_room(stub):
    request_id = unique("req")
    mine = await create(stub, unique("host"), request_id=request_id)
    theirs = await create(stub, unique("host"), request_id=request_id)
    assert mine.room_id != theirs.room_id
    assert mine.host_user_id != theirs.host_user_id


async def test_live_channel_id_is_set_only_while_live_chat_is_enabled(stub):
    host = unique("host")
    with_chat = await create(stub, host, live_chat_enabled=True)
    without_chat = await create(stub, host)
    assert with_chat.live_chat_enabled and with_chat.live_channel_id
    assert not without_chat.live_chat_enabled and without_chat.live_channel_id == ""
    turned_off = await stub.UpdateRoom(
        room_service_pb2.UpdateRoomRequest(
            room=room_pb2.Room(room_id=with_chat.room_id, live_chat_enabled=False),
            update_mask=field_mask_pb2.FieldMask(paths=["live_chat_enabled"]),
        ),
        metadata=user_metadata(host),
    )
    assert turned_off.live_channel_id == ""


async def test_create_room_with_existing_parent_keeps_parent_room_id(stub):
    host = unique("host")
    parent = await create(stub, host)
    child = await create(stub, host, parent_room_id=parent.room_id)
    assert (await get(stub, child.room_id)).parent_room_id == parent.room_id


async def test_create_room_with_missing_parent_is_room_not_found_and_writes_nothing(stub, db):
    host = unique("host")
    error = await failure(create(stub, host, parent_room_id=unique("nope")))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(error) == "ROOM_NOT_FOUND"
    assert await rooms_of(db, host) == 0


# --- GetRoom / BatchGetRooms ----------------------------------------------------------------------


async def test_get_missing_room_is_room_not_found(stub):
    error = await failure(get(stub, unique("nope")))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(error) == "ROOM_NOT_FOUND"


async def test_batch_get_keeps_requested_order_and_leaves_out_missing_ids(stub):
    host = unique("host")
    a, b, c = [await create(stub, host, title=t) for t in "abc"]
    ids = [c.room_id, unique("missing"), a.room_id, b.room_id]
    reply = await stub.BatchGetRooms(
        room_service_pb2.BatchGetRoomsRequest(room_ids=ids), metadata=user_metadata(unique("u"))
    )
    assert [r.room_id for r in reply.rooms] == [c.room_id, a.room_id, b.room_id]
    assert [r.title for r in reply.rooms] == ["c", "a", "b"]


async def test_batch_get_accepts_100_ids_and_refuses_101(stub):
    room = await create(stub, unique("host"))
    ids = [room.room_id] + [unique("missing") for _ in range(99)]
    reply = await stub.BatchGetRooms(
        room_service_pb2.BatchGetRoomsRequest(room_ids=ids), metadata=user_metadata(unique("u"))
    )
    assert [r.room_id for r in reply.rooms] == [room.room_id]
    error = await failure(
        stub.BatchGetRooms(
            room_service_pb2.BatchGetRoomsRequest(room_ids=[*ids, unique("x")]),
            metadata=user_metadata(unique("u")),
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "room_ids" in violated_fields(error)


# --- ListRooms --------------------------------------------------------------------------------


async def test_list_rooms_filters_by_status(stub):
    host = unique("host")
    idle = await create(stub, host)
    stopped = await create(stub, host)
    await stub.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=stopped.room_id), metadata=user_metadata(host)
    )
    assert await list_ids(stub, host_user_id=host, statuses=[room_pb2.ROOM_STATUS_ENDED]) == [
        stopped.room_id
    ]
    assert await list_ids(stub, host_user_id=host, statuses=[room_pb2.ROOM_STATUS_IDLE]) == [
        idle.room_id
    ]
    assert await list_ids(stub, host_user_id=host, statuses=[room_pb2.ROOM_STATUS_LIVE]) == []
    both = [room_pb2.ROOM_STATUS_IDLE, room_pb2.ROOM_STATUS_ENDED]
    assert set(await list_ids(stub, host_user_id=host, statuses=both)) == {
        idle.room_id,
        stopped.room_id,
    }


async def test_list_rooms_filters_by_type(stub):
    host = unique("host")
    room = await create(stub, host)
    direct = await create(stub, host, type=room_pb2.ROOM_TYPE_DIRECT_STREAMING)
    assert direct.type == room_pb2.ROOM_TYPE_DIRECT_STREAMING
    assert await list_ids(stub, host_user_id=host, types=[room_pb2.ROOM_TYPE_CO_HOSTS]) == [
        room.room_id
    ]
    assert await list_ids(stub, host_user_id=host, types=[room_pb2.ROOM_TYPE_DIRECT_STREAMING]) == [
        direct.room_id
    ]


async def test_list_rooms_filters_by_host_and_by_parent(stub):
    host, other = unique("host"), unique("host")
    parent = await create(stub, host)
    children = [await create(stub, other, parent_room_id=parent.room_id) for _ in range(2)]
    await create(stub, other)
    assert await list_ids(stub, host_user_id=host) == [parent.room_id]
    assert set(await list_ids(stub, parent_room_id=parent.room_id)) == {c.room_id for c in children}
    assert await list_ids(stub, parent_room_id=parent.room_id, host_user_id=host) == []


async def test_list_rooms_orders_newest_first_by_default_and_oldest_first_on_request(stub):
    host = unique("host")
    created = [(await create(stub, host)).room_id for _ in range(4)]
    assert await list_ids(stub, host_user_id=host) == created[::-1]
    assert await list_ids(stub, host_user_id=host, order_by="last_created") == created[::-1]
    assert await list_ids(stub, host_user_id=host, order_by="first_created") == created


@pytest.fixture(scope="module")
async def many_rooms(stub) -> tuple[str, list[str]]:
    """A host with 120 rooms, and their ids."""
    host = unique("host")
    ids = []
    for _ in range(4):
        rooms = await asyncio.gather(*(create(stub, host) for _ in range(30)))
        ids += [room.room_id for room in rooms]
    return host, ids


async def test_list_rooms_page_size_defaults_to_50_and_caps_at_100(stub, many_rooms):
    host, _ = many_rooms
    assert len(await list_ids(stub, host_user_id=host, page_size=0)) == 50
    assert len(await list_ids(stub, host_user_id=host, page_size=101)) == 100
    assert len(await list_ids(stub, host_user_id=host, page_size=7)) == 7


@pytest.mark.parametrize("order_by", ["first_created", "last_created"])
async def test_list_rooms_pages_return_each_room_once_stable_under_inserts(
    stub, many_rooms, order_by
):
    host, ids = many_rooms
    viewer = user_metadata(unique("viewer"))
    seen: list[room_pb2.Room] = []
    token = ""
    pages = 0
    while True:
        reply = await stub.ListRooms(
            room_service_pb2.ListRoomsRequest(
                host_user_id=host, order_by=order_by, page_size=50, page_token=token
            ),
            metadata=viewer,
        )
        seen += reply.rooms
        pages += 1
        token = reply.next_page_token
        if not token:
            break
        await create(stub, host)  # inserted between pages
    counts = Counter(room.room_id for room in seen)
    assert all(counts[room_id] == 1 for room_id in ids)
    assert max(counts.values()) == 1
    times = [(r.create_time.seconds, r.create_time.nanos) for r in seen]
    assert times == sorted(times, reverse=order_by == "last_created")
    assert pages >= 3


async def test_page_token_used_with_other_filters_is_refused(stub, many_rooms):
    host, _ = many_rooms
    viewer = user_metadata(unique("viewer"))
    reply = await stub.ListRooms(
        room_service_pb2.ListRoomsRequest(host_user_id=host, page_size=10), metadata=viewer
    )
    for other in (
        {"host_user_id": unique("host")},
        {"host_user_id": host, "order_by": "first_created"},
        {"host_user_id": host, "statuses": [room_pb2.ROOM_STATUS_IDLE]},
    ):
        error = await failure(
            stub.ListRooms(
                room_service_pb2.ListRoomsRequest(page_token=reply.next_page_token, **other),
                metadata=viewer,
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violated_fields(error) == {"page_token"}


async def test_forged_or_tampered_page_token_is_refused(stub, many_rooms):
    host, _ = many_rooms
    viewer = user_metadata(unique("viewer"))
    token = (
        await stub.ListRooms(
            room_service_pb2.ListRoomsRequest(host_user_id=host, page_size=10), metadata=viewer
        )
    ).next_page_token
    body, _, signature = token.partition(".")
    tampered = [
        "not-a-token",
        "x.y",
        body + "." + signature[::-1],
        body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature,
        body,
        "é" + token,
        token + "\x00",
    ]
    for bad in tampered:
        error = await failure(
            stub.ListRooms(
                room_service_pb2.ListRoomsRequest(host_user_id=host, page_token=bad),
                metadata=viewer,
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
        assert violated_fields(error) == {"page_token"}


async def test_deleted_rooms_are_hidden_unless_an_admin_includes_them(stub):
    host = unique("host")
    kept = await create(stub, host)
    gone = await create(stub, host)
    await stub.DeleteRoom(
        room_service_pb2.DeleteRoomRequest(room_id=gone.room_id), metadata=user_metadata(host)
    )
    assert await list_ids(stub, host_user_id=host) == [kept.room_id]
    assert set(await list_ids(stub, admin(), host_user_id=host, include_deleted=True)) == {
        kept.room_id,
        gone.room_id,
    }
    error = await failure(
        stub.ListRooms(
            room_service_pb2.ListRoomsRequest(host_user_id=host, include_deleted=True),
            metadata=user_metadata(host),
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(error) == "ADMIN_ONLY"


# --- UpdateRoom ----------------------------------------------------------------------------------


def _metadata(value: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


@pytest.mark.parametrize(
    "path",
    [
        "title",
        "description",
        "thumbnail_file_id",
        "metadata",
        "live_chat_enabled",
        "parent_room_id",
    ],
)
async def test_update_room_changes_only_the_masked_field(stub, path):
    host = unique("host")
    parent = await create(stub, host)
    before = await create(
        stub, host, title="old", description="old", metadata=_metadata({"old": 1})
    )
    values = {
        "title": "new title",
        "description": "new description",
        "thumbnail_file_id": "file-123",
        "metadata": _metadata({"k": "v", "n": [1, 2]}),
        "live_chat_enabled": True,
        "parent_room_id": parent.room_id,
    }
    # Every field is set in the message; only the masked one may change.
    updated = await stub.UpdateRoom(
        room_service_pb2.UpdateRoomRequest(
            room=room_pb2.Room(room_id=before.room_id, **values),
            update_mask=field_mask_pb2.FieldMask(paths=[path]),
        ),
        metadata=user_metadata(host),
    )
    after = await get(stub, before.room_id)
    assert after == updated
    for name in values:
        if name == path:
            assert getattr(after, name) == values[name]
        else:
            assert getattr(after, name) == getattr(before, name), name


async def test_update_room_with_empty_mask_updates_the_fields_that_are_set(stub):
    host = unique("host")
    before = await create(stub, host, title="old", description="keep me")
    await stub.UpdateRoom(
        room_service_pb2.UpdateRoomRequest(
            room=room_pb2.Room(room_id=before.room_id, title="new", thumbnail_file_id="f-1")
        ),
        metadata=user_metadata(host),
    )
    after = await get(stub, before.room_id)
    assert (after.title, after.description, after.thumbnail_file_id) == ("new", "keep me", "f-1")


async def test_update_room_by_non_host_is_not_room_host_and_changes_nothing(stub):
    room = await create(stub, unique("host"), title="mine")
    error = await failure(
        stub.UpdateRoom(
            room_service_pb2.UpdateRoomRequest(
                room=room_pb2.Room(room_id=room.room_id, title="theirs"),
                update_mask=field_mask_pb2.FieldMask(paths=["title"]),
            ),
            metadata=user_metadata(unique("stranger")),
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(error) == "NOT_ROOM_HOST"
    assert (await get(stub, room.room_id)).title == "mine"


async def test_admin_may_update_any_room(stub):
    room = await create(stub, unique("host"), title="mine")
    await stub.UpdateRoom(
        room_service_pb2.UpdateRoomRequest(
            room=room_pb2.Room(room_id=room.room_id, title="moderated"),
            update_mask=field_mask_pb2.FieldMask(paths=["title"]),
        ),
        metadata=admin(),
    )
    assert (await get(stub, room.room_id)).title == "moderated"


async def test_update_missing_room_is_room_not_found(stub):
    error = await failure(
        stub.UpdateRoom(
            room_service_pb2.UpdateRoomRequest(
                room=room_pb2.Room(room_id=unique("nope"), title="x"),
                update_mask=field_mask_pb2.FieldMask(paths=["title"]),
            ),
            metadata=user_metadata(unique("host")),
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(error) == "ROOM_NOT_FOUND"


# --- DeleteRoom / StopRoom / DismissRoom ---------------------------------------------------------


async def test_delete_room_is_soft_and_ends_the_room(stub):
    host = unique("host")
    room = await create(stub, host)
    await stub.DeleteRoom(
        room_service_pb2.DeleteRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    deleted = await get(stub, room.room_id)
    assert deleted.deleted
    assert deleted.status == room_pb2.ROOM_STATUS_ENDED
    assert deleted.end_reason == room_pb2.END_REASON_DELETED
    assert deleted.HasField("end_time") and deleted.HasField("delete_time")


async def test_delete_room_twice_is_ok(stub):
    host = unique("host")
    room = await create(stub, host)
    for _ in range(2):
        await stub.DeleteRoom(
            room_service_pb2.DeleteRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
        )
    assert (await get(stub, room.room_id)).deleted


async def test_delete_room_is_for_host_or_admin(stub):
    room = await create(stub, unique("host"))
    error = await failure(
        stub.DeleteRoom(
            room_service_pb2.DeleteRoomRequest(room_id=room.room_id),
            metadata=user_metadata(unique("stranger")),
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(error) == "NOT_ROOM_HOST"
    assert not (await get(stub, room.room_id)).deleted
    await stub.DeleteRoom(
        room_service_pb2.DeleteRoomRequest(room_id=room.room_id), metadata=admin()
    )
    assert (await get(stub, room.room_id)).deleted


async def test_delete_of_stopped_room_keeps_its_end_reason(stub):
    host = unique("host")
    room = await create(stub, host)
    await stub.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    await stub.DeleteRoom(
        room_service_pb2.DeleteRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    after = await get(stub, room.room_id)
    assert after.deleted and after.end_reason == room_pb2.END_REASON_STOPPED_BY_HOST


async def test_stop_room_ends_it_and_stopping_again_is_room_ended(stub):
    host = unique("host")
    room = await create(stub, host)
    stopped = await stub.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    assert stopped.status == room_pb2.ROOM_STATUS_ENDED
    assert stopped.end_reason == room_pb2.END_REASON_STOPPED_BY_HOST
    assert stopped.HasField("end_time")
    error = await failure(
        stub.StopRoom(
            room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "ROOM_ENDED"
    assert (await get(stub, room.room_id)).end_time == stopped.end_time


async def test_stop_room_is_for_the_host_only(stub):
    room = await create(stub, unique("host"))
    for metadata in (user_metadata(unique("stranger")), admin()):
        error = await failure(
            stub.StopRoom(room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=metadata)
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(error) == "NOT_ROOM_HOST"
    assert (await get(stub, room.room_id)).status == room_pb2.ROOM_STATUS_IDLE


async def test_stopped_room_never_goes_live_again(stub, db):
    host = unique("host")
    room = await create(stub, host)
    await stub.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    stored = await RoomRepository(db, seen=lambda room: room).get(room.room_id)
    assert stored is not None
    now = datetime.now(UTC)
    assert stored.go_live(now) is False
    assert stored.status == RoomStatus.ENDED
    with pytest.raises(FailedPrecondition) as raised:
        stored.end(EndReason.DISMISSED, now)
    assert raised.value.reason == "ROOM_ENDED"
    error = await failure(add_co_host(stub, room.room_id, unique("guest")))
    assert reason_of(error) == "ROOM_ENDED"
    # The host joining LiveKit afterwards changes nothing, though it makes an idle room live.
    idle = await create(stub, host)
    for room_id in (room.room_id, idle.room_id):
        await host_joins_livekit(stub, room_id, host)
    assert (await get(stub, idle.room_id)).status == room_pb2.ROOM_STATUS_LIVE
    after = await get(stub, room.room_id)
    assert after.status == room_pb2.ROOM_STATUS_ENDED
    assert not after.HasField("live_time")


async def test_dismiss_room_is_admin_only(stub):
    host = unique("host")
    room = await create(stub, host)
    for metadata in (user_metadata(host), user_metadata(unique("stranger"))):
        error = await failure(
            stub.DismissRoom(
                room_service_pb2.DismissRoomRequest(room_id=room.room_id), metadata=metadata
            )
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(error) == "ADMIN_ONLY"
    assert (await get(stub, room.room_id)).status == room_pb2.ROOM_STATUS_IDLE


async def test_dismiss_room_ends_it_as_dismissed(stub):
    room = await create(stub, unique("host"))
    dismissed = await stub.DismissRoom(
        room_service_pb2.DismissRoomRequest(room_id=room.room_id, reason="spam"), metadata=admin()
    )
    assert dismissed.status == room_pb2.ROOM_STATUS_ENDED
    assert dismissed.end_reason == room_pb2.END_REASON_DISMISSED
    error = await failure(
        stub.DismissRoom(
            room_service_pb2.DismissRoomRequest(room_id=room.room_id), metadata=admin()
        )
    )
    assert (error.code(), reason_of(error)) == (grpc.StatusCode.FAILED_PRECONDITION, "ROOM_ENDED")


@pytest.mark.parametrize("how", ["stop", "dismiss", "delete"])
async def test_ending_a_room_queues_livekit_end_and_invitation_cancel(stub, db, how):
    host = unique("host")
    room = await create(stub, host)
    assert await outbox(db, room.room_id) == []
    if how == "stop":
        await stub.StopRoom(
            room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
        )
    elif how == "dismiss":
        await stub.DismissRoom(
            room_service_pb2.DismissRoomRequest(room_id=room.room_id), metadata=admin()
        )
    else:
        await stub.DeleteRoom(
            room_service_pb2.DeleteRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
        )
    kinds = Counter(kind for kind, _ in await outbox(db, room.room_id))
    assert kinds == {"livekit.end_room": 1, "invitations.cancel_for_room": 1}


# --- RemoveParticipant / LeaveRoom ---------------------------------------------------------------


async def test_host_removes_co_host_who_is_demoted_in_livekit(stub, db):
    host, guest = unique("host"), unique("guest")
    room = await create(stub, host, co_host_user_ids=[guest])
    removed = await stub.RemoveParticipant(
        room_service_pb2.RemoveParticipantRequest(room_id=room.room_id, user_id=guest),
        metadata=user_metadata(host),
    )
    assert co_hosts(removed) == []
    assert co_hosts(await get(stub, room.room_id)) == []
    assert await outbox(db, room.room_id) == [("livekit.sync_participant", guest)]


async def test_remove_participant_is_for_the_host_or_a_moderator_only(stub):
    host, guest = unique("host"), unique("guest")
    room = await create(stub, host, co_host_user_ids=[guest])
    for metadata in (user_metadata(unique("stranger")), user_metadata(guest)):
        error = await failure(
            stub.RemoveParticipant(
                room_service_pb2.RemoveParticipantRequest(room_id=room.room_id, user_id=guest),
                metadata=metadata,
            )
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(error) == "NOT_ROOM_MODERATOR"
    assert co_hosts(await get(stub, room.room_id)) == [guest]


async def test_removing_the_host_is_host_cannot_leave(stub):
    host = unique("host")
    room = await create(stub, host)
    error = await failure(
        stub.RemoveParticipant(
            room_service_pb2.RemoveParticipantRequest(room_id=room.room_id, user_id=host),
            metadata=user_metadata(host),
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "HOST_CANNOT_LEAVE"


async def test_removing_a_non_participant_is_not_on_stage(stub, db):
    host = unique("host")
    room = await create(stub, host)
    error = await failure(
        stub.RemoveParticipant(
            room_service_pb2.RemoveParticipantRequest(room_id=room.room_id, user_id=unique("u")),
            metadata=user_metadata(host),
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "NOT_ON_STAGE"
    assert await outbox(db, room.room_id) == []


async def test_co_host_leaves_the_stage_and_keeps_watching_in_livekit(stub, db):
    host, guest = unique("host"), unique("guest")
    room = await create(stub, host, co_host_user_ids=[guest])
    left = await stub.LeaveRoom(
        room_service_pb2.LeaveRoomRequest(room_id=room.room_id), metadata=user_metadata(guest)
    )
    assert co_hosts(left) == []
    assert co_hosts(await get(stub, room.room_id)) == []
    assert await outbox(db, room.room_id) == [("livekit.sync_participant", guest)]


async def test_host_cannot_leave(stub):
    host = unique("host")
    room = await create(stub, host)
    error = await failure(
        stub.LeaveRoom(
            room_service_pb2.LeaveRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "HOST_CANNOT_LEAVE"


async def test_non_participant_leaving_is_not_on_stage(stub):
    room = await create(stub, unique("host"))
    error = await failure(
        stub.LeaveRoom(
            room_service_pb2.LeaveRoomRequest(room_id=room.room_id),
            metadata=user_metadata(unique("viewer")),
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(error) == "NOT_ON_STAGE"


# --- Bans ---------------------------------------------------------------------------------------


async def ban(stub, room_id, user_id, metadata, seconds=0, reason=""):
    return await stub.BanUser(
        room_service_pb2.BanUserRequest(
            room_id=room_id,
            user_id=user_id,
            duration=duration_pb2.Duration(seconds=seconds),
            reason=reason,
        ),
        metadata=metadata,
    )


async def banned(stub, room_id, metadata) -> list[str]:
    reply = await stub.ListBannedUsers(
        room_service_pb2.ListBannedUsersRequest(room_id=room_id), metadata=metadata
    )
    return [b.user_id for b in reply.bans]


async def test_banned_co_host_is_taken_off_stage_and_off_livekit(stub, db):
    host, guest = unique("host"), unique("guest")
    room = await create(stub, host, co_host_user_ids=[guest])
    after = await ban(stub, room.room_id, guest, user_metadata(host), reason="rude")
    assert co_hosts(after) == []
    assert co_hosts(await get(stub, room.room_id)) == []
    assert await outbox(db, room.room_id) == [
        ("livekit.remove_participant", guest),
        ("invitations.cancel_for_user", guest),
    ]
    reply = await stub.ListBannedUsers(
        room_service_pb2.ListBannedUsersRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    [entry] = reply.bans
    assert (entry.user_id, entry.reason, entry.banned_by_user_id) == (guest, "rude", host)
    assert not entry.HasField("expire_time")


async def test_banned_viewer_is_disconnected_from_livekit(stub, db):
    host, viewer = unique("host"), unique("viewer")
    room = await create(stub, host)
    await ban(stub, room.room_id, viewer, user_metadata(host))
    assert await outbox(db, room.room_id) == [
        ("livekit.remove_participant", viewer),
        ("invitations.cancel_for_user", viewer),
    ]


async def test_ban_unban_and_list_are_for_host_moderator_or_admin(stub):
    host, target = unique("host"), unique("target")
    room = await create(stub, host)
    stranger = user_metadata(unique("stranger"))
    for call in (
        ban(stub, room.room_id, target, stranger),
        stub.UnbanUser(
            room_service_pb2.UnbanUserRequest(room_id=room.room_id, user_id=target),
            metadata=stranger,
        ),
        banned(stub, room.room_id, stranger),
    ):
        error = await failure(call)
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(error) == "NOT_ROOM_MODERATOR"
    await ban(stub, room.room_id, target, admin())
    assert await banned(stub, room.room_id, admin()) == [target]
    await stub.UnbanUser(
        room_service_pb2.UnbanUserRequest(room_id=room.room_id, user_id=target), metadata=admin()
    )
    assert await banned(stub, room.room_id, user_metadata(host)) == []


async def test_banning_the_host_is_refused(stub):
    host = unique("host")
    room = await create(stub, host)
    error = await failure(ban(stub, room.room_id, host, admin()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == {"user_id"}
    assert await banned(stub, room.room_id, user_metadata(host)) == []


async def test_banned_user_cannot_be_seated_until_unbanned(stub):
    host, guest = unique("host"), unique("guest")
    room = await create(stub, host)
    await ban(stub, room.room_id, guest, user_metadata(host))
    error = await failure(add_co_host(stub, room.room_id, guest))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(error) == "USER_BANNED"
    await stub.UnbanUser(
        room_service_pb2.UnbanUserRequest(room_id=room.room_id, user_id=guest),
        metadata=user_metadata(host),
    )
    assert co_hosts(await add_co_host(stub, room.room_id, guest)) == [guest]


async def test_timed_ban_lapses_by_itself(stub):
    host, guest = unique("host"), unique("guest")
    room = await create(stub, host)
    await ban(stub, room.room_id, guest, user_metadata(host), seconds=1)
    assert await banned(stub, room.room_id, user_metadata(host)) == [guest]
    assert reason_of(await failure(add_co_host(stub, room.room_id, guest))) == "USER_BANNED"
    await asyncio.sleep(1.2)
    assert await banned(stub, room.room_id, user_metadata(host)) == []
    assert co_hosts(await add_co_host(stub, room.room_id, guest)) == [guest]


async def test_list_banned_users_pages_through_every_ban_once(stub):
    host = unique("host")
    room = await create(stub, host)
    targets = [unique("target") for _ in range(7)]
    for target in targets:
        await ban(stub, room.room_id, target, user_metadata(host))
    seen: list[str] = []
    token = ""
    while True:
        reply = await stub.ListBannedUsers(
            room_service_pb2.ListBannedUsersRequest(
                room_id=room.room_id, page_size=3, page_token=token
            ),
            metadata=user_metadata(host),
        )
        assert len(reply.bans) <= 3
        seen += [b.user_id for b in reply.bans]
        token = reply.next_page_token
        if not token:
            break
    assert seen == targets
    other = await create(stub, host)
    first = await stub.ListBannedUsers(
        room_service_pb2.ListBannedUsersRequest(room_id=room.room_id, page_size=3),
        metadata=user_metadata(host),
    )
    error = await failure(
        stub.ListBannedUsers(
            room_service_pb2.ListBannedUsersRequest(
                room_id=other.room_id, page_token=first.next_page_token
            ),
            metadata=user_metadata(host),
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == {"page_token"}


# --- AddCoHost (internal) -----------------------------------------------------------------------


async def test_add_co_host_needs_a_service_token(stub):
    host, guest = unique("host"), unique("guest")
    room = await create(stub, host)
    request = room_service_pb2.AddCoHostRequest(
        room_id=room.room_id, user_id=guest, invitation_id=unique("inv")
    )
    for metadata in ((), user_metadata(host), admin(), user_metadata(guest)):
        error = await failure(stub.AddCoHost(request, metadata=metadata))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(error) == "INTERNAL_ONLY"
    assert co_hosts(await get(stub, room.room_id)) == []


async def test_add_co_host_seats_the_user(stub):
    room = await create(stub, unique("host"))
    guest = unique("guest")
    seated = await add_co_host(stub, room.room_id, guest)
    assert co_hosts(seated) == [guest]
    assert co_hosts(await get(stub, room.room_id)) == [guest]


async def test_add_co_host_to_ended_room_is_room_ended(stub):
    host = unique("host")
    room = await create(stub, host)
    await stub.DeleteRoom(
        room_service_pb2.DeleteRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    error = await failure(add_co_host(stub, room.room_id, unique("guest")))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "ROOM_ENDED"


async def test_add_co_host_to_missing_room_is_room_not_found(stub):
    error = await failure(add_co_host(stub, unique("nope"), unique("guest")))
    assert (error.code(), reason_of(error)) == (grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND")


async def test_add_co_host_of_someone_on_stage_is_already_on_stage(stub):
    host, guest = unique("host"), unique("guest")
    room = await create(stub, host, co_host_user_ids=[guest])
    for user in (host, guest):
        error = await failure(add_co_host(stub, room.room_id, user))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert reason_of(error) == "ALREADY_ON_STAGE"
    assert co_hosts(await get(stub, room.room_id)) == [guest]


async def test_repeating_one_invitations_add_co_host_returns_room_and_seats_once(stub):
    room = await create(stub, unique("host"))
    guest, invitation = unique("guest"), unique("inv")
    first = await add_co_host(stub, room.room_id, guest, invitation)
    again = await add_co_host(stub, room.room_id, guest, invitation)
    assert co_hosts(first) == co_hosts(again) == [guest]
    assert co_hosts(await get(stub, room.room_id)) == [guest]


async def test_full_room_refuses_another_co_host_with_seat_limit_reached(stub):
    guests = [unique("guest") for _ in range(3)]
    room = await create(
        stub,
        unique("host"),
        co_host_user_ids=guests,
        seat_template=room_pb2.SEAT_TEMPLATE_VIDEO_LANDSCAPE_4,
    )
    error = await failure(add_co_host(stub, room.room_id, unique("guest")))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == "SEAT_LIMIT_REACHED"
    assert len(co_hosts(await get(stub, room.room_id))) == 3


# --- WatchRoom ----------------------------------------------------------------------------------


async def test_watch_room_sends_a_snapshot_then_changes_made_by_other_calls(stub):
    host = unique("host")
    room = await create(stub, host, title="before")
    call = stub.WatchRoom(
        room_service_pb2.WatchRoomRequest(room_id=room.room_id),
        metadata=user_metadata(unique("viewer")),
    )
    try:
        snapshot = await asyncio.wait_for(call.read(), 5)
        assert snapshot.kind == room_pb2.ROOM_EVENT_KIND_SNAPSHOT
        assert snapshot.room.title == "before"
        await stub.UpdateRoom(
            room_service_pb2.UpdateRoomRequest(
                room=room_pb2.Room(room_id=room.room_id, title="after"),
                update_mask=field_mask_pb2.FieldMask(paths=["title"]),
            ),
            metadata=user_metadata(host),
        )
        updated = await asyncio.wait_for(call.read(), 5)
        assert updated.kind == room_pb2.ROOM_EVENT_KIND_UPDATED
        assert updated.room.title == "after"
        await stub.StopRoom(
            room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
        )
        stopped = await asyncio.wait_for(call.read(), 5)
        assert stopped.kind == room_pb2.ROOM_EVENT_KIND_STATUS_CHANGED
        assert stopped.room.status == room_pb2.ROOM_STATUS_ENDED
    finally:
        call.cancel()


async def test_watch_missing_room_is_room_not_found(stub):
    call = stub.WatchRoom(
        room_service_pb2.WatchRoomRequest(room_id=unique("nope")),
        metadata=user_metadata(unique("viewer")),
    )
    error = await failure(call.read())
    assert (error.code(), reason_of(error)) == (grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND")


async def test_metadata_round_trips(stub):
    value = {"lang": "fr", "tags": ["a", "b"], "nested": {"n": 1.5, "ok": True, "none": None}}
    room = await create(stub, unique("host"), metadata=_metadata(value))
    assert json_format.MessageToDict((await get(stub, room.room_id)).metadata) == value


async def test_an_invitation_that_seated_someone_cannot_claim_a_seat_in_another_room(stub):
    host, guest, invitation = unique("host"), unique("guest"), unique("inv")
    first, second = await create(stub, host), await create(stub, host)
    await add_co_host(stub, first.room_id, guest, invitation)
    error = await failure(add_co_host(stub, second.room_id, guest, invitation))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == {"invitation_id"}
    assert co_hosts(await get(stub, second.room_id)) == []


# --- GetRoomAccess (internal) ---------------------------------------------------------------------


async def test_get_room_access_reports_role_and_ban_to_services_only(stub):
    host, guest, target = unique("host"), unique("guest"), unique("target")
    room = await create(stub, host, co_host_user_ids=[guest])
    await ban(stub, room.room_id, target, user_metadata(host))

    async def access(user_id: str, metadata=None) -> room_service_pb2.RoomAccess:
        return await stub.GetRoomAccess(
            room_service_pb2.GetRoomAccessRequest(room_id=room.room_id, user_id=user_id),
            metadata=metadata or service_metadata(),
        )

    assert (await access(host)).role == room_pb2.PARTICIPANT_ROLE_HOST
    assert (await access(guest)).role == room_pb2.PARTICIPANT_ROLE_CO_HOST
    banned_access = await access(target)
    assert (banned_access.role, banned_access.banned) == (0, True)
    assert banned_access.room.room_id == room.room_id
    error = await failure(access(host, user_metadata(host)))
    assert (error.code(), reason_of(error)) == (grpc.StatusCode.PERMISSION_DENIED, "INTERNAL_ONLY")


# --- Live counts ----------------------------------------------------------------------------


async def test_an_ended_room_shows_no_one_connected_even_if_livekit_never_said_goodbye(stub, db):
    host = unique("host")
    room = await create(stub, host)
    joins = [("PA_host", host, True), ("PA_v", "viewer", False)]
    for sid, identity, can_publish in joins:
        event = room_pb2.LiveKitEvent(
            event_id=unique("EV"),
            event="participant_joined",
            create_time=timestamp_pb2.Timestamp(seconds=1_800_000_000),
            room_name=room.room_id,
            room_sid="RM_1",
            participant_identity=identity,
            participant_sid=sid,
            participant_can_publish=can_publish,
        )
        await stub.ApplyLiveKitEvent(
            room_service_pb2.ApplyLiveKitEventRequest(event=event), metadata=service_metadata()
        )
    live = await get(stub, room.room_id)
    assert (live.stats.viewer_count, live.stats.publisher_count) == (1, 1)
    assert live.participants[0].connected

    await stub.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    ended = await get(stub, room.room_id)
    assert (ended.stats.viewer_count, ended.stats.publisher_count) == (0, 0)
    assert not ended.participants[0].connected
    # LiveKit's leaves never came, and the room ended: the peak is what it was.
    assert ended.stats.peak_viewer_count == 1


def joined(room_id: str, identity: str, sid: str, *, at: int, publisher: bool = False):
    return room_pb2.LiveKitEvent(
        event_id=unique("EV"),
        event="participant_joined",
        create_time=timestamp_pb2.Timestamp(seconds=at),
        room_name=room_id,
        room_sid="RM_1",
        participant_identity=identity,
        participant_sid=sid,
        participant_can_publish=publisher,
    )


def left(event: room_pb2.LiveKitEvent, *, at: int) -> room_pb2.LiveKitEvent:
    gone = room_pb2.LiveKitEvent()
    gone.CopyFrom(event)
    gone.event_id, gone.event = unique("EV"), "participant_left"
    gone.create_time.seconds, gone.disconnect_reason = at, "CLIENT_INITIATED"
    return gone


async def apply_events(stub, events, metadata=None):  # type: ignore[no-untyped-def]
    return await stub.ApplyLiveKitEvents(
        room_service_pb2.ApplyLiveKitEventsRequest(events=events),
        metadata=service_metadata("broadcast") if metadata is None else metadata,
    )


async def test_events_of_many_rooms_in_one_call_are_applied_room_by_room_with_exact_peaks(stub):
    first, second = unique("host"), unique("host")
    a, b = (await create(stub, first)).room_id, (await create(stub, second)).room_id
    viewers = [joined(a, f"v{i}", f"PA_{i}", at=1_800_000_001 + i) for i in range(30)]
    events = [
        joined(a, first, "PA_h", at=1_800_000_000, publisher=True),
        *viewers,
        joined(b, second, "PA_h2", at=1_800_000_000, publisher=True),
        # Twenty of room a's viewers leave in the same call: its peak is still 30.
        *(left(v, at=1_800_000_100) for v in viewers[:20]),
        viewers[0],  # LiveKit sent it again: applied once
    ]
    reply = await apply_events(stub, events)
    assert reply.changed_rooms == 2
    room_a, room_b = await get(stub, a), await get(stub, b)
    assert room_a.status == room_b.status == room_pb2.ROOM_STATUS_LIVE
    assert (room_a.stats.viewer_count, room_a.stats.publisher_count) == (10, 1)
    assert room_a.stats.peak_viewer_count == 30
    assert (room_b.stats.viewer_count, room_b.stats.publisher_count) == (0, 1)
    # All of it again changes nothing.
    assert (await apply_events(stub, events)).changed_rooms == 0


async def test_apply_livekit_events_takes_1000_and_refuses_1001_and_any_bad_event_whole(stub, db):
    room_id = (await create(stub, unique("host"))).room_id
    most = [joined(room_id, f"v{i}", f"PA_{i}", at=1_800_000_000) for i in range(1001)]
    error = await failure(apply_events(stub, most))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == {"events"}
    bad = [*most[:5], room_pb2.LiveKitEvent(event_id=unique("EV"), event="", room_name=room_id)]
    error = await failure(apply_events(stub, bad))
    assert violated_fields(error) == {"events[5].event"}
    assert (
        await db.fetchval("SELECT count(*) FROM room.livekit_events WHERE room_id = $1", room_id)
        == 0
    )
    assert (await apply_events(stub, most[:1000])).changed_rooms == 1
    assert (await get(stub, room_id)).stats.viewer_count == 1000


async def test_apply_livekit_events_needs_a_service_token(stub):
    host = unique("host")
    room_id = (await create(stub, host)).room_id
    event = joined(room_id, host, "PA_h", at=1_800_000_000, publisher=True)
    for metadata in ((), user_metadata(host), admin()):
        error = await failure(apply_events(stub, [event], metadata))
        assert (error.code(), reason_of(error)) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "INTERNAL_ONLY",
        )
    assert (await get(stub, room_id)).status == room_pb2.ROOM_STATUS_IDLE


# --- update_time orders a room's versions -------------------------------------------------------


def _version(room: room_pb2.Room) -> int:
    return room.update_time.ToNanoseconds()


async def test_every_write_that_changes_the_room_moves_update_time_forward(stub):
    host, co_host, other, moderator = (unique(p) for p in ("host", "co", "other", "mod"))
    as_host = user_metadata(host)
    room = await create(stub, host)
    seen = [_version(room)]

    async def step(call) -> room_pb2.Room:
        answered = await call
        now = await get(stub, room.room_id)
        assert _version(now) > seen[-1], "update_time did not move forward"
        if answered.HasField("update_time"):  # AddCoHost answers the stage only
            assert _version(answered) == _version(now)
        seen.append(_version(now))
        return answered

    await step(add_co_host(stub, room.room_id, co_host))
    await step(add_co_host(stub, room.room_id, other))
    request = room_service_pb2.RemoveParticipantRequest(room_id=room.room_id, user_id=co_host)
    await step(stub.RemoveParticipant(request, metadata=as_host))
    await step(
        stub.LeaveRoom(
            room_service_pb2.LeaveRoomRequest(room_id=room.room_id), metadata=user_metadata(other)
        )
    )
    request = room_service_pb2.AddModeratorRequest(room_id=room.room_id, user_id=moderator)
    await step(stub.AddModerator(request, metadata=as_host))
    banned = await step(
        stub.BanUser(
            room_service_pb2.BanUserRequest(room_id=room.room_id, user_id=moderator),
            metadata=as_host,
        )
    )
    assert moderator not in banned.moderator_user_ids
    await step(
        stub.UpdateRoom(
            room_service_pb2.UpdateRoomRequest(
                room=room_pb2.Room(room_id=room.room_id, title="renamed"),
                update_mask=field_mask_pb2.FieldMask(paths=["title"]),
            ),
            metadata=as_host,
        )
    )
    await step(
        stub.StopRoom(room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=as_host)
    )


async def test_a_ban_of_a_viewer_and_an_unban_leave_update_time_as_it_was(stub):
    host, viewer = unique("host"), unique("viewer")
    room = await create(stub, host)
    banned = await stub.BanUser(
        room_service_pb2.BanUserRequest(room_id=room.room_id, user_id=viewer),
        metadata=user_metadata(host),
    )
    unbanned = await stub.UnbanUser(
        room_service_pb2.UnbanUserRequest(room_id=room.room_id, user_id=viewer),
        metadata=user_metadata(host),
    )
    assert _version(banned) == _version(unbanned) == _version(room)


async def test_update_time_moves_forward_even_when_the_clock_would_not(stub, db):
    host = unique("host")
    room = await create(stub, host)
    # A version from the future, as a writer with a faster clock would leave it.
    ahead = await db.fetchval(
        "UPDATE room.rooms SET update_time = now() + interval '1 hour' WHERE room_id = $1"
        " RETURNING update_time",
        room.room_id,
    )
    updated = await stub.UpdateRoom(
        room_service_pb2.UpdateRoomRequest(
            room=room_pb2.Room(room_id=room.room_id, title="later"),
            update_mask=field_mask_pb2.FieldMask(paths=["title"]),
        ),
        metadata=user_metadata(host),
    )
    assert updated.update_time.ToDatetime(tzinfo=UTC) > ahead
    stopped = await stub.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    assert _version(stopped) > _version(updated)


async def test_list_rooms_is_open_to_a_service_token_alone_but_not_its_deleted_rooms(stub):
    host = unique("host")
    room = await create(stub, host, title="listed for the gateway")
    listed = await stub.ListRooms(
        room_service_pb2.ListRoomsRequest(host_user_id=host), metadata=service_metadata()
    )
    assert [r.room_id for r in listed.rooms] == [room.room_id]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.ListRooms(
            room_service_pb2.ListRoomsRequest(host_user_id=host, include_deleted=True),
            metadata=service_metadata(),
        )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED  # a service is no admin
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetRoom(
            room_service_pb2.GetRoomRequest(room_id=room.room_id), metadata=service_metadata()
        )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_watch_room_is_open_to_a_service_token_alone(stub):
    room = await create(stub, unique("host"), title="for the gateway")
    call = stub.WatchRoom(
        room_service_pb2.WatchRoomRequest(room_id=room.room_id), metadata=service_metadata()
    )
    try:
        snapshot = await asyncio.wait_for(call.read(), 5)
        assert snapshot.kind == room_pb2.ROOM_EVENT_KIND_SNAPSHOT
        assert snapshot.room.title == "for the gateway"
    finally:
        call.cancel()

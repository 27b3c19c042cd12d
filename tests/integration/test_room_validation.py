"""RoomService refuses bad input with INVALID_ARGUMENT (reason INVALID_FIELD, one BadRequest field
violation per bad field) and writes nothing; bad credentials are UNAUTHENTICATED. No input
reaches a client as UNKNOWN or INTERNAL."""

import time

import asyncpg
import grpc
import jwt
import pytest
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.protobuf import duration_pb2, field_mask_pb2, struct_pb2

from services.common.auth import mint_user_token
from services.common.config import DEV_AUTH_JWT_SECRET
from tests.support import reason_of, service_metadata, unique, user_metadata, violated_fields

SERVICE = "/costream.room.v1.RoomService"


@pytest.fixture(scope="module")
async def channel(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield channel


@pytest.fixture(scope="module")
def stub(channel):
    return room_service_pb2_grpc.RoomServiceStub(channel)


@pytest.fixture(scope="module")
async def db(database_url):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def failure(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


def assert_invalid(error: grpc.aio.AioRpcError, *fields: str) -> None:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert reason_of(error) == "INVALID_FIELD"
    assert violated_fields(error) == set(fields)


def struct(value: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


async def rooms_of(db, host: str) -> int:
    return await db.fetchval("SELECT count(*) FROM room.rooms WHERE host_user_id = $1", host)


async def create(stub, host: str, **fields) -> room_pb2.Room:
    fields.setdefault("title", "A room")
    return await stub.CreateRoom(
        room_service_pb2.CreateRoomRequest(**fields), metadata=user_metadata(host)
    )


# --- CreateRoom -------------------------------------------------------------------------------

GRID_9 = room_pb2.SEAT_TEMPLATE_VIDEO_DYNAMIC_GRID_9
LANDSCAPE_4 = room_pb2.SEAT_TEMPLATE_VIDEO_LANDSCAPE_4

BAD_CREATES = {
    "title empty": (lambda host: {"title": ""}, "title"),
    "title whitespace only": (lambda host: {"title": " \t\n\u3000 "}, "title"),
    "title 1001 chars": (lambda host: {"title": "x" * 1001}, "title"),
    "title with NUL": (lambda host: {"title": "a\x00b"}, "title"),
    "description 5001 chars": (lambda host: {"description": "x" * 5001}, "description"),
    "description with NUL": (lambda host: {"description": "a\x00"}, "description"),
    "thumbnail with NUL": (lambda host: {"thumbnail_file_id": "f\x00"}, "thumbnail_file_id"),
    "request_id with NUL": (lambda host: {"request_id": "r\x00"}, "request_id"),
    "room_id uppercase": (lambda host: {"room_id": "Room-1"}, "room_id"),
    "room_id 49 chars": (lambda host: {"room_id": "a" * 49}, "room_id"),
    "room_id leading dash": (lambda host: {"room_id": "-abc"}, "room_id"),
    "room_id leading underscore": (lambda host: {"room_id": "_abc"}, "room_id"),
    "room_id trailing newline": (lambda host: {"room_id": unique("r") + "\n"}, "room_id"),
    "room_id with space": (lambda host: {"room_id": "a b"}, "room_id"),
    "room_id non-ascii": (lambda host: {"room_id": "caf\u00e9"}, "room_id"),
    "room_id with NUL": (lambda host: {"room_id": "a\x00"}, "room_id"),
    "parent_room_id bad pattern": (lambda host: {"parent_room_id": "Parent"}, "parent_room_id"),
    "co-host duplicates": (lambda host: {"co_host_user_ids": ["a", "b", "a"]}, "co_host_user_ids"),
    "co-hosts contain the host": (lambda host: {"co_host_user_ids": [host]}, "co_host_user_ids"),
    "co-hosts more than 8 seats": (
        lambda host: {"co_host_user_ids": [f"g{i}" for i in range(9)], "seat_template": GRID_9},
        "co_host_user_ids",
    ),
    "co-hosts more than 3 seats": (
        lambda host: {"co_host_user_ids": ["a", "b", "c", "d"], "seat_template": LANDSCAPE_4},
        "co_host_user_ids",
    ),
    "co-host id 129 chars": (lambda host: {"co_host_user_ids": ["x" * 129]}, "co_host_user_ids[0]"),
    "co-host id empty": (lambda host: {"co_host_user_ids": ["ok", ""]}, "co_host_user_ids[1]"),
    "co-host id control char": (
        lambda host: {"co_host_user_ids": ["a\x01b"]},
        "co_host_user_ids[0]",
    ),
    "co-host id DEL": (lambda host: {"co_host_user_ids": ["a\x7f"]}, "co_host_user_ids[0]"),
    "co-host id NUL": (lambda host: {"co_host_user_ids": ["a\x00"]}, "co_host_user_ids[0]"),
    "metadata over 16 KiB": (lambda host: {"metadata": struct({"k": "x" * 17000})}, "metadata"),
    "metadata many keys over 16 KiB": (
        lambda host: {"metadata": struct({f"key{i}": "v" * 90 for i in range(200)})},
        "metadata",
    ),
    "metadata NUL value": (lambda host: {"metadata": struct({"k": "a\x00"})}, "metadata"),
    "metadata NUL key": (lambda host: {"metadata": struct({"k\x00": 1})}, "metadata"),
    "metadata nested NUL": (lambda host: {"metadata": struct({"k": [{"x": "\x00"}]})}, "metadata"),
    "metadata NaN": (lambda host: {"metadata": struct({"k": float("nan")})}, "metadata"),
    "metadata Infinity": (lambda host: {"metadata": struct({"k": float("inf")})}, "metadata"),
    "type unknown": (lambda host: {"type": 99}, "type"),
    "seat_template unknown": (lambda host: {"seat_template": 99}, "seat_template"),
}


@pytest.mark.parametrize(("fields", "field"), BAD_CREATES.values(), ids=BAD_CREATES.keys())
async def test_create_room_with_bad_field_is_invalid_and_writes_nothing(stub, db, fields, field):
    host = unique("host")
    error = await failure(create(stub, host, **fields(host)))
    assert_invalid(error, field)
    assert await rooms_of(db, host) == 0


async def test_create_room_reports_every_bad_field_at_once(stub, db):
    host = unique("host")
    error = await failure(
        create(stub, host, title="", description="x" * 5001, room_id="BAD", type=99)
    )
    assert_invalid(error, "title", "description", "room_id", "type")
    assert await rooms_of(db, host) == 0


GOOD_CREATES = {
    "title 1000 chars": ({"title": "x" * 1000}, "title", "x" * 1000),
    "title 1000 chars after trim": ({"title": "  " + "y" * 1000 + "\n"}, "title", "y" * 1000),
    "title one char": ({"title": "z"}, "title", "z"),
    "description 5000 chars": ({"description": "d" * 5000}, "description", "d" * 5000),
    "room_id 48 chars": ({"room_id": None}, "room_id", None),
    "co-hosts fill all 8 seats": ({"co_host_user_ids": None}, "max_co_hosts", 8),
    "co-host id 128 chars": ({"co_host_user_ids": ["u" * 128]}, "max_co_hosts", 8),
    "metadata near 16 KiB": ({"metadata": struct({"k": "x" * 16000})}, "title", "A room"),
    "metadata non-ascii 10 KB": ({"metadata": struct({"k": "\u00e9" * 5000})}, "title", "A room"),
}


@pytest.mark.parametrize(
    ("fields", "attr", "value"), GOOD_CREATES.values(), ids=GOOD_CREATES.keys()
)
async def test_create_room_accepts_values_at_the_limits(stub, fields, attr, value):
    fields = dict(fields)
    if "room_id" in fields:
        fields["room_id"] = value = (unique("r") + "-" + "a" * 48)[:48]
    if fields.get("co_host_user_ids") is None and "co_host_user_ids" in fields:
        fields["co_host_user_ids"] = [unique("guest") for _ in range(8)]
    room = await create(stub, unique("host"), **fields)
    assert getattr(room, attr) == value


# --- Reads --------------------------------------------------------------------------------------


@pytest.mark.parametrize("room_id", ["", "BAD", "a" * 49, "x\x00", "-a"])
async def test_get_room_with_bad_id_is_invalid(stub, room_id):
    error = await failure(
        stub.GetRoom(
            room_service_pb2.GetRoomRequest(room_id=room_id), metadata=user_metadata(unique("u"))
        )
    )
    assert_invalid(error, "room_id")


async def test_batch_get_with_a_bad_id_is_invalid(stub):
    error = await failure(
        stub.BatchGetRooms(
            room_service_pb2.BatchGetRoomsRequest(room_ids=["fine", "NOT-FINE"]),
            metadata=user_metadata(unique("u")),
        )
    )
    assert_invalid(error, "room_ids[1]")


BAD_LISTS = {
    "unknown status": ({"statuses": [99]}, "statuses[0]"),
    "unknown type": ({"types": [room_pb2.ROOM_TYPE_CO_HOSTS, 99]}, "types[1]"),
    "negative page_size": ({"page_size": -1}, "page_size"),
    "host_user_id 129 chars": ({"host_user_id": "h" * 129}, "host_user_id"),
    "host_user_id control char": ({"host_user_id": "h\x00"}, "host_user_id"),
    "parent_room_id bad pattern": ({"parent_room_id": "BAD"}, "parent_room_id"),
    "order_by unknown": ({"order_by": "popularity"}, "order_by"),
    "page_token garbage": ({"page_token": "garbage"}, "page_token"),
}


@pytest.mark.parametrize(("fields", "field"), BAD_LISTS.values(), ids=BAD_LISTS.keys())
async def test_list_rooms_with_bad_field_is_invalid(stub, fields, field):
    error = await failure(
        stub.ListRooms(
            room_service_pb2.ListRoomsRequest(**fields), metadata=user_metadata(unique("u"))
        )
    )
    assert_invalid(error, field)


async def test_list_banned_users_with_negative_page_size_is_invalid(stub):
    host = unique("host")
    room = await create(stub, host)
    error = await failure(
        stub.ListBannedUsers(
            room_service_pb2.ListBannedUsersRequest(room_id=room.room_id, page_size=-5),
            metadata=user_metadata(host),
        )
    )
    assert_invalid(error, "page_size")


# --- UpdateRoom -------------------------------------------------------------------------------

BAD_UPDATES = {
    "unknown mask path": ({"title": "new"}, ["title", "nope"], "update_mask"),
    "room_id in mask": ({}, ["room_id"], "update_mask"),
    "status in mask": ({"status": room_pb2.ROOM_STATUS_ENDED}, ["status"], "update_mask"),
    "title empty": ({"title": ""}, ["title"], "room.title"),
    "title whitespace only": ({"title": "   "}, [], "room.title"),
    "title 1001 chars": ({"title": "t" * 1001}, ["title"], "room.title"),
    "title with NUL": ({"title": "a\x00"}, ["title"], "room.title"),
    "description 5001 chars": ({"description": "d" * 5001}, ["description"], "room.description"),
    "thumbnail with NUL": ({"thumbnail_file_id": "\x00"}, [], "room.thumbnail_file_id"),
    "metadata over 16 KiB": ({"metadata": struct({"k": "m" * 17000})}, [], "room.metadata"),
    "metadata NaN": ({"metadata": struct({"k": float("nan")})}, ["metadata"], "room.metadata"),
    "parent bad pattern": ({"parent_room_id": "BAD"}, ["parent_room_id"], "room.parent_room_id"),
    "parent is itself": ({"parent_room_id": "SELF"}, ["parent_room_id"], "room.parent_room_id"),
}


@pytest.mark.parametrize(("values", "paths", "field"), BAD_UPDATES.values(), ids=BAD_UPDATES.keys())
async def test_update_room_with_bad_field_is_invalid_and_changes_nothing(
    stub, values, paths, field
):
    host = unique("host")
    before = await create(stub, host, title="old", description="old")
    values = dict(values)
    if values.get("parent_room_id") == "SELF":
        values["parent_room_id"] = before.room_id
    error = await failure(
        stub.UpdateRoom(
            room_service_pb2.UpdateRoomRequest(
                room=room_pb2.Room(room_id=before.room_id, **values),
                update_mask=field_mask_pb2.FieldMask(paths=paths),
            ),
            metadata=user_metadata(host),
        )
    )
    assert_invalid(error, field)
    after = await stub.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=before.room_id), metadata=user_metadata(host)
    )
    assert after == before


async def test_update_room_without_a_room_id_is_invalid(stub):
    error = await failure(
        stub.UpdateRoom(
            room_service_pb2.UpdateRoomRequest(room=room_pb2.Room(title="x")),
            metadata=user_metadata(unique("host")),
        )
    )
    assert_invalid(error, "room.room_id")


# --- Commands on a room ---------------------------------------------------------------------------

BAD_BANS = {
    "negative duration": ({"duration": duration_pb2.Duration(seconds=-1)}, "duration"),
    "duration of 10000 years": (
        {"duration": duration_pb2.Duration(seconds=315_576_000_000)},
        "duration",
    ),
    "duration beyond int range": ({"duration": duration_pb2.Duration(seconds=2**62)}, "duration"),
    "duration of 999 ns (would round to forever)": (
        {"duration": duration_pb2.Duration(nanos=999)},
        "duration",
    ),
    "duration of 0.999 s": ({"duration": duration_pb2.Duration(nanos=999_999_999)}, "duration"),
    "reason with NUL": ({"reason": "bad\x00"}, "reason"),
    "reason 1001 chars": ({"reason": "r" * 1001}, "reason"),
    "user_id 129 chars": ({"user_id": "u" * 129}, "user_id"),
    "user_id empty": ({"user_id": ""}, "user_id"),
    "user_id control char": ({"user_id": "u\n"}, "user_id"),
}


@pytest.mark.parametrize(("fields", "field"), BAD_BANS.values(), ids=BAD_BANS.keys())
async def test_ban_user_with_bad_field_is_invalid_and_bans_nobody(stub, db, fields, field):
    host = unique("host")
    room = await create(stub, host)
    fields = {"user_id": unique("target"), **fields}
    error = await failure(
        stub.BanUser(
            room_service_pb2.BanUserRequest(room_id=room.room_id, **fields),
            metadata=user_metadata(host),
        )
    )
    assert_invalid(error, field)
    assert await db.fetchval("SELECT count(*) FROM room.bans WHERE room_id = $1", room.room_id) == 0


@pytest.mark.parametrize(
    ("duration", "lapses"),
    [(duration_pb2.Duration(seconds=1), True), (duration_pb2.Duration(), False)],
    ids=["one second", "zero: until unbanned"],
)
async def test_ban_durations_of_a_second_and_of_zero_are_allowed(stub, db, duration, lapses):
    host, target = unique("host"), unique("target")
    room = await create(stub, host)
    await stub.BanUser(
        room_service_pb2.BanUserRequest(room_id=room.room_id, user_id=target, duration=duration),
        metadata=user_metadata(host),
    )
    expire = await db.fetchval(
        "SELECT expire_time FROM room.bans WHERE room_id = $1 AND user_id = $2",
        room.room_id,
        target,
    )
    assert (expire is not None) == lapses


async def test_dismiss_room_with_nul_in_reason_is_invalid_and_keeps_room(stub):
    room = await create(stub, unique("host"))
    error = await failure(
        stub.DismissRoom(
            room_service_pb2.DismissRoomRequest(room_id=room.room_id, reason="x\x00"),
            metadata=user_metadata(unique("admin"), "admin"),
        )
    )
    assert_invalid(error, "reason")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"invitation_id": ""}, "invitation_id"),
        ({"invitation_id": "i" * 129}, "invitation_id"),
        ({"user_id": "a\x00"}, "user_id"),
        ({"room_id": "BAD"}, "room_id"),
    ],
)
async def test_add_co_host_with_bad_field_is_invalid(stub, fields, field):
    room = await create(stub, unique("host"))
    request = {"room_id": room.room_id, "user_id": unique("guest"), "invitation_id": unique("i")}
    request.update(fields)
    error = await failure(
        stub.AddCoHost(room_service_pb2.AddCoHostRequest(**request), metadata=service_metadata())
    )
    assert_invalid(error, field)


@pytest.mark.parametrize("rpc", ["RemoveParticipant", "UnbanUser"])
async def test_room_and_user_commands_with_bad_user_id_are_invalid(stub, rpc):
    host = unique("host")
    room = await create(stub, host)
    request = getattr(room_service_pb2, f"{rpc}Request")(room_id=room.room_id, user_id="u" * 129)
    error = await failure(getattr(stub, rpc)(request, metadata=user_metadata(host)))
    assert_invalid(error, "user_id")


# --- Bytes that are not a valid request --------------------------------------------------------

NOT_PROTOBUF = b"\xff\xff\xff\xff\xff"
TRUNCATED = b"\x12\x05ab"
# Field 2 (title / room_id's neighbour) as a string whose bytes are not UTF-8.
BAD_UTF8_FIELD_2 = b"\x12\x02\xc3\x28"
BAD_UTF8_FIELD_1 = b"\x0a\x03a\xffb"


@pytest.mark.parametrize("body", [NOT_PROTOBUF, TRUNCATED, BAD_UTF8_FIELD_2, BAD_UTF8_FIELD_1])
@pytest.mark.parametrize("method", ["CreateRoom", "GetRoom", "ListRooms", "AddCoHost"])
async def test_bytes_that_are_not_a_valid_request_are_invalid_argument(channel, method, body):
    call = channel.unary_unary(
        f"{SERVICE}/{method}", request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    error = await failure(call(body, metadata=user_metadata(unique("u"))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(error) == "INVALID_FIELD"


async def test_a_stream_request_that_does_not_parse_is_invalid_argument(channel):
    call = channel.unary_stream(
        f"{SERVICE}/WatchRoom", request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    stream = call(BAD_UTF8_FIELD_1, metadata=user_metadata(unique("u")))
    error = await failure(stream.read())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(error) == "INVALID_FIELD"


async def test_unparseable_create_writes_nothing(channel, db):
    host = unique("host")
    call = channel.unary_unary(
        f"{SERVICE}/CreateRoom", request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    error = await failure(call(BAD_UTF8_FIELD_2, metadata=user_metadata(host)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await rooms_of(db, host) == 0


# --- Credentials --------------------------------------------------------------------------------


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def _expired() -> list[tuple[str, str]]:
    return bearer(mint_user_token(DEV_AUTH_JWT_SECRET, unique("u"), now=time.time() - 7200))


def _unsigned() -> list[tuple[str, str]]:
    claims = {"sub": unique("u"), "exp": int(time.time()) + 600}
    return bearer(jwt.encode(claims, None, algorithm="none"))


def _without_exp() -> list[tuple[str, str]]:
    return bearer(jwt.encode({"sub": unique("u")}, DEV_AUTH_JWT_SECRET, algorithm="HS256"))


def _bad_sub() -> list[tuple[str, str]]:
    claims = {"sub": "s" * 129, "exp": int(time.time()) + 600}
    return bearer(jwt.encode(claims, DEV_AUTH_JWT_SECRET, algorithm="HS256"))


BAD_CREDENTIALS = {
    "wrong secret": lambda: bearer(
        mint_user_token("not-the-secret-0123456789-abcdefghij", unique("u"))
    ),
    "expired": _expired,
    "unsigned": _unsigned,
    "no exp": _without_exp,
    "sub too long": _bad_sub,
    "bearer x.y.z": lambda: [("authorization", "Bearer x.y.z")],
    "basic scheme": lambda: [("authorization", "Basic abc")],
    "bearer without token": lambda: [("authorization", "Bearer ")],
    "token without scheme": lambda: [("authorization", user_metadata("u")[0][1].split()[1])],
}

CALLS = {
    "CreateRoom": room_service_pb2.CreateRoomRequest(title="t"),
    "GetRoom": room_service_pb2.GetRoomRequest(room_id="some-room"),
    "ListRooms": room_service_pb2.ListRoomsRequest(),
    "StopRoom": room_service_pb2.StopRoomRequest(room_id="some-room"),
}


@pytest.mark.parametrize("method", CALLS.keys())
@pytest.mark.parametrize("credentials", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
async def test_bad_credentials_are_invalid_credentials(stub, method, credentials):
    error = await failure(getattr(stub, method)(CALLS[method], metadata=credentials()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(error) == "INVALID_CREDENTIALS"


@pytest.mark.parametrize("method", CALLS.keys())
async def test_missing_token_is_missing_credentials(stub, method):
    # ListRooms also takes a service token alone (the gateway's live feed reads: test_room_service)
    alone = [()] if method == "ListRooms" else [(), service_metadata()]
    for metadata in alone:
        error = await failure(getattr(stub, method)(CALLS[method], metadata=metadata))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert reason_of(error) == "MISSING_CREDENTIALS"


async def test_watch_room_without_token_is_missing_credentials(stub):
    call = stub.WatchRoom(room_service_pb2.WatchRoomRequest(room_id="some-room"))
    error = await failure(call.read())
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(error) == "MISSING_CREDENTIALS"


@pytest.mark.parametrize("credentials", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
async def test_watch_room_with_bad_credentials_is_refused_even_beside_a_service_token(
    stub, credentials
):
    # Open to services with their token alone, but a user token sent along is still checked.
    call = stub.WatchRoom(
        room_service_pb2.WatchRoomRequest(room_id="some-room"),
        metadata=[*credentials(), *service_metadata()],
    )
    error = await failure(call.read())
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(error) == "INVALID_CREDENTIALS"


async def test_create_room_with_bad_credentials_writes_nothing(stub, db):
    host = unique("host")
    forged = bearer(mint_user_token("not-the-secret-0123456789-abcdefghij", host))
    error = await failure(
        stub.CreateRoom(room_service_pb2.CreateRoomRequest(title="t"), metadata=forged)
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert await rooms_of(db, host) == 0

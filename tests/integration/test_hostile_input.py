"""Hostile input through the gateway (in front of the real room, post and invitation services):
every shape is refused with INVALID_ARGUMENT by count or size before its elements are looked
at, error details stay far below gRPC's 16 KiB metadata limit, nothing is written, and pages
stay within 1 MiB however large their items."""

import asyncio

import asyncpg
import grpc
import pytest
from costream.gateway.v1 import gateway_service_pb2_grpc
from costream.post.v1 import post_pb2
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import field_mask_pb2, struct_pb2
from google.rpc import error_details_pb2

from services.common.errors import MAX_REPORTED_VIOLATIONS, peer_detail
from services.common.pagination import MAX_PAGE_BYTES
from services.common.server import MAX_MESSAGE_BYTES
from tests.support import reason_of, unique, user_metadata

MAX_DETAILS_BYTES = 8 * 1024  # far below the 16 KiB gRPC lets trailers carry


def as_user(user: str) -> dict:
    return {"metadata": user_metadata(user), "timeout": 10}


@pytest.fixture(scope="module")
async def gateway(gateway_service):
    async with grpc.aio.insecure_channel(gateway_service.address) as channel:
        yield gateway_service_pb2_grpc.GatewayServiceStub(channel)


@pytest.fixture(scope="module")
async def db(database_url):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    error = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert reason_of(error) == "INVALID_FIELD"
    trailers = sum(len(k) + len(v) for k, v in error.trailing_metadata() or ())
    assert trailers < MAX_DETAILS_BYTES
    return error


def violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    bad = peer_detail(error, error_details_pb2.BadRequest)
    assert bad is not None
    return [(v.field, v.description) for v in bad.field_violations]


async def test_a_filter_repeated_400_000_times_is_refused_by_its_count_alone(gateway):
    request = rs.ListRoomsRequest(statuses=[room_pb2.ROOM_STATUS_LIVE] * 400_000)
    error = await refused(gateway.ListRooms(request, **as_user(unique("u"))))
    assert violations(error) == [("statuses", "at most 10 values")]


async def test_other_users_are_answered_while_a_huge_filter_is_refused(gateway):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="t"), **as_user(host))
    hostile = [
        gateway.ListRooms(
            rs.ListRoomsRequest(types=[room_pb2.ROOM_TYPE_CO_HOSTS] * 400_000),
            **as_user(unique("attacker")),
        )
        for _ in range(4)
    ]
    reads = [gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **as_user(host))]
    results = await asyncio.gather(*hostile, *reads, return_exceptions=True)
    assert all(
        isinstance(r, grpc.aio.AioRpcError) and r.code() == grpc.StatusCode.INVALID_ARGUMENT
        for r in results[:4]
    )
    assert results[-1].room_id == room.room_id


@pytest.mark.parametrize(("count", "reported"), [(100, MAX_REPORTED_VIOLATIONS + 1), (20, 20)])
async def test_many_malformed_ids_report_at_most_20_violations_and_a_summary(
    gateway, count, reported
):
    request = rs.BatchGetRoomsRequest(room_ids=[f"BAD ID {i}" * 10 for i in range(count)])
    found = violations(await refused(gateway.BatchGetRooms(request, **as_user(unique("u")))))
    assert len(found) == reported
    if count > MAX_REPORTED_VIOLATIONS:
        assert found[-1] == ("request", f"and {count - MAX_REPORTED_VIOLATIONS} more violations")


async def test_one_more_id_than_a_batch_allows_is_refused_by_count(gateway):
    ok = rs.BatchGetRoomsRequest(room_ids=[unique("r") for _ in range(100)])
    assert (await gateway.BatchGetRooms(ok, **as_user(unique("u")))).rooms == []
    too_many = rs.BatchGetRoomsRequest(room_ids=["BAD"] * 101)
    error = await refused(gateway.BatchGetRooms(too_many, **as_user(unique("u"))))
    assert violations(error) == [("room_ids", "at most 100 values")]


async def test_an_update_mask_path_of_20_000_characters_is_clipped_in_the_answer(gateway, db):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="before"), **as_user(host))
    request = rs.UpdateRoomRequest(
        room=room_pb2.Room(room_id=room.room_id, title="after"),
        update_mask=field_mask_pb2.FieldMask(paths=["title", "x" * 20_000]),
    )
    error = await refused(gateway.UpdateRoom(request, **as_user(host)))
    [(field, description)] = violations(error)
    assert field == "update_mask" and len(description) <= 200
    title = await db.fetchval("SELECT title FROM room.rooms WHERE room_id = $1", room.room_id)
    assert title == "before"


async def test_an_update_mask_with_thousands_of_paths_is_refused_by_count(gateway):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="t"), **as_user(host))
    request = rs.UpdateRoomRequest(
        room=room_pb2.Room(room_id=room.room_id),
        update_mask=field_mask_pb2.FieldMask(paths=["title"] * 5000),
    )
    error = await refused(gateway.UpdateRoom(request, **as_user(host)))
    assert violations(error) == [("update_mask.paths", "at most 14 values")]


async def test_a_title_just_under_the_message_limit_is_invalid_and_creates_nothing(gateway, db):
    host = unique("host")
    request = rs.CreateRoomRequest(title="t" * (MAX_MESSAGE_BYTES - 1024))
    error = await refused(gateway.CreateRoom(request, **as_user(host)))
    assert [f for f, _ in violations(error)] == ["title"]
    assert await db.fetchval("SELECT count(*) FROM room.rooms WHERE host_user_id = $1", host) == 0


async def test_a_request_over_the_message_limit_is_refused_before_it_is_read(gateway):
    request = rs.CreateRoomRequest(title="t" * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await gateway.CreateRoom(request, **as_user(unique("host")))
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_metadata_far_larger_than_16_kib_is_refused_by_its_wire_size(gateway, db):
    host = unique("host")
    metadata = struct_pb2.Struct()
    metadata.update({f"k{i}": "v" * 100 for i in range(10_000)})
    error = await refused(
        gateway.CreateRoom(rs.CreateRoomRequest(title="t", metadata=metadata), **as_user(host))
    )
    assert violations(error) == [("metadata", "must be at most 16384 bytes serialized")]
    assert await db.fetchval("SELECT count(*) FROM room.rooms WHERE host_user_id = $1", host) == 0


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    length = len(payload)
    varint = bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([number << 3 | 2]) + bytes(varint) + payload


def deep_metadata_request(depth: int) -> bytes:
    """CreateRoomRequest{title: "t", metadata: {"n": {"n": ... depth times}}} on the wire: no
    client library builds one that deep, a hostile one just sends it."""
    struct = b""
    for _ in range(depth):
        value = _field(5, struct)  # Value.struct_value
        struct = _field(1, _field(1, b"n") + _field(2, value))  # Struct.fields map entry
    return _field(2, b"t") + _field(5, struct)  # title, metadata


async def test_a_struct_nested_past_the_parser_depth_is_invalid_not_internal(gateway_service):
    async with grpc.aio.insecure_channel(gateway_service.address) as channel:
        create = channel.unary_unary(
            "/costream.gateway.v1.GatewayService/CreateRoom",
            request_serializer=lambda raw: raw,
            response_deserializer=lambda raw: raw,
        )
        error = await refused(create(deep_metadata_request(300), **as_user(unique("host"))))
    assert [f for f, _ in violations(error)] == ["request"]


async def test_hashtags_twice_the_limit_fold_and_more_are_refused_by_count(gateway):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="t"), **as_user(host))
    folded = ps.CreateRoomPostRequest(
        room_id=room.room_id, text="x", hashtags=[f"t{i % 30}" for i in range(60)]
    )
    post = await gateway.CreateRoomPost(folded, **as_user(host))
    assert len(post.hashtags) == 30
    too_many = ps.CreateRoomPostRequest(room_id=room.room_id, text="x", hashtags=["t"] * 61)
    error = await refused(gateway.CreateRoomPost(too_many, **as_user(host)))
    assert violations(error) == [("hashtags", "at most 60 values")]


def largest_post(room_id: str, community: str) -> ps.CreateRoomPostRequest:
    metadata = struct_pb2.Struct()
    metadata.update({"blob": "é" * 8000})
    return ps.CreateRoomPostRequest(
        room_id=room_id,
        text="é" * 20_000,
        title="é" * 1000,
        target_type=post_pb2.TARGET_TYPE_COMMUNITY,
        target_id=community,
        metadata=metadata,
        hashtags=[f"{'é' * 95}{i:02}" for i in range(30)],
        mention_user_ids=[f"{'u' * 120}{i:03}" for i in range(100)],
    )


async def test_a_feed_of_maximal_posts_pages_within_1_mib_and_loses_none(gateway):
    host, community = unique("host"), unique("community")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="t"), **as_user(host))
    created = set()
    for _ in range(14):
        post = await gateway.CreateRoomPost(largest_post(room.room_id, community), **as_user(host))
        created.add(post.post_id)
    seen: list[str] = []
    token = ""
    while True:
        page = await gateway.ListPosts(
            ps.ListPostsRequest(
                target_type=post_pb2.TARGET_TYPE_COMMUNITY,
                target_id=community,
                page_size=100,
                page_token=token,
            ),
            **as_user(host),
        )
        assert page.ByteSize() <= MAX_PAGE_BYTES + 4096
        assert page.posts
        seen += [p.post_id for p in page.posts]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(created) == len(set(seen)) and set(seen) == created


async def test_a_backend_error_reaches_the_client_with_its_error_info_intact(gateway):
    missing = unique("missing")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await gateway.GetRoom(rs.GetRoomRequest(room_id=missing), **as_user(unique("u")))
    info = peer_detail(raised.value, error_details_pb2.ErrorInfo)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "ROOM_NOT_FOUND",
        "costream",
        {"room_id": missing},
    )

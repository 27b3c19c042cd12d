"""BatchGetRoomAccess, and the room client's checks that go together in it, against a real room
service: every user gets exactly what GetRoomAccess gives them alone (roles, bans, the room,
and the very errors), crowds of concurrent checks take fewer calls, and what commits before a
check is what the check sees."""

import asyncio

import asyncpg
import grpc
import pytest
from costream.room.v1 import room_pb2, room_service_pb2_grpc
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import duration_pb2
from google.rpc import status_pb2

from services.common import observability
from services.common.server import peer_channel
from services.room.client import RoomAccess, RoomClient
from services.room.servicer import SERVICE_NAME
from tests.support import reason_of, service_metadata, unique, user_metadata, violated_fields

BATCH_METHOD = f"/{SERVICE_NAME}/BatchGetRoomAccess"


@pytest.fixture(scope="module")
async def stub(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


@pytest.fixture(scope="module")
async def client(room_service, make_settings):
    """The room client as the broadcast service has it (its service token, its channel)."""
    channel = peer_channel(make_settings("broadcast"), "room")
    yield RoomClient(channel)
    await channel.close()


@pytest.fixture(scope="module")
async def db(database_url):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def live_room_with_everyone(stub, db) -> tuple[str, dict[str, str]]:
    """A room with a host, a co-host, a banned user, a user whose ban lapsed, and viewers."""
    people = {k: unique(k) for k in ("host", "co", "banned", "lapsed", "viewer")}
    room = await stub.CreateRoom(
        rs.CreateRoomRequest(title="t", co_host_user_ids=[people["co"]]),
        metadata=user_metadata(people["host"]),
    )
    for who, seconds in (("banned", 0), ("lapsed", 3600)):
        await stub.BanUser(
            rs.BanUserRequest(
                room_id=room.room_id,
                user_id=people[who],
                duration=duration_pb2.Duration(seconds=seconds),
            ),
            metadata=user_metadata(people["host"]),
        )
    # Lapsed before any check read the room's bans.
    await db.execute(
        "UPDATE room.bans SET expire_time = now() - interval '1 minute'"
        " WHERE room_id = $1 AND user_id = $2",
        room.room_id,
        people["lapsed"],
    )
    return room.room_id, people


def outcome_of_error(error: grpc.aio.AioRpcError) -> tuple:
    details = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    return ("error", error.code(), error.details(), details)


async def alone(stub, room_id: str, user_id: str) -> tuple:
    """What GetRoomAccess answers this user."""
    try:
        reply = await stub.GetRoomAccess(
            rs.GetRoomAccessRequest(room_id=room_id, user_id=user_id), metadata=service_metadata()
        )
    except grpc.aio.AioRpcError as error:
        return outcome_of_error(error)
    return ("access", reply.role, reply.banned, reply.room)


async def batched(stub, room_id: str, user_ids: list[str]) -> list[tuple]:
    """What BatchGetRoomAccess answers each of these users."""
    reply = await stub.BatchGetRoomAccess(
        rs.BatchGetRoomAccessRequest(room_id=room_id, user_ids=user_ids),
        metadata=service_metadata(),
    )
    assert [u.user_id for u in reply.users] == user_ids
    outcomes = []
    for user in reply.users:
        if user.error:
            status = status_pb2.Status.FromString(user.error)
            code = next(c for c in grpc.StatusCode if c.value[0] == status.code)
            outcomes.append(("error", code, status.message, user.error))
        else:
            outcomes.append(("access", user.role, user.banned, reply.room))
    return outcomes


BAD_USER_IDS = ["", "x" * 129, "tab\there"]


async def test_each_user_of_a_batch_gets_what_they_get_alone(stub, db):
    room_id, people = await live_room_with_everyone(stub, db)
    users = [*people.values(), unique("stranger"), people["viewer"], *BAD_USER_IDS]
    expected = [await alone(stub, room_id, u) for u in users]
    assert await batched(stub, room_id, users) == expected
    roles = [e[1] for e in expected[:5]]
    assert roles == [room_pb2.PARTICIPANT_ROLE_HOST, room_pb2.PARTICIPANT_ROLE_CO_HOST, 0, 0, 0]
    assert [e[2] for e in expected[:5]] == [False, False, True, False, False]
    assert [e[0] for e in expected[-3:]] == ["error"] * 3


@pytest.mark.parametrize("room_id", ["missing-room", "NOT A ROOM ID", ""])
async def test_a_missing_or_malformed_room_fails_each_user_as_it_would_alone(stub, room_id):
    users = [unique("v"), "", unique("w")]
    expected = [await alone(stub, room_id, u) for u in users]
    assert await batched(stub, room_id, users) == expected
    assert {e[0] for e in expected} == {"error"}


async def test_batch_get_room_access_is_for_services_only_and_bounded(stub):
    request = rs.BatchGetRoomAccessRequest(room_id="r", user_ids=["u"])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.BatchGetRoomAccess(request, metadata=user_metadata("u"))
    assert (refused.value.code(), reason_of(refused.value)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "INTERNAL_ONLY",
    )
    too_many = rs.BatchGetRoomAccessRequest(room_id="r", user_ids=["u"] * 1001)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.BatchGetRoomAccess(too_many, metadata=service_metadata())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == {"user_ids"}


def batch_calls() -> float:
    return observability.RPC_COUNT.labels(BATCH_METHOD, "OK")._value.get()


async def client_outcome(client: RoomClient, room_id: str, user_id: str) -> tuple:
    try:
        return ("access", await client.access(room_id, user_id))
    except grpc.aio.AioRpcError as error:
        return outcome_of_error(error)


async def expected_client_outcome(stub, room_id: str, user_id: str) -> tuple:
    """What the room client answered before it batched: GetRoomAccess, read into RoomAccess."""
    outcome = await alone(stub, room_id, user_id)
    if outcome[0] == "error":
        return outcome
    _, role, banned, room = outcome
    roles = {room_pb2.PARTICIPANT_ROLE_HOST: "host", room_pb2.PARTICIPANT_ROLE_CO_HOST: "co_host"}
    ended = room.status in (room_pb2.ROOM_STATUS_ENDED, room_pb2.ROOM_STATUS_RECORDED)
    return (
        "access",
        RoomAccess(
            room_id=room.room_id,
            host_user_id=room.host_user_id,
            ended=ended,
            deleted=room.deleted,
            role=roles.get(role),
            banned=banned,
            live_chat_enabled=room.live_chat_enabled,
            user_id=user_id,
        ),
    )


async def test_a_crowd_of_concurrent_checks_takes_few_calls_and_each_gets_its_own_answer(
    stub, client, db
):
    room_a, people_a = await live_room_with_everyone(stub, db)
    room_b, people_b = await live_room_with_everyone(stub, db)
    checks = [
        (room, user)
        for _ in range(20)
        for room, people in ((room_a, people_a), (room_b, people_b))
        for user in [*people.values(), unique("viewer")]
    ]
    checks += [("missing-room", unique("v")), (room_a, ""), ("NOT A ROOM", "v")] * 5
    expected = [await expected_client_outcome(stub, r, u) for r, u in checks]
    before = batch_calls()
    got = await asyncio.gather(*(client_outcome(client, r, u) for r, u in checks))
    assert got == expected
    assert batch_calls() - before < len(checks) / 4


async def test_a_check_sees_what_committed_before_it_began(stub, client):
    host, guest = unique("host"), unique("guest")
    room = await stub.CreateRoom(
        rs.CreateRoomRequest(title="t", co_host_user_ids=[guest]), metadata=user_metadata(host)
    )
    crowd = [unique("viewer") for _ in range(50)]

    async def everyone() -> list:
        return await asyncio.gather(*(client.access(room.room_id, u) for u in [guest, *crowd]))

    first = await everyone()
    assert (first[0].role, first[0].banned) == ("co_host", False)
    await stub.BanUser(
        rs.BanUserRequest(room_id=room.room_id, user_id=guest), metadata=user_metadata(host)
    )
    banned, *others = await everyone()
    assert (banned.role, banned.banned) == (None, True)
    assert not any(a.banned or a.ended for a in others)
    await stub.StopRoom(rs.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    assert all(a.ended for a in await everyone())

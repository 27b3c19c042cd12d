"""Seats under concurrency: the seat check and the seat claim are one atomic step, so however
many AddCoHost calls race, the co-hosts never exceed max_co_hosts and nobody is seated twice."""

import asyncio
from collections import Counter

import grpc
import pytest
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc

from tests.support import reason_of, service_metadata, unique, user_metadata


@pytest.fixture(scope="module")
async def stub(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


async def create(stub, host: str, **fields) -> room_pb2.Room:
    return await stub.CreateRoom(
        room_service_pb2.CreateRoomRequest(title="seats", **fields), metadata=user_metadata(host)
    )


async def co_hosts(stub, room_id: str) -> list[str]:
    room = await stub.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=room_id), metadata=user_metadata(unique("viewer"))
    )
    return [p.user_id for p in room.participants if p.role == room_pb2.PARTICIPANT_ROLE_CO_HOST]


async def claim(stub, room_id: str, user_id: str, invitation_id: str) -> str:
    """AddCoHost; "OK" or the ErrorInfo reason of the refusal."""
    try:
        await stub.AddCoHost(
            room_service_pb2.AddCoHostRequest(
                room_id=room_id, user_id=user_id, invitation_id=invitation_id
            ),
            metadata=service_metadata("invitation"),
        )
    except grpc.aio.AioRpcError as error:
        assert error.code() in (
            grpc.StatusCode.FAILED_PRECONDITION,
            grpc.StatusCode.PERMISSION_DENIED,
        ), error.details()
        return reason_of(error)
    return "OK"


async def claim_many(stub, room_id: str, users: list[str]) -> list[str]:
    return await asyncio.gather(*(claim(stub, room_id, u, unique("inv")) for u in users))


@pytest.mark.parametrize("round_", range(10))
async def test_50_concurrent_claims_on_8_free_seats_seat_exactly_8(stub, round_):
    room = await create(stub, unique("host"))
    users = [unique("guest") for _ in range(50)]
    outcomes = await claim_many(stub, room.room_id, users)
    assert Counter(outcomes) == {"OK": 8, "SEAT_LIMIT_REACHED": 42}
    seated = {user for user, outcome in zip(users, outcomes, strict=True) if outcome == "OK"}
    assert sorted(await co_hosts(stub, room.room_id)) == sorted(seated)


async def test_concurrent_claims_fill_only_the_seats_left_after_initial_co_hosts(stub):
    room = await create(
        stub,
        unique("host"),
        co_host_user_ids=[unique("guest"), unique("guest")],
        seat_template=room_pb2.SEAT_TEMPLATE_VIDEO_FIXED_FLOAT_7,
    )
    outcomes = await claim_many(stub, room.room_id, [unique("guest") for _ in range(30)])
    assert Counter(outcomes) == {"OK": 4, "SEAT_LIMIT_REACHED": 26}
    assert len(await co_hosts(stub, room.room_id)) == 6


async def test_concurrent_repeats_of_one_invitation_seat_the_user_once(stub):
    room = await create(stub, unique("host"))
    guest, invitation = unique("guest"), unique("inv")
    outcomes = await asyncio.gather(
        *(claim(stub, room.room_id, guest, invitation) for _ in range(20))
    )
    assert outcomes == ["OK"] * 20
    assert await co_hosts(stub, room.room_id) == [guest]


async def test_concurrent_invitations_for_one_user_seat_them_once(stub):
    room = await create(stub, unique("host"))
    guest = unique("guest")
    outcomes = await claim_many(stub, room.room_id, [guest] * 20)
    assert Counter(outcomes) == {"OK": 1, "ALREADY_ON_STAGE": 19}
    assert await co_hosts(stub, room.room_id) == [guest]


async def test_repeats_of_winning_invitations_during_a_rush_seat_nobody_twice(stub):
    room = await create(
        stub, unique("host"), seat_template=room_pb2.SEAT_TEMPLATE_VIDEO_LANDSCAPE_4
    )
    pairs = [(unique("guest"), unique("inv")) for _ in range(10)]
    # Every invitation is tried three times at once.
    calls = [claim(stub, room.room_id, user, inv) for user, inv in pairs for _ in range(3)]
    outcomes = await asyncio.gather(*calls)
    by_invitation: dict[str, set[str]] = {}
    for (user, _), outcome in zip([p for p in pairs for _ in range(3)], outcomes, strict=True):
        by_invitation.setdefault(user, set()).add(outcome)
    winners = [user for user, seen in by_invitation.items() if "OK" in seen]
    assert len(winners) == 3
    seated = await co_hosts(stub, room.room_id)
    assert sorted(seated) == sorted(winners)
    assert len(seated) == len(set(seated))


async def test_seats_freed_while_claims_race_are_never_overfilled(stub):
    host = unique("host")
    sitting = [unique("guest") for _ in range(8)]
    room = await create(stub, host, co_host_user_ids=sitting)
    leaving = sitting[:4]

    async def leave(user: str) -> None:
        await stub.LeaveRoom(
            room_service_pb2.LeaveRoomRequest(room_id=room.room_id), metadata=user_metadata(user)
        )

    newcomers = [unique("guest") for _ in range(20)]
    results = await asyncio.gather(
        *(leave(user) for user in leaving),
        *(claim(stub, room.room_id, user, unique("inv")) for user in newcomers),
    )
    outcomes = results[len(leaving) :]
    assert set(outcomes) <= {"OK", "SEAT_LIMIT_REACHED"}
    seated = await co_hosts(stub, room.room_id)
    assert len(seated) == 4 + outcomes.count("OK") <= 8
    assert not set(leaving) & set(seated)


async def test_claim_racing_a_ban_never_leaves_the_banned_user_on_stage(stub):
    host = unique("host")
    room = await create(stub, host)
    targets = [unique("guest") for _ in range(10)]

    async def ban(user: str) -> None:
        await stub.BanUser(
            room_service_pb2.BanUserRequest(room_id=room.room_id, user_id=user),
            metadata=user_metadata(host),
        )

    results = await asyncio.gather(
        *(claim(stub, room.room_id, user, unique("inv")) for user in targets),
        *(ban(user) for user in targets),
    )
    assert set(results[: len(targets)]) <= {"OK", "USER_BANNED"}
    assert await co_hosts(stub, room.room_id) == []


async def test_claims_racing_stop_either_seat_before_the_end_or_get_room_ended(stub):
    host = unique("host")
    room = await create(stub, host)
    users = [unique("guest") for _ in range(20)]
    stop = stub.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    results = await asyncio.gather(
        *(claim(stub, room.room_id, u, unique("inv")) for u in users[:10]),
        stop,
        *(claim(stub, room.room_id, u, unique("inv")) for u in users[10:]),
    )
    outcomes = [r for r in results if isinstance(r, str)]
    assert set(outcomes) <= {"OK", "SEAT_LIMIT_REACHED", "ROOM_ENDED"}
    seated = await co_hosts(stub, room.room_id)
    assert len(seated) == outcomes.count("OK") <= 8
    assert (await claim(stub, room.room_id, unique("guest"), unique("inv"))) == "ROOM_ENDED"


async def test_concurrent_creates_of_one_room_id_create_it_once(stub):
    room_id = unique("room")
    hosts = [unique("host") for _ in range(10)]

    async def attempt(host: str) -> str:
        try:
            await create(stub, host, room_id=room_id)
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.ALREADY_EXISTS
            return reason_of(error)
        return host

    outcomes = await asyncio.gather(*(attempt(host) for host in hosts))
    winners = [o for o in outcomes if o != "ROOM_ID_TAKEN"]
    assert len(winners) == 1
    room = await stub.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=room_id), metadata=user_metadata(unique("v"))
    )
    assert room.host_user_id == winners[0]

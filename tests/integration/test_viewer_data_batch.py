"""Viewer credentials asked together: BatchGetViewerData against the real broadcast and room
services, and the gateway's GetViewerData, whose callers of the same moment share it. Each
viewer gets exactly what GetViewerData gives them alone (the same errors, a token of their
own), bans and ended rooms stop credentials from the next call on, and a crowd takes few
calls."""

import asyncio

import grpc
import pytest
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.broadcast.v1 import broadcast_service_pb2_grpc
from costream.gateway.v1 import gateway_service_pb2_grpc
from costream.room.v1 import room_service_pb2 as rs
from costream.room.v1 import room_service_pb2_grpc
from google.rpc import error_details_pb2, status_pb2
from livekit.api import TokenVerifier
from prometheus_client import REGISTRY

from services.common.auth import mint_user_token
from services.common.config import (
    DEV_AUTH_JWT_SECRET,
    DEV_LIVEKIT_API_KEY,
    DEV_LIVEKIT_API_SECRET,
)
from tests.support import reason_of, service_metadata, unique, user_metadata, violated_fields

BATCH = "/costream.broadcast.v1.BroadcastService/BatchGetViewerData"


@pytest.fixture(scope="module")
async def rooms(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


@pytest.fixture(scope="module")
async def broadcast(broadcast_service):
    async with grpc.aio.insecure_channel(broadcast_service.address) as channel:
        yield broadcast_service_pb2_grpc.BroadcastServiceStub(channel)


@pytest.fixture(scope="module")
async def gateway(gateway_service, rooms):
    async with grpc.aio.insecure_channel(gateway_service.address) as channel:
        stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
        await gateway_reaches_broadcast(stub, rooms)
        yield stub


async def gateway_reaches_broadcast(gateway, rooms) -> None:
    """Waits (10 s at most) until a call through the gateway reaches the broadcast service:
    a channel refused before its peer listened backs off up to 2 s, answering UNAVAILABLE at
    once meanwhile, and these tests count the calls that get through."""
    room = await rooms.CreateRoom(rs.CreateRoomRequest(title="t"), metadata=user_metadata("h"))
    for _ in range(100):
        try:
            await gateway.GetViewerData(
                bs.GetViewerDataRequest(room_id=room.room_id), metadata=user_metadata("v")
            )
            return
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
        await asyncio.sleep(0.1)
    raise TimeoutError("the gateway never reached the broadcast service")


def token_of(user: str) -> str:
    return mint_user_token(DEV_AUTH_JWT_SECRET, user)


def claims(token: str):
    return TokenVerifier(DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET).verify(token)


def failed(error: grpc.aio.AioRpcError) -> tuple:
    details = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    return ("error", error.code().value[0], error.details(), details)


def answered(data: bs.ViewerDataRequest | object) -> tuple:
    c = claims(data.viewer_token)
    return ("ok", c.identity, c.video.room, c.video.can_publish, c.video.can_publish_data)


async def alone(broadcast, room_id: str, token: str) -> tuple:
    metadata = [("authorization", f"Bearer {token}")] if token else []
    try:
        data = await broadcast.GetViewerData(
            bs.GetViewerDataRequest(room_id=room_id), metadata=metadata
        )
    except grpc.aio.AioRpcError as error:
        return failed(error)
    return answered(data)


async def batched(broadcast, requests: list[tuple[str, str]]) -> list[tuple]:
    """Items carrying client tokens, as gateways before user_id sent them."""
    return await batch_call(
        broadcast, [bs.ViewerDataRequest(room_id=r, user_token=t) for r, t in requests]
    )


async def named(broadcast, requests: list[tuple[str, str]], service: str = "gateway") -> list:
    """Items naming the user the gateway verified, on `service`'s service token."""
    return await batch_call(
        broadcast, [bs.ViewerDataRequest(room_id=r, user_id=u) for r, u in requests], service
    )


async def batch_call(broadcast, items: list, service: str = "tests") -> list[tuple]:
    reply = await broadcast.BatchGetViewerData(
        bs.BatchGetViewerDataRequest(requests=items), metadata=service_metadata(service)
    )
    outcomes = []
    for result in reply.results:
        if result.error:
            status = status_pb2.Status.FromString(result.error)
            outcomes.append(("error", status.code, status.message, result.error))
        else:
            outcomes.append(answered(result.viewer_data))
    return outcomes


async def rooms_of_every_kind(rooms) -> dict[str, str]:
    """A live-chat room with a banned user, a room without chat, an ended and a deleted one."""
    host = unique("host")

    async def room(**fields) -> str:
        made = await rooms.CreateRoom(
            rs.CreateRoomRequest(title="t", **fields), metadata=user_metadata(host)
        )
        return made.room_id

    chat, quiet, ended, deleted = (
        await room(live_chat_enabled=True),
        await room(),
        await room(),
        await room(),
    )
    await rooms.StopRoom(rs.StopRoomRequest(room_id=ended), metadata=user_metadata(host))
    await rooms.DeleteRoom(rs.DeleteRoomRequest(room_id=deleted), metadata=user_metadata(host))
    banned = unique("banned")
    await rooms.BanUser(
        rs.BanUserRequest(room_id=chat, user_id=banned), metadata=user_metadata(host)
    )
    return {
        "host": host,
        "chat": chat,
        "quiet": quiet,
        "ended": ended,
        "deleted": deleted,
        "banned": banned,
    }


async def test_each_viewer_of_a_batch_gets_what_they_get_alone(rooms, broadcast):
    r = await rooms_of_every_kind(rooms)
    banned = r["banned"]
    viewer = unique("viewer")
    requests = [
        (r["chat"], token_of(viewer)),
        (r["quiet"], token_of(unique("viewer"))),
        (r["chat"], token_of(banned)),
        (r["quiet"], token_of(banned)),  # banned from the other room only
        (r["ended"], token_of(viewer)),
        (r["deleted"], token_of(viewer)),
        (unique("missing"), token_of(viewer)),
        ("NOT A ROOM", token_of(viewer)),
        ("", token_of(viewer)),
        (r["chat"], "not-a-jwt"),
        (r["chat"], mint_user_token("another-secret-of-32-bytes-at-least!", viewer)),
        (r["chat"], ""),
        ("NOT A ROOM", "not-a-jwt"),  # the token is checked first, as alone
        (r["chat"], token_of(viewer)),  # twice in one batch
    ]
    expected = [await alone(broadcast, room_id, token) for room_id, token in requests]
    assert await batched(broadcast, requests) == expected
    assert [e[0] for e in expected] == ["ok", "ok", "error", "ok", *["error"] * 9, "ok"]
    assert expected[0] == ("ok", viewer, r["chat"], False, True)
    assert expected[1][4] is False  # no chat, no data


async def test_each_viewer_the_gateway_names_gets_what_they_get_alone(rooms, broadcast):
    r = await rooms_of_every_kind(rooms)
    banned = r["banned"]
    viewer = unique("viewer")
    requests = [
        (r["chat"], viewer),
        (r["quiet"], unique("viewer")),
        (r["chat"], banned),
        (r["quiet"], banned),  # banned from the other room only
        (r["ended"], viewer),
        (r["deleted"], viewer),
        (unique("missing"), viewer),
        ("NOT A ROOM", viewer),
        ("", viewer),
        (r["chat"], viewer),  # twice in one batch
    ]
    expected = [await alone(broadcast, room_id, token_of(user)) for room_id, user in requests]
    assert await named(broadcast, requests) == expected
    assert [e[0] for e in expected] == ["ok", "ok", "error", "ok", *["error"] * 5, "ok"]
    assert expected[0] == ("ok", viewer, r["chat"], False, True)
    # No name is no caller, as a call without a token; the room id is checked after.
    assert await named(broadcast, [(r["chat"], ""), ("NOT A ROOM", "")]) == [
        await alone(broadcast, r["chat"], ""),
        await alone(broadcast, "NOT A ROOM", ""),
    ]


async def test_only_the_gateways_service_token_names_viewers(rooms, broadcast):
    r = await rooms_of_every_kind(rooms)
    for service in ("post", "room", "tests"):
        [outcome] = await named(broadcast, [(r["chat"], unique("viewer"))], service)
        assert outcome[:2] == ("error", grpc.StatusCode.PERMISSION_DENIED.value[0])
        [info] = status_pb2.Status.FromString(outcome[3]).details
        reason = error_details_pb2.ErrorInfo()
        assert info.Unpack(reason) and reason.reason == "INTERNAL_ONLY"
    # A name in the client's own metadata is not a service's word: still internal only.
    request = bs.BatchGetViewerDataRequest(
        requests=[bs.ViewerDataRequest(room_id=r["chat"], user_id=unique("viewer"))]
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await broadcast.BatchGetViewerData(request, metadata=user_metadata("u"))
    assert reason_of(refused.value) == "INTERNAL_ONLY"


async def test_batch_get_viewer_data_is_for_services_only_and_bounded(broadcast):
    request = bs.BatchGetViewerDataRequest(requests=[bs.ViewerDataRequest(room_id="r")])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await broadcast.BatchGetViewerData(request, metadata=user_metadata("u"))
    assert (refused.value.code(), reason_of(refused.value)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "INTERNAL_ONLY",
    )
    too_many = bs.BatchGetViewerDataRequest(requests=[bs.ViewerDataRequest(room_id="r")] * 1001)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await broadcast.BatchGetViewerData(too_many, metadata=service_metadata())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == {"requests"}


def batches_served() -> float:
    return REGISTRY.get_sample_value("costream_rpc_total", {"method": BATCH, "code": "OK"}) or 0.0


async def through_gateway(gateway, room_id: str, user: str) -> tuple:
    try:
        data = await gateway.GetViewerData(
            bs.GetViewerDataRequest(room_id=room_id), metadata=user_metadata(user), timeout=10
        )
    except grpc.aio.AioRpcError as error:
        return failed(error)
    return answered(data)


async def test_a_crowd_through_the_gateway_takes_few_calls_and_each_gets_its_own(
    rooms, broadcast, gateway
):
    r = await rooms_of_every_kind(rooms)
    banned = r["banned"]
    asks = [(r["chat"], unique("viewer")) for _ in range(150)]
    asks += [(r["chat"], banned), (r["ended"], unique("v")), (unique("missing"), unique("v"))]
    asks += [(r["quiet"], unique("viewer")) for _ in range(50)]
    before = batches_served()
    got = await asyncio.gather(*(through_gateway(gateway, room, user) for room, user in asks))
    # How many go together depends on the timing (unit-tested in test_batching): fewer.
    assert batches_served() - before < len(asks)
    for (room_id, user), outcome in zip(asks, got, strict=True):
        assert outcome[1:3] == (user, room_id) or outcome[0] == "error"
    assert got == [await alone(broadcast, room, token_of(user)) for room, user in asks]
    assert [o[0] for o in got].count("error") == 3


async def test_a_ban_or_an_end_stops_credentials_from_the_next_call_on(rooms, gateway):
    host, guest = unique("host"), unique("guest")
    room = await rooms.CreateRoom(rs.CreateRoomRequest(title="t"), metadata=user_metadata(host))
    crowd = [unique("viewer") for _ in range(40)]

    async def everyone() -> list[tuple]:
        return await asyncio.gather(
            *(through_gateway(gateway, room.room_id, u) for u in [guest, *crowd])
        )

    assert {o[0] for o in await everyone()} == {"ok"}
    await rooms.BanUser(
        rs.BanUserRequest(room_id=room.room_id, user_id=guest), metadata=user_metadata(host)
    )
    refused, *others = await everyone()
    assert refused[:2] == ("error", grpc.StatusCode.PERMISSION_DENIED.value[0])
    assert {o[0] for o in others} == {"ok"}
    await rooms.StopRoom(rs.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host))
    _, *others = await everyone()
    assert {o[1] for o in others} == {grpc.StatusCode.FAILED_PRECONDITION.value[0]}

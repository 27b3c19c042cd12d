"""Direct-streaming rooms through gRPC with the room and broadcast services, PostgreSQL and
the LiveKit emulator's Ingress: the host's RTMP settings from one ingress per room (made once,
reused, replaced by ResetStreamKey and deleted through the outbox), co-hosts' tokens, the
encoder's connection as the host's presence, ingress_status, AttachIngress's rules, and the
stream key in no log line of the whole flow."""

import asyncio
import logging
import time

import aiohttp
import grpc
import pytest
import structlog
from costream.broadcast.v1 import broadcast_service_pb2, broadcast_service_pb2_grpc
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc

from tests.support import reason_of, service_metadata, unique, user_metadata, webhooks_applied

DIRECT = room_pb2.ROOM_TYPE_DIRECT_STREAMING


@pytest.fixture(scope="module")
async def rooms(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


@pytest.fixture(scope="module")
async def broadcast(broadcast_service):
    async with grpc.aio.insecure_channel(broadcast_service.address) as channel:
        yield broadcast_service_pb2_grpc.BroadcastServiceStub(channel)


@pytest.fixture(scope="module")
async def emulator(livekit_emulator, broadcast_service):
    async with aiohttp.ClientSession() as session:
        yield Encoder(session, livekit_emulator)


class Encoder:
    """OBS, played through the emulator's control API, and what LiveKit holds of ingresses."""

    def __init__(self, session: aiohttp.ClientSession, emulator) -> None:  # type: ignore[no-untyped-def]
        self._session = session
        self._emulator = emulator

    async def _post(self, path: str, **body: object) -> dict:
        url = f"{self._emulator.url}/emulator/{path}"
        async with self._session.post(url, json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def connect(self, stream_key: str) -> None:
        await self._post("ingress/connect", stream_key=stream_key)

    async def drop(self, stream_key: str) -> None:
        await self._post("ingress/drop", stream_key=stream_key)

    def ingress_ids(self, room_id: str) -> set[str]:
        registry = self._emulator.ingress_registry
        return {i.ingress_id for i in registry.list_ingress(room_name=room_id)}

    async def settle(self, database_url: str) -> None:
        await self._emulator.webhooks.drain()
        await webhooks_applied(database_url)


async def create_room(rooms, host: str, **fields) -> room_pb2.Room:
    fields.setdefault("title", "OBS night")
    return await rooms.CreateRoom(
        room_service_pb2.CreateRoomRequest(**fields), metadata=user_metadata(host)
    )


async def broadcast_data(broadcast, room_id: str, user: str):
    return await broadcast.GetBroadcastData(
        broadcast_service_pb2.GetBroadcastDataRequest(room_id=room_id),
        metadata=user_metadata(user),
    )


async def reset_key(broadcast, room_id: str, user: str):
    return await broadcast.ResetStreamKey(
        broadcast_service_pb2.ResetStreamKeyRequest(room_id=room_id),
        metadata=user_metadata(user),
    )


async def get_room(rooms, room_id: str) -> room_pb2.Room:
    return await rooms.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=room_id), metadata=user_metadata("anyone")
    )


async def failure(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


async def eventually(check, seconds: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not (result := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds} s")
        await asyncio.sleep(0.05)
    return result


async def test_the_host_gets_rtmp_settings_of_one_ingress_and_co_hosts_get_tokens(
    rooms, broadcast, emulator
):
    host, cole = unique("host"), unique("cole")
    room = await create_room(rooms, host, type=DIRECT, co_host_user_ids=[cole])
    assert room.ingress_status == room_pb2.INGRESS_STATUS_UNSPECIFIED
    first = await broadcast_data(broadcast, room.room_id, host)
    assert first.WhichOneof("data") == "direct_streaming"
    settings = first.direct_streaming
    assert settings.rtmp_url.startswith("rtmp://") and settings.stream_key
    again = await broadcast_data(broadcast, room.room_id, host)
    assert again.direct_streaming == settings
    assert len(emulator.ingress_ids(room.room_id)) == 1
    assert (await get_room(rooms, room.room_id)).ingress_status == room_pb2.INGRESS_STATUS_READY
    co_host = await broadcast_data(broadcast, room.room_id, cole)
    assert co_host.WhichOneof("data") == "co_hosts" and co_host.co_hosts.co_host_token


async def test_hosts_asking_at_once_share_one_ingress(rooms, broadcast, emulator):
    host = unique("host")
    room = await create_room(rooms, host, type=DIRECT)
    answers = await asyncio.gather(
        *(broadcast_data(broadcast, room.room_id, host) for _ in range(5))
    )
    assert len({a.direct_streaming.stream_key for a in answers}) == 1
    # The losers' ingresses were deleted.
    assert len(emulator.ingress_ids(room.room_id)) == 1


async def test_reset_stream_key_replaces_the_ingress_and_the_old_one_is_deleted(
    rooms, broadcast, emulator
):
    host = unique("host")
    room = await create_room(rooms, host, type=DIRECT)
    old = (await broadcast_data(broadcast, room.room_id, host)).direct_streaming
    [old_id] = emulator.ingress_ids(room.room_id)
    new = (await reset_key(broadcast, room.room_id, host)).direct_streaming
    assert new.stream_key != old.stream_key
    assert (await broadcast_data(broadcast, room.room_id, host)).direct_streaming == new

    async def old_one_gone() -> bool:
        return old_id not in emulator.ingress_ids(room.room_id)

    await eventually(old_one_gone)
    assert len(emulator.ingress_ids(room.room_id)) == 1


async def test_reset_stream_key_is_the_hosts_of_a_direct_streaming_room_only(rooms, broadcast):
    host, cole = unique("host"), unique("cole")
    direct = await create_room(rooms, host, type=DIRECT, co_host_user_ids=[cole])
    co_hosts = await create_room(rooms, host)
    not_host = await failure(reset_key(broadcast, direct.room_id, cole))
    assert (not_host.code(), reason_of(not_host)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "NOT_ROOM_HOST",
    )
    wrong = await failure(reset_key(broadcast, co_hosts.room_id, host))
    assert (wrong.code(), reason_of(wrong)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "WRONG_ROOM_TYPE",
    )
    # A co-hosts room's host still gets a LiveKit token.
    data = await broadcast_data(broadcast, co_hosts.room_id, host)
    assert data.WhichOneof("data") == "co_hosts"


async def test_the_encoder_is_the_hosts_presence_and_the_end_deletes_the_ingress(
    rooms, broadcast, emulator, database_url
):
    host = unique("host")
    room = await create_room(rooms, host, type=DIRECT)
    key = (await broadcast_data(broadcast, room.room_id, host)).direct_streaming.stream_key
    await emulator.connect(key)
    await emulator.settle(database_url)
    live = await get_room(rooms, room.room_id)
    assert live.status == room_pb2.ROOM_STATUS_LIVE
    assert live.ingress_status == room_pb2.INGRESS_STATUS_PUBLISHING
    assert live.stats.publisher_count == 1

    await emulator.drop(key)
    await emulator.settle(database_url)
    waiting = await get_room(rooms, room.room_id)
    assert waiting.status == room_pb2.ROOM_STATUS_WAITING_RECONNECT
    assert waiting.ingress_status == room_pb2.INGRESS_STATUS_READY

    await emulator.connect(key)  # the encoder reconnects within the window
    await emulator.settle(database_url)
    assert (await get_room(rooms, room.room_id)).status == room_pb2.ROOM_STATUS_LIVE

    stopped = await rooms.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    assert stopped.ingress_status == room_pb2.INGRESS_STATUS_ENDED

    async def deleted() -> bool:
        return not emulator.ingress_ids(room.room_id)

    await eventually(deleted)
    ended = await failure(broadcast_data(broadcast, room.room_id, host))
    assert reason_of(ended) == "ROOM_ENDED"


async def test_attach_ingress_is_internal_and_refuses_co_hosts_rooms(rooms):
    host = unique("host")
    room = await create_room(rooms, host)
    request = room_service_pb2.AttachIngressRequest(room_id=room.room_id, ingress_id="IN_x")
    denied = await failure(rooms.AttachIngress(request, metadata=user_metadata(host)))
    assert reason_of(denied) == "INTERNAL_ONLY"
    wrong = await failure(rooms.AttachIngress(request, metadata=service_metadata()))
    assert reason_of(wrong) == "WRONG_ROOM_TYPE"


async def test_attach_ingress_keeps_the_first_and_a_replacement_retires_the_old(rooms):
    host = unique("host")
    room = await create_room(rooms, host, type=DIRECT)

    async def attach(ingress_id: str, replaces: str = "") -> str:
        reply = await rooms.AttachIngress(
            room_service_pb2.AttachIngressRequest(
                room_id=room.room_id, ingress_id=ingress_id, replaces_ingress_id=replaces
            ),
            metadata=service_metadata(),
        )
        return reply.ingress_id

    assert await attach("IN_a") == "IN_a"
    assert await attach("IN_b") == "IN_a"
    assert await attach("IN_c", replaces="IN_a") == "IN_c"
    assert await attach("IN_d", replaces="IN_a") == "IN_c"
    access = await rooms.GetRoomAccess(
        room_service_pb2.GetRoomAccessRequest(room_id=room.room_id, user_id=host),
        metadata=service_metadata(),
    )
    assert access.ingress_id == "IN_c"


async def test_no_log_line_of_the_whole_flow_shows_the_stream_key(
    rooms, broadcast, emulator, database_url, capfd, caplog
):
    caplog.set_level(logging.DEBUG)
    host = unique("host")
    with structlog.testing.capture_logs() as captured:
        room = await create_room(rooms, host, type=DIRECT)
        first = (await broadcast_data(broadcast, room.room_id, host)).direct_streaming
        await broadcast_data(broadcast, room.room_id, host)
        await emulator.connect(first.stream_key)
        await emulator.settle(database_url)
        await emulator.drop(first.stream_key)
        await emulator.settle(database_url)
        second = (await reset_key(broadcast, room.room_id, host)).direct_streaming
        await failure(reset_key(broadcast, room.room_id, unique("stranger")))
        await rooms.StopRoom(
            room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
        )

        async def deleted() -> bool:
            return not emulator.ingress_ids(room.room_id)

        await eventually(deleted)
    out, err = capfd.readouterr()
    logged = "\n".join([out, err, caplog.text, *(repr(entry) for entry in captured)])
    assert captured, "the flow logged nothing: the capture is not working"
    for key in (first.stream_key, second.stream_key):
        assert key not in logged

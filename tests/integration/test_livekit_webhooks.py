"""LiveKit webhooks end to end: the emulator plays LiveKit (driven through its control API)
and signs webhooks, the broadcast service verifies them at POST /livekit/webhook and the room
service applies them. The room walks idle → live → waitingReconnect → live → ended → recorded
on webhooks alone; anything not signed by LiveKit is 401 and changes nothing."""

import base64
import hashlib
import json

import aiohttp
import grpc
import pytest
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.protobuf.json_format import MessageToJson
from livekit.api import AccessToken
from livekit.protocol import models
from livekit.protocol.webhook import WebhookEvent

from services.broadcast import domain
from services.common.config import DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET
from tests.conftest import RunningService
from tests.support import unique, user_metadata
from tools.devstack import free_port


class EmulatorControl:
    """The emulator's control API: what clients, egress and time do to LiveKit."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session = session
        self._url = url

    async def _post(self, path: str, **body: object) -> dict:
        async with self._session.post(f"{self._url}/emulator/{path}", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def join(self, room: str, identity: str, *, publisher: bool = True) -> None:
        permission = {"can_subscribe": True, "can_publish": publisher, "can_publish_data": True}
        await self._post("participants/join", room=room, identity=identity, permission=permission)

    async def leave(self, room: str, identity: str) -> None:
        await self._post("participants/leave", room=room, identity=identity)

    async def finish(self, room: str) -> None:
        await self._post("rooms/finish", room=room)

    async def egress_ended(self, room: str, **fields: object) -> None:
        await self._post("egress/ended", room=room, **fields)

    async def settle(self) -> None:
        """Every webhook delivered: the broadcast service answers only once the room applied
        it, so the room is up to date."""
        assert (await self._post("webhooks/drain", timeout_seconds=10))["drained"]


@pytest.fixture(scope="module")
async def control(livekit_emulator, broadcast_service):
    async with aiohttp.ClientSession() as session:
        yield EmulatorControl(session, livekit_emulator.url)


@pytest.fixture(scope="module")
async def rooms(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


async def create_room(rooms, host: str) -> room_pb2.Room:
    return await rooms.CreateRoom(
        room_service_pb2.CreateRoomRequest(title="On air"), metadata=user_metadata(host)
    )


async def get_room(rooms, room_id: str) -> room_pb2.Room:
    return await rooms.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=room_id), metadata=user_metadata(unique("u"))
    )


async def test_webhooks_alone_walk_the_room_through_its_statuses(rooms, control, broadcast_service):
    from costream.broadcast.v1 import broadcast_service_pb2, broadcast_service_pb2_grpc

    host, viewer = unique("host"), unique("viewer")
    room = await create_room(rooms, host)
    room_id = room.room_id
    async with grpc.aio.insecure_channel(broadcast_service.address) as channel:
        # The host's credential creates the LiveKit room (room_started).
        await broadcast_service_pb2_grpc.BroadcastServiceStub(channel).GetBroadcastData(
            broadcast_service_pb2.GetBroadcastDataRequest(room_id=room_id),
            metadata=user_metadata(host),
        )
    await control.settle()
    assert (await get_room(rooms, room_id)).status == room_pb2.ROOM_STATUS_IDLE

    await control.join(room_id, host)
    await control.join(room_id, viewer, publisher=False)
    await control.settle()
    live = await get_room(rooms, room_id)
    assert live.status == room_pb2.ROOM_STATUS_LIVE
    assert live.HasField("live_time")
    assert (live.stats.viewer_count, live.stats.publisher_count) == (1, 1)
    assert live.stats.peak_viewer_count == 1
    assert [p.connected for p in live.participants] == [True]

    await control.leave(room_id, host)
    await control.settle()
    waiting = await get_room(rooms, room_id)
    assert waiting.status == room_pb2.ROOM_STATUS_WAITING_RECONNECT
    assert (waiting.stats.viewer_count, waiting.stats.publisher_count) == (1, 0)

    await control.join(room_id, host)
    await control.settle()
    back = await get_room(rooms, room_id)
    assert back.status == room_pb2.ROOM_STATUS_LIVE
    assert back.live_time == live.live_time

    # The host connects again from another device: DUPLICATE_IDENTITY, still live.
    await control.join(room_id, host)
    await control.settle()
    again = await get_room(rooms, room_id)
    assert again.status == room_pb2.ROOM_STATUS_LIVE
    assert again.stats.publisher_count == 1

    await control.finish(room_id)
    await control.settle()
    ended = await get_room(rooms, room_id)
    assert ended.status == room_pb2.ROOM_STATUS_ENDED
    assert ended.end_reason == room_pb2.END_REASON_LIVEKIT_ROOM_FINISHED
    assert (ended.stats.viewer_count, ended.stats.publisher_count) == (0, 0)
    assert ended.stats.peak_viewer_count == 1

    await control.egress_ended(room_id, location="s3://recordings/show.mp4", duration_seconds=90)
    await control.settle()
    recorded = await get_room(rooms, room_id)
    assert recorded.status == room_pb2.ROOM_STATUS_RECORDED
    assert recorded.HasField("recorded_time")
    assert [(p.url, p.duration.seconds) for p in recorded.recorded_playbacks] == [
        ("s3://recordings/show.mp4", 90)
    ]


def signed(event: WebhookEvent, secret: str = DEV_LIVEKIT_API_SECRET) -> tuple[str, str]:
    """The body and Authorization header LiveKit sends, as livekit/protocol signs them."""
    body = MessageToJson(event, indent=None)
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = AccessToken(DEV_LIVEKIT_API_KEY, secret).with_sha256(digest).to_jwt()
    return body, token


def host_joined(room_id: str, host: str) -> WebhookEvent:
    return WebhookEvent(
        id=unique("EV"),
        event="participant_joined",
        created_at=1_767_225_600,
        room=models.Room(
            name=room_id, sid=unique("RM"), metadata=domain.room_metadata(room_id, host)
        ),
        participant=models.ParticipantInfo(
            sid=unique("PA"),
            identity=host,
            permission=models.ParticipantPermission(can_publish=True, can_subscribe=True),
        ),
    )


async def post(port: int, body: str, authorization: str | None) -> int:
    headers = {"Content-Type": "application/webhook+json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/livekit/webhook", data=body.encode(), headers=headers
        ) as response,
    ):
        return response.status


async def test_webhooks_not_signed_by_livekit_are_refused_and_change_nothing(
    rooms, broadcast_service, broadcast_http_port
):
    host = unique("host")
    room = await create_room(rooms, host)
    event = host_joined(room.room_id, host)
    body, token = signed(event)
    _, wrong_secret = signed(event, secret=DEV_LIVEKIT_API_SECRET + "-not")
    tampered = body.replace(host, unique("intruder"))
    other_body, other_token = signed(host_joined(room.room_id, host))
    attempts = [
        (body, wrong_secret),  # bad signature
        (tampered, token),  # body hash does not match
        (body, other_token),  # a valid token for another body
        (body, None),  # unsigned
        (body, "not-a-jwt"),
    ]
    for attempt_body, authorization in attempts:
        assert await post(broadcast_http_port, attempt_body, authorization) == 401
    unchanged = await get_room(rooms, room.room_id)
    assert unchanged.status == room_pb2.ROOM_STATUS_IDLE
    assert unchanged.stats.publisher_count == 0

    # The real thing goes through, once.
    assert await post(broadcast_http_port, body, token) == 200
    assert await post(broadcast_http_port, body, token) == 200
    live = await get_room(rooms, room.room_id)
    assert live.status == room_pb2.ROOM_STATUS_LIVE
    assert live.stats.publisher_count == 1
    assert other_body != body


async def test_signed_garbage_is_a_bad_request(broadcast_service, broadcast_http_port):
    body = json.dumps({"event": 12, "room": "not an object"})
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = AccessToken(DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET).with_sha256(digest).to_jwt()
    assert await post(broadcast_http_port, body, token) == 400


async def test_room_service_down_is_503_so_livekit_retries(make_settings, ports):
    from services.broadcast.app import build

    port = free_port()
    dead_room = f"127.0.0.1:{free_port()}"
    settings = make_settings(
        "broadcast",
        grpc_ports={**ports, "broadcast": free_port()},
        service_addrs={**make_settings("broadcast").service_addrs, "room": dead_room},
        broadcast_http_port=port,
        peer_timeout=1.0,
    )
    service = await RunningService(build(settings)).start()
    try:
        body, token = signed(host_joined(unique("room"), unique("host")))
        assert await post(port, body, token) == 503
    finally:
        await service.close()

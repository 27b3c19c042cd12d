"""LiveKit webhooks end to end: the emulator plays LiveKit (driven through its control API)
and signs webhooks, the broadcast service verifies them at POST /livekit/webhook and the room
service applies them. The room walks idle → live → waitingReconnect → live → ended → recorded
on webhooks alone; anything not signed by LiveKit is 401 and changes nothing."""

import asyncio
import base64
import contextlib
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
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
from tests.support import unique, user_metadata, webhooks_applied
from tools.devstack import free_port


class EmulatorControl:
    """The emulator's control API: what clients, egress and time do to LiveKit."""

    def __init__(self, session: aiohttp.ClientSession, url: str, database_url: str) -> None:
        self._session = session
        self._url = url
        self._database_url = database_url

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
        """Every webhook delivered to the broadcast service and handed on to the room service:
        the room is up to date."""
        assert (await self._post("webhooks/drain", timeout_seconds=10))["drained"]
        await webhooks_applied(self._database_url)


@pytest.fixture(scope="module")
async def control(livekit_emulator, broadcast_service, database_url):
    async with aiohttp.ClientSession() as session:
        yield EmulatorControl(session, livekit_emulator.url, database_url)


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
            name=room_id,
            sid=unique("RM"),
            metadata=domain.room_metadata(room_pb2.Room(room_id=room_id, host_user_id=host)),
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


async def kept(database_url: str, room_id: str) -> int:
    """How many webhooks of the room the broadcast service kept in its outbox."""
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM broadcast.outbox WHERE payload->>'room_id' = $1", room_id
        )
    finally:
        await connection.close()


async def test_webhooks_not_signed_by_livekit_are_refused_and_change_nothing(
    rooms, broadcast_service, broadcast_http_port, database_url
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
    assert await kept(database_url, room.room_id) == 0
    unchanged = await get_room(rooms, room.room_id)
    assert unchanged.status == room_pb2.ROOM_STATUS_IDLE
    assert unchanged.stats.publisher_count == 0

    # The real thing goes through, once: LiveKit's retry is kept again and applied once.
    assert await post(broadcast_http_port, body, token) == 200
    assert await post(broadcast_http_port, body, token) == 200
    assert await kept(database_url, room.room_id) == 2
    await webhooks_applied(database_url)
    live = await get_room(rooms, room.room_id)
    assert live.status == room_pb2.ROOM_STATUS_LIVE
    assert live.stats.publisher_count == 1
    assert other_body != body


async def test_signed_garbage_is_a_bad_request(broadcast_service, broadcast_http_port):
    body = json.dumps({"event": 12, "room": "not an object"})
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = AccessToken(DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET).with_sha256(digest).to_jwt()
    assert await post(broadcast_http_port, body, token) == 400


async def test_a_signed_event_the_room_service_would_refuse_is_a_bad_request_and_not_kept(
    broadcast_service, broadcast_http_port, database_url
):
    room_id = "r" * 257  # longer than any room name
    event = host_joined(room_id, unique("host"))
    body, token = signed(event)
    assert await post(broadcast_http_port, body, token) == 400
    assert await kept(database_url, room_id) == 0


class Cuttable:
    """A TCP relay in front of PostgreSQL that can be cut: connections through it break and
    new ones are refused, as when the database goes away. `url` reaches the database
    through it."""

    def __init__(self, database_url: str) -> None:
        self._target = urlsplit(database_url)
        self._socket_dir = parse_qs(self._target.query).get("host", [""])[0]
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = free_port()
        user = self._target.username or ""
        self.url = f"postgresql://{user}@127.0.0.1:{self.port}{self._target.path}"

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        port = self._target.port or 5432
        if self._socket_dir.startswith("/"):  # the embedded server listens on a socket
            return await asyncio.open_unix_connection(f"{self._socket_dir}/.s.PGSQL.{port}")
        return await asyncio.open_connection(self._target.hostname, port)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await self._connect()
        self._writers |= {writer, upstream_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def test_a_webhook_is_kept_while_the_room_service_is_down_and_applied_once_it_is_back(
    make_settings, make_database, ports
):
    """Accepted means durable: LiveKit gets its 200 while the room service is down, and the
    room goes live once it is back. With the database gone, nothing can be kept: 503, so
    LiveKit retries, and its retry is kept once the database is back."""
    from services.broadcast.app import build as build_broadcast
    from services.room.app import build as build_room

    database_url = await make_database()
    room_port, http_port = free_port(), free_port()
    relay = Cuttable(database_url)
    await relay.open()
    addrs = {**make_settings("room").service_addrs, "room": f"127.0.0.1:{room_port}"}
    room_settings = make_settings(
        "room", database_url=database_url, grpc_ports={**ports, "room": room_port}
    )
    broadcast = await RunningService(
        build_broadcast(
            make_settings(
                "broadcast",
                database_url=relay.url,
                grpc_ports={**ports, "broadcast": free_port()},
                service_addrs=addrs,
                broadcast_http_port=http_port,
                peer_timeout=1.0,
            )
        )
    ).start()
    try:
        room_service = await RunningService(build_room(room_settings)).start()
        async with grpc.aio.insecure_channel(room_service.address) as channel:
            host = unique("host")
            room = await create_room(room_service_pb2_grpc.RoomServiceStub(channel), host)
        await room_service.close()

        body, token = signed(host_joined(room.room_id, host))
        assert await post(http_port, body, token) == 200
        assert await kept(database_url, room.room_id) == 1

        room_service = await RunningService(build_room(room_settings)).start()
        try:
            await webhooks_applied(database_url, seconds=15)
            async with grpc.aio.insecure_channel(room_service.address) as channel:
                back = await get_room(room_service_pb2_grpc.RoomServiceStub(channel), room.room_id)
            assert back.status == room_pb2.ROOM_STATUS_LIVE
        finally:
            await room_service.close()

        await relay.cut()
        later, later_token = signed(host_joined(room.room_id, host))
        assert await post(http_port, later, later_token) == 503
        assert await kept(database_url, room.room_id) == 1
        # The database is back: LiveKit's retry is kept, without a restart of the service.
        await relay.open()
        assert await post(http_port, later, later_token) == 200
        assert await kept(database_url, room.room_id) == 2
    finally:
        await broadcast.close()

"""What the supervisor sets up before the timed parts, through the gateway as client apps do,
and what it reads back after: live rooms (a post each; the host asks for credentials, which
creates the LiveKit room, then joins the LiveKit emulator), rooms to invite into, the viewers
the webhook scenarios announce, and the rooms' counts until they match."""

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import grpc
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.gateway.v1 import gateway_service_pb2_grpc
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from bench.load import CALL_TIMEOUT, outcome_of
from bench.scenarios import auth
from bench.webhooks import Viewer, new_participant_sid, staying
from tools.livekit_emulator.client import AsyncEmulatorClient

Gateway = gateway_service_pb2_grpc.GatewayServiceStub
PUBLISHER = {"can_subscribe": True, "can_publish": True, "can_publish_data": True}
VIEWER = {"can_subscribe": True, "can_publish": False}
# Setup calls in flight at once: enough to be quick, few enough not to time out.
IN_FLIGHT = 32
BATCH = 100  # BatchGetRooms' most rooms per call


@dataclass(frozen=True)
class LiveRoom:
    room_id: str
    host_user_id: str
    sid: str  # the LiveKit session the broadcast service created for the host


async def _bounded(calls, in_flight: int = IN_FLIGHT) -> list:  # type: ignore[no-untyped-def]
    """Await the calls (coroutines), at most `in_flight` at once; results or exceptions."""
    gate = asyncio.Semaphore(in_flight)

    async def one(call):  # type: ignore[no-untyped-def]
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls), return_exceptions=True)


def _failures(results: list) -> Counter[str]:
    return Counter(
        outcome_of(r) if isinstance(r, grpc.aio.AioRpcError) else type(r).__name__
        for r in results
        if isinstance(r, BaseException)
    )


async def rooms_of(gateway: Gateway, room_ids: list[str], user: str) -> list[room_pb2.Room]:
    rooms: list[room_pb2.Room] = []
    for start in range(0, len(room_ids), BATCH):
        batch = await gateway.BatchGetRooms(
            rs.BatchGetRoomsRequest(room_ids=room_ids[start : start + BATCH]),
            metadata=auth(user),
            timeout=CALL_TIMEOUT,
        )
        rooms += batch.rooms
    return list(rooms)


async def open_live_rooms(
    gateway: Gateway, emulator: AsyncEmulatorClient, count: int, seconds: float
) -> tuple[list[LiveRoom], Counter[str]]:
    """`count` rooms with a post each, live (their host joined LiveKit) within `seconds`; and
    what failed on the way, by outcome."""

    async def go_live(i: int) -> str:
        host = f"live-host-{i}"
        created = await gateway.CreateLiveRoomPost(
            gw.CreateLiveRoomPostRequest(
                room=rs.CreateRoomRequest(title=f"live room {i}"),
                post=ps.CreateRoomPostRequest(text=f"live room {i} is on"),
            ),
            metadata=auth(host),
            timeout=CALL_TIMEOUT,
        )
        room_id = created.room.room_id
        await gateway.GetBroadcastData(
            bs.GetBroadcastDataRequest(room_id=room_id), metadata=auth(host), timeout=CALL_TIMEOUT
        )
        await emulator.join(room_id, host, attributes={"role": "host"}, permission=PUBLISHER)
        return room_id

    deadline = time.monotonic() + seconds
    results = await _bounded(go_live(i) for i in range(count))
    failures = _failures(results)
    room_ids = [r for r in results if isinstance(r, str)]
    while True:  # the host's join reaches the room service as a webhook, a moment later
        rooms = await rooms_of(gateway, room_ids, "live-host-0")
        live = [r for r in rooms if r.status == room_pb2.ROOM_STATUS_LIVE]
        if len(live) == len(room_ids) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    failures["not live in time"] += len(room_ids) - len(live)
    await emulator.drain()
    sids = await session_sids(emulator)
    return [LiveRoom(r.room_id, r.host_user_id, sids.get(r.room_id, "")) for r in live], failures


async def session_sids(emulator: AsyncEmulatorClient) -> dict[str, str]:
    """The LiveKit session (room sid) of every room the emulator holds, by room name."""
    state = await emulator.state()
    return {room["room"]["name"]: room["room"]["sid"] for room in state["rooms"]}


async def create_rooms(gateway: Gateway, count: int, prefix: str) -> list[tuple[str, str]]:
    """Idle rooms to invite into: (room id, host) of each created."""

    async def create(i: int) -> tuple[str, str]:
        host = f"{prefix}-host-{i}"
        room = await gateway.CreateRoom(
            rs.CreateRoomRequest(title=f"{prefix} {i}"), metadata=auth(host), timeout=CALL_TIMEOUT
        )
        return room.room_id, host

    results = await _bounded(create(i) for i in range(count))
    return [r for r in results if isinstance(r, tuple)]


async def viewers_of(
    emulator: AsyncEmulatorClient, room: LiveRoom, prefix: str, count: int
) -> list[Viewer]:
    """`count` viewers of a live room. The ones still there after the surge (the second half)
    are joined in the emulator too, without its webhooks, so what LiveKit lists agrees with
    what the bench announces (should the services ask LiveKit); the others get sids of
    their own."""
    viewers = [
        Viewer(room.room_id, room.sid, room.host_user_id, f"{prefix}-{i}", new_participant_sid())
        for i in range(count)
    ]
    stay = staying(viewers)
    joined = await _bounded(
        emulator.post("participants/join", room=v.room_id, identity=v.identity, permission=VIEWER)
        for v in stay
    )
    sids = {
        reply["participant"]["identity"]: reply["participant"]["sid"]
        for reply in joined
        if isinstance(reply, dict)
    }
    return [
        Viewer(v.room_id, v.room_sid, v.host_user_id, v.identity, sids.get(v.identity, v.sid))
        for v in viewers
    ]


async def without_webhooks(emulator: AsyncEmulatorClient) -> list[str]:
    """Stop the emulator's webhooks (after those queued are delivered); the URLs it had."""
    await emulator.drain()
    urls = (await emulator.state())["webhook_urls"]
    await emulator.post("webhooks/urls", urls=[])
    return list(urls)


async def counts_converge(
    gateway: Gateway, expected: dict[str, int], user: str, seconds: float
) -> tuple[float | None, dict[str, tuple[int, int]]]:
    """Poll the rooms until each one's viewer_count is the expected one, at most `seconds`:
    how long that took (None if it never did) and the last (viewer_count, peak) of each."""
    began = time.monotonic()
    while True:
        rooms = await rooms_of(gateway, list(expected), user)
        seen = {r.room_id: (r.stats.viewer_count, r.stats.peak_viewer_count) for r in rooms}
        if all(seen.get(room_id, (-1, 0))[0] == n for room_id, n in expected.items()):
            return time.monotonic() - began, seen
        if time.monotonic() - began > seconds:
            return None, seen
        await asyncio.sleep(0.05)

"""What a client process does for each scenario, through the gateway as client apps do (the
baseline: through the echo service, with the same loop, requests and metadata). Every runner
prepares, calls `ready()` (which returns when every process may start), then runs its part
and returns {"rpcs": Recorder.as_dict(), "elapsed": seconds, ...what else it counted}."""

import asyncio
import functools
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import grpc
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.gateway.v1 import gateway_service_pb2_grpc
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from bench import webhooks
from bench.clients import Job, Ready, Runner
from bench.echo import ECHO_METHOD, WATCH_METHOD
from bench.load import CALL_TIMEOUT, Recorder, drive, outcome_of
from services.common.auth import mint_user_token
from services.common.config import DEV_AUTH_JWT_SECRET

Gateway = gateway_service_pb2_grpc.GatewayServiceStub
Operation = Callable[[Recorder, int], Awaitable[None]]
# Readers of rooms and feeds: this many users, one token each, reused.
READERS = 256
# Warm-up operations are numbered from here, clear of any scenario's own numbers.
WARM_UP = 10_000_000
# Keys of the room metadata the watch scenario's updates carry.
UPDATE_NUMBER, UPDATE_SENT = "bench_update", "bench_sent"


@functools.cache
def auth(user_id: str) -> tuple[tuple[str, str], ...]:
    """A user's call metadata, minted once (tokens live an hour; a run lasts minutes)."""
    return (("authorization", f"Bearer {mint_user_token(DEV_AUTH_JWT_SECRET, user_id)}"),)


def reader(i: int) -> tuple[tuple[str, str], ...]:
    return auth(f"reader-{i % READERS}")


# --- unary scenarios: an operation per number, the same loop for each ---


def echo(channel: grpc.aio.Channel, params: dict[str, Any]) -> Operation:
    call = channel.unary_unary(ECHO_METHOD)  # bytes in, the same bytes out
    payload = params["payload"]

    async def operation(rec: Recorder, i: int) -> None:
        await rec.call("Echo", lambda: call(payload, metadata=reader(i), timeout=CALL_TIMEOUT))

    return operation


def create_room(channel: grpc.aio.Channel, params: dict[str, Any]) -> Operation:
    gateway = Gateway(channel)

    async def operation(rec: Recorder, i: int) -> None:
        await rec.call(
            "CreateRoom",
            lambda: gateway.CreateRoom(
                rs.CreateRoomRequest(title=f"bench room {i}"),
                metadata=auth(f"creator-{i % READERS}"),
                timeout=CALL_TIMEOUT,
            ),
        )

    return operation


def get_room(channel: grpc.aio.Channel, params: dict[str, Any]) -> Operation:
    gateway, rooms = Gateway(channel), params["room_ids"]

    async def operation(rec: Recorder, i: int) -> None:
        await rec.call(
            "GetRoom",
            lambda: gateway.GetRoom(
                rs.GetRoomRequest(room_id=rooms[i % len(rooms)]),
                metadata=reader(i),
                timeout=CALL_TIMEOUT,
            ),
        )

    return operation


def get_room_view(channel: grpc.aio.Channel, params: dict[str, Any]) -> Operation:
    gateway, rooms = Gateway(channel), params["room_ids"]

    async def operation(rec: Recorder, i: int) -> None:
        await rec.call(
            "GetRoomView",
            lambda: gateway.GetRoomView(
                gw.GetRoomViewRequest(room_id=rooms[i % len(rooms)]),
                metadata=reader(i),
                timeout=CALL_TIMEOUT,
            ),
        )

    return operation


def get_broadcast_data(channel: grpc.aio.Channel, params: dict[str, Any]) -> Operation:
    gateway, rooms = Gateway(channel), params["rooms"]  # (room id, host), asked by the host

    async def operation(rec: Recorder, i: int) -> None:
        room_id, host = rooms[i % len(rooms)]
        await rec.call(
            "GetBroadcastData",
            lambda: gateway.GetBroadcastData(
                bs.GetBroadcastDataRequest(room_id=room_id),
                metadata=auth(host),
                timeout=CALL_TIMEOUT,
            ),
        )

    return operation


def viewer_join_storm(channel: grpc.aio.Channel, params: dict[str, Any]) -> Operation:
    """Each number is a different viewer asking once; their tokens are minted here, before
    the timed part."""
    gateway, room_id = Gateway(channel), params["room_id"]
    for i in params["numbers"]:
        auth(f"storm-{i}")

    async def operation(rec: Recorder, i: int) -> None:
        await rec.call(
            "GetViewerData",
            lambda: gateway.GetViewerData(
                bs.GetViewerDataRequest(room_id=room_id),
                metadata=auth(f"storm-{i}"),
                timeout=CALL_TIMEOUT,
            ),
        )

    return operation


def live_feed(channel: grpc.aio.Channel, params: dict[str, Any]) -> Operation:
    gateway = Gateway(channel)

    async def operation(rec: Recorder, i: int) -> None:
        await rec.call(
            "ListLiveRoomPosts",
            lambda: gateway.ListLiveRoomPosts(
                gw.ListLiveRoomPostsRequest(page_size=20),
                metadata=reader(i),
                timeout=CALL_TIMEOUT,
            ),
        )

    return operation


def invite_and_accept(channel: grpc.aio.Channel, params: dict[str, Any]) -> Operation:
    """Number i: the host of a room invites a new user, who accepts. `per_room` numbers in a row
    go to one room (the seat race), or with no `per_room` the rooms take turns (cohost_flow)."""
    gateway, rooms, per_room = Gateway(channel), params["rooms"], params.get("per_room")
    prefix = params["prefix"]

    async def operation(rec: Recorder, i: int) -> None:
        room_id, host = rooms[(i // per_room if per_room else i) % len(rooms)]
        invitee = f"{prefix}-{i}"
        invitation = await rec.call(
            "CreateInvitation",
            lambda: gateway.CreateInvitation(
                inv.CreateInvitationRequest(room_id=room_id, user_id=invitee),
                metadata=auth(host),
                timeout=CALL_TIMEOUT,
            ),
        )
        if invitation is not None:
            await rec.call(
                "AcceptInvitation",
                lambda: gateway.AcceptInvitation(
                    inv.AcceptInvitationRequest(invitation_id=invitation.invitation_id),
                    metadata=auth(invitee),
                    timeout=CALL_TIMEOUT,
                ),
            )

    return operation


def who_am_i(channel: grpc.aio.Channel) -> Operation:
    gateway = Gateway(channel)

    async def operation(rec: Recorder, i: int) -> None:
        await rec.call(
            "WhoAmI",
            lambda: gateway.WhoAmI(gw.WhoAmIRequest(), metadata=reader(i), timeout=CALL_TIMEOUT),
        )

    return operation


def unary(make: Callable[[grpc.aio.Channel, dict[str, Any]], Operation], warm_up_alike: bool):
    """A runner for a scenario of one-call operations over one channel: one unrecorded
    operation per worker first (the scenario's own, or WhoAmI where that would change what is
    measured), then the timed part."""

    async def run(job: Job, ready: Ready) -> dict[str, Any]:
        async with grpc.aio.insecure_channel(job.target) as channel:
            operation = make(channel, {**job.params, "numbers": job.indices()})
            warm_up = operation if warm_up_alike else who_am_i(channel)
            warm = Recorder()
            first = WARM_UP + job.part * job.concurrency
            await drive(
                lambda i: warm_up(warm, i),
                iter(range(first, first + job.concurrency)),
                concurrency=job.concurrency,
                seconds=job.seconds,
            )
            await ready()
            rec = Recorder()
            elapsed = await drive(
                lambda i: operation(rec, i),
                job.indices(),
                concurrency=job.concurrency,
                seconds=job.seconds,
            )
        return {"rpcs": rec.as_dict(), "elapsed": elapsed}

    return run


# --- webhooks: this process's senders, each posting its events one after another ---


async def send_webhooks(job: Job, ready: Ready) -> dict[str, Any]:
    """Events signed before the start; the viewers each room has once its acknowledged events
    are applied ("expected"), and what the retries were for."""
    lanes = [
        [(kind, viewer, webhooks.signed(kind, viewer)) for kind, viewer in lane]
        for lane in job.params["lanes"]
    ]
    rec, retries, expected = Recorder(), Counter[str](), Counter[str]()
    unsent = 0

    async def sender(session: aiohttp.ClientSession, lane: list, deadline: float) -> None:
        nonlocal unsent
        joined, left = set(), set()
        for number, (kind, viewer, (body, headers)) in enumerate(lane):
            if time.monotonic() > deadline:
                unsent += len(lane) - number
                break
            if await webhooks.deliver(session, job.target, body, headers, rec, retries):
                (joined if kind == webhooks.JOINED else left).add(viewer)
        for viewer in joined - left:
            expected[viewer.room_id] += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await ready()
        begin = time.perf_counter()
        deadline = time.monotonic() + job.seconds
        await asyncio.gather(*(sender(session, lane, deadline) for lane in lanes))
        elapsed = time.perf_counter() - begin
    return {
        "rpcs": rec.as_dict(),
        "elapsed": elapsed if lanes else 0.0,
        "expected": dict(expected),
        "retries": dict(retries),
        "unsent": unsent,
    }


# --- watch: many streams of one room, spread over channels ---


StreamOpener = Callable[[grpc.aio.Channel, int, dict[str, Any]], Any]


def gateway_stream(channel: grpc.aio.Channel, i: int, p: dict[str, Any]) -> Any:
    """Watcher i's WatchRoom, as its own user: the gateway allows a user only so many."""
    return Gateway(channel).WatchRoom(
        rs.WatchRoomRequest(room_id=p["room_id"]),
        metadata=auth(f"watcher-{i}"),
        timeout=p["stream_seconds"],
    )


def echo_stream(channel: grpc.aio.Channel, i: int, p: dict[str, Any]) -> Any:
    """Watcher i's stream of the echo service: the snapshot it sends, back, then what the
    supervisor publishes."""
    snapshot = room_pb2.RoomEvent(
        kind=room_pb2.ROOM_EVENT_KIND_SNAPSHOT, room=room_pb2.Room(room_id=p["room_id"])
    )
    watch = channel.unary_stream(WATCH_METHOD, response_deserializer=room_pb2.RoomEvent.FromString)
    return watch(
        snapshot.SerializeToString(), metadata=auth(f"watcher-{i}"), timeout=p["stream_seconds"]
    )


def watch(open_stream: StreamOpener) -> Runner:
    """A runner for the fan-out scenarios: this process's share of the watchers opens its
    streams (spread over a few channels) and reads the first snapshot; then, for each update
    the supervisor makes (its number and send time in the room's metadata), the time from the
    room's update_time, and from the update call, to the delivery at each watcher."""

    async def run(job: Job, ready: Ready) -> dict[str, Any]:
        channels = [grpc.aio.insecure_channel(job.target) for _ in range(job.params["channels"])]
        try:
            return await _watch(job, ready, open_stream, channels)
        finally:
            for channel in channels:
                await channel.close()

    return run


async def _watch(
    job: Job, ready: Ready, open_stream: StreamOpener, channels: list[grpc.aio.Channel]
) -> dict[str, Any]:
    p = job.params
    mine = list(range(job.part, p["watchers"], job.parts))
    rec, counted = Recorder(), Counter[str]()
    settled = asyncio.Event()  # every stream opened or failed
    opened = failed = 0

    def settle(ok: bool) -> None:
        nonlocal opened, failed
        opened, failed = opened + ok, failed + (not ok)
        if opened + failed == len(mine):
            settled.set()

    async def watcher(i: int) -> None:
        call = open_stream(channels[i % len(channels)], i, p)
        seen = None  # the number of the newest update seen
        missed = 0
        try:
            async for event in call:
                received = time.time()
                if event.kind == room_pb2.ROOM_EVENT_KIND_KEEPALIVE:
                    continue
                fields = event.room.metadata.fields
                number = int(fields[UPDATE_NUMBER].number_value) if UPDATE_NUMBER in fields else 0
                if seen is None:  # the snapshot every stream starts with
                    seen = number
                    settle(True)
                    continue
                if number <= seen:
                    continue  # another change of the room, or an update seen already
                if event.kind == room_pb2.ROOM_EVENT_KIND_SNAPSHOT:
                    counted["resyncs"] += 1
                rec.add(
                    "update_time→delivery",
                    (received - event.room.update_time.ToMicroseconds() / 1e6) * 1000,
                )
                rec.add("sent→delivery", (received - fields[UPDATE_SENT].number_value) * 1000)
                missed += number - seen - 1
                seen = number
                if seen >= p["updates"]:
                    break
        except grpc.aio.AioRpcError as error:
            counted[f"stream ended {outcome_of(error)}"] += 1
        finally:
            call.cancel()
            if seen is None:
                settle(False)
            else:
                missed += p["updates"] - seen
            if missed:
                counted["missed updates"] += missed
                counted["watchers that missed an update"] += 1

    began = time.perf_counter()
    tasks = [asyncio.create_task(watcher(i)) for i in mine]
    try:
        try:
            await asyncio.wait_for(settled.wait(), p["open_seconds"])
        except TimeoutError:
            pass
        counted["streams opened"], counted["streams not opened"] = opened, len(mine) - opened
        opening = time.perf_counter() - began
        await ready()
        begin = time.perf_counter()
        _, late = await asyncio.wait(tasks, timeout=job.seconds)
        elapsed = time.perf_counter() - begin
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    counted["watchers still waiting at the deadline"] = len(late)
    return {"rpcs": rec.as_dict(), "elapsed": elapsed, "counted": dict(counted), "opening": opening}


RUNNERS: dict[str, Runner] = {
    "baseline": unary(echo, warm_up_alike=True),
    "create_room": unary(create_room, warm_up_alike=True),
    "get_room": unary(get_room, warm_up_alike=True),
    "get_room_view": unary(get_room_view, warm_up_alike=True),
    "get_broadcast_data": unary(get_broadcast_data, warm_up_alike=True),
    "viewer_join_storm": unary(viewer_join_storm, warm_up_alike=True),
    "live_feed": unary(live_feed, warm_up_alike=True),
    "cohost_flow": unary(invite_and_accept, warm_up_alike=False),
    "seat_race": unary(invite_and_accept, warm_up_alike=False),
    "webhooks": send_webhooks,
    "watch": watch(gateway_stream),
    "watch_echo": watch(echo_stream),
}

"""What the benchmark asks of the stack, always through the gateway as client apps do: the live
rooms the read scenarios share, the steady scenarios, and the seat race."""

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.gateway.v1 import gateway_service_pb2_grpc
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from bench.load import CALL_TIMEOUT, Recorder, Result, drive, results_of
from services.common.auth import mint_user_token
from services.common.config import DEV_AUTH_JWT_SECRET
from tools.livekit_emulator.client import AsyncEmulatorClient

Gateway = gateway_service_pb2_grpc.GatewayServiceStub
LIVE_ROOMS = 50
LIVE_WAIT_SECONDS = 30.0


@functools.cache
def auth(user_id: str) -> list[tuple[str, str]]:
    """A user's call metadata, minted once (tokens live an hour; a run lasts a minute or two)."""
    return [("authorization", f"Bearer {mint_user_token(DEV_AUTH_JWT_SECRET, user_id)}")]


@dataclass(frozen=True)
class LiveRoom:
    room_id: str
    host_user_id: str


@dataclass
class Target:
    gateway: Gateway
    live_rooms: list[LiveRoom]

    def any_live_room(self) -> LiveRoom:
        return random.choice(self.live_rooms)


async def open_live_rooms(
    gateway: Gateway, emulator: AsyncEmulatorClient, count: int
) -> list[LiveRoom]:
    """`count` rooms, each shared in a post, whose hosts joined LiveKit (the emulator), so the
    broadcast service's webhooks made them live; the ones live within LIVE_WAIT_SECONDS."""
    created = await asyncio.gather(
        *(
            gateway.CreateLiveRoomPost(
                gw.CreateLiveRoomPostRequest(
                    room=rs.CreateRoomRequest(title=f"live room {i}"),
                    post=ps.CreateRoomPostRequest(text=f"live room {i} is on"),
                ),
                metadata=auth(f"live-host-{i}"),
                timeout=CALL_TIMEOUT,
            )
            for i in range(count)
        )
    )
    room_ids = [c.room.room_id for c in created]
    # Each host asks for credentials (broadcast makes the LiveKit room then), then joins.
    await asyncio.gather(
        *(
            gateway.GetBroadcastData(
                bs.GetBroadcastDataRequest(room_id=c.room.room_id),
                metadata=auth(c.room.host_user_id),
                timeout=CALL_TIMEOUT,
            )
            for c in created
        )
    )
    await asyncio.gather(
        *(
            emulator.join(c.room.room_id, c.room.host_user_id, attributes={"role": "host"})
            for c in created
        )
    )
    deadline = time.monotonic() + LIVE_WAIT_SECONDS
    while True:
        batch = await gateway.BatchGetRooms(
            rs.BatchGetRoomsRequest(room_ids=room_ids),
            metadata=auth("live-host-0"),
            timeout=CALL_TIMEOUT,
        )
        live = [r for r in batch.rooms if r.status == room_pb2.ROOM_STATUS_LIVE]
        if len(live) == count or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    await emulator.drain()
    return [LiveRoom(r.room_id, r.host_user_id) for r in live]


# --- steady scenarios: one call per operation, each worker as its own user ---


async def create_room(t: Target, rec: Recorder, worker: int) -> None:
    await rec.call(
        "CreateRoom",
        lambda: t.gateway.CreateRoom(
            rs.CreateRoomRequest(title=f"bench room {worker}"),
            metadata=auth(f"host-{worker}"),
            timeout=CALL_TIMEOUT,
        ),
    )


async def get_room(t: Target, rec: Recorder, worker: int) -> None:
    room = t.any_live_room()
    await rec.call(
        "GetRoom",
        lambda: t.gateway.GetRoom(
            rs.GetRoomRequest(room_id=room.room_id),
            metadata=auth(f"viewer-{worker}"),
            timeout=CALL_TIMEOUT,
        ),
    )


async def get_room_view(t: Target, rec: Recorder, worker: int) -> None:
    room = t.any_live_room()
    await rec.call(
        "GetRoomView",
        lambda: t.gateway.GetRoomView(
            gw.GetRoomViewRequest(room_id=room.room_id),
            metadata=auth(f"viewer-{worker}"),
            timeout=CALL_TIMEOUT,
        ),
    )


async def list_live_room_posts(t: Target, rec: Recorder, worker: int) -> None:
    await rec.call(
        "ListLiveRoomPosts",
        lambda: t.gateway.ListLiveRoomPosts(
            gw.ListLiveRoomPostsRequest(page_size=LIVE_ROOMS),
            metadata=auth(f"viewer-{worker}"),
            timeout=CALL_TIMEOUT,
        ),
    )


async def get_broadcast_data(t: Target, rec: Recorder, worker: int) -> None:
    room = t.any_live_room()  # asked by its host: broadcaster credentials
    await rec.call(
        "GetBroadcastData",
        lambda: t.gateway.GetBroadcastData(
            bs.GetBroadcastDataRequest(room_id=room.room_id),
            metadata=auth(room.host_user_id),
            timeout=CALL_TIMEOUT,
        ),
    )


Operation = Callable[[Target, Recorder, int], Awaitable[None]]
STEADY: dict[str, Operation] = {
    "CreateRoom": create_room,
    "GetRoom": get_room,
    "GetRoomView": get_room_view,
    "ListLiveRoomPosts": list_live_room_posts,
    "GetBroadcastData": get_broadcast_data,
}
# The steady scenarios that read the live rooms.
NEEDS_LIVE_ROOMS = {"GetRoom", "GetRoomView", "ListLiveRoomPosts", "GetBroadcastData"}


async def run_steady(
    name: str, t: Target, *, concurrency: int, seconds: float, max_requests: int
) -> list[Result]:
    operation = STEADY[name]
    # One unrecorded call per worker first: channels, pools and caches warm at this concurrency.
    warm = Recorder()
    await drive(
        lambda i: operation(t, warm, i),
        concurrency=concurrency,
        seconds=seconds,
        max_operations=concurrency,
    )
    rec = Recorder()
    elapsed = await drive(
        lambda i: operation(t, rec, i),
        concurrency=concurrency,
        seconds=seconds,
        max_operations=max_requests,
    )
    return results_of(name, rec, concurrency, elapsed)


# --- the seat race: `concurrency` invitees of one room accept at once for its few seats ---

SEAT_RACE = "SeatRace"


async def _contend(t: Target, rec: Recorder, room_id: str, host: str, worker: int) -> None:
    invitee = f"invitee-{worker}"  # unique within the room; every round has a fresh room
    invitation = await rec.call(
        "CreateInvitation",
        lambda: t.gateway.CreateInvitation(
            inv.CreateInvitationRequest(room_id=room_id, user_id=invitee),
            metadata=auth(host),
            timeout=CALL_TIMEOUT,
        ),
    )
    if invitation is None:
        return
    await rec.call(
        "AcceptInvitation",
        lambda: t.gateway.AcceptInvitation(
            inv.AcceptInvitationRequest(invitation_id=invitation.invitation_id),
            metadata=auth(invitee),
            timeout=CALL_TIMEOUT,
        ),
    )


async def _race_round(t: Target, rec: Recorder, host: str, concurrency: int) -> tuple[int, int]:
    """One fresh room, `concurrency` invitees at once: (co-hosts seated after, seats)."""
    room = await t.gateway.CreateRoom(
        rs.CreateRoomRequest(title="seat race"), metadata=auth(host), timeout=CALL_TIMEOUT
    )
    await asyncio.gather(*(_contend(t, rec, room.room_id, host, i) for i in range(concurrency)))
    after = await t.gateway.GetRoom(
        rs.GetRoomRequest(room_id=room.room_id), metadata=auth(host), timeout=CALL_TIMEOUT
    )
    seated = sum(p.role == room_pb2.PARTICIPANT_ROLE_CO_HOST for p in after.participants)
    return seated, room.max_co_hosts


async def run_seat_race(
    t: Target, *, concurrency: int, seconds: float, max_requests: int
) -> list[Result]:
    """Rounds until `seconds` pass or `max_requests` invitees contended: a host opens a fresh
    room, `concurrency` invitees are invited and accept at once, and the ones too late find the
    seats taken (FAILED_PRECONDITION SEAT_LIMIT_REACHED). Only the invitation calls are timed;
    each room's co-hosts are counted afterwards (GetRoom) to show how many seats were filled."""
    rec = Recorder()
    host = f"race-host-{concurrency}"
    rounds: list[tuple[int, int]] = []
    note = ""
    deadline = time.monotonic() + seconds
    begin = time.perf_counter()
    while len(rounds) * concurrency < max_requests and time.monotonic() < deadline:
        try:
            rounds.append(await _race_round(t, rec, host, concurrency))
        except grpc.aio.AioRpcError as error:
            note = f"; stopped: a round's CreateRoom/GetRoom failed with {error.code().name}"
            break
    elapsed = time.perf_counter() - begin
    if rounds:
        low, high = min(n for n, _ in rounds), max(n for n, _ in rounds)
        note = (
            f"{len(rounds)} rooms x {concurrency} invitees; co-hosts seated per room: "
            f"{low if low == high else f'{low}-{high}'} of {rounds[0][1]}{note}"
        )
    return results_of(SEAT_RACE, rec, concurrency, elapsed, note.removeprefix("; "))

"""LiveKit drops webhooks (a room's queue past 200 events, or one older than 30 s), and the
rooms still end as LiveKit has them within 15 s, with the settings `make run` uses: the room
service compares each room with LiveKit's participants (services/room/livekit/reconcile.py).
The emulator loses the webhooks on purpose (POST /emulator/webhooks/loss)."""

import asyncio
import time

from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from tests.e2e.flow import auth, wait_status
from tests.support import unique

PUBLISHER = {"can_subscribe": True, "can_publish": True, "can_publish_data": True}
VIEWER = {"can_subscribe": True, "can_publish": False}
# domain.md "Convergence": within 15 s after any loss.
CONVERGENCE_SECONDS = 15.0


async def new_room(gateway, emulator, host: str, *, host_joins: bool) -> str:  # type: ignore[no-untyped-def]
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="lossy"), **auth(host))
    await gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room.room_id), **auth(host))
    if host_joins:
        await emulator.join(room.room_id, host, permission=PUBLISHER)
        await wait_status(gateway, room.room_id, room_pb2.ROOM_STATUS_LIVE, host)
    else:
        await emulator.drain()  # room_started arrived: the room knows the session
    return room.room_id


async def test_after_lost_webhooks_counts_and_hosts_end_as_livekit_has_them_within_15_s(
    gateway, emulator
):
    crowd_host, leaving_host, late_host = unique("host"), unique("host"), unique("host")
    crowd = await new_room(gateway, emulator, crowd_host, host_joins=True)
    left = await new_room(gateway, emulator, leaving_host, host_joins=True)
    late = await new_room(gateway, emulator, late_host, host_joins=False)
    viewers = [unique("viewer") for _ in range(30)]

    before = {e["id"] for e in await emulator.events()}
    await emulator.loss(1.0)  # every webhook from now on is lost
    try:
        await asyncio.gather(
            *(emulator.join(crowd, viewer, permission=VIEWER) for viewer in viewers)
        )
        await asyncio.gather(*(emulator.leave(crowd, viewer) for viewer in viewers[:10]))
        await emulator.leave(left, leaving_host)
        await emulator.join(late, late_host, permission=PUBLISHER)
        lost_at = time.monotonic()
    finally:
        await emulator.loss(0.0)

    async def where(room_id: str, host: str) -> tuple[int, int, int]:
        got = await gateway.GetRoom(rs.GetRoomRequest(room_id=room_id), **auth(host))
        return got.status, got.stats.viewer_count, got.stats.publisher_count

    expected = {
        crowd: (room_pb2.ROOM_STATUS_LIVE, 20, 1),
        left: (room_pb2.ROOM_STATUS_WAITING_RECONNECT, 0, 0),
        late: (room_pb2.ROOM_STATUS_LIVE, 0, 1),
    }
    hosts = {crowd: crowd_host, left: leaving_host, late: late_host}
    since = [e for e in await emulator.events() if e["id"] not in before and e["room"] in hosts]
    assert len(since) >= 42  # 30 joins, 10 leaves, the host's leave and the late host's join
    assert all(set(e["deliveries"].values()) == {"lost"} for e in since)
    while True:
        now = {r: await where(r, hosts[r]) for r in expected}
        if now == expected:
            break
        assert time.monotonic() - lost_at < CONVERGENCE_SECONDS, now
        await asyncio.sleep(0.2)
    crowded = await gateway.GetRoom(rs.GetRoomRequest(room_id=crowd), **auth(crowd_host))
    assert crowded.stats.peak_viewer_count == 20  # who came and went unseen is not known

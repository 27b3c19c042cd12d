"""ListLiveRoomPosts over 50 live rooms: newest first, each with its post, in a bounded number
of backend calls, counted on the room and post services' own /metrics (costream_rpc_total)."""

import asyncio

from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2, room_service_pb2
from costream.room.v1 import room_service_pb2 as rs

from tests.e2e.conftest import metrics_port
from tests.e2e.flow import auth, rpc_counts
from tests.support import unique

ROOMS = 50
# Calls other services make on their own (webhooks applied, hosts checked): not the gateway's.
INTERNAL = {
    "ApplyLiveKitEvent",
    "ApplyLiveKitEvents",
    "GetRoomAccess",
    "BatchGetRoomAccess",
    "AddCoHost",
    "PurgeRoom",
}


async def _client_calls(stack) -> dict[str, float]:
    counts: dict[str, float] = {}
    for service in ("room", "post"):
        for method, value in (await rpc_counts(metrics_port(stack, service))).items():
            if method.rsplit("/", 1)[1] not in INTERNAL:
                counts[method] = value
    return counts


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {m: v - before.get(m, 0.0) for m, v in after.items() if v != before.get(m, 0.0)}


async def test_list_live_room_posts_of_50_rooms_takes_two_backend_calls(
    gateway, emulator, e2e_stack
):
    hosts = [unique(f"host{i}") for i in range(ROOMS)]
    created = []
    for host in hosts:  # one at a time, so their creation order is certain
        created.append(
            await gateway.CreateLiveRoomPost(
                gw.CreateLiveRoomPostRequest(
                    room=rs.CreateRoomRequest(title=f"live {host}"),
                    post=ps.CreateRoomPostRequest(text=f"{host} is live"),
                ),
                **auth(host),
            )
        )
    # Each host asks for credentials (the LiveKit room is made then), then joins.
    await asyncio.gather(
        *(
            gateway.GetBroadcastData(
                bs.GetBroadcastDataRequest(room_id=c.room.room_id), **auth(c.room.host_user_id)
            )
            for c in created
        )
    )
    await asyncio.gather(*(emulator.join(c.room.room_id, c.room.host_user_id) for c in created))
    room_ids = [c.room.room_id for c in created]
    for _ in range(150):
        rooms = await gateway.BatchGetRooms(
            room_service_pb2.BatchGetRoomsRequest(room_ids=room_ids), **auth(hosts[0])
        )
        if all(r.status == room_pb2.ROOM_STATUS_LIVE for r in rooms.rooms):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the rooms did not all go live")
    await emulator.drain()

    before = await _client_calls(e2e_stack)
    page = await gateway.ListLiveRoomPosts(
        gw.ListLiveRoomPostsRequest(page_size=ROOMS), **auth(hosts[0])
    )
    after = await _client_calls(e2e_stack)

    assert _delta(before, after) == {
        "/costream.room.v1.RoomService/ListRooms": 1.0,
        "/costream.post.v1.PostService/ListPostsByRoom": 1.0,
    }
    # The newest live rooms are ours, newest first, each with its own post.
    newest_first = list(reversed(created))
    assert [(i.room.room_id, i.post.post_id) for i in page.items] == [
        (c.room.room_id, c.post.post_id) for c in newest_first
    ]
    assert all(i.room.status == room_pb2.ROOM_STATUS_LIVE for i in page.items)

    # The next page passes the room page token through, and costs two calls again at most.
    if page.next_page_token:
        before = await _client_calls(e2e_stack)
        await gateway.ListLiveRoomPosts(
            gw.ListLiveRoomPostsRequest(page_size=ROOMS, page_token=page.next_page_token),
            **auth(hosts[0]),
        )
        assert sum(_delta(before, await _client_calls(e2e_stack)).values()) <= 2

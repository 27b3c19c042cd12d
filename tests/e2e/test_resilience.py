"""A backend going away: calls that need it answer UNAVAILABLE DEPENDENCY_UNAVAILABLE at once
(never a hang), the rest keep working, and when it is back everything works again without
restarting the gateway."""

import asyncio
import time

import grpc
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.post.v1 import post_pb2
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_service_pb2 as rs

from tests.e2e.flow import auth, expect_error
from tests.support import unique

UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
QUICKLY = 2.0  # seconds: far below the 10 s deadline the calls carry


async def test_room_service_down_then_back_without_restarting_the_gateway(gateway, e2e_stack):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="resilient"), **auth(host))
    gateway_pid = e2e_stack.processes["gateway"].pid

    await asyncio.to_thread(e2e_stack.stop_service, "room")
    try:
        needs_room = {
            "GetRoom": lambda: gateway.GetRoom(
                rs.GetRoomRequest(room_id=room.room_id), **auth(host)
            ),
            "ListLiveRoomPosts": lambda: gateway.ListLiveRoomPosts(
                gw.ListLiveRoomPostsRequest(), **auth(host)
            ),
            "GetRoomView": lambda: gateway.GetRoomView(
                gw.GetRoomViewRequest(room_id=room.room_id), **auth(host)
            ),
            # Through the post service, which asks the room service who the host is.
            "CreateRoomPost": lambda: gateway.CreateRoomPost(
                ps.CreateRoomPostRequest(room_id=room.room_id, text="hello"), **auth(host)
            ),
        }
        for name, call in needs_room.items():
            started = time.monotonic()
            await expect_error(call(), UNAVAILABLE, "DEPENDENCY_UNAVAILABLE")
            assert time.monotonic() - started < QUICKLY, name

        me = await gateway.WhoAmI(gw.WhoAmIRequest(), **auth(host))
        assert me.user_id == host
        feed = await gateway.ListPosts(
            ps.ListPostsRequest(target_type=post_pb2.TARGET_TYPE_USER, target_id=host),
            **auth(host),
        )
        assert list(feed.posts) == []
    finally:
        await asyncio.to_thread(e2e_stack.start_service, "room")

    # Every channel to the room service (the gateway's, the post, invitation and broadcast
    # services') reconnects by itself, each after its own backoff of at most 2 s; a retry of a
    # create is safe with its request_id. (The tests after this one share the stack.)
    back = {
        "GetRoom": lambda: gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(host)),
        "CreateRoomPost": lambda: gateway.CreateRoomPost(
            ps.CreateRoomPostRequest(room_id=room.room_id, text="back", request_id="back-1"),
            **auth(host),
        ),
        "ListRoomInvitations": lambda: gateway.ListRoomInvitations(
            inv.ListRoomInvitationsRequest(room_id=room.room_id), **auth(host)
        ),
        "GetViewerData": lambda: gateway.GetViewerData(
            bs.GetViewerDataRequest(room_id=room.room_id), **auth(unique("viewer"))
        ),
    }
    deadline = time.monotonic() + 10
    for name, call in back.items():
        while True:
            try:
                await call()
                break
            except grpc.aio.AioRpcError as error:
                assert error.code() == UNAVAILABLE, name
                assert time.monotonic() < deadline, f"{name}: the room service was not reached"
                await asyncio.sleep(0.1)
    post = await back["CreateRoomPost"]()
    assert post.room_id == room.room_id
    assert e2e_stack.processes["gateway"].pid == gateway_pid
    assert e2e_stack.exited() == []

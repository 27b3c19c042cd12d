"""Every service serves Prometheus metrics: after a short flow through the gateway, /metrics of
each process counts the RPCs it handled, and the operational gauges are there."""

import asyncio
import urllib.request

from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_service_pb2 as rs

from tests.e2e.conftest import metrics_port
from tests.e2e.flow import auth, rpc_counts
from tests.support import unique

# The method each service must have counted after the flow below.
CALLED = {
    "gateway": "/costream.gateway.v1.GatewayService/CreateLiveRoomPost",
    "room": "/costream.room.v1.RoomService/CreateRoom",
    "post": "/costream.post.v1.PostService/CreateRoomPost",
    "invitation": "/costream.invitation.v1.InvitationService/CreateInvitation",
    "broadcast": "/costream.broadcast.v1.BroadcastService/GetBroadcastData",
}
GAUGES = {
    "room": ["costream_db_pool_connections", "costream_outbox_backlog", "costream_rooms"],
    "broadcast": ["costream_livekit_webhooks_total", "costream_rpc_duration_seconds_bucket"],
    "invitation": ["costream_db_pool_connections"],
}


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return reply.read().decode()


async def test_each_service_counts_the_rpcs_of_a_short_flow_on_its_metrics_endpoint(
    gateway, emulator, e2e_stack
):
    host, guest = unique("host"), unique("guest")
    created = await gateway.CreateLiveRoomPost(
        gw.CreateLiveRoomPostRequest(
            room=rs.CreateRoomRequest(title="metrics"), post=ps.CreateRoomPostRequest(text="hi")
        ),
        **auth(host),
    )
    room_id = created.room.room_id
    await gateway.CreateInvitation(
        inv.CreateInvitationRequest(room_id=room_id, user_id=guest), **auth(host)
    )
    await gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room_id), **auth(host))
    await emulator.join(room_id, host)
    await emulator.drain()  # the webhook reached the broadcast service

    for service, method in CALLED.items():
        counts = await rpc_counts(metrics_port(e2e_stack, service))
        assert counts.get(method, 0) >= 1, f"{service} did not count {method}"
    for service, names in GAUGES.items():
        text = await asyncio.to_thread(_scrape, metrics_port(e2e_stack, service))
        for name in names:
            assert name in text, f"{service} /metrics has no {name}"

"""The main flow from room to recording, only through the gateway, with LiveKit played by the
emulator's control API (its webhooks reach the broadcast service, which tells the room)."""

import asyncio
import contextlib
import json
import urllib.request

import grpc
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_pb2
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.invitation.v1 import invitation_pb2
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.post.v1 import post_pb2
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from tests.e2e.flow import auth, wait_status
from tests.support import unique

S = room_pb2


async def _statuses_seen(call, seen: list[int]) -> None:
    async for event in call:
        if not seen or seen[-1] != event.room.status:
            seen.append(event.room.status)
        if event.room.status == S.ROOM_STATUS_RECORDED:
            return


async def _livekit_room_exists(emulator_url: str, room_id: str) -> bool:
    def read() -> dict:
        with urllib.request.urlopen(f"{emulator_url}/emulator/state", timeout=5) as reply:
            return json.loads(reply.read())

    state = await asyncio.to_thread(read)
    return any(r["room"]["name"] == room_id for r in state["rooms"])


async def test_seed_flow_from_live_room_post_to_recorded_room(gateway, emulator, e2e_stack):
    host, bob, carol, dave, viewer = (unique(n) for n in ("host", "bob", "carol", "dave", "view"))

    # The host creates a room and shares it in her own feed, in one call.
    created = await gateway.CreateLiveRoomPost(
        gw.CreateLiveRoomPostRequest(
            room=rs.CreateRoomRequest(title="Friday night jam", live_chat_enabled=True),
            post=ps.CreateRoomPostRequest(text="Going live soon", hashtags=["jam"]),
        ),
        **auth(host),
    )
    room_id = created.room.room_id
    assert created.room.status == S.ROOM_STATUS_IDLE
    assert created.post.room_id == room_id
    feed = await gateway.ListPosts(
        ps.ListPostsRequest(target_type=post_pb2.TARGET_TYPE_USER, target_id=host), **auth(viewer)
    )
    assert [p.post_id for p in feed.posts] == [created.post.post_id]

    # Invitations, one user at a time: B accepts, C rejects, the host cancels D's.
    sent = {}
    for invitee in (bob, carol, dave):
        sent[invitee] = await gateway.CreateInvitation(
            inv.CreateInvitationRequest(room_id=room_id, user_id=invitee), **auth(host)
        )
        assert sent[invitee].status == invitation_pb2.INVITATION_STATUS_PENDING
    accepted = await gateway.AcceptInvitation(
        inv.AcceptInvitationRequest(invitation_id=sent[bob].invitation_id), **auth(bob)
    )
    rejected = await gateway.RejectInvitation(
        inv.RejectInvitationRequest(invitation_id=sent[carol].invitation_id), **auth(carol)
    )
    cancelled = await gateway.CancelInvitation(
        inv.CancelInvitationRequest(invitation_id=sent[dave].invitation_id), **auth(host)
    )
    assert [accepted.status, rejected.status, cancelled.status] == [
        invitation_pb2.INVITATION_STATUS_ACCEPTED,
        invitation_pb2.INVITATION_STATUS_REJECTED,
        invitation_pb2.INVITATION_STATUS_CANCELLED,
    ]
    view = await gateway.GetRoomView(gw.GetRoomViewRequest(room_id=room_id), **auth(bob))
    assert view.my_role == gateway_pb2.ROOM_ROLE_CO_HOST
    assert view.my_invitation.invitation_id == sent[bob].invitation_id
    assert view.post.post_id == created.post.post_id

    # Credentials: host and B to broadcast, a viewer to watch.
    public_url = e2e_stack.env["LIVEKIT_PUBLIC_URL"]
    for user in (host, bob):
        data = await gateway.GetBroadcastData(
            bs.GetBroadcastDataRequest(room_id=room_id), **auth(user)
        )
        assert data.co_hosts.co_host_token and data.co_hosts.co_host_url == public_url
    watch = await gateway.GetViewerData(bs.GetViewerDataRequest(room_id=room_id), **auth(viewer))
    assert watch.viewer_token and watch.viewer_url == public_url

    # Follow the room through the gateway's WatchRoom while LiveKit drives it.
    stream = gateway.WatchRoom(
        rs.WatchRoomRequest(room_id=room_id), metadata=auth(viewer)["metadata"]
    )
    seen: list[int] = []
    watcher = asyncio.create_task(_statuses_seen(stream, seen))
    try:
        await emulator.join(room_id, host, attributes={"role": "host"})
        live = await wait_status(gateway, room_id, S.ROOM_STATUS_LIVE, viewer)
        assert live.HasField("live_time")
        await emulator.join(room_id, bob, attributes={"role": "co_host"})
        await emulator.join(
            room_id, viewer, attributes={"role": "viewer"},
            permission={"can_subscribe": True, "can_publish": False},
        )  # fmt: skip
        feed = await gateway.ListLiveRoomPosts(gw.ListLiveRoomPostsRequest(), **auth(viewer))
        assert (room_id, created.post.post_id) in {
            (item.room.room_id, item.post.post_id) for item in feed.items
        }

        # The host drops, the room waits for her, she is back.
        await emulator.leave(room_id, host, aborted=True, reason="CONNECTION_TIMEOUT")
        await wait_status(gateway, room_id, S.ROOM_STATUS_WAITING_RECONNECT, viewer)
        await emulator.join(room_id, host, attributes={"role": "host"})
        await wait_status(gateway, room_id, S.ROOM_STATUS_LIVE, viewer)

        # The host stops the room: it ends and everyone is taken off LiveKit.
        stopped = await gateway.StopRoom(rs.StopRoomRequest(room_id=room_id), **auth(host))
        assert stopped.status == S.ROOM_STATUS_ENDED
        assert stopped.end_reason == S.END_REASON_STOPPED_BY_HOST
        for _ in range(100):
            if not await _livekit_room_exists(e2e_stack.emulator_url, room_id):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the LiveKit room was not deleted after StopRoom")

        # The recording arrives: recorded.
        await emulator.post("egress/ended", room=room_id, duration_seconds=90)
        recorded = await wait_status(gateway, room_id, S.ROOM_STATUS_RECORDED, viewer)
        assert [(p.duration.seconds, bool(p.url)) for p in recorded.recorded_playbacks] == [
            (90, True)
        ]
        await asyncio.wait_for(watcher, 10)
    finally:
        stream.cancel()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await watcher

    # The stream saw the statuses in order (a watcher may skip one, never reorder them).
    order = [S.ROOM_STATUS_IDLE, S.ROOM_STATUS_LIVE, S.ROOM_STATUS_WAITING_RECONNECT,
             S.ROOM_STATUS_LIVE, S.ROOM_STATUS_ENDED, S.ROOM_STATUS_RECORDED]  # fmt: skip
    assert seen[0] == S.ROOM_STATUS_IDLE and seen[-1] == S.ROOM_STATUS_RECORDED
    position = 0
    for status in seen:
        position = order.index(status, position)

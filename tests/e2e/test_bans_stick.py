"""Bans and removals stick in LiveKit, and only the LiveKit sessions costream made count,
through the gateway against the LiveKit emulator (which, like a self-hosted LiveKit, accepts
a token until it expires and auto-creates rooms)."""

import asyncio
import time

import grpc
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.invitation.v1 import invitation_pb2
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from tests.e2e.flow import auth, expect_error, wait_status
from tests.support import unique, webhooks_applied

PUBLISHER = {"can_subscribe": True, "can_publish": True, "can_publish_data": True}
VIEWER = {"can_subscribe": True, "can_publish": False}


async def in_livekit(emulator, room_id: str) -> set[str]:
    state = await emulator.state()
    for room in state.get("rooms", []):
        if room["room"]["name"] == room_id:
            return {p["identity"] for p in room["participants"]}
    return set()


async def wait_until(check, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.1)


async def live_room(gateway, emulator, host: str, co_host: str) -> str:
    room = await gateway.CreateRoom(
        rs.CreateRoomRequest(title="stage", co_host_user_ids=[co_host]), **auth(host)
    )
    await gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room.room_id), **auth(host))
    await emulator.join(room.room_id, host, permission=PUBLISHER)
    await wait_status(gateway, room.room_id, room_pb2.ROOM_STATUS_LIVE, host)
    return room.room_id


async def test_a_banned_co_host_who_rejoins_with_his_token_is_put_out_again(gateway, emulator):
    host, co_host = unique("host"), unique("co")
    room_id = await live_room(gateway, emulator, host, co_host)
    await emulator.join(room_id, co_host, permission=PUBLISHER)
    await gateway.BanUser(rs.BanUserRequest(room_id=room_id, user_id=co_host), **auth(host))
    await wait_until(lambda: _absent(emulator, room_id, co_host))
    # LiveKit still accepts the token he holds: he is back, and out again at once.
    await emulator.join(room_id, co_host, permission=PUBLISHER)
    await wait_until(lambda: _absent(emulator, room_id, co_host))
    assert host in await in_livekit(emulator, room_id)
    await expect_error(
        gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room_id), **auth(co_host)),
        grpc.StatusCode.PERMISSION_DENIED,
        "USER_BANNED",
    )


async def test_a_banned_viewer_who_reconnects_is_put_out_again(gateway, emulator):
    host, viewer = unique("host"), unique("viewer")
    room_id = await live_room(gateway, emulator, host, unique("co"))
    await gateway.BanUser(rs.BanUserRequest(room_id=room_id, user_id=viewer), **auth(host))
    await emulator.join(room_id, viewer, permission=VIEWER)
    await wait_until(lambda: _absent(emulator, room_id, viewer))


async def test_a_publisher_who_is_not_on_stage_is_put_out(gateway, emulator):
    host, removed = unique("host"), unique("co")
    room_id = await live_room(gateway, emulator, host, removed)
    # The host's join reaches the room through a webhook: live once it is applied.
    await wait_status(gateway, room_id, room_pb2.ROOM_STATUS_LIVE, host)
    await gateway.RemoveParticipant(
        rs.RemoveParticipantRequest(room_id=room_id, user_id=removed), **auth(host)
    )
    # Taken off stage, he comes back with the co-host token he still holds.
    await emulator.join(room_id, removed, permission=PUBLISHER)
    await wait_until(lambda: _absent(emulator, room_id, removed))
    # Putting him out leaves the host's room live.
    room = await wait_status(gateway, room_id, room_pb2.ROOM_STATUS_LIVE, host)
    assert room.status == room_pb2.ROOM_STATUS_LIVE
    assert host in await in_livekit(emulator, room_id)


async def test_a_ban_cancels_the_users_pending_invitation(gateway):
    host, guest = unique("host"), unique("guest")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="t"), **auth(host))
    invitation = await gateway.CreateInvitation(
        inv.CreateInvitationRequest(room_id=room.room_id, user_id=guest), **auth(host)
    )
    other = await gateway.CreateInvitation(
        inv.CreateInvitationRequest(room_id=room.room_id, user_id=unique("other")), **auth(host)
    )
    await gateway.BanUser(rs.BanUserRequest(room_id=room.room_id, user_id=guest), **auth(host))

    async def cancelled() -> bool:
        got = await gateway.GetInvitation(
            inv.GetInvitationRequest(invitation_id=invitation.invitation_id), **auth(guest)
        )
        return got.status == invitation_pb2.INVITATION_STATUS_CANCELLED

    await wait_until(cancelled)
    untouched = await gateway.GetInvitation(
        inv.GetInvitationRequest(invitation_id=other.invitation_id), **auth(host)
    )
    assert untouched.status == invitation_pb2.INVITATION_STATUS_PENDING


async def test_a_livekit_room_a_viewer_opened_cannot_end_an_idle_room(
    gateway, emulator, e2e_database
):
    host, viewer = unique("host"), unique("viewer")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="later"), **auth(host))
    invitation = await gateway.CreateInvitation(
        inv.CreateInvitationRequest(room_id=room.room_id, user_id=unique("guest")), **auth(host)
    )
    await gateway.GetViewerData(bs.GetViewerDataRequest(room_id=room.room_id), **auth(viewer))
    # Where LiveKit auto-creates rooms, the viewer's token opens one; it empties and finishes.
    await emulator.join(room.room_id, viewer, permission=VIEWER)
    await emulator.leave(room.room_id, viewer)
    await emulator.post("rooms/finish", room=room.room_id)
    await emulator.drain()
    await webhooks_applied(e2e_database)
    after = await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(host))
    assert after.status == room_pb2.ROOM_STATUS_IDLE
    assert after.stats.viewer_count == 0
    got = await gateway.GetInvitation(
        inv.GetInvitationRequest(invitation_id=invitation.invitation_id), **auth(host)
    )
    assert got.status == invitation_pb2.INVITATION_STATUS_PENDING
    # The host's credentials make the session ours: the host's join makes the room live.
    await gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room.room_id), **auth(host))
    await emulator.join(room.room_id, host, permission=PUBLISHER)

    async def live() -> bool:
        got = await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(host))
        return got.status == room_pb2.ROOM_STATUS_LIVE

    await wait_until(live)


async def test_the_host_of_a_room_a_viewer_opened_first_still_goes_live(gateway, emulator):
    host, viewer = unique("host"), unique("viewer")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="early"), **auth(host))
    await emulator.join(room.room_id, viewer, permission=VIEWER)  # opened by the viewer
    await gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room.room_id), **auth(host))
    await emulator.join(room.room_id, host, permission=PUBLISHER)

    async def live() -> bool:
        got = await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(host))
        return got.status == room_pb2.ROOM_STATUS_LIVE

    await wait_until(live)


async def _absent(emulator, room_id: str, identity: str) -> bool:
    return identity not in await in_livekit(emulator, room_id)

"""Nothing is lost while LiveKit is down and services crash: rooms ended meanwhile have their
LiveKit rooms deleted, co-hosts taken off stage are demoted to viewers, no invitation stays pending in an
ended room; and live counts are exact after LiveKit's webhooks arrive duplicated and shuffled
across a crash of the room service."""

import asyncio
import random

from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.invitation.v1 import invitation_pb2
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from livekit.protocol import models
from livekit.protocol.webhook import WebhookEvent

from services.broadcast import domain as broadcast_domain
from tests.e2e.flow import auth
from tests.fault.conftest import serving_again, wait_until
from tests.integration.test_livekit_webhooks import post, signed
from tests.support import unique, webhooks_applied

# Webhooks alone must keep the counts exact through crashes: no reconciliation with LiveKit
# (which has none of the viewers whose webhooks these tests send) to hide a lost one.
STACK_ENV = {"LIVEKIT_RECONCILE_PER_SECOND": "0"}

PUBLISHER = {"can_subscribe": True, "can_publish": True, "can_publish_data": True}


async def livekit_rooms(emulator) -> dict[str, set[str]]:
    state = await emulator.state()
    return {r["room"]["name"]: {p["identity"] for p in r["participants"]} for r in state["rooms"]}


async def livekit_roles(emulator, room_id: str) -> dict[str, str]:
    """The `role` attribute of each participant of a LiveKit room."""
    state = await emulator.state()
    return {
        p["identity"]: p.get("attributes", {}).get("role", "")
        for r in state["rooms"]
        if r["room"]["name"] == room_id
        for p in r["participants"]
    }


async def on_air(gateway, emulator, host: str, co_host: str) -> str:
    room = await gateway.CreateRoom(
        rs.CreateRoomRequest(title="on air", co_host_user_ids=[co_host]),
        wait_for_ready=True,
        **auth(host),
    )
    for user in (host, co_host):
        await gateway.GetBroadcastData(
            bs.GetBroadcastDataRequest(room_id=room.room_id), **auth(user)
        )
        await emulator.join(room.room_id, user, permission=PUBLISHER)
    return room.room_id


async def test_side_effects_of_a_livekit_outage_and_crashes_are_all_delivered(
    stack, gateway, emulator, fault_database
):
    hosts = [unique("host") for _ in range(4)]
    co_hosts = [unique("co") for _ in hosts]
    rooms = [await on_air(gateway, emulator, h, c) for h, c in zip(hosts, co_hosts, strict=True)]
    invitations = [
        await gateway.CreateInvitation(
            inv.CreateInvitationRequest(room_id=room_id, user_id=unique("guest")), **auth(host)
        )
        for room_id, host in zip(rooms, hosts, strict=True)
    ]
    await emulator.drain()
    await webhooks_applied(fault_database)
    await emulator.post("outage", down=True)
    try:
        # LiveKit is down: the first room keeps going, its co-host watching; the others end.
        await gateway.RemoveParticipant(
            rs.RemoveParticipantRequest(room_id=rooms[0], user_id=co_hosts[0]), **auth(hosts[0])
        )
        for room_id, host in zip(rooms[1:], hosts[1:], strict=True):
            await gateway.StopRoom(rs.StopRoomRequest(room_id=room_id), **auth(host))
        await asyncio.sleep(1.5)  # the relay tries, LiveKit answers 503
        await asyncio.to_thread(stack.kill_service, "room")  # holding claimed rows
        await asyncio.to_thread(stack.kill_service, "broadcast")
        await asyncio.to_thread(stack.start_service, "broadcast")
        await asyncio.to_thread(stack.start_service, "room")
    finally:
        await emulator.post("outage", down=False)

    async def delivered() -> bool:
        now = await livekit_rooms(emulator)
        ended_gone = all(room_id not in now for room_id in rooms[1:])
        first = await livekit_roles(emulator, rooms[0])
        return ended_gone and first.get(co_hosts[0]) == "viewer" and hosts[0] in first

    await wait_until(delivered, seconds=60)
    await serving_again(gateway)

    async def none_pending() -> bool:
        statuses = [
            (
                await gateway.GetInvitation(
                    inv.GetInvitationRequest(invitation_id=i.invitation_id), **auth(host)
                )
            ).status
            for i, host in zip(invitations[1:], hosts[1:], strict=True)
        ]
        return all(s == invitation_pb2.INVITATION_STATUS_CANCELLED for s in statuses)

    await wait_until(none_pending, seconds=30)
    kept = await gateway.GetInvitation(
        inv.GetInvitationRequest(invitation_id=invitations[0].invitation_id), **auth(hosts[0])
    )
    assert kept.status == invitation_pb2.INVITATION_STATUS_PENDING


def _event(room: models.Room, kind: str, identity: str, sid: str, at: int, **extra) -> WebhookEvent:
    return WebhookEvent(
        id=unique("EV"),
        event=kind,
        created_at=at,
        room=room,
        participant=models.ParticipantInfo(sid=sid, identity=identity, **extra),
    )


async def _deliver(port: int, event: WebhookEvent) -> None:
    """As LiveKit does: again until it is accepted (200 once it is durable)."""
    body, token = signed(event)
    for _ in range(600):
        if await post(port, body, token) == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"webhook {event.id} never accepted")


async def test_counts_are_exact_after_duplicated_shuffled_webhooks_across_crashes(
    stack, gateway, emulator, fault_database
):
    host = unique("host")
    room_id = (
        await gateway.CreateRoom(
            rs.CreateRoomRequest(title="crowd"), wait_for_ready=True, **auth(host)
        )
    ).room_id
    await gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room_id), **auth(host))
    [sid] = [
        r["room"]["sid"] for r in (await emulator.state())["rooms"] if r["room"]["name"] == room_id
    ]
    # The session LiveKit made for the host's credentials; its events, as LiveKit would send them.
    livekit_room = models.Room(
        name=room_id,
        sid=sid,
        metadata=broadcast_domain.room_metadata(room_pb2.Room(room_id=room_id, host_user_id=host)),
    )
    at = 1_800_000_000
    publish = models.ParticipantPermission(can_publish=True, can_subscribe=True)
    events = [_event(livekit_room, "participant_joined", host, "PA_host", at, permission=publish)]
    viewers = [(unique("v"), unique("PA")) for _ in range(30)]
    for i, (viewer, sid) in enumerate(viewers):
        events.append(_event(livekit_room, "participant_joined", viewer, sid, at + 1 + i))
    for i, (viewer, sid) in enumerate(viewers[:12]):
        events.append(
            _event(
                livekit_room, "participant_left", viewer, sid, at + 40 + i,
                disconnect_reason=models.DisconnectReason.CLIENT_INITIATED,
            )
        )  # fmt: skip
    shuffled = events * 2
    random.Random(7).shuffle(shuffled)
    port = int(stack.env["BROADCAST_HTTP_PORT"])
    half = len(shuffled) // 2
    await asyncio.gather(*(_deliver(port, e) for e in shuffled[:half]))
    await asyncio.to_thread(stack.kill_service, "room")
    # Accepted while the room service is down, then the broadcast service crashes with them
    # undelivered: they are applied once both are back.
    await asyncio.gather(*(_deliver(port, e) for e in shuffled[half:]))
    await asyncio.to_thread(stack.kill_service, "broadcast")
    await asyncio.to_thread(stack.start_service, "room")
    await asyncio.to_thread(stack.start_service, "broadcast")
    await webhooks_applied(fault_database, seconds=30)
    await serving_again(gateway)
    room = await gateway.GetRoom(rs.GetRoomRequest(room_id=room_id), **auth(host))
    assert room.status == room_pb2.ROOM_STATUS_LIVE
    assert (room.stats.viewer_count, room.stats.publisher_count) == (18, 1)
    assert room.stats.peak_viewer_count >= 18

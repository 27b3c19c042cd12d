"""What happens to rooms means elsewhere: the one place that turns the room's domain events
(services.room.domain) into outbox messages and watcher notifications, and delivers those
messages (LiveKit side effects through the broadcast service, pending invitations cancelled by
the invitation service). Receivers are idempotent; the relay retries a failed delivery with
backoff until it succeeds."""

import json
from collections.abc import Sequence
from datetime import datetime

import grpc
from costream.broadcast.v1 import broadcast_service_pb2, broadcast_service_pb2_grpc
from costream.invitation.v1 import invitation_service_pb2, invitation_service_pb2_grpc

from services.common.db import Database
from services.common.events import DomainEvent, Notification, OutboxMessage, SideEffects
from services.common.outbox import Delivery
from services.room.domain import (
    ChangeKind,
    ParticipantRefused,
    RoomChanged,
    RoomEnded,
    TakenOffStage,
    UserBanned,
)

ROOM_EVENTS_CHANNEL = "room_events"

# Outbox kinds.
END_LIVEKIT_ROOM = "livekit.end_room"
REMOVE_LIVEKIT_PARTICIPANT = "livekit.remove_participant"
CANCEL_ROOM_INVITATIONS = "invitations.cancel_for_room"
CANCEL_USER_INVITATIONS = "invitations.cancel_for_user"


def side_effects(events: Sequence[DomainEvent]) -> SideEffects:
    """The outbox messages and notifications of one transaction's events. Watchers of a room
    get one notification per transaction, of its most telling change."""
    effects = SideEffects()
    changes: dict[str, ChangeKind] = {}
    for event in events:
        match event:
            case RoomChanged(room_id, kind):
                if room_id not in changes or kind.rank > changes[room_id].rank:
                    changes[room_id] = kind
            case RoomEnded(room_id):
                # Everyone off LiveKit, and nobody left invited to a room that is over.
                effects.send(OutboxMessage(END_LIVEKIT_ROOM, {"room_id": room_id}))
                effects.send(OutboxMessage(CANCEL_ROOM_INVITATIONS, {"room_id": room_id}))
            case (
                TakenOffStage(room_id, user_id, at)
                | UserBanned(room_id, user_id, at, room_open=True)
                | ParticipantRefused(room_id, user_id, at)
            ):
                # `since`: a delivery that finds the user seated again after it does nothing.
                payload = {"room_id": room_id, "user_id": user_id, "since": at.isoformat()}
                effects.send(OutboxMessage(REMOVE_LIVEKIT_PARTICIPANT, payload))
        match event:
            case UserBanned(room_id, user_id):
                payload = {"room_id": room_id, "user_id": user_id}
                effects.send(OutboxMessage(CANCEL_USER_INVITATIONS, payload))
    for room_id, kind in changes.items():
        payload = json.dumps({"room_id": room_id, "kind": kind.value})
        effects.notifications.append(Notification(ROOM_EVENTS_CHANNEL, payload))
    return effects


def outbox_deliveries(
    database: Database, broadcast_channel: grpc.aio.Channel, invitation_channel: grpc.aio.Channel
) -> dict[str, Delivery]:
    broadcast = broadcast_service_pb2_grpc.BroadcastServiceStub(broadcast_channel)
    invitations = invitation_service_pb2_grpc.InvitationServiceStub(invitation_channel)

    async def end_livekit_room(payload: dict) -> None:
        await broadcast.EndLiveKitRoom(
            broadcast_service_pb2.EndLiveKitRoomRequest(room_id=payload["room_id"])
        )

    async def remove_livekit_participant(payload: dict) -> None:
        if await seated_again(database, payload):
            return
        await broadcast.RemoveLiveKitParticipant(
            broadcast_service_pb2.RemoveLiveKitParticipantRequest(
                room_id=payload["room_id"], user_id=payload["user_id"]
            )
        )

    async def cancel_invitations(payload: dict) -> None:
        await invitations.CancelRoomInvitations(
            invitation_service_pb2.CancelRoomInvitationsRequest(
                room_id=payload["room_id"], user_id=payload.get("user_id", "")
            )
        )

    return {
        END_LIVEKIT_ROOM: end_livekit_room,
        REMOVE_LIVEKIT_PARTICIPANT: remove_livekit_participant,
        CANCEL_ROOM_INVITATIONS: cancel_invitations,
        CANCEL_USER_INVITATIONS: cancel_invitations,
    }


async def seated_again(database: Database, payload: dict) -> bool:
    """A removal written before the user took a seat again, not banned now: late, so it
    does nothing (LiveKit would otherwise put out a co-host the room has seated since)."""
    since = payload.get("since")
    if since is None:
        return False
    return await database.pool.fetchval(
        """SELECT EXISTS (SELECT 1 FROM room.participants
                          WHERE room_id = $1 AND user_id = $2 AND join_time > $3)
              AND NOT EXISTS (SELECT 1 FROM room.bans
                              WHERE room_id = $1 AND user_id = $2
                                AND (expire_time IS NULL OR expire_time > now()))""",
        payload["room_id"],
        payload["user_id"],
        datetime.fromisoformat(since),
    )

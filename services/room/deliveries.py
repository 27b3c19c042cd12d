"""Deliveries of the room outbox (services.common.outbox): LiveKit side effects through the
broadcast service, pending invitations cancelled by the invitation service. The receivers are
idempotent; the relay retries a failed delivery with backoff until it succeeds."""

from datetime import datetime

import grpc
from costream.broadcast.v1 import broadcast_service_pb2, broadcast_service_pb2_grpc
from costream.invitation.v1 import invitation_service_pb2, invitation_service_pb2_grpc

from services.common.db import Database
from services.common.outbox import Delivery
from services.room.side_effects import (
    CANCEL_ROOM_INVITATIONS,
    CANCEL_USER_INVITATIONS,
    END_LIVEKIT_ROOM,
    REMOVE_LIVEKIT_PARTICIPANT,
)


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

"""Deliveries of the room outbox (services.common.outbox): LiveKit side effects through the
broadcast service, and pending invitations cancelled by the invitation service. The receivers
are idempotent; a failed call is retried by the relay with backoff until it succeeds."""

import grpc
from costream.broadcast.v1 import broadcast_service_pb2, broadcast_service_pb2_grpc
from costream.invitation.v1 import invitation_service_pb2, invitation_service_pb2_grpc

from services.common.outbox import Delivery
from services.room.handlers import (
    CANCEL_ROOM_INVITATIONS,
    END_LIVEKIT_ROOM,
    REMOVE_LIVEKIT_PARTICIPANT,
)


def outbox_deliveries(
    broadcast_channel: grpc.aio.Channel, invitation_channel: grpc.aio.Channel
) -> dict[str, Delivery]:
    broadcast = broadcast_service_pb2_grpc.BroadcastServiceStub(broadcast_channel)
    invitations = invitation_service_pb2_grpc.InvitationServiceStub(invitation_channel)

    async def end_livekit_room(payload: dict) -> None:
        await broadcast.EndLiveKitRoom(
            broadcast_service_pb2.EndLiveKitRoomRequest(room_id=payload["room_id"])
        )

    async def remove_livekit_participant(payload: dict) -> None:
        await broadcast.RemoveLiveKitParticipant(
            broadcast_service_pb2.RemoveLiveKitParticipantRequest(
                room_id=payload["room_id"], user_id=payload["user_id"]
            )
        )

    async def cancel_room_invitations(payload: dict) -> None:
        await invitations.CancelRoomInvitations(
            invitation_service_pb2.CancelRoomInvitationsRequest(room_id=payload["room_id"])
        )

    return {
        END_LIVEKIT_ROOM: end_livekit_room,
        REMOVE_LIVEKIT_PARTICIPANT: remove_livekit_participant,
        CANCEL_ROOM_INVITATIONS: cancel_room_invitations,
    }

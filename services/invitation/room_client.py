"""The room service, as the invitation service sees it: two internal RPCs over one long-lived
channel.

Errors of the room service (ROOM_NOT_FOUND, SEAT_LIMIT_REACHED, ROOM_ENDED, UNAVAILABLE, ...)
reach the caller unchanged through the server interceptor."""

import grpc
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc

from services.invitation.domain import RoomAccess

_ROLE = {room_pb2.PARTICIPANT_ROLE_HOST: "host", room_pb2.PARTICIPANT_ROLE_CO_HOST: "co_host"}
_ENDED = frozenset({room_pb2.ROOM_STATUS_ENDED, room_pb2.ROOM_STATUS_RECORDED})


class RoomClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = room_service_pb2_grpc.RoomServiceStub(channel)

    async def access(self, room_id: str, user_id: str) -> RoomAccess:
        """The room (deleted ones too) and where `user_id` stands in it."""
        reply = await self._stub.GetRoomAccess(
            room_service_pb2.GetRoomAccessRequest(room_id=room_id, user_id=user_id)
        )
        return RoomAccess(
            room_id=reply.room.room_id,
            host_user_id=reply.room.host_user_id,
            ended=reply.room.status in _ENDED,
            deleted=reply.room.deleted,
            user_role=_ROLE.get(reply.role),
            user_banned=reply.banned,
        )

    async def add_co_host(self, room_id: str, user_id: str, invitation_id: str) -> None:
        """Claim a seat for the invitee: atomic in the room service, idempotent per
        invitation."""
        await self._stub.AddCoHost(
            room_service_pb2.AddCoHostRequest(
                room_id=room_id, user_id=user_id, invitation_id=invitation_id
            )
        )

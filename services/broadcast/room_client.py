"""The room service, as the broadcast service sees it: two internal RPCs over one long-lived
channel. Its errors (ROOM_NOT_FOUND, UNAVAILABLE, ...) reach the caller unchanged through the
server interceptor."""

import grpc
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc

from services.broadcast.domain import Role, RoomAccess

_ROLE = {room_pb2.PARTICIPANT_ROLE_HOST: Role.HOST, room_pb2.PARTICIPANT_ROLE_CO_HOST: Role.CO_HOST}
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
            live_chat_enabled=reply.room.live_chat_enabled,
            role=_ROLE.get(reply.role),
            banned=reply.banned,
        )

    async def apply_event(self, event: room_pb2.LiveKitEvent) -> bool:
        """Hand a verified LiveKit event to the room service; True when it changed the room."""
        reply = await self._stub.ApplyLiveKitEvent(
            room_service_pb2.ApplyLiveKitEventRequest(event=event)
        )
        return reply.applied

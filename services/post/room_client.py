"""The room service, as the post service sees it: one internal RPC over a long-lived channel.

Errors of the room service (ROOM_NOT_FOUND, UNAVAILABLE, ...) reach the caller unchanged
through the server interceptor."""

import grpc
from costream.room.v1 import room_service_pb2, room_service_pb2_grpc

from services.post.domain import RoomAccess


class RoomClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = room_service_pb2_grpc.RoomServiceStub(channel)

    async def access(self, room_id: str, user_id: str) -> RoomAccess:
        reply = await self._stub.GetRoomAccess(
            room_service_pb2.GetRoomAccessRequest(room_id=room_id, user_id=user_id)
        )
        return RoomAccess(
            room_id=reply.room.room_id,
            host_user_id=reply.room.host_user_id,
            deleted=reply.room.deleted,
        )

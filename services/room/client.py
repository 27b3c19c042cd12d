"""The room service as its peers (post, invitation, broadcast) see it: internal RPCs over one
long-lived channel. Room errors (ROOM_NOT_FOUND, SEAT_LIMIT_REACHED, UNAVAILABLE, ...) reach
their callers unchanged through the server interceptor."""

from dataclasses import dataclass

import grpc
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc

from services.common.validation import Violations
from services.room import errors

_ROLE = {room_pb2.PARTICIPANT_ROLE_HOST: "host", room_pb2.PARTICIPANT_ROLE_CO_HOST: "co_host"}
_ENDED = frozenset({room_pb2.ROOM_STATUS_ENDED, room_pb2.ROOM_STATUS_RECORDED})


@dataclass(frozen=True)
class RoomAccess:
    """A room (deleted ones too) and where one user stands in it."""

    room_id: str
    host_user_id: str
    ended: bool = False
    deleted: bool = False
    # The user's place on stage: "host", "co_host" or None.
    role: str | None = None
    banned: bool = False
    live_chat_enabled: bool = False
    # The user asked about.
    user_id: str = ""
    moderator_user_ids: tuple[str, ...] = ()

    def require_host(self, user_id: str) -> None:
        if user_id != self.host_user_id:
            raise errors.not_room_host()

    def is_moderator_or_host(self, user_id: str) -> bool:
        """The same rule as services.room.domain.Room.is_moderator_or_host."""
        return user_id == self.host_user_id or user_id in self.moderator_user_ids

    def require_moderator_or_host(self, user_id: str) -> None:
        if not self.is_moderator_or_host(user_id):
            raise errors.not_room_moderator()


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
            ended=reply.room.status in _ENDED,
            deleted=reply.room.deleted,
            role=_ROLE.get(reply.role),
            banned=reply.banned,
            live_chat_enabled=reply.room.live_chat_enabled,
            user_id=user_id,
            moderator_user_ids=tuple(reply.room.moderator_user_ids),
        )

    async def add_co_host(self, room_id: str, user_id: str, invitation_id: str) -> None:
        """Claim a seat for an invitee: atomic, idempotent per invitation."""
        await self._stub.AddCoHost(
            room_service_pb2.AddCoHostRequest(
                room_id=room_id, user_id=user_id, invitation_id=invitation_id
            )
        )

    async def apply_events(self, events: list[room_pb2.LiveKitEvent]) -> int:
        """Hand verified LiveKit events to the room service; how many rooms they changed."""
        reply = await self._stub.ApplyLiveKitEvents(
            room_service_pb2.ApplyLiveKitEventsRequest(events=events)
        )
        return reply.changed_rooms


def check_livekit_event(v: Violations, field: str, event: room_pb2.LiveKitEvent) -> None:
    """What the room service accepts of a LiveKit event (ApplyLiveKitEvent(s))."""
    v.identifier(f"{field}.event_id", event.event_id)
    v.text(f"{field}.event", event.event, min_len=1, max_len=64)
    v.text(f"{field}.room_name", event.room_name, max_len=256)

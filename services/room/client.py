"""The room service as its peers (post, invitation, broadcast) see it: internal RPCs over one
long-lived channel. Room errors (ROOM_NOT_FOUND, SEAT_LIMIT_REACHED, UNAVAILABLE, ...) reach
their callers unchanged through the server interceptor."""

from dataclasses import dataclass, field, replace

import grpc
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.rpc import status_pb2

from services.common.batching import Coalescer
from services.common.errors import rpc_error_from_status
from services.common.validation import Violations
from services.room import errors

_ROLE = {room_pb2.PARTICIPANT_ROLE_HOST: "host", room_pb2.PARTICIPANT_ROLE_CO_HOST: "co_host"}
_ENDED = frozenset({room_pb2.ROOM_STATUS_ENDED, room_pb2.ROOM_STATUS_RECORDED})
# Users of one room asked about in one BatchGetRoomAccess, at most.
MAX_ACCESS_BATCH = 1000
# How long checks of a room wait for the room's batch on its way, at most, before they go.
ACCESS_LINGER = 0.002


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
    # The room as the room service answered it.
    room: room_pb2.Room = field(default_factory=room_pb2.Room, compare=False, repr=False)
    # A direct-streaming room's ingress (only from stream_access).
    ingress_id: str = ""

    def require_host(self, user_id: str) -> None:
        if user_id != self.host_user_id:
            raise errors.not_room_host()

    def is_moderator_or_host(self, user_id: str) -> bool:
        """The same rule as services.room.domain.Room.is_moderator_or_host."""
        return user_id == self.host_user_id or user_id in self.moderator_user_ids

    def require_moderator_or_host(self, user_id: str) -> None:
        if not self.is_moderator_or_host(user_id):
            raise errors.not_room_moderator()


def access_answers(
    user_ids: list[str], reply: room_service_pb2.BatchGetRoomAccessResponse
) -> list[RoomAccess | Exception]:
    """Each user's answer in a batch's reply: the access, or the error GetRoomAccess would
    have raised for them."""
    if [u.user_id for u in reply.users] != user_ids:
        raise RuntimeError("BatchGetRoomAccess answered for other users than asked")
    return [
        rpc_error_from_status(status_pb2.Status.FromString(u.error))
        if u.error
        else _access(reply.room, u.role, u.banned, u.user_id)
        for u in reply.users
    ]


def _access(room: room_pb2.Room, role: int, banned: bool, user_id: str) -> RoomAccess:
    return RoomAccess(
        room_id=room.room_id,
        host_user_id=room.host_user_id,
        ended=room.status in _ENDED,
        deleted=room.deleted,
        role=_ROLE.get(role),
        banned=banned,
        live_chat_enabled=room.live_chat_enabled,
        user_id=user_id,
        moderator_user_ids=tuple(room.moderator_user_ids),
        room=room,
    )


class RoomClient:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        max_access_batch: int = MAX_ACCESS_BATCH,
        access_linger: float = ACCESS_LINGER,
    ) -> None:
        self._stub = room_service_pb2_grpc.RoomServiceStub(channel)
        self._access: Coalescer[str, str, RoomAccess] = Coalescer(
            self._batch_access, max_batch=max_access_batch, linger=access_linger
        )

    async def access(self, room_id: str, user_id: str) -> RoomAccess:
        """The room (deleted ones too) and where the user stands in it, read after this call
        began. Checks of one room that arrive together are asked in one BatchGetRoomAccess
        (services.common.batching); each gets what GetRoomAccess gives it, errors included
        (ROOM_NOT_FOUND, a bad id, UNAVAILABLE)."""
        return await self._access.call(room_id, user_id)

    async def _batch_access(
        self, room_id: str, user_ids: list[str]
    ) -> list[RoomAccess | Exception]:
        reply = await self._stub.BatchGetRoomAccess(
            room_service_pb2.BatchGetRoomAccessRequest(room_id=room_id, user_ids=user_ids)
        )
        return access_answers(user_ids, reply)

    async def add_co_host(self, room_id: str, user_id: str, invitation_id: str) -> None:
        """Claim a seat for an invitee: atomic, idempotent per invitation."""
        await self._stub.AddCoHost(
            room_service_pb2.AddCoHostRequest(
                room_id=room_id, user_id=user_id, invitation_id=invitation_id
            )
        )

    async def stream_access(self, room_id: str, user_id: str) -> RoomAccess:
        """access() with the room's ingress (GetRoomAccess, not batched: a host's own call)."""
        reply = await self._stub.GetRoomAccess(
            room_service_pb2.GetRoomAccessRequest(room_id=room_id, user_id=user_id)
        )
        access = _access(reply.room, reply.role, reply.banned, user_id)
        return replace(access, ingress_id=reply.ingress_id)

    async def attach_ingress(self, room_id: str, ingress_id: str, replaces_ingress_id: str) -> str:
        """Give the room the ingress made for it; returns the one it keeps."""
        reply = await self._stub.AttachIngress(
            room_service_pb2.AttachIngressRequest(
                room_id=room_id, ingress_id=ingress_id, replaces_ingress_id=replaces_ingress_id
            )
        )
        return reply.ingress_id

    async def apply_events(self, events: list[room_pb2.LiveKitEvent]) -> int:
        """Hand verified LiveKit events to the room service; how many rooms they changed."""
        reply = await self._stub.ApplyLiveKitEvents(
            room_service_pb2.ApplyLiveKitEventsRequest(events=events)
        )
        return reply.changed_rooms


# Recording URLs a LiveKit event may carry.
MAX_URL = 2048


def check_livekit_event(v: Violations, field: str, event: room_pb2.LiveKitEvent) -> None:
    """What the room service accepts of a LiveKit event (ApplyLiveKitEvent(s))."""
    v.identifier(f"{field}.event_id", event.event_id)
    v.text(f"{field}.event", event.event, min_len=1, max_len=64)
    v.text(f"{field}.room_name", event.room_name, max_len=256)
    v.text(f"{field}.playback.url", event.playback.url, max_len=MAX_URL)
    v.text(f"{field}.playback.thumbnail_url", event.playback.thumbnail_url, max_len=MAX_URL)
    v.text(f"{field}.live_playback_url", event.live_playback_url, max_len=MAX_URL)

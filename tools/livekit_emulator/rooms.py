"""In-memory rooms, participants, tracks and egress of the emulated LiveKit server.

No I/O here: every change returns the webhook events it causes (without `id` and
`created_at`, which the dispatcher stamps when it sends them, as the real server does).
"""

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from google.protobuf.message import Message
from livekit.protocol import egress as egress_pb
from livekit.protocol import models
from livekit.protocol import room as room_pb
from livekit.protocol.webhook import WebhookEvent

# livekit/protocol utils/guid: a prefix and 12 characters of the shortuuid alphabet.
_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ID_SIZE = 12

ROOM_PREFIX = "RM_"
PARTICIPANT_PREFIX = "PA_"
TRACK_PREFIX = "TR_"
EGRESS_PREFIX = "EG_"
EVENT_PREFIX = "EV_"

# livekit-server pkg/config DefaultConfig.
DEFAULT_EMPTY_TIMEOUT_S = 5 * 60
DEFAULT_DEPARTURE_TIMEOUT_S = 20
MAX_METADATA_SIZE = 512 * 1024
MAX_ATTRIBUTES_SIZE = 64 * 1024
MAX_ROOM_NAME_LENGTH = 256
MAX_PARTICIPANT_IDENTITY_LENGTH = 256
MAX_PARTICIPANT_NAME_LENGTH = 256

_M = TypeVar("_M", bound=Message)

DisconnectReason = models.DisconnectReason
ParticipantState = models.ParticipantInfo.State


def new_sid(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_SIZE))


class NotFound(LookupError):
    """Twirp not_found, 404 in the control API; `message` is the real server's wording."""

    message = "not found"


class RoomNotFound(NotFound):
    message = "requested room does not exist"


class ParticipantNotFound(NotFound):
    message = "participant does not exist"


class TrackNotFound(NotFound):
    message = "track is not found"


class Conflict(Exception):
    """What a client may not do in the state things are in: 409 in the control API."""

    message = "conflict"


class RoomFull(Conflict):
    message = "room has exceeded its max participants"


class PublishNotAllowed(Conflict):
    message = "the participant may not publish this source"


class InvalidRequest(ValueError):
    """A request the real server refuses with invalid_argument; args[0] is its message."""


@dataclass
class _LiveRoom:
    info: models.Room
    participants: dict[str, models.ParticipantInfo] = field(default_factory=dict)
    first_joined_at: float | None = None
    last_left_at: float | None = None


class RoomRegistry:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._rooms: dict[str, _LiveRoom] = {}
        # sid of the last session of each room name, so an egress can end after its room.
        self._last_room_sids: dict[str, str] = {}

    def reset(self) -> None:
        self._rooms.clear()
        self._last_room_sids.clear()

    # --- RoomService --------------------------------------------------------------------

    def create_room(
        self, request: room_pb.CreateRoomRequest
    ) -> tuple[models.Room, list[WebhookEvent]]:
        """An active room is returned as it is, like the real server's in-memory rtc.Room."""
        if not request.name:
            raise InvalidRequest("no room name")
        if len(request.name) > MAX_ROOM_NAME_LENGTH:
            raise InvalidRequest(
                f"room name length exceeds limits: max length {MAX_ROOM_NAME_LENGTH}"
            )
        live = self._rooms.get(request.name)
        if live is not None:
            return self._room_snapshot(live), []
        now = self._clock()
        info = models.Room(
            sid=new_sid(ROOM_PREFIX),
            name=request.name,
            empty_timeout=request.empty_timeout or DEFAULT_EMPTY_TIMEOUT_S,
            departure_timeout=request.departure_timeout or DEFAULT_DEPARTURE_TIMEOUT_S,
            max_participants=request.max_participants,
            metadata=request.metadata,
            creation_time=int(now),
            creation_time_ms=int(now * 1000),
            turn_password=secrets.token_urlsafe(24),
        )
        live = _LiveRoom(info=info)
        self._rooms[request.name] = live
        self._last_room_sids[request.name] = info.sid
        snapshot = self._room_snapshot(live)
        return snapshot, [WebhookEvent(event="room_started", room=snapshot)]

    def list_rooms(self, names: Iterable[str] = ()) -> list[models.Room]:
        wanted = set(names)
        return [
            self._room_snapshot(live)
            for name, live in self._rooms.items()
            if not wanted or name in wanted
        ]

    def get_room(self, name: str) -> models.Room:
        return self._room_snapshot(self._live_room(name))

    def delete_room(self, name: str) -> list[WebhookEvent]:
        self._live_room(name)
        return self._close_room(name, DisconnectReason.ROOM_DELETED)

    def list_participants(self, room_name: str) -> list[models.ParticipantInfo]:
        """A missing room lists no participants, as the real server's LocalStore answers."""
        live = self._rooms.get(room_name)
        if live is None:
            return []
        return [_copy(p) for p in live.participants.values()]

    def get_participant(self, room_name: str, identity: str) -> models.ParticipantInfo:
        return _copy(self._participant(room_name, identity))

    def remove_participant(self, room_name: str, identity: str) -> list[WebhookEvent]:
        self._participant(room_name, identity)
        return self._disconnect(room_name, identity, DisconnectReason.PARTICIPANT_REMOVED)

    def update_participant(
        self, request: room_pb.UpdateParticipantRequest
    ) -> tuple[models.ParticipantInfo, list[WebhookEvent]]:
        """The participant as updated, and the track_unpublished events of the tracks a new
        permission no longer allows (rtc.ParticipantImpl.SetPermission removes them)."""
        participant = self._participant(request.room, request.identity)
        # Empty name/metadata leave them unchanged; an empty attribute value deletes the key.
        if request.name:
            participant.name = request.name
        if request.metadata:
            participant.metadata = request.metadata
        for key, value in request.attributes.items():
            if value:
                participant.attributes[key] = value
            elif key in participant.attributes:
                del participant.attributes[key]
        events: list[WebhookEvent] = []
        if request.HasField("permission"):
            # The permission is replaced as a whole, not merged.
            participant.permission.CopyFrom(request.permission)
            for track in list(participant.tracks):
                if not may_publish(participant.permission, track.source):
                    _, unpublished = self.unpublish_track(request.room, request.identity, track.sid)
                    events += unpublished
        participant.version += 1
        return _copy(participant), events

    def mute_published_track(
        self, request: room_pb.MuteRoomTrackRequest
    ) -> models.TrackInfo | None:
        """None when the participant has no such track: the real server answers an empty track.
        An unmute (allowed by the caller's check of room.enable_remote_unmute) is applied as
        the client would apply the server's request."""
        participant = self._participant(request.room, request.identity)
        for track in participant.tracks:
            if track.sid == request.track_sid:
                track.muted = request.muted
                participant.version += 1
                return _copy(track)
        return None

    def update_room_metadata(self, room_name: str, metadata: str) -> models.Room:
        live = self._live_room(room_name)
        live.info.metadata = metadata
        live.info.version.unix_micro = int(self._clock() * 1_000_000)
        return self._room_snapshot(live)

    # --- what clients, egress and time do (the control API) ------------------------------

    def join(
        self,
        room_name: str,
        identity: str,
        *,
        name: str = "",
        metadata: str = "",
        attributes: dict[str, str] | None = None,
        permission: models.ParticipantPermission | None = None,
        kind: int = models.ParticipantInfo.Kind.STANDARD,
    ) -> tuple[models.ParticipantInfo, list[WebhookEvent]]:
        if not identity:
            raise InvalidRequest("identity cannot be empty")
        if len(identity) > MAX_PARTICIPANT_IDENTITY_LENGTH:
            raise InvalidRequest("participant identity length exceeds limits")
        events: list[WebhookEvent] = []
        if room_name not in self._rooms:
            _, events = self.create_room(room_pb.CreateRoomRequest(name=room_name))
        live = self._rooms[room_name]
        if identity in live.participants:
            events += self._disconnect(room_name, identity, DisconnectReason.DUPLICATE_IDENTITY)
        elif live.info.max_participants and len(live.participants) >= live.info.max_participants:
            raise RoomFull()
        now = self._clock()
        participant = models.ParticipantInfo(
            sid=new_sid(PARTICIPANT_PREFIX),
            identity=identity,
            name=name,
            metadata=metadata,
            attributes=attributes or {},
            state=ParticipantState.ACTIVE,
            joined_at=int(now),
            joined_at_ms=int(now * 1000),
            version=1,
            kind=kind,
            permission=permission
            or models.ParticipantPermission(
                can_subscribe=True, can_publish=True, can_publish_data=True
            ),
        )
        live.participants[identity] = participant
        if live.first_joined_at is None:
            live.first_joined_at = now
        events.append(
            WebhookEvent(
                event="participant_joined",
                room=self._room_snapshot(live),
                participant=_copy(participant),
            )
        )
        return _copy(participant), events

    def leave(
        self,
        room_name: str,
        identity: str,
        reason: int = DisconnectReason.CLIENT_INITIATED,
        *,
        aborted: bool = False,
    ) -> tuple[models.ParticipantInfo, list[WebhookEvent]]:
        self._participant(room_name, identity)
        events = self._disconnect(room_name, identity, reason, aborted=aborted)
        return _copy(events[-1].participant), events

    def publish_track(
        self,
        room_name: str,
        identity: str,
        *,
        track_type: int = models.TrackType.VIDEO,
        source: int = models.TrackSource.CAMERA,
        name: str = "",
        muted: bool = False,
        width: int = 0,
        height: int = 0,
        mime_type: str = "",
    ) -> tuple[models.TrackInfo, list[WebhookEvent]]:
        participant = self._participant(room_name, identity)
        if not may_publish(participant.permission, source):
            # The real server ignores an AddTrack the participant has no permission for.
            raise PublishNotAllowed()
        if track_type == models.TrackType.VIDEO:
            width, height = width or 1280, height or 720
            mime_type = mime_type or "video/VP8"
        else:
            mime_type = mime_type or "audio/opus"
        track = models.TrackInfo(
            sid=new_sid(TRACK_PREFIX),
            type=track_type,
            source=source,
            name=name,
            muted=muted,
            width=width,
            height=height,
            mime_type=mime_type,
        )
        participant.tracks.append(track)
        participant.is_publisher = True
        participant.version += 1
        return _copy(track), [self._track_event("track_published", room_name, participant, track)]

    def unpublish_track(
        self, room_name: str, identity: str, track_sid: str
    ) -> tuple[models.TrackInfo, list[WebhookEvent]]:
        participant = self._participant(room_name, identity)
        for index, track in enumerate(participant.tracks):
            if track.sid == track_sid:
                removed = _copy(track)
                del participant.tracks[index]
                participant.version += 1
                return removed, [
                    self._track_event("track_unpublished", room_name, participant, removed)
                ]
        raise TrackNotFound()

    def finish_room(self, room_name: str) -> list[WebhookEvent]:
        """The room closes as when it idles out: everyone leaves with ROOM_CLOSED."""
        self._live_room(room_name)
        return self._close_room(room_name, DisconnectReason.ROOM_CLOSED)

    def close_idle_rooms(self) -> list[WebhookEvent]:
        """rtc.Room.CloseIfEmpty: empty_timeout counts from creation until someone joins,
        departure_timeout from the last leave after that."""
        now = self._clock()
        events: list[WebhookEvent] = []
        for name, live in list(self._rooms.items()):
            if live.participants:
                continue
            if live.first_joined_at is not None and live.last_left_at is not None:
                elapsed, timeout = now - live.last_left_at, live.info.departure_timeout
            else:
                elapsed, timeout = now - live.info.creation_time_ms / 1000, live.info.empty_timeout
            if elapsed >= timeout:
                events += self._close_room(name, DisconnectReason.ROOM_CLOSED)
        return events

    def end_egress(
        self,
        room_name: str,
        *,
        filename: str,
        location: str,
        duration_s: float,
        size: int = 0,
        egress_id: str = "",
        room_sid: str = "",
        status: int = egress_pb.EgressStatus.EGRESS_COMPLETE,
        error: str = "",
    ) -> tuple[egress_pb.EgressInfo, list[WebhookEvent]]:
        """An ended room-composite egress; egress timestamps and durations are nanoseconds."""
        room_sid = room_sid or self._last_room_sids.get(room_name, "")
        ended_at = int(self._clock() * 1_000_000_000)
        started_at = ended_at - int(duration_s * 1_000_000_000)
        file_info = egress_pb.FileInfo(
            filename=filename,
            location=location,
            started_at=started_at,
            ended_at=ended_at,
            duration=ended_at - started_at,
            size=size,
        )
        info = egress_pb.EgressInfo(
            egress_id=egress_id or new_sid(EGRESS_PREFIX),
            room_id=room_sid,
            room_name=room_name,
            source_type=egress_pb.EgressSourceType.EGRESS_SOURCE_TYPE_WEB,
            status=status,
            started_at=started_at,
            ended_at=ended_at,
            updated_at=ended_at,
            room_composite=egress_pb.RoomCompositeEgressRequest(room_name=room_name),
            file_results=[file_info],
            file=file_info,
            error=error,
        )
        event = WebhookEvent(
            event="egress_ended",
            room=models.Room(sid=room_sid, name=room_name),
            egress_info=info,
        )
        return info, [event]

    def snapshot(self) -> list[tuple[models.Room, list[models.ParticipantInfo]]]:
        return [
            (self._room_snapshot(live), [_copy(p) for p in live.participants.values()])
            for live in self._rooms.values()
        ]

    # --- internals ------------------------------------------------------------------------

    def _live_room(self, name: str) -> _LiveRoom:
        live = self._rooms.get(name)
        if live is None:
            raise RoomNotFound()
        return live

    def _participant(self, room_name: str, identity: str) -> models.ParticipantInfo:
        live = self._rooms.get(room_name)
        participant = live.participants.get(identity) if live else None
        if participant is None:
            raise ParticipantNotFound()
        return participant

    def _room_snapshot(self, live: _LiveRoom) -> models.Room:
        info = _copy(live.info)
        info.num_participants = len(live.participants)
        info.num_publishers = sum(1 for p in live.participants.values() if p.is_publisher)
        return info

    def _disconnect(
        self, room_name: str, identity: str, reason: int, *, aborted: bool = False
    ) -> list[WebhookEvent]:
        live = self._rooms[room_name]
        participant = live.participants.pop(identity)
        participant.state = ParticipantState.DISCONNECTED
        participant.disconnect_reason = reason
        live.last_left_at = self._clock()
        # The real server says connection_aborted for a participant that never became active.
        kind = "participant_connection_aborted" if aborted else "participant_left"
        return [WebhookEvent(event=kind, room=self._room_snapshot(live), participant=participant)]

    def _close_room(self, room_name: str, reason: int) -> list[WebhookEvent]:
        live = self._rooms[room_name]
        events: list[WebhookEvent] = []
        for identity in list(live.participants):
            events += self._disconnect(room_name, identity, reason)
        del self._rooms[room_name]
        events.append(WebhookEvent(event="room_finished", room=self._room_snapshot(live)))
        return events

    def _track_event(
        self,
        kind: str,
        room_name: str,
        participant: models.ParticipantInfo,
        track: models.TrackInfo,
    ) -> WebhookEvent:
        # Track events carry only the participant's sid and identity, as the real server's do.
        return WebhookEvent(
            event=kind,
            room=self._room_snapshot(self._rooms[room_name]),
            participant=models.ParticipantInfo(sid=participant.sid, identity=participant.identity),
            track=_copy(track),
        )


# livekit/protocol auth VideoGrant.GetCanPublishSource, with the sources as tokens spell them.
_SOURCE_NAMES = {
    models.TrackSource.CAMERA: "camera",
    models.TrackSource.MICROPHONE: "microphone",
    models.TrackSource.SCREEN_SHARE: "screen_share",
    models.TrackSource.SCREEN_SHARE_AUDIO: "screen_share_audio",
}


def may_publish(permission: models.ParticipantPermission, source: int) -> bool:
    """No source without can_publish; every source when none is listed; else the listed."""
    if not permission.can_publish:
        return False
    if not permission.can_publish_sources:
        return True
    return source in permission.can_publish_sources


def _copy(message: _M) -> _M:
    clone = type(message)()
    clone.CopyFrom(message)
    return clone

"""Who gets which LiveKit credentials (domain.md "LiveKit credentials"), the LiveKit room a
session needs, and LiveKit webhooks in the terms of the room service. No I/O."""

import calendar
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

import jwt
from costream.broadcast.v1 import broadcast_service_pb2
from costream.room.v1 import room_pb2
from google.protobuf import duration_pb2, json_format
from livekit.api import VideoGrants
from livekit.api.access_token import Claims
from livekit.protocol import egress as egress_pb
from livekit.protocol import ingress as ingress_pb
from livekit.protocol import models
from livekit.protocol import room as livekit_room_pb
from livekit.protocol.webhook import WebhookEvent

from services.broadcast.recording import DEFAULT_OUTPUTS, RecordingOutputs
from services.common.errors import PermissionDenied
from services.common.livekit_names import INGRESS_ENDED, LEAVES, UNKNOWN_REASON
from services.room import errors as room_errors
from services.room.client import RoomAccess


class Role(StrEnum):
    HOST = "host"
    CO_HOST = "co_host"
    VIEWER = "viewer"


# The role table of domain.md; LiveKit's TrackSource names as its tokens spell them.
PUBLISH_SOURCES = {
    Role.HOST: ["camera", "microphone", "screen_share", "screen_share_audio"],
    Role.CO_HOST: ["camera", "microphone"],
}

# A LiveKit room waits this long past the broadcaster token's lifetime for the first join.
EMPTY_TIMEOUT_GRACE = 60
# After the last participant leaves, LiveKit keeps the room until the reconnect window (ours)
# has run out and a little more: our timer ends the room, not LiveKit.
DEPARTURE_TIMEOUT_GRACE = 30
# Everyone in the LiveKit room, viewers included: a ceiling against runaway joins.
MAX_PARTICIPANTS = 10_000
# A direct-streaming room's LiveKit room waits this long for its first participant: the host
# may start the encoder long after getting its settings (no token lifetime bounds it).
DIRECT_STREAMING_EMPTY_TIMEOUT = 24 * 3600


def broadcaster_role(access: RoomAccess) -> Role:
    """The role whose credentials a broadcaster gets; refused for anyone not on stage now."""
    check_viewer(access)
    if access.role not in (Role.HOST, Role.CO_HOST):
        raise room_errors.caller_not_on_stage("broadcast")
    return Role(access.role)


def check_viewer(access: RoomAccess) -> None:
    """Anyone not banned watches a room that has not ended; an ended room has nothing live to
    watch (its recordings are on the room)."""
    if access.banned:
        raise room_errors.user_banned(access.user_id)
    if access.ended or access.deleted:
        raise room_errors.room_ended(access.room_id)


def video_grants(room_id: str, role: Role, live_chat_enabled: bool) -> VideoGrants:
    if role is Role.VIEWER:
        return VideoGrants(
            room_join=True,
            room=room_id,
            can_publish=False,
            can_subscribe=True,
            can_publish_data=live_chat_enabled,
        )
    return VideoGrants(
        room_join=True,
        room=room_id,
        can_publish=True,
        can_publish_sources=list(PUBLISH_SOURCES[role]),
        can_subscribe=True,
        can_publish_data=True,
    )


@dataclass(frozen=True)
class Credentials:
    token: str
    url: str
    expire_time: datetime


class TokenMinter:
    """LiveKit access tokens (HS256 with the API key pair), identity = user id, room =
    room id: the JWTs livekit-api's `AccessToken(...).to_jwt()` signs, byte for byte (tested),
    with the claims of each room and role (its `Claims` of `video_grants`, `asdict`'d) built
    once per process instead of once per token."""

    def __init__(self, api_key: str, api_secret: str, ttl: timedelta, public_url: str) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._ttl = ttl
        self._public_url = public_url

    def __repr__(self) -> str:
        return f"TokenMinter(api_key={self._api_key!r}, ttl={self._ttl})"

    def mint(
        self,
        user_id: str,
        room_id: str,
        role: Role,
        *,
        live_chat_enabled: bool = False,
        now: datetime | None = None,
    ) -> Credentials:
        # AccessToken.to_jwt's own checks and claims, in its order.
        if not user_id or not room_id:
            raise ValueError("identity and room must be set when joining a room")
        now = datetime.now(UTC) if now is None else now
        expires = calendar.timegm((now + self._ttl).utctimetuple())
        claims = dict(room_claims(room_id, role, live_chat_enabled))
        claims.update(
            {
                "sub": user_id,
                "iss": self._api_key,
                "nbf": calendar.timegm(now.utctimetuple()),
                "exp": expires,
            }
        )
        token = jwt.encode(claims, self._api_secret, algorithm="HS256")
        return Credentials(
            token=token, url=self._public_url, expire_time=datetime.fromtimestamp(expires, UTC)
        )


# Rooms whose claims each process keeps (a few hundred bytes per room and role).
ROOM_CLAIMS = 4096


@functools.lru_cache(maxsize=ROOM_CLAIMS)
def room_claims(room_id: str, role: Role, live_chat_enabled: bool) -> Mapping[str, object]:
    """What livekit-api's `Claims.asdict` makes of a token's grants and `role` attribute:
    the same for every user of a room and role. Read-only: a token copies it before adding
    its own claims, and PyJWT only reads the nested ones."""
    claims = Claims(
        video=video_grants(room_id, role, live_chat_enabled), attributes={"role": role.value}
    )
    return MappingProxyType(claims.asdict())


# --- direct streaming (LiveKit ingress) ---


@dataclass(frozen=True)
class StreamSettings:
    """A direct-streaming room's encoder settings (OBS: Server and Stream Key). The key is a
    secret: kept out of repr, so it is never logged by accident."""

    rtmp_url: str
    stream_key: str = field(repr=False)
    whip_url: str


def streams_directly(access: RoomAccess, role: Role) -> bool:
    """The host of a direct-streaming room gets encoder settings instead of a token."""
    return role is Role.HOST and access.room.type == room_pb2.ROOM_TYPE_DIRECT_STREAMING


def check_stream_host(access: RoomAccess, user_id: str) -> None:
    """Only the host of a direct-streaming room that has not ended has a stream key."""
    access.require_host(user_id)
    if access.ended or access.deleted:
        raise room_errors.room_ended(access.room_id)
    if access.room.type != room_pb2.ROOM_TYPE_DIRECT_STREAMING:
        raise room_errors.wrong_room_type(access.room_id)


def create_ingress_request(room: room_pb2.Room) -> ingress_pb.CreateIngressRequest:
    """The room's RTMP ingress: it joins the room's LiveKit room as its host (identity = the
    host's user id, so it is the host's presence), with role=host in its metadata (this
    CreateIngressRequest has no attributes). Transcoded, so viewers get simulcast layers."""
    return ingress_pb.CreateIngressRequest(
        input_type=ingress_pb.RTMP_INPUT,
        name=room.room_id,
        room_name=room.room_id,
        participant_identity=room.host_user_id,
        participant_name=room.host_user_id,
        participant_metadata=json.dumps({"role": Role.HOST.value}, separators=(",", ":")),
        enable_transcoding=True,
    )


def stream_settings(info: ingress_pb.IngressInfo, whip_url: str) -> StreamSettings:
    return StreamSettings(rtmp_url=info.url, stream_key=info.stream_key, whip_url=whip_url)


def stage_changed() -> PermissionDenied:
    return PermissionDenied(
        room_errors.NOT_ON_STAGE, "your place on stage changed while the token was made; ask again"
    )


def _enum_value(enum: object, number: int, prefix: str) -> str:
    """A proto enum value as the API's lower-case name without its prefix (ROOM_STATUS_LIVE:
    "live"); "unspecified" when unknown."""
    return _enum_name(enum, number, prefix + "UNSPECIFIED").removeprefix(prefix).lower()


def room_metadata(room: room_pb2.Room) -> str:
    """The LiveKit room's metadata (domain.md "LiveKit mirrors the room"): what a client SDK's
    `room.metadata` shows of the room. It names the costream room, which also marks the
    LiveKit room as one the broadcast service created (a viewer cannot set room metadata).
    `recording_status` "unspecified" means not recording."""
    return json.dumps(
        {
            "room_id": room.room_id,
            "title": room.title,
            "status": _enum_value(room_pb2.RoomStatus, room.status, "ROOM_STATUS_"),
            "host_user_id": room.host_user_id,
            "seat_template": _enum_value(
                room_pb2.SeatTemplate, room.seat_template, "SEAT_TEMPLATE_"
            ),
            "recording_status": _enum_value(
                room_pb2.RecordingStatus, room.recording_status, "RECORDING_STATUS_"
            ),
            "metadata": json_format.MessageToDict(room.metadata),
        },
        separators=(",", ":"),
    )


def participant_permission(role: Role, live_chat_enabled: bool) -> models.ParticipantPermission:
    """A connected participant's permission for a role, as its token's grants give it
    (video_grants): UpdateParticipant replaces the permission as a whole."""
    if role is Role.VIEWER:
        return models.ParticipantPermission(
            can_subscribe=True, can_publish=False, can_publish_data=live_chat_enabled
        )
    return models.ParticipantPermission(
        can_subscribe=True,
        can_publish=True,
        can_publish_sources=[_SOURCES[source] for source in PUBLISH_SOURCES[role]],
        can_publish_data=True,
    )


# LiveKit's TrackSource of each source name a token lists.
_SOURCES = {
    "camera": models.TrackSource.CAMERA,
    "microphone": models.TrackSource.MICROPHONE,
    "screen_share": models.TrackSource.SCREEN_SHARE,
    "screen_share_audio": models.TrackSource.SCREEN_SHARE_AUDIO,
}


_ROLES = {
    room_pb2.PARTICIPANT_ROLE_HOST: Role.HOST,
    room_pb2.PARTICIPANT_ROLE_CO_HOST: Role.CO_HOST,
}


def role_of(role: int) -> Role:
    """The role a room's ParticipantRole names; unspecified (not on stage) is a viewer's."""
    return _ROLES.get(role, Role.VIEWER)


# LiveKit's TrackSource of each of the room's.
_LIVEKIT_SOURCES = {
    room_pb2.TRACK_SOURCE_CAMERA: models.TrackSource.CAMERA,
    room_pb2.TRACK_SOURCE_MICROPHONE: models.TrackSource.MICROPHONE,
    room_pb2.TRACK_SOURCE_SCREEN_SHARE: models.TrackSource.SCREEN_SHARE,
    room_pb2.TRACK_SOURCE_SCREEN_SHARE_AUDIO: models.TrackSource.SCREEN_SHARE_AUDIO,
}


def tracks_to_mute(
    participant: models.ParticipantInfo, sources: Sequence[int], muted: bool
) -> list[str]:
    """The sids of the participant's tracks of these sources (the room's TrackSource; none:
    every source) whose muted state is not `muted` yet."""
    wanted = {_LIVEKIT_SOURCES[source] for source in sources if source in _LIVEKIT_SOURCES}
    return [
        track.sid
        for track in participant.tracks
        if (not sources or track.source in wanted) and track.muted != muted
    ]


def is_ours(room: models.Room) -> bool:
    """Whether a LiveKit room (a session) is one the broadcast service made for the costream
    room of its name: only such sessions move the room (domain.md "Only our sessions count")."""
    try:
        metadata = json.loads(room.metadata)
    except ValueError:
        return False
    return isinstance(metadata, dict) and metadata.get("room_id") == room.name


def create_room_request(
    room: room_pb2.Room, *, token_ttl: int, reconnect_timeout: int
) -> livekit_room_pb.CreateRoomRequest:
    """The LiveKit room of a session, created before its first broadcaster credential."""
    empty_timeout = token_ttl + EMPTY_TIMEOUT_GRACE
    if room.type == room_pb2.ROOM_TYPE_DIRECT_STREAMING:
        empty_timeout = DIRECT_STREAMING_EMPTY_TIMEOUT
    return livekit_room_pb.CreateRoomRequest(
        name=room.room_id,
        empty_timeout=empty_timeout,
        departure_timeout=reconnect_timeout + DEPARTURE_TIMEOUT_GRACE,
        max_participants=MAX_PARTICIPANTS,
        metadata=room_metadata(room),
    )


def _enum_name(enum: object, value: int, default: str) -> str:
    try:
        return enum.Name(value)  # type: ignore[attr-defined]
    except ValueError:
        return default


def livekit_room_state(
    room: models.Room | None, participants: list[models.ParticipantInfo]
) -> broadcast_service_pb2.LiveKitRoomState:
    """What LiveKit holds for a room, as the room service reconciles it: the people connected
    and ingresses, marked (not egress, agents or SIP, as for webhooks)."""
    if room is None:
        return broadcast_service_pb2.LiveKitRoomState(exists=False)
    state = broadcast_service_pb2.LiveKitRoomState(
        exists=True, room_sid=room.sid, ours=is_ours(room)
    )
    state.create_time.FromSeconds(room.creation_time)
    for participant in participants:
        ingress = participant.kind == models.ParticipantInfo.INGRESS
        if participant.kind != models.ParticipantInfo.STANDARD and not ingress:
            continue
        seen = state.participants.add(
            sid=participant.sid,
            identity=participant.identity,
            can_publish=participant.permission.can_publish,
            ingress=ingress,
        )
        seen.join_time.FromSeconds(participant.joined_at)
    return state


# Participants whose events reach the room service: people, and ingresses (marked; the room
# service counts only a direct-streaming room's host's).
_COUNTED_KINDS = frozenset({models.ParticipantInfo.STANDARD, models.ParticipantInfo.INGRESS})


def to_room_event(
    event: WebhookEvent, outputs: RecordingOutputs = DEFAULT_OUTPUTS
) -> room_pb2.LiveKitEvent | None:
    """A verified webhook in the terms of the room service; None for events of sessions we
    did not create (their room's metadata is not ours) and of participants that are neither
    people nor ingresses (egress, agents, SIP), which count for nothing. Recording outputs are
    given as their playback URLs."""
    # Egress and ingress events name the room only (no metadata): they are judged by the room.
    about_room = not event.HasField("egress_info") and not event.HasField("ingress_info")
    if event.HasField("room") and about_room and not is_ours(event.room):
        return None
    if event.HasField("participant") and event.participant.kind not in _COUNTED_KINDS:
        return None
    out = room_pb2.LiveKitEvent(
        event_id=event.id,
        event=event.event,
        room_name=event.room.name,
        room_sid=event.room.sid,
    )
    if event.created_at:
        out.create_time.FromSeconds(event.created_at)
    if event.HasField("participant"):
        participant = event.participant
        out.participant_identity = participant.identity
        out.participant_sid = participant.sid
        out.participant_can_publish = participant.permission.can_publish
        out.participant_ingress = participant.kind == models.ParticipantInfo.INGRESS
        if event.event in LEAVES:
            out.disconnect_reason = _enum_name(
                models.DisconnectReason, participant.disconnect_reason, UNKNOWN_REASON
            )
    if event.HasField("track"):
        out.track_sid = event.track.sid
    if event.HasField("ingress_info"):
        _ingress_fields(event, out)
    if event.HasField("egress_info"):
        info = event.egress_info
        out.egress_id = info.egress_id
        out.egress_status = _enum_name(egress_pb.EgressStatus, info.status, "")
        out.room_name = out.room_name or info.room_name
        out.room_sid = out.room_sid or info.room_id
        # The first file result, or the older single `file` (empty when absent).
        file = info.file_results[0] if info.file_results else info.file
        out.live_playback_url = outputs.live_playback_url(info)
        if file.location or file.filename:
            nanoseconds = file.duration
            out.playback.CopyFrom(
                room_pb2.RecordedPlayback(
                    url=outputs.playback_url(file.filename, file.location),
                    duration=duration_pb2.Duration(
                        seconds=nanoseconds // 10**9, nanos=nanoseconds % 10**9
                    ),
                )
            )
    return out


def _ingress_fields(event: WebhookEvent, out: room_pb2.LiveKitEvent) -> None:
    """An ingress event names its room in ingress_info (it carries no `room`). Its time is the
    ingress's own, in nanoseconds, when it has one (the encoder's start for ingress_started,
    its end for ingress_ended), so a drop and a reconnect within one second keep their order.
    The stream key it carries is not copied: it is a secret."""
    info = event.ingress_info
    out.ingress_id = info.ingress_id
    out.room_name = out.room_name or info.room_name
    at = info.state.ended_at if event.event == INGRESS_ENDED else info.state.started_at
    if at > 0:
        out.create_time.FromNanoseconds(at)

"""livekit.Ingress: RTMP and WHIP ingress endpoints as livekit-server keeps them
(pkg/service/ingress.go, ioservice_ingress.go), with the encoder played by the control API.

An encoder that connects makes the ingress participant join its room (kind INGRESS) and publish
a video and an audio track, then the state turns ENDPOINT_PUBLISHING (`ingress_started`). When
the participant leaves, for any reason (the encoder drops, DeleteIngress, RemoveParticipant,
the room closing), the state turns ENDPOINT_INACTIVE (`ingress_ended`). livekit-server sends
no webhook for CreateIngress, UpdateIngress or DeleteIngress (only analytics events).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from livekit.api.access_token import Claims
from livekit.protocol import ingress as ingress_pb
from livekit.protocol import models
from livekit.protocol.webhook import WebhookEvent

from tools.livekit_emulator import rooms
from tools.livekit_emulator.rooms import RoomRegistry
from tools.livekit_emulator.twirp import Emit, Methods, TwirpError, permission_denied

INGRESS_PREFIX = "IN_"
# livekit/protocol livekit/attrs.go AttrIngressID.
ATTR_INGRESS_ID = "ingress.ingressID"

Input = ingress_pb.IngressInput
EndpointStatus = ingress_pb.IngressState.Status


class IngressNotFound(rooms.NotFound):
    message = "ingress does not exist"


class IngressRefused(rooms.Conflict):
    """The encoder's connection is refused; args[0] says why."""

    @property
    def message(self) -> str:
        return str(self.args[0])


def invalid_ingress(reason: str) -> TwirpError:
    # livekit/protocol ingress.ErrInvalidIngress.
    return TwirpError("invalid_argument", f"invalid ingress: {reason}")


def invalid_transcoding(reason: str) -> TwirpError:
    return TwirpError("invalid_argument", f"invalid transcoding bypass configuration: {reason}")


@dataclass
class _Ingress:
    info: ingress_pb.IngressInfo
    participant_sid: str = ""  # of the session while an encoder is connected


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


class IngressRegistry:
    def __init__(self, room_registry: RoomRegistry, clock: Callable[[], float] = time.time) -> None:
        self._rooms = room_registry
        self._clock = clock
        self._ingresses: dict[str, _Ingress] = {}

    def reset(self) -> None:
        self._ingresses.clear()

    def create(self, request: ingress_pb.CreateIngressRequest, url: str) -> ingress_pb.IngressInfo:
        info = ingress_pb.IngressInfo(
            ingress_id=rooms.new_sid(INGRESS_PREFIX),
            name=request.name,
            # guid.New(""): 12 random characters.
            stream_key=rooms.new_sid(""),
            url=url,
            input_type=request.input_type,
            room_name=request.room_name,
            participant_identity=request.participant_identity,
            participant_name=request.participant_name,
            participant_metadata=request.participant_metadata,
            reusable=True,
            state=ingress_pb.IngressState(),
        )
        _copy_optional_fields(request, info)
        _validate(info)
        _update_enable_transcoding(info)
        self._ingresses[info.ingress_id] = _Ingress(info)
        return _copy(info)

    def update(self, request: ingress_pb.UpdateIngressRequest) -> ingress_pb.IngressInfo:
        """updateInfoUsingRequest: non-empty fields replace; the encoder, if any, stays."""
        info = self._get(request.ingress_id).info
        updated = _copy(info)
        for name in (
            "name",
            "room_name",
            "participant_identity",
            "participant_name",
            "participant_metadata",
        ):
            if getattr(request, name):
                setattr(updated, name, getattr(request, name))
        _copy_optional_fields(request, updated)
        _validate(updated)
        _update_enable_transcoding(updated)
        if updated.state.status == EndpointStatus.ENDPOINT_ERROR:
            updated.state.status = EndpointStatus.ENDPOINT_INACTIVE
        info.CopyFrom(updated)
        return _copy(info)

    def list_ingress(
        self, room_name: str = "", ingress_id: str = ""
    ) -> list[ingress_pb.IngressInfo]:
        if ingress_id:
            return [_copy(self._get(ingress_id).info)]
        return [
            _copy(i.info)
            for i in self._ingresses.values()
            if not room_name or i.info.room_name == room_name
        ]

    def delete(self, ingress_id: str) -> tuple[ingress_pb.IngressInfo, list[WebhookEvent]]:
        """The encoder is dropped first (its participant leaves, ingress_ended)."""
        events = self.drop(ingress_id) if self._get(ingress_id).participant_sid else []
        info = self._ingresses.pop(ingress_id).info
        info.state.status = EndpointStatus.ENDPOINT_INACTIVE
        return info, events

    def find(self, *, stream_key: str = "", ingress_id: str = "") -> str:
        """The ingress id an encoder names by id or stream key (GetIngressInfo)."""
        if ingress_id:
            return self._get(ingress_id).info.ingress_id
        for found_id, ingress in self._ingresses.items():
            if stream_key and ingress.info.stream_key == stream_key:
                return found_id
        raise IngressNotFound()

    def connect(
        self, ingress_id: str, *, width: int = 1280, height: int = 720
    ) -> tuple[ingress_pb.IngressInfo, list[WebhookEvent]]:
        """An encoder starts publishing: the participant joins and publishes video and audio,
        then the state is ENDPOINT_PUBLISHING (ingress_started)."""
        ingress = self._get(ingress_id)
        info = ingress.info
        if ingress.participant_sid:
            raise IngressRefused("the ingress already has an encoder publishing")
        if info.HasField("enabled") and not info.enabled:
            raise IngressRefused("session is disabled")
        if not info.room_name:
            raise IngressRefused("invalid ingress: no room name")
        # BuildIngressToken: publish, no subscribe, may update its own metadata.
        permission = models.ParticipantPermission(
            can_subscribe=False,
            can_publish=True,
            can_publish_data=True,
            can_update_metadata=True,
        )
        participant, events = self._rooms.join(
            info.room_name,
            info.participant_identity,
            name=info.participant_name,
            metadata=info.participant_metadata,
            attributes={ATTR_INGRESS_ID: info.ingress_id},
            permission=permission,
            kind=models.ParticipantInfo.Kind.INGRESS,
        )
        video, published = self._rooms.publish_track(
            info.room_name,
            info.participant_identity,
            track_type=models.TrackType.VIDEO,
            source=models.TrackSource.CAMERA,
            width=width,
            height=height,
            mime_type="video/H264",
        )
        events += published
        audio, published = self._rooms.publish_track(
            info.room_name,
            info.participant_identity,
            track_type=models.TrackType.AUDIO,
            source=models.TrackSource.MICROPHONE,
        )
        events += published
        ingress.participant_sid = participant.sid
        now = _ns(self._clock())
        info.state.CopyFrom(
            ingress_pb.IngressState(
                status=EndpointStatus.ENDPOINT_PUBLISHING,
                room_id=self._rooms.get_room(info.room_name).sid,
                started_at=now,
                updated_at=now,
                resource_id=rooms.new_sid("IR_"),
                tracks=[video, audio],
            )
        )
        return _copy(info), [*events, _event("ingress_started", info)]

    def drop(self, ingress_id: str) -> list[WebhookEvent]:
        """The encoder disconnects: its participant leaves (then `follow` ends the ingress)."""
        ingress = self._get(ingress_id)
        if not ingress.participant_sid:
            raise IngressRefused("no encoder is publishing to the ingress")
        _, events = self._rooms.leave(ingress.info.room_name, ingress.info.participant_identity)
        return events + self.follow(events)

    def follow(self, events: list[WebhookEvent]) -> list[WebhookEvent]:
        """An ingress whose participant left ends: ENDPOINT_INACTIVE, ingress_ended."""
        ended: list[WebhookEvent] = []
        for event in events:
            if event.event not in ("participant_left", "participant_connection_aborted"):
                continue
            for ingress in self._ingresses.values():
                if ingress.participant_sid and ingress.participant_sid == event.participant.sid:
                    ingress.participant_sid = ""
                    state = ingress.info.state
                    state.status = EndpointStatus.ENDPOINT_INACTIVE
                    state.ended_at = state.updated_at = _ns(self._clock())
                    ended.append(_event("ingress_ended", ingress.info))
        return ended

    def _get(self, ingress_id: str) -> _Ingress:
        ingress = self._ingresses.get(ingress_id)
        if ingress is None:
            raise IngressNotFound()
        return ingress


def _copy_optional_fields(request, info: ingress_pb.IngressInfo) -> None:
    """The fields a Create/UpdateIngressRequest may leave unset, copied when set."""
    for name in ("enable_transcoding", "enabled"):
        if request.HasField(name):
            setattr(info, name, getattr(request, name))
    for name in ("audio", "video"):
        if request.HasField(name):
            getattr(info, name).CopyFrom(getattr(request, name))


def _validate(info: ingress_pb.IngressInfo) -> None:
    """ingress.ValidateForSerialization, for RTMP and WHIP (no room name needed)."""
    if not info.participant_identity:
        raise invalid_ingress("no participant identity")
    if info.bypass_transcoding and info.input_type != Input.WHIP_INPUT:
        raise invalid_transcoding("bypassing transcoding impossible with selected input type")
    transcoding = info.enable_transcoding if info.HasField("enable_transcoding") else None
    if info.input_type == Input.RTMP_INPUT and transcoding is False:
        raise invalid_transcoding("bypassing transcoding impossible with selected input type")
    if info.input_type == Input.WHIP_INPUT and not transcoding:
        for options, kind in ((info.video, "video"), (info.audio, "audio")):
            if options.WhichOneof("encoding_options"):
                raise invalid_transcoding(
                    f"{kind} encoding options must be empty if transcoding is disabled"
                )


def _update_enable_transcoding(info: ingress_pb.IngressInfo) -> None:
    """updateEnableTranscoding: WHIP passes media through unless asked, RTMP transcodes."""
    if not info.HasField("enable_transcoding"):
        info.enable_transcoding = info.input_type != Input.WHIP_INPUT
    info.bypass_transcoding = not info.enable_transcoding


def _event(kind: str, info: ingress_pb.IngressInfo) -> WebhookEvent:
    # IngressStarted/IngressEnded: the room carries only its name.
    return WebhookEvent(event=kind, room=models.Room(name=info.room_name), ingress_info=_copy(info))


def _copy(info: ingress_pb.IngressInfo) -> ingress_pb.IngressInfo:
    clone = ingress_pb.IngressInfo()
    clone.CopyFrom(info)
    return clone


def ensure_ingress_admin(claims: Claims | None) -> None:
    """EnsureIngressAdminPermission."""
    if claims is None or claims.video is None or not claims.video.ingress_admin:
        raise permission_denied()


class IngressService:
    """livekit.Ingress: CreateIngress, UpdateIngress, ListIngress, DeleteIngress."""

    def __init__(
        self, registry: IngressRegistry, emit: Emit, *, rtmp_url: str, whip_url: str
    ) -> None:
        self._registry = registry
        self._emit = emit
        self._urls = {Input.RTMP_INPUT: rtmp_url, Input.WHIP_INPUT: whip_url}
        self.methods: Methods = {
            "CreateIngress": (ingress_pb.CreateIngressRequest, self.create_ingress),
            "UpdateIngress": (ingress_pb.UpdateIngressRequest, self.update_ingress),
            "ListIngress": (ingress_pb.ListIngressRequest, self.list_ingress),
            "DeleteIngress": (ingress_pb.DeleteIngressRequest, self.delete_ingress),
        }

    def create_ingress(
        self, req: ingress_pb.CreateIngressRequest, claims: Claims | None
    ) -> ingress_pb.IngressInfo:
        # The real server checks the input type before the grant.
        if req.input_type == Input.URL_INPUT:
            raise TwirpError("unimplemented", "URL_INPUT is not emulated")
        if req.input_type not in self._urls:
            raise TwirpError("invalid_argument", "invalid ingress type")
        ensure_ingress_admin(claims)
        return self._registry.create(req, self._urls[req.input_type])

    def update_ingress(
        self, req: ingress_pb.UpdateIngressRequest, claims: Claims | None
    ) -> ingress_pb.IngressInfo:
        ensure_ingress_admin(claims)
        return self._registry.update(req)

    def list_ingress(
        self, req: ingress_pb.ListIngressRequest, claims: Claims | None
    ) -> ingress_pb.ListIngressResponse:
        ensure_ingress_admin(claims)
        return ingress_pb.ListIngressResponse(
            items=self._registry.list_ingress(req.room_name, req.ingress_id)
        )

    def delete_ingress(
        self, req: ingress_pb.DeleteIngressRequest, claims: Claims | None
    ) -> ingress_pb.IngressInfo:
        ensure_ingress_admin(claims)
        info, events = self._registry.delete(req.ingress_id)
        self._emit(events)
        return info

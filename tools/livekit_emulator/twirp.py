"""The Twirp APIs (livekit.RoomService, livekit.Egress, livekit.Ingress), answered the way
livekit-server answers them.

Two layers, as in the real server:
- the API-key middleware (pkg/service/auth.go): a malformed or badly signed token is
  refused with HTTP 401 and a *plain-text* body, before Twirp sees the request; no token at
  all passes through without grants;
- the Twirp handlers (pkg/service/roomservice.go, egress.go, ingress.go): a missing grant is Twirp
  `unauthenticated` "permissions denied" (HTTP 401, JSON), and errors are Twirp JSON
  `{"code","msg"[,"meta"]}` with Twirp's HTTP status for the code.
"""

import json
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

import jwt
import structlog
from aiohttp import web
from google.protobuf.json_format import MessageToJson, Parse, ParseError
from google.protobuf.message import DecodeError, Message
from livekit.api import TokenVerifier
from livekit.api.access_token import Claims
from livekit.protocol import models
from livekit.protocol import room as room_pb
from livekit.protocol.webhook import WebhookEvent

from tools.livekit_emulator import rooms
from tools.livekit_emulator.rooms import RoomRegistry

PATH_PREFIX = "/twirp"
# twitchtv/twirp writes exactly this, without a charset; LiveKit's Node SDK compares it as is.
JSON_CONTENT_TYPE = "application/json"

# twitchtv/twirp ServerHTTPStatusFromErrorCode.
HTTP_STATUS = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}

BEARER = "Bearer "

log = structlog.get_logger("livekit_emulator.twirp")


class TwirpError(Exception):
    def __init__(self, code: str, msg: str, meta: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.meta = meta or {}

    def response(self) -> web.Response:
        body: dict = {"code": self.code, "msg": self.msg}
        if self.meta:
            body["meta"] = self.meta
        return web.Response(
            body=json.dumps(body, separators=(",", ":")).encode(),
            status=HTTP_STATUS[self.code],
            headers={"Content-Type": JSON_CONTENT_TYPE},
        )


class AuthRejected(Exception):
    """The middleware's answer: HTTP 401 with the error text as a plain body."""


def permission_denied() -> TwirpError:
    return TwirpError("unauthenticated", "permissions denied")


def limit_exceeded(what: str, limit: int) -> TwirpError:
    # twirp.InvalidArgumentError(argument, validationMsg)
    return TwirpError("invalid_argument", f"{what} {limit}", {"argument": what})


@dataclass
class CallRecord:
    method: str
    room: str
    identity: str
    code: str
    at: float


class CallLog:
    """How many Twirp calls arrived (every service), per method and per outcome code."""

    def __init__(self) -> None:
        self.records: deque[CallRecord] = deque(maxlen=1000)
        self.counts: dict[str, Counter[str]] = {}

    def add(self, method: str, request: Message | None, code: str) -> None:
        room = _room_of(request)
        identity = getattr(request, "identity", "")
        self.records.append(CallRecord(method, room, identity, code, time.time()))
        self.counts.setdefault(method, Counter())[code] += 1

    def as_dict(self) -> dict:
        return {
            "counts": {
                method: {"received": sum(codes.values()), "ok": codes["ok"], "by_code": dict(codes)}
                for method, codes in sorted(self.counts.items())
            },
            "log": [vars(r) for r in self.records],
        }

    def reset(self) -> None:
        self.records.clear()
        self.counts.clear()


def authenticate(request: web.Request, verifier: TokenVerifier) -> Claims | None:
    """APIKeyAuthMiddleware: None when no token was sent at all."""
    header = request.headers.get("Authorization", "")
    if header:
        if not header.startswith(BEARER):
            raise AuthRejected("invalid authorization header. Must start with Bearer ")
        token = header[len(BEARER) :]
    else:
        token = request.query.get("access_token", "")
    if not token:
        return None
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthRejected("invalid authorization token") from exc
    if unverified.get("iss") != verifier.api_key:
        raise AuthRejected("invalid API key")
    try:
        return verifier.verify(token)
    except jwt.PyJWTError as exc:
        raise AuthRejected(f"invalid authorization token: {_jwt_reason(exc)}") from exc


def _jwt_reason(exc: jwt.PyJWTError) -> str:
    """The golang-jwt/v5 wording the real server puts after the colon."""
    if isinstance(exc, jwt.InvalidSignatureError):
        return "token signature is invalid: signature is invalid"
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token has invalid claims: token is expired"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "token has invalid claims: token is not valid yet"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        missing = f"token is missing required claim: {exc.claim} claim is required"
        return f"token has invalid claims: {missing}"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "token has invalid claims: token has invalid issuer"
    return str(exc)


def ensure_create(claims: Claims | None) -> None:
    if claims is None or claims.video is None or not claims.video.room_create:
        raise permission_denied()


def ensure_list(claims: Claims | None) -> None:
    if claims is None or claims.video is None or not claims.video.room_list:
        raise permission_denied()


def ensure_admin(claims: Claims | None, room_name: str) -> None:
    if claims is None or claims.video is None:
        raise permission_denied()
    if not claims.video.room_admin or claims.video.room != room_name:
        raise permission_denied()


def _check_metadata(metadata: str) -> None:
    if len(metadata.encode()) > rooms.MAX_METADATA_SIZE:
        raise limit_exceeded("metadata size exceeds limits", rooms.MAX_METADATA_SIZE)


Emit = Callable[[list[WebhookEvent]], None]
Method = Callable[[Message, Claims | None], Message]
# method name -> (request type, handler)
Methods = dict[str, tuple[type[Message], Method]]


class RoomService:
    """The RoomService methods: request and token claims in, response out; the webhook
    events a call causes go to `emit`."""

    def __init__(
        self, registry: RoomRegistry, emit: Emit, *, enable_remote_unmute: bool = False
    ) -> None:
        self._registry = registry
        self._emit = emit
        self._enable_remote_unmute = enable_remote_unmute
        self.methods: Methods = {
            "CreateRoom": (room_pb.CreateRoomRequest, self.create_room),
            "ListRooms": (room_pb.ListRoomsRequest, self.list_rooms),
            "DeleteRoom": (room_pb.DeleteRoomRequest, self.delete_room),
            "ListParticipants": (room_pb.ListParticipantsRequest, self.list_participants),
            "GetParticipant": (room_pb.RoomParticipantIdentity, self.get_participant),
            "RemoveParticipant": (room_pb.RoomParticipantIdentity, self.remove_participant),
            "MutePublishedTrack": (room_pb.MuteRoomTrackRequest, self.mute_published_track),
            "UpdateParticipant": (room_pb.UpdateParticipantRequest, self.update_participant),
            "UpdateSubscriptions": (room_pb.UpdateSubscriptionsRequest, self.update_subscriptions),
            "SendData": (room_pb.SendDataRequest, self.send_data),
            "UpdateRoomMetadata": (room_pb.UpdateRoomMetadataRequest, self.update_room_metadata),
            "ForwardParticipant": (room_pb.ForwardParticipantRequest, self.not_implemented),
            "MoveParticipant": (room_pb.MoveParticipantRequest, self.not_implemented),
            "PerformRpc": (room_pb.PerformRpcRequest, self.not_implemented),
        }

    def create_room(self, req: room_pb.CreateRoomRequest, claims: Claims | None) -> models.Room:
        ensure_create(claims)
        if len(req.name) > rooms.MAX_ROOM_NAME_LENGTH:
            raise TwirpError(
                "invalid_argument",
                f"room name length exceeds limits: max length {rooms.MAX_ROOM_NAME_LENGTH}",
            )
        _check_metadata(req.metadata)
        room, events = self._registry.create_room(req)
        self._emit(events)
        return room

    def list_rooms(
        self, req: room_pb.ListRoomsRequest, claims: Claims | None
    ) -> room_pb.ListRoomsResponse:
        ensure_list(claims)
        return room_pb.ListRoomsResponse(rooms=self._registry.list_rooms(req.names))

    def delete_room(
        self, req: room_pb.DeleteRoomRequest, claims: Claims | None
    ) -> room_pb.DeleteRoomResponse:
        ensure_create(claims)
        self._emit(self._registry.delete_room(req.room))
        return room_pb.DeleteRoomResponse()

    def list_participants(
        self, req: room_pb.ListParticipantsRequest, claims: Claims | None
    ) -> room_pb.ListParticipantsResponse:
        ensure_admin(claims, req.room)
        return room_pb.ListParticipantsResponse(
            participants=self._registry.list_participants(req.room)
        )

    def get_participant(
        self, req: room_pb.RoomParticipantIdentity, claims: Claims | None
    ) -> models.ParticipantInfo:
        ensure_admin(claims, req.room)
        return self._registry.get_participant(req.room, req.identity)

    def remove_participant(
        self, req: room_pb.RoomParticipantIdentity, claims: Claims | None
    ) -> room_pb.RemoveParticipantResponse:
        ensure_admin(claims, req.room)
        self._emit(self._registry.remove_participant(req.room, req.identity))
        return room_pb.RemoveParticipantResponse()

    def mute_published_track(
        self, req: room_pb.MuteRoomTrackRequest, claims: Claims | None
    ) -> room_pb.MuteRoomTrackResponse:
        ensure_admin(claims, req.room)
        self._registry.get_participant(req.room, req.identity)
        # room.enable_remote_unmute defaults to false on the real server.
        if not req.muted and not self._enable_remote_unmute:
            raise TwirpError("failed_precondition", "remote unmute not enabled")
        track = self._registry.mute_published_track(req)
        return room_pb.MuteRoomTrackResponse(track=track)

    def update_participant(
        self, req: room_pb.UpdateParticipantRequest, claims: Claims | None
    ) -> models.ParticipantInfo:
        # The real server checks limits before permissions here.
        if len(req.name) > rooms.MAX_PARTICIPANT_NAME_LENGTH:
            raise limit_exceeded("name length exceeds limits", rooms.MAX_PARTICIPANT_NAME_LENGTH)
        _check_metadata(req.metadata)
        if sum(len(k) + len(v) for k, v in req.attributes.items()) > rooms.MAX_ATTRIBUTES_SIZE:
            raise limit_exceeded("attribute size exceeds limits", rooms.MAX_ATTRIBUTES_SIZE)
        ensure_admin(claims, req.room)
        participant, events = self._registry.update_participant(req)
        self._emit(events)
        return participant

    def update_subscriptions(
        self, req: room_pb.UpdateSubscriptionsRequest, claims: Claims | None
    ) -> room_pb.UpdateSubscriptionsResponse:
        ensure_admin(claims, req.room)
        self._registry.get_participant(req.room, req.identity)
        return room_pb.UpdateSubscriptionsResponse()

    def send_data(
        self, req: room_pb.SendDataRequest, claims: Claims | None
    ) -> room_pb.SendDataResponse:
        ensure_admin(claims, req.room)
        if req.nonce and len(req.nonce) != 16:
            raise TwirpError(
                "invalid_argument",
                f"nonce should be 16-bytes or not present, got: {len(req.nonce)} bytes",
            )
        self._registry.get_room(req.room)
        return room_pb.SendDataResponse()

    def update_room_metadata(
        self, req: room_pb.UpdateRoomMetadataRequest, claims: Claims | None
    ) -> models.Room:
        _check_metadata(req.metadata)
        ensure_admin(claims, req.room)
        return self._registry.update_room_metadata(req.room, req.metadata)

    def not_implemented(self, req: Message, claims: Claims | None) -> Message:
        raise TwirpError("unimplemented", "not implemented by the LiveKit emulator")


class TwirpHandler:
    """aiohttp handler for every path under /twirp/: `services` maps a Twirp service name
    (`livekit.RoomService`) to its methods."""

    def __init__(
        self, services: dict[str, Methods], verifier: TokenVerifier, calls: CallLog
    ) -> None:
        self._services = services
        self._verifier = verifier
        self._calls = calls
        # An outage played by the control API: every call answers 503, as a load balancer in
        # front of a LiveKit that is down does.
        self.down = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        service_name, method_name = _route_of(request.path)
        methods = self._services.get(service_name, {})
        known = method_name in methods
        if self.down:
            if known:
                self._calls.add(method_name, None, "outage")
            return web.Response(status=503, text="no healthy upstream")
        try:
            claims = authenticate(request, self._verifier)
        except AuthRejected as exc:
            if known:
                self._calls.add(method_name, None, "unauthenticated")
            log.warning("api_auth_rejected", path=request.path, reason=str(exc))
            return web.Response(status=401, text=str(exc))

        try:
            if request.method != "POST":
                raise TwirpError(
                    "bad_route",
                    f'unsupported method "{request.method}" (only POST is allowed)',
                    {"twirp_invalid_route": f"{request.method} {request.path}"},
                )
            if not known:
                raise TwirpError(
                    "bad_route",
                    f'no handler for path "{request.path}"',
                    {"twirp_invalid_route": f"{request.method} {request.path}"},
                )
            request_type, handler = methods[method_name]
            message, as_json = await _read_request(request, request_type)
        except TwirpError as err:
            if known:
                self._calls.add(method_name, None, err.code)
            return err.response()

        bound = log.bind(rpc=method_name, room=_room_of(message))
        try:
            answer = handler(message, claims)
        except TwirpError as err:
            return self._fail(bound, method_name, message, err)
        except rooms.NotFound as exc:
            return self._fail(bound, method_name, message, TwirpError("not_found", exc.message))
        except rooms.InvalidRequest as exc:
            return self._fail(bound, method_name, message, TwirpError("invalid_argument", str(exc)))
        self._calls.add(method_name, message, "ok")
        bound.info("api_call", code="ok")
        return _write_response(answer, as_json)

    def _fail(self, bound, method_name: str, message: Message, err: TwirpError) -> web.Response:
        self._calls.add(method_name, message, err.code)
        bound.info("api_call", code=err.code, msg=err.msg)
        return err.response()


def _route_of(path: str) -> tuple[str, str]:
    """(service, method) of /twirp/<service>/<method>; empty strings for any other path."""
    parts = path.split("/")
    if len(parts) != 4 or f"/{parts[1]}" != PATH_PREFIX:
        return "", ""
    return parts[2], parts[3]


def _room_of(message: Message | None) -> str:
    return (
        getattr(message, "room", "")
        or getattr(message, "room_name", "")
        or getattr(message, "name", "")
    )


async def _read_request(request: web.Request, request_type: type[Message]) -> tuple[Message, bool]:
    content_type = request.headers.get("Content-Type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    body = await request.read()
    message = request_type()
    if media_type == "application/protobuf":
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise TwirpError("malformed", "the protobuf request could not be decoded") from exc
        return message, False
    if media_type == "application/json":
        try:
            Parse(body or b"{}", message, ignore_unknown_fields=True)
        except (ParseError, ValueError) as exc:
            raise TwirpError("malformed", "the json request could not be decoded") from exc
        return message, True
    invalid_route = {"twirp_invalid_route": f"{request.method} {request.path}"}
    raise TwirpError("bad_route", f'unexpected Content-Type: "{content_type}"', invalid_route)


def _write_response(answer: Message, as_json: bool) -> web.Response:
    if as_json:
        # Twirp's default JSON: proto field names, unpopulated fields included.
        text = MessageToJson(
            answer,
            preserving_proto_field_name=True,
            indent=None,
            always_print_fields_with_no_presence=True,
        )
        return web.Response(body=text.encode(), headers={"Content-Type": JSON_CONTENT_TYPE})
    return web.Response(body=answer.SerializeToString(), content_type="application/protobuf")

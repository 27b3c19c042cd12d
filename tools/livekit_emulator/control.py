"""The control API under /emulator/: what clients, egress and time would do to a real server.

JSON in, JSON out; protobuf messages are rendered with their proto field names.
Errors are `{"error": "..."}` with 400 (bad input), 404 (no such room, participant, track,
egress or ingress) or 409 (not in this state: room full, source not allowed, egress ended,
encoder refused). No authentication: it is a local test tool.
"""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from livekit.protocol import egress as egress_pb
from livekit.protocol import models

from tools.livekit_emulator import rooms
from tools.livekit_emulator.twirp import TwirpHandler
from tools.livekit_emulator.webhooks import WebhookLoss

if TYPE_CHECKING:
    from tools.livekit_emulator.server import LiveKitEmulator

PREFIX = "/emulator"

Handler = Callable[[web.Request], Awaitable[web.Response]]


class BadInput(ValueError):
    pass


def proto_dict(message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


class ControlApi:
    def __init__(self, emulator: "LiveKitEmulator", twirp: TwirpHandler) -> None:
        self._emulator = emulator
        self._registry = emulator.registry
        self._egress = emulator.egress_registry
        self._ingress = emulator.ingress_registry
        self._webhooks = emulator.webhooks
        self._emit = emulator.emit
        self._calls = emulator.calls
        self._twirp = twirp

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(f"{PREFIX}/participants/join", self._guard(self.join)),
            web.post(f"{PREFIX}/participants/leave", self._guard(self.leave)),
            web.post(f"{PREFIX}/tracks/publish", self._guard(self.publish)),
            web.post(f"{PREFIX}/tracks/unpublish", self._guard(self.unpublish)),
            web.post(f"{PREFIX}/rooms/finish", self._guard(self.finish)),
            web.post(f"{PREFIX}/egress/ended", self._guard(self.egress_ended)),
            web.post(f"{PREFIX}/egress/behaviour", self._guard(self.egress_behaviour)),
            web.post(f"{PREFIX}/ingress/connect", self._guard(self.ingress_connect)),
            web.post(f"{PREFIX}/ingress/drop", self._guard(self.ingress_drop)),
            web.get(f"{PREFIX}/state", self._guard(self.state)),
            web.get(f"{PREFIX}/calls", self._guard(self.calls)),
            web.get(f"{PREFIX}/events", self._guard(self.events)),
            web.post(f"{PREFIX}/reset", self._guard(self.reset)),
            web.post(f"{PREFIX}/webhooks/urls", self._guard(self.set_webhook_urls)),
            web.post(f"{PREFIX}/webhooks/drain", self._guard(self.drain_webhooks)),
            web.post(f"{PREFIX}/webhooks/loss", self._guard(self.lose_webhooks)),
            web.post(f"{PREFIX}/outage", self._guard(self.outage)),
        ]

    async def join(self, request: web.Request) -> web.Response:
        body = await _body(request)
        permission = None
        if "permission" in body:
            permission = _parse(body["permission"], models.ParticipantPermission())
        participant, events = self._registry.join(
            _required(body, "room"),
            _required(body, "identity"),
            name=_text(body, "name"),
            metadata=_text(body, "metadata"),
            attributes={str(k): str(v) for k, v in (body.get("attributes") or {}).items()},
            permission=permission,
            kind=_enum(models.ParticipantInfo.Kind, body.get("kind", "STANDARD"), "kind"),
        )
        self._emit(events)
        room = self._registry.get_room(body["room"])
        return web.json_response({"participant": proto_dict(participant), "room": proto_dict(room)})

    async def leave(self, request: web.Request) -> web.Response:
        body = await _body(request)
        reason = _enum(models.DisconnectReason, body.get("reason", "CLIENT_INITIATED"), "reason")
        participant, events = self._registry.leave(
            _required(body, "room"),
            _required(body, "identity"),
            reason,
            aborted=bool(body.get("aborted", False)),
        )
        self._emit(events)
        return web.json_response({"participant": proto_dict(participant)})

    async def publish(self, request: web.Request) -> web.Response:
        body = await _body(request)
        track, events = self._registry.publish_track(
            _required(body, "room"),
            _required(body, "identity"),
            track_type=_enum(models.TrackType, body.get("type", "VIDEO"), "type"),
            source=_enum(models.TrackSource, body.get("source", "CAMERA"), "source"),
            name=_text(body, "name"),
            muted=bool(body.get("muted", False)),
            width=int(body.get("width", 0)),
            height=int(body.get("height", 0)),
            mime_type=_text(body, "mime_type"),
        )
        self._emit(events)
        return web.json_response({"track": proto_dict(track)})

    async def unpublish(self, request: web.Request) -> web.Response:
        body = await _body(request)
        track, events = self._registry.unpublish_track(
            _required(body, "room"), _required(body, "identity"), _required(body, "track_sid")
        )
        self._emit(events)
        return web.json_response({"track": proto_dict(track)})

    async def finish(self, request: web.Request) -> web.Response:
        body = await _body(request)
        events = self._registry.finish_room(_required(body, "room"))
        self._emit(events)
        return web.json_response({"room": proto_dict(events[-1].room)})

    async def egress_ended(self, request: web.Request) -> web.Response:
        """An egress the emulator runs ends through its lifecycle; any other id (or none) sends
        a bare egress_ended for the room, as before egress was emulated."""
        body = await _body(request)
        egress_id = _text(body, "egress_id")
        status = _enum(egress_pb.EgressStatus, body.get("status", "EGRESS_COMPLETE"), "status")
        try:
            duration_s = float(body["duration_seconds"]) if "duration_seconds" in body else None
            size = int(body["size"]) if "size" in body else None
        except (TypeError, ValueError) as exc:
            raise BadInput("duration_seconds and size must be numbers") from exc
        if self._egress.knows(egress_id):
            info = self._emulator.egress_service.end(
                egress_id,
                status,
                error=_text(body, "error"),
                duration_s=duration_s,
                size=size,
                location=_text(body, "location"),
            )
            return web.json_response({"egress_info": proto_dict(info)})
        room_name = _required(body, "room")
        egress_id = egress_id or rooms.new_sid(rooms.EGRESS_PREFIX)
        filename = _text(body, "filename") or f"{room_name}-{egress_id}.mp4"
        info, events = self._registry.end_egress(
            room_name,
            filename=filename,
            location=_text(body, "location") or f"/recordings/{filename}",
            duration_s=60 if duration_s is None else duration_s,
            size=size or 0,
            egress_id=egress_id,
            room_sid=_text(body, "room_sid"),
            status=status,
            error=_text(body, "error"),
        )
        self._emit(events)
        return web.json_response({"egress_info": proto_dict(info)})

    async def egress_behaviour(self, request: web.Request) -> web.Response:
        body = await _body(request)
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int):
            raise BadInput("count must be a whole number")
        self._egress.set_behaviour(
            _text(body, "room"), _required(body, "mode"), _text(body, "error"), count
        )
        return web.json_response({"behaviours": self._egress.behaviours()})

    async def ingress_connect(self, request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            width, height = int(body.get("width", 1280)), int(body.get("height", 720))
        except (TypeError, ValueError) as exc:
            raise BadInput("width and height must be numbers") from exc
        info, events = self._ingress.connect(self._ingress_id(body), width=width, height=height)
        self._emit(events)
        participant = self._registry.get_participant(info.room_name, info.participant_identity)
        return web.json_response(
            {"ingress_info": proto_dict(info), "participant": proto_dict(participant)}
        )

    async def ingress_drop(self, request: web.Request) -> web.Response:
        body = await _body(request)
        ingress_id = self._ingress_id(body)
        self._emit(self._ingress.drop(ingress_id))
        (info,) = self._ingress.list_ingress(ingress_id=ingress_id)
        return web.json_response({"ingress_info": proto_dict(info)})

    def _ingress_id(self, body: dict[str, Any]) -> str:
        """The ingress an encoder names, by stream key or ingress id; refused when unknown,
        as the RTMP and WHIP servers refuse an unknown stream key."""
        stream_key, ingress_id = _text(body, "stream_key"), _text(body, "ingress_id")
        if not stream_key and not ingress_id:
            raise BadInput("stream_key or ingress_id is required")
        return self._ingress.find(stream_key=stream_key, ingress_id=ingress_id)

    async def outage(self, request: web.Request) -> web.Response:
        body = await _body(request)
        self._twirp.down = bool(body.get("down", True))
        return web.json_response({"down": self._twirp.down})

    async def state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "rooms": [
                    {
                        "room": proto_dict(room),
                        "participants": [proto_dict(p) for p in participants],
                    }
                    for room, participants in self._registry.snapshot()
                ],
                "egresses": [proto_dict(info) for info in self._egress.list_egress()],
                "egress_behaviours": self._egress.behaviours(),
                "ingresses": [proto_dict(info) for info in self._ingress.list_ingress()],
                "webhook_urls": list(self._webhooks.urls),
            }
        )

    async def calls(self, request: web.Request) -> web.Response:
        return web.json_response(self._calls.as_dict())

    async def events(self, request: web.Request) -> web.Response:
        return web.json_response({"events": [e.as_dict() for e in self._webhooks.recent]})

    async def reset(self, request: web.Request) -> web.Response:
        self._emulator.reset()
        await self._webhooks.reset()
        return web.json_response({"ok": True})

    async def set_webhook_urls(self, request: web.Request) -> web.Response:
        body = await _body(request)
        urls = body.get("urls")
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise BadInput("urls must be a list of strings")
        self._webhooks.set_urls(tuple(urls))
        return web.json_response({"urls": urls})

    async def drain_webhooks(self, request: web.Request) -> web.Response:
        body = await _body(request)
        drained = await self._webhooks.drain(float(body.get("timeout_seconds", 10)))
        return web.json_response({"drained": drained})

    async def lose_webhooks(self, request: web.Request) -> web.Response:
        body = await _body(request)
        share = body.get("share")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise BadInput("share must be a number from 0 to 1")
        events = body.get("events")
        if events is not None and (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and e for e in events)
        ):
            raise BadInput("events must be a non-empty list of event names, or left out")
        room = body.get("room")
        if room is not None and not isinstance(room, str):
            raise BadInput("room must be a string")
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise BadInput("seed must be a whole number")
        self._webhooks.loss = WebhookLoss(
            share=float(share), events=frozenset(events or ()), room=room or "", seed=seed
        )
        return web.json_response(self._webhooks.loss.as_dict())

    @staticmethod
    def _guard(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.Response:
            try:
                return await handler(request)
            except rooms.NotFound as exc:
                return web.json_response({"error": exc.message}, status=404)
            except rooms.Conflict as exc:
                return web.json_response({"error": exc.message}, status=409)
            except (BadInput, rooms.InvalidRequest) as exc:
                return web.json_response({"error": str(exc)}, status=400)

        return guarded


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError as exc:
        raise BadInput("body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise BadInput("body must be a JSON object")
    return body


def _required(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadInput(f"{key} is required")
    return value


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise BadInput(f"{key} must be a string")
    return value


def _enum(enum_type, name: Any, field: str) -> int:
    try:
        return enum_type.Value(str(name).upper())
    except ValueError as exc:
        raise BadInput(f"{field} must be one of {', '.join(enum_type.keys())}") from exc


def _parse(value: Any, message):
    try:
        return ParseDict(value, message)
    except ParseError as exc:
        raise BadInput(str(exc)) from exc

"""`POST /livekit/webhook`: LiveKit webhooks verified with livekit-api's WebhookReceiver on the
raw body, handed to the room service, and answered 200 only once it applied them, so LiveKit
retries anything not applied (503 while the room service is down). A bad signature or body
hash is 401 and nothing is applied."""

import grpc
import structlog
from aiohttp import web
from google.protobuf.json_format import ParseError
from livekit.api import TokenVerifier, WebhookReceiver

from services.broadcast import domain, handlers
from services.common import observability
from services.common.config import Settings

log = structlog.get_logger()

WEBHOOK_PATH = "/livekit/webhook"
# The room service refused the event itself: retrying cannot help.
_REFUSED = frozenset({grpc.StatusCode.INVALID_ARGUMENT})


class WebhookServer:
    def __init__(self, settings: Settings, broadcast: handlers.Broadcast) -> None:
        self._host = settings.bind_host
        self._port = settings.broadcast_http_port
        self._receiver = WebhookReceiver(
            TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret)
        )
        self._b = broadcast
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:
        return f"WebhookServer(port={self._port})"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(WEBHOOK_PATH, self.receive)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("webhooks listening", address=f"{self._host}:{self._port}", path=WEBHOOK_PATH)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        authorization = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        try:
            event = self._receiver.receive(raw.decode("utf-8"), authorization)
        except (UnicodeDecodeError, ParseError):
            log.warning("webhook refused: not a LiveKit event", size=len(raw))
            observability.WEBHOOKS.labels("unknown", "malformed").inc()
            return web.Response(status=400, text="not a LiveKit webhook event")
        except Exception as e:  # a bad or expired signature, or a body that does not match it
            log.warning("webhook refused: not signed by LiveKit", error=type(e).__name__)
            observability.WEBHOOKS.labels("unknown", "unauthorized").inc()
            return web.Response(status=401, text="invalid webhook signature")
        bound = log.bind(event_id=event.id, event=event.event, room_id=event.room.name)
        room_event = domain.to_room_event(event)
        if room_event is None:
            observability.WEBHOOKS.labels(event.event, "ignored").inc()
            return web.Response(text="ignored")
        try:
            applied = await self._b.rooms.apply_event(room_event)
        except grpc.aio.AioRpcError as e:
            bound.warning("webhook not applied", code=e.code().name)
            observability.WEBHOOKS.labels(event.event, f"failed_{e.code().name.lower()}").inc()
            if e.code() in _REFUSED:
                return web.Response(status=400, text="event refused")
            return web.Response(status=503, text="the room service is unavailable; retry")
        bound.info("webhook applied", applied=applied)
        observability.WEBHOOKS.labels(event.event, "applied" if applied else "no_change").inc()
        return web.Response(text="ok")

"""`POST /livekit/webhook`: LiveKit webhooks verified with livekit-api's WebhookReceiver on the
raw body, written to the broadcast outbox (OutboxAppender: one committed insert, shared by
webhooks that arrive together) and answered 200 at once: accepted means durable. The outbox
relay hands them to the room service a room's at a time, so a room's intake is not bound by the
room service's latency (LiveKit sends a room's webhooks one after another). 503 while the
database is down, so LiveKit retries; a bad signature or body hash is 401 and nothing is
kept."""

import structlog
from aiohttp import web
from google.protobuf.json_format import ParseError
from livekit.api import TokenVerifier, WebhookReceiver

from services.broadcast import domain
from services.broadcast.deliveries import accepted
from services.broadcast.recording import RecordingOutputs
from services.common import observability
from services.common.config import Settings
from services.common.db import CONNECTION_ERRORS, Database
from services.common.errors import Unavailable
from services.common.outbox import OutboxAppender, OutboxRelay
from services.common.validation import Violations
from services.room.client import check_livekit_event

log = structlog.get_logger()

WEBHOOK_PATH = "/livekit/webhook"


class WebhookServer:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        relay: OutboxRelay,
        recordings: RecordingOutputs,
    ) -> None:
        self._host = settings.bind_host
        self._port = settings.broadcast_http_port
        self._receiver = WebhookReceiver(
            TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret)
        )
        self._outbox = OutboxAppender(database, "broadcast")
        self._relay = relay
        self._recordings = recordings
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
        await self._outbox.close()

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
        room_event = domain.to_room_event(event, self._recordings)
        if room_event is None:
            observability.WEBHOOKS.labels(event.event, "ignored").inc()
            return web.Response(text="ignored")
        v = Violations()
        check_livekit_event(v, "event", room_event)
        if v.items:  # the room service would refuse it: not worth keeping
            observability.WEBHOOKS.labels(event.event, "malformed").inc()
            return web.Response(status=400, text="not an event costream can apply")
        try:
            await self._outbox.append(accepted(room_event))
        except (Unavailable, *CONNECTION_ERRORS) as e:
            log.warning("webhook not kept", event_id=event.id, error=type(e).__name__)
            observability.WEBHOOKS.labels(event.event, "failed_unavailable").inc()
            return web.Response(status=503, text="the database is unavailable; retry")
        self._relay.wake()
        log.debug("webhook accepted", event_id=event.id, room_id=event.room.name)
        observability.WEBHOOKS.labels(event.event, "accepted").inc()
        return web.Response(text="ok")

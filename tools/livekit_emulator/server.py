"""The emulator as one object a test or `python -m tools.livekit_emulator` starts and stops."""

import asyncio
import contextlib
import socket

import structlog
from aiohttp import web
from livekit.api import TokenVerifier
from livekit.protocol.webhook import WebhookEvent

from tools.livekit_emulator.control import ControlApi
from tools.livekit_emulator.egress import EgressRegistry, EgressService
from tools.livekit_emulator.ingress import IngressRegistry, IngressService
from tools.livekit_emulator.rooms import RoomRegistry
from tools.livekit_emulator.settings import EmulatorSettings
from tools.livekit_emulator.twirp import CallLog, RoomService, TwirpHandler
from tools.livekit_emulator.webhooks import WebhookDispatcher

log = structlog.get_logger("livekit_emulator")


class LiveKitEmulator:
    """In-memory LiveKit server: Twirp RoomService, Egress and Ingress, signed webhooks and a
    control API.

    async with LiveKitEmulator(EmulatorSettings(port=0, webhook_urls=(...,))) as emulator:
        LiveKitAPI(emulator.url, key, secret) ...
    """

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.settings = settings or EmulatorSettings()
        self.registry = RoomRegistry()
        self.calls = CallLog()
        self.webhooks = WebhookDispatcher(
            self.settings.webhook_urls,
            self.settings.api_key,
            self.settings.api_secret,
            max_retries=self.settings.webhook_max_retries,
            retry_backoff_s=self.settings.webhook_retry_backoff_s,
            max_depth=self.settings.webhook_max_depth,
            max_age_s=self.settings.webhook_max_age_s,
        )
        self.room_service = RoomService(
            self.registry, self.emit, enable_remote_unmute=self.settings.enable_remote_unmute
        )
        self.egress_registry = EgressRegistry()
        self.egress_service = EgressService(
            self.egress_registry,
            self.registry,
            self.emit,
            self._later,
            step_s=self.settings.egress_step_s,
        )
        self.ingress_registry = IngressRegistry(self.registry)
        self.ingress_service = IngressService(
            self.ingress_registry,
            self.emit,
            rtmp_url=self.settings.rtmp_url,
            whip_url=self.settings.whip_url,
        )
        self._timers: set[asyncio.TimerHandle] = set()
        self._runner: web.AppRunner | None = None
        self._idle_rooms_task: asyncio.Task | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.settings.host}:{self.port}"

    def make_app(self) -> web.Application:
        app = web.Application()
        verifier = TokenVerifier(self.settings.api_key, self.settings.api_secret)
        services = {
            "livekit.RoomService": self.room_service.methods,
            "livekit.Egress": self.egress_service.methods,
            "livekit.Ingress": self.ingress_service.methods,
        }
        twirp = TwirpHandler(services, verifier, self.calls)
        app.router.add_route("*", "/twirp/{path:.*}", twirp.handle)
        app.router.add_routes(ControlApi(self, twirp).routes())
        app.router.add_get("/", _health)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.host, self.settings.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._idle_rooms_task = asyncio.get_running_loop().create_task(self._close_idle_rooms())
        log.info("emulator_started", url=self.url, webhook_urls=list(self.webhooks.urls))

    def emit(self, events: list[WebhookEvent]) -> None:
        """Every event goes out as a webhook; egress and ingress follow what happened to their
        rooms and participants."""
        if not events:
            return
        self.webhooks.emit(events)
        self.webhooks.emit(self.ingress_registry.follow(events))
        self.egress_service.follow(events)

    def reset(self) -> None:
        """Forgets rooms, egress, ingress and calls (the webhooks are reset on their own)."""
        self.cancel_timers()
        self.registry.reset()
        self.egress_registry.reset()
        self.ingress_registry.reset()
        self.calls.reset()

    def cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _later(self, delay_s: float, step) -> None:
        def run() -> None:
            self._timers.discard(timer)
            step()

        timer = asyncio.get_running_loop().call_later(delay_s, run)
        self._timers.add(timer)

    async def stop(self) -> None:
        self.cancel_timers()
        if self._idle_rooms_task is not None:
            self._idle_rooms_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._idle_rooms_task
            self._idle_rooms_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.webhooks.close()
        log.info("emulator_stopped")

    async def __aenter__(self) -> "LiveKitEmulator":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _close_idle_rooms(self) -> None:
        while True:
            await asyncio.sleep(self.settings.idle_check_interval_s)
            self.emit(self.registry.close_idle_rooms())


async def _health(request: web.Request) -> web.Response:
    # livekit-server answers GET / with "OK".
    return web.Response(text="OK")

"""Shared fixtures: a fresh migrated database (embedded PostgreSQL unless TEST_DATABASE_URL is
set), settings with free ports, services served in-process, and tokens."""

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator

import grpc
import pytest
from hypothesis import settings as hypothesis_settings

from services.common.config import SERVICES, Settings
from services.common.migrations import migrate
from services.common.server import ServiceSpec, serve
from tools.devstack import free_port
from tools.local_postgres import (
    LOCAL_DIR,
    create_database,
    drop_database,
    start_local_postgres,
)

# Property tests run 400 examples; `make mutation` runs them once per mutant, so fewer there.
hypothesis_settings.register_profile("costream", max_examples=400)
hypothesis_settings.register_profile("mutation", max_examples=40)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "costream"))


@pytest.fixture(scope="session")
def server_url() -> str:
    """A PostgreSQL server: TEST_DATABASE_URL, or an embedded one deleted after the run."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return start_local_postgres(LOCAL_DIR / f"test-pgdata-{os.getpid()}", delete=True)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database for this run, with every migration applied."""
    url = asyncio.run(create_database(server_url, "costream_test"))
    asyncio.run(migrate(url))
    yield url
    asyncio.run(drop_database(server_url, url))


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    return {name: free_port() for name in SERVICES}


@pytest.fixture(scope="session")
def make_settings(database_url: str, ports: dict[str, int]) -> Callable[..., Settings]:
    def make(service: str, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "service": service,
            "env": "test",
            "database_url": database_url,
            "grpc_ports": ports,
            "service_addrs": {name: f"127.0.0.1:{port}" for name, port in ports.items()},
            "shutdown_grace": 2.0,
            "metrics_port": 0,
            "gateway_http_port": free_port(),
            "peer_timeout": 3.0,
            # Off: these tests feed LiveKit events of rooms LiveKit never had. The tests of
            # reconciliation turn it on.
            "livekit_reconcile_per_second": 0,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


class RunningService:
    """A service served in-process on the test event loop."""

    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.address = f"127.0.0.1:{spec.settings.port}"

    async def start(self) -> "RunningService":
        self.task = asyncio.create_task(serve(self.spec, self.stop))
        channel = grpc.aio.insecure_channel(self.address)
        try:
            from grpc_health.v1 import health_pb2, health_pb2_grpc

            health = health_pb2_grpc.HealthStub(channel)
            for _ in range(200):
                try:
                    reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return self
                except grpc.aio.AioRpcError:
                    pass
                if self.task.done():
                    self.task.result()
                await asyncio.sleep(0.05)
            raise TimeoutError(f"{self.address} did not become SERVING")
        finally:
            await channel.close()

    async def close(self) -> None:
        self.stop.set()
        if self.task:
            await self.task


@pytest.fixture(scope="session")
async def room_service(make_settings: Callable[..., Settings]) -> AsyncIterator[RunningService]:
    from services.room.app import build

    service = await RunningService(build(make_settings("room"))).start()
    yield service
    await service.close()


@pytest.fixture(scope="session")
async def post_service(
    make_settings: Callable[..., Settings], room_service: RunningService
) -> AsyncIterator[RunningService]:
    from services.post.app import build

    service = await RunningService(build(make_settings("post"))).start()
    yield service
    await service.close()


@pytest.fixture(scope="session")
async def invitation_service(
    make_settings: Callable[..., Settings], room_service: RunningService
) -> AsyncIterator[RunningService]:
    from services.invitation.app import build

    # The expiry sweeper runs once at start; tests that need a sweep run it by hand.
    spec = build(make_settings("invitation"), sweep_seconds=3600)
    service = await RunningService(spec).start()
    yield service
    await service.close()


@pytest.fixture(scope="session")
def make_database(server_url: str) -> Iterator[Callable[[], object]]:
    """Fresh migrated databases, for tests whose outbox and timers must not meet the shared
    services' (`url = await make_database()`); dropped at the end of the run."""
    created: list[str] = []

    async def make() -> str:
        url = await create_database(server_url, "costream_test")
        created.append(url)
        await migrate(url)
        return url

    yield make
    for url in created:
        asyncio.run(drop_database(server_url, url))


@pytest.fixture(scope="session")
def broadcast_http_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
async def livekit_emulator(broadcast_http_port: int) -> AsyncIterator[object]:
    """The LiveKit emulator, sending its webhooks to the broadcast service's endpoint."""
    from tools.livekit_emulator import EmulatorSettings, LiveKitEmulator

    webhook_url = f"http://127.0.0.1:{broadcast_http_port}/livekit/webhook"
    emulator = LiveKitEmulator(
        EmulatorSettings(port=0, webhook_urls=(webhook_url,), webhook_retry_backoff_s=0.1)
    )
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture(scope="session")
async def broadcast_service(
    make_settings: Callable[..., Settings],
    room_service: RunningService,
    livekit_emulator: object,
    broadcast_http_port: int,
) -> AsyncIterator[RunningService]:
    from services.broadcast.app import build

    settings = make_settings(
        "broadcast", livekit_url=livekit_emulator.url, broadcast_http_port=broadcast_http_port
    )
    service = await RunningService(build(settings)).start()
    yield service
    await service.close()


@pytest.fixture(scope="session")
async def gateway_service(
    make_settings: Callable[..., Settings],
    room_service: RunningService,
    post_service: RunningService,
    invitation_service: RunningService,
    broadcast_service: RunningService,
) -> AsyncIterator[RunningService]:
    """The gateway in-process, started after all its backends (a channel whose first call
    finds no peer answers UNAVAILABLE at once until its reconnect backoff ends)."""
    from services.gateway.app import build

    service = await RunningService(build(make_settings("gateway"))).start()
    yield service
    await service.close()

"""The fault suite: the whole stack as `make run` starts it (tools.devstack.Stack), each
service its own process, on a database of its own, while services are killed and restarted,
PostgreSQL connections are cut and LiveKit fails and recovers. One stack per test module."""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
from costream.gateway.v1 import gateway_service_pb2_grpc

from services.common.server import HEALTH_CHECKED_CHANNEL
from tools.devstack import Stack
from tools.livekit_emulator.client import AsyncEmulatorClient

# The gateway keeps serving this long after NOT_SERVING, so callers can move away first.
GATEWAY_SHUTDOWN_DELAY = "1"


@pytest.fixture(scope="module")
def fault_database(make_database) -> str:
    return asyncio.run(make_database())


@pytest.fixture(scope="module")
def stack(
    fault_database: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    logs: Path = tmp_path_factory.mktemp("fault-logs")
    stack = Stack.isolated(fault_database, log_dir=logs, say=lambda *_: None)
    stack.service_env["gateway"]["SHUTDOWN_DELAY_SECONDS"] = GATEWAY_SHUTDOWN_DELAY
    # A module may set STACK_ENV: settings of its stack's services.
    stack.env.update(getattr(request.module, "STACK_ENV", {}))
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
async def gateway(stack: Stack) -> AsyncIterator[gateway_service_pb2_grpc.GatewayServiceStub]:
    # As clients should connect: with client-side health checking, so a draining gateway gets
    # no new calls (services.common.server.HEALTH_CHECKED_CHANNEL).
    options = [
        HEALTH_CHECKED_CHANNEL,
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]
    async with grpc.aio.insecure_channel(stack.addr("gateway"), options=options) as channel:
        yield gateway_service_pb2_grpc.GatewayServiceStub(channel)


@pytest.fixture(scope="module")
def emulator(stack: Stack) -> AsyncEmulatorClient:
    return AsyncEmulatorClient(stack.emulator_url)


@pytest.fixture
async def db(fault_database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(fault_database)
    yield conn
    await conn.close()


async def wait_until(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.1)


async def serving_again(gateway, seconds: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until calls go through the gateway to the room and broadcast services again (a
    restarted peer is reached once the gateway's reconnect backoff, at most 2 s, is over)."""
    from costream.broadcast.v1 import broadcast_service_pb2 as bs
    from costream.room.v1 import room_service_pb2 as rs

    from tests.e2e.flow import auth

    missing = "no-such-room"
    calls = [
        lambda: gateway.GetRoom(rs.GetRoomRequest(room_id=missing), **auth("prober")),
        lambda: gateway.GetViewerData(bs.GetViewerDataRequest(room_id=missing), **auth("prober")),
    ]
    deadline = time.monotonic() + seconds
    for call in calls:
        while True:
            try:
                await call()
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.NOT_FOUND:
                    break
                if e.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.1)


class Load:
    """`callers` concurrent loops of one call each, until stopped; every outcome's code
    counted (OK for a reply)."""

    def __init__(self, call: Callable[[int], Awaitable[Any]], callers: int = 32) -> None:
        self._call = call
        self._callers = callers
        self.codes: Counter[str] = Counter()
        self._running = True
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> "Load":
        self._tasks = [asyncio.create_task(self._loop(i)) for i in range(self._callers)]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._running = False
        await asyncio.gather(*self._tasks)

    async def _loop(self, caller: int) -> None:
        while self._running:
            try:
                await self._call(caller)
                self.codes["OK"] += 1
            except grpc.aio.AioRpcError as error:
                self.codes[error.code().name] += 1
                await asyncio.sleep(0.01)  # a client backs off a little before it retries

    def only(self, *codes: str) -> bool:
        return set(self.codes) <= set(codes)

"""The whole stack as `make run` starts it (tools.devstack.Stack), once per session, on
free ports and a database of the test server, with the LiveKit emulator's webhooks pointed at the
broadcast service. Tests talk to it only through the gateway."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from costream.gateway.v1 import gateway_service_pb2_grpc

from tools.devstack import Stack
from tools.livekit_emulator.client import AsyncEmulatorClient


@pytest.fixture(scope="session")
def e2e_database(make_database) -> str:
    """A database of the test server for the stack alone: its outbox relays, timers and
    sweepers must not take rows of the in-process services' tests (nor theirs ours)."""
    return asyncio.run(make_database())


@pytest.fixture(scope="session")
def e2e_stack(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("e2e-logs")
    stack = Stack.isolated(e2e_database, log_dir=logs, say=lambda *_: None)
    try:
        stack.start()
    except RuntimeError as e:
        raise RuntimeError(f"{e}\n{_tails(logs)}") from None
    yield stack
    stack.stop()


def _tails(logs: Path) -> str:
    return "\n".join(
        f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:])
        for path in sorted(logs.glob("*.log"))
    )


def metrics_port(stack: Stack, service: str) -> int:
    return int(stack.service_env[service]["METRICS_PORT"])


@pytest.fixture(scope="session")
async def gateway(e2e_stack: Stack) -> AsyncIterator[gateway_service_pb2_grpc.GatewayServiceStub]:
    async with grpc.aio.insecure_channel(e2e_stack.addr("gateway")) as channel:
        yield gateway_service_pb2_grpc.GatewayServiceStub(channel)


SCREENSHOTS = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """Where the browser tests save screenshots for a person to look at (printed at the end)."""
    path = tmp_path_factory.mktemp("console-screenshots")
    request.config.stash[SCREENSHOTS] = path
    return path


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    path = config.stash.get(SCREENSHOTS, None)
    if path is not None:
        terminalreporter.write_line(f"console screenshots: {path}")


@pytest.fixture(scope="session")
def emulator(e2e_stack: Stack) -> AsyncEmulatorClient:
    return AsyncEmulatorClient(e2e_stack.emulator_url)

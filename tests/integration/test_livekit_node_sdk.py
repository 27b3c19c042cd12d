"""LiveKit's official Node server SDK (livekit-server-sdk, pinned in tests/node_sdk/) drives the
emulator through RoomServiceClient, EgressClient and IngressClient: a second client, so the
emulator answers as livekit-server does and not only as livekit-api reads it."""

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from tools.livekit_emulator import EmulatorSettings, LiveKitEmulator

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "node_sdk" / "check_emulator.cjs"
NODE_MODULES = ROOT / ".local" / "node-sdk" / "node_modules"
TIMEOUT_S = 60


async def test_the_node_server_sdk_passes_every_check_against_the_emulator() -> None:
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "livekit-server-sdk").is_dir():
        pytest.fail("the Node SDK is not installed: run `make node-sdk` (make test does)")
    settings = EmulatorSettings(port=0, webhook_urls=(), egress_step_s=0.05)
    async with LiveKitEmulator(settings) as emulator:
        env = {
            **os.environ,
            "NODE_PATH": str(NODE_MODULES),
            "LIVEKIT_URL": emulator.url,
            "LIVEKIT_API_KEY": settings.api_key,
            "LIVEKIT_API_SECRET": settings.api_secret,
        }
        process = await asyncio.create_subprocess_exec(
            node,
            str(SCRIPT),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), TIMEOUT_S)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    assert "node-sdk: 9 passed, 0 failed" in text, text

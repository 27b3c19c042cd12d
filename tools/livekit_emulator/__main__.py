"""`python -m tools.livekit_emulator`: the LiveKit emulator until SIGTERM or Ctrl-C."""

import asyncio
import os
import signal

from services.common.logging import configure_logging
from tools.livekit_emulator.server import LiveKitEmulator
from tools.livekit_emulator.settings import EmulatorSettings


async def serve(settings: EmulatorSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with LiveKitEmulator(settings):
        await stop.wait()


def main() -> None:
    env = os.environ.get("COSTREAM_ENV", "development")
    log_format = os.environ.get("LOG_FORMAT") or ("console" if env == "development" else "json")
    configure_logging("livekit_emulator", log_format)
    asyncio.run(serve(EmulatorSettings.from_env()))


if __name__ == "__main__":
    main()

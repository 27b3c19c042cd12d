"""An in-memory LiveKit server for tests and the local stack (see README.md)."""

from tools.livekit_emulator.server import LiveKitEmulator
from tools.livekit_emulator.settings import EmulatorSettings

__all__ = ["EmulatorSettings", "LiveKitEmulator"]

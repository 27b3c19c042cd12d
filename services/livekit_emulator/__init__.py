"""An in-memory LiveKit server for tests and the local stack (see README.md)."""

from services.livekit_emulator.server import LiveKitEmulator
from services.livekit_emulator.settings import EmulatorSettings

__all__ = ["EmulatorSettings", "LiveKitEmulator"]

"""A client of the emulator's control API (`/emulator/...`), for `ctl`, the `costream demo`,
the end-to-end tests and the benchmarks: one way to play LiveKit clients and egress."""

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from services.common.config import LOCAL_LIVEKIT_URL


class EmulatorError(Exception):
    """The emulator refused a control call or could not be reached."""


class EmulatorClient:
    def __init__(self, url: str = LOCAL_LIVEKIT_URL) -> None:
        self.url = url.rstrip("/")

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One control call; `path` is relative to /emulator/."""
        request = urllib.request.Request(  # noqa: S310 (the operator's own emulator)
            f"{self.url}/emulator/{path.lstrip('/')}",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
                return json.loads(reply.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:300]
            raise EmulatorError(f"LiveKit emulator: {path}: {e.code} {detail}") from e
        except (urllib.error.URLError, OSError) as e:
            raise EmulatorError(f"cannot reach the LiveKit emulator at {self.url} ({e})") from e

    def post(self, path: str, body: dict[str, Any] | None = None, /, **fields: Any) -> Any:
        return self.request("POST", path, {**(body or {}), **fields})

    def loss(
        self,
        share: float,
        events: list[str] | None = None,
        room: str | None = None,
        seed: int | None = None,
    ) -> Any:
        """Lose that share of webhooks (of these events, in this room) from now on; 0 stops."""
        return self.post("webhooks/loss", share=share, events=events, room=room, seed=seed)


class AsyncEmulatorClient:
    """The same calls, off the event loop."""

    def __init__(self, url: str = LOCAL_LIVEKIT_URL) -> None:
        self._client = EmulatorClient(url)

    async def post(self, path: str, **fields: Any) -> Any:
        return await asyncio.to_thread(self._client.post, path, fields)

    async def join(self, room: str, identity: str, **fields: Any) -> None:
        await self.post("participants/join", room=room, identity=identity, **fields)

    async def leave(self, room: str, identity: str, **fields: Any) -> None:
        await self.post("participants/leave", room=room, identity=identity, **fields)

    async def state(self) -> Any:
        """Rooms with their participants, as the emulator holds them now."""
        return await asyncio.to_thread(self._client.request, "GET", "state")

    async def calls(self) -> Any:
        """Twirp calls received: counts per method and outcome code, and a log."""
        return await asyncio.to_thread(self._client.request, "GET", "calls")

    async def loss(self, share: float, **filters: Any) -> Any:
        """Lose that share of webhooks; `events`, `room` and `seed` as in EmulatorClient.loss."""
        return await asyncio.to_thread(self._client.loss, share, **filters)

    async def events(self) -> list[dict[str, Any]]:
        """The latest webhooks emitted (up to 1000), each with how its deliveries went."""
        return (await asyncio.to_thread(self._client.request, "GET", "events"))["events"]

    async def drain(self) -> None:
        """Wait until queued webhooks were delivered."""
        await self.post("webhooks/drain", timeout_seconds=10)

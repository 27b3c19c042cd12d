"""LiveKit's webhook delivery, played by the bench: the events of a viewer surge, signed as
livekit/protocol signs them (the emulator's own encode_event and sign_body), posted one at a
time per sender and retried on 5xx, 429 and connection errors as LiveKit retries them.

A sender is one of LiveKit's per-room queues: it posts its events strictly one after another.
Each viewer's join and leave go to the same sender, so a viewer never leaves before joining.
"""

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp
from costream.room.v1 import room_pb2
from livekit.protocol import models
from livekit.protocol.webhook import WebhookEvent

from bench.load import Recorder
from services.broadcast.domain import room_metadata
from services.common.config import DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET
from tools.livekit_emulator.webhooks import CONTENT_TYPE, USER_AGENT, encode_event, sign_body

JOINED, LEFT = "participant_joined", "participant_left"
# LiveKit's retries (the emulator's, from go-retryablehttp): 4 more tries, backoff from 0.5 s.
RETRIES = 4
BACKOFF_SECONDS = 0.5
POST_TIMEOUT = aiohttp.ClientTimeout(total=5.0)


@dataclass(frozen=True)
class Viewer:
    """A viewer of a live room as LiveKit knows it."""

    room_id: str
    room_sid: str  # the LiveKit session the broadcast service created
    host_user_id: str
    identity: str
    sid: str  # the participant sid


def new_participant_sid() -> str:
    return f"PA_{secrets.token_hex(6)}"


def senders_of(viewers: list[Viewer], senders: int) -> list[list[tuple[str, Viewer]]]:
    """The events of a surge: every viewer joins, then the first half leave; each viewer's events
    on sender (its number mod `senders`), joins before leaves."""
    lanes: list[list[tuple[str, Viewer]]] = [[] for _ in range(senders)]
    for number, viewer in enumerate(viewers):
        lanes[number % senders].append((JOINED, viewer))
    for number, viewer in enumerate(viewers[: len(viewers) // 2]):
        lanes[number % senders].append((LEFT, viewer))
    return lanes


def staying(viewers: list[Viewer]) -> list[Viewer]:
    """The viewers still connected once a surge's events are all applied."""
    return viewers[len(viewers) // 2 :]


def webhook_event(kind: str, viewer: Viewer) -> WebhookEvent:
    participant = models.ParticipantInfo(
        sid=viewer.sid,
        identity=viewer.identity,
        state=models.ParticipantInfo.ACTIVE
        if kind == JOINED
        else models.ParticipantInfo.DISCONNECTED,
        joined_at=int(time.time()),
        permission=models.ParticipantPermission(can_subscribe=True, can_publish=False),
    )
    if kind == LEFT:
        participant.disconnect_reason = models.DisconnectReason.CLIENT_INITIATED
    return WebhookEvent(
        id=f"EV_{secrets.token_hex(6)}",
        event=kind,
        created_at=int(time.time()),
        room=models.Room(
            name=viewer.room_id,
            sid=viewer.room_sid,
            metadata=room_metadata(
                room_pb2.Room(room_id=viewer.room_id, host_user_id=viewer.host_user_id)
            ),
        ),
        participant=participant,
    )


def signed(kind: str, viewer: Viewer) -> tuple[bytes, dict[str, str]]:
    """The body and headers LiveKit would post for this event."""
    body = encode_event(webhook_event(kind, viewer))
    headers = {
        "Authorization": sign_body(body, DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET),
        "Content-Type": CONTENT_TYPE,
        "User-Agent": USER_AGENT,
    }
    return body.encode(), headers


async def deliver(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    rec: Recorder,
    retries: Counter[str],
) -> bool:
    """Post one event until answered for good, as LiveKit does, timed from the first try to the
    last answer; whether it was answered 200. Each retry is counted by what caused it."""
    started = time.perf_counter()
    outcome = ""
    for attempt in range(RETRIES + 1):
        if attempt:
            retries[outcome] += 1
            await asyncio.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        try:
            async with session.post(url, data=body, headers=headers, timeout=POST_TIMEOUT) as reply:
                status = reply.status
        except (aiohttp.ClientError, TimeoutError) as error:
            outcome = type(error).__name__
            continue
        outcome = f"HTTP {status}"
        if status < 500 and status != 429:
            break
    ok = outcome == "HTTP 200"
    rec.record("webhook", started, "OK" if ok else outcome)
    return ok

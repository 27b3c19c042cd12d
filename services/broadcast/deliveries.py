"""The broadcast outbox: accepted webhooks, one row each (written by services.broadcast.webhooks
before LiveKit gets its 200), handed to the room service up to a claim's worth of one room's
in one call (ApplyLiveKitEvents). The room service deduplicates them, so a delivery may
repeat."""

import base64

from costream.room.v1 import room_pb2

from services.common.events import OutboxMessage
from services.common.outbox import Batched
from services.room.client import RoomClient

APPLY_LIVEKIT_EVENT = "room.apply_livekit_event"


def accepted(event: room_pb2.LiveKitEvent) -> OutboxMessage:
    """The outbox row of an accepted webhook: its room, and the event whole."""
    encoded = base64.b64encode(event.SerializeToString()).decode()
    return OutboxMessage(APPLY_LIVEKIT_EVENT, {"room_id": event.room_name, "event": encoded})


def from_payload(payload: dict) -> room_pb2.LiveKitEvent:
    return room_pb2.LiveKitEvent.FromString(base64.b64decode(payload["event"]))


def outbox_deliveries(rooms: RoomClient) -> dict[str, Batched]:
    async def apply_livekit_events(payloads: list[dict]) -> None:
        await rooms.apply_events([from_payload(p) for p in payloads])

    return {APPLY_LIVEKIT_EVENT: Batched(apply_livekit_events, key="room_id")}

"""Deliveries of the broadcast outbox: accepted webhooks handed to the room service, up to a
claim's worth of one room's in one call (ApplyLiveKitEvents); the room service deduplicates
them, so a delivery may repeat."""

from services.broadcast.side_effects import APPLY_LIVEKIT_EVENT, from_payload
from services.common.outbox import Batched
from services.room.client import RoomClient


def outbox_deliveries(rooms: RoomClient) -> dict[str, Batched]:
    async def apply_livekit_events(payloads: list[dict]) -> None:
        await rooms.apply_events([from_payload(p) for p in payloads])

    return {APPLY_LIVEKIT_EVENT: Batched(apply_livekit_events, key="room_id")}

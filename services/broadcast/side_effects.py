"""What the broadcast service's events mean: an accepted LiveKit webhook is an outbox row,
written before LiveKit gets its 200 (durable), and handed to the room service afterwards, a
room's rows together (services.broadcast.deliveries)."""

import base64
from collections.abc import Sequence

from costream.room.v1 import room_pb2

from services.broadcast.domain import WebhookAccepted
from services.common.events import DomainEvent, OutboxMessage, SideEffects

APPLY_LIVEKIT_EVENT = "room.apply_livekit_event"


def side_effects(events: Sequence[DomainEvent]) -> SideEffects:
    effects = SideEffects()
    for event in events:
        if isinstance(event, WebhookAccepted):
            effects.outbox.append(OutboxMessage(APPLY_LIVEKIT_EVENT, to_payload(event.event)))
    return effects


def to_payload(event: room_pb2.LiveKitEvent) -> dict[str, str]:
    return {
        "room_id": event.room_name,
        "event": base64.b64encode(event.SerializeToString()).decode(),
    }


def from_payload(payload: dict) -> room_pb2.LiveKitEvent:
    return room_pb2.LiveKitEvent.FromString(base64.b64decode(payload["event"]))

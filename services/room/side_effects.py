"""What happens to rooms means elsewhere: the one place that turns the room's domain events
(services.room.domain) into outbox messages and watcher notifications. No I/O; the messages
are delivered by services.room.deliveries."""

import json
from collections.abc import Sequence

from services.common.events import DomainEvent, Notification, OutboxMessage, SideEffects
from services.room.domain import (
    ChangeKind,
    ParticipantRefused,
    RoomChanged,
    RoomEnded,
    TakenOffStage,
    UserBanned,
)

ROOM_EVENTS_CHANNEL = "room_events"

# Outbox kinds.
END_LIVEKIT_ROOM = "livekit.end_room"
REMOVE_LIVEKIT_PARTICIPANT = "livekit.remove_participant"
CANCEL_ROOM_INVITATIONS = "invitations.cancel_for_room"
CANCEL_USER_INVITATIONS = "invitations.cancel_for_user"


def side_effects(events: Sequence[DomainEvent]) -> SideEffects:
    """The outbox messages and notifications of one transaction's events. Watchers of a room
    get one notification per transaction, of its most telling change."""
    effects = SideEffects()
    changes: dict[str, ChangeKind] = {}
    for event in events:
        match event:
            case RoomChanged(room_id, kind):
                if room_id not in changes or kind.rank > changes[room_id].rank:
                    changes[room_id] = kind
            case RoomEnded(room_id):
                # Everyone off LiveKit, and nobody left invited to a room that is over.
                effects.send(OutboxMessage(END_LIVEKIT_ROOM, {"room_id": room_id}))
                effects.send(OutboxMessage(CANCEL_ROOM_INVITATIONS, {"room_id": room_id}))
            case (
                TakenOffStage(room_id, user_id, at)
                | UserBanned(room_id, user_id, at, room_open=True)
                | ParticipantRefused(room_id, user_id, at)
            ):
                # `since`: a delivery that finds the user seated again after it does nothing.
                payload = {"room_id": room_id, "user_id": user_id, "since": at.isoformat()}
                effects.send(OutboxMessage(REMOVE_LIVEKIT_PARTICIPANT, payload))
        match event:
            case UserBanned(room_id, user_id):
                payload = {"room_id": room_id, "user_id": user_id}
                effects.send(OutboxMessage(CANCEL_USER_INVITATIONS, payload))
    for room_id, kind in changes.items():
        payload = json.dumps({"room_id": room_id, "kind": kind.value})
        effects.notifications.append(Notification(ROOM_EVENTS_CHANNEL, payload))
    return effects

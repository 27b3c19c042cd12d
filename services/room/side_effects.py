"""What happens to rooms means elsewhere: the one place that turns the room's domain events
(services.room.domain) into outbox messages and watcher notifications. No I/O; the messages
are delivered by services.room.deliveries."""

import json
from collections.abc import Sequence

from services.common.events import DomainEvent, Notification, OutboxMessage, SideEffects
from services.room.domain import (
    ChangeKind,
    IngressRetired,
    MuteRequested,
    ParticipantRefused,
    RecordingRequested,
    RecordingStopRequested,
    RoomChanged,
    RoomEnded,
    SeatedOnStage,
    TakenOffStage,
    UserBanned,
)

ROOM_EVENTS_CHANNEL = "room_events"

# Outbox kinds.
END_LIVEKIT_ROOM = "livekit.end_room"
REMOVE_LIVEKIT_PARTICIPANT = "livekit.remove_participant"
# The user's LiveKit permissions and role attribute follow their place in the room as it is
# when delivered (so deliveries in any order end where the last commit left it).
SYNC_LIVEKIT_PARTICIPANT = "livekit.sync_participant"
MUTE_LIVEKIT_TRACKS = "livekit.mute_tracks"
# The LiveKit room's metadata from the room as it is when delivered; a room's rows delivered
# together make one UpdateRoomMetadata.
SYNC_LIVEKIT_ROOM_METADATA = "livekit.sync_room_metadata"
# A recording attempt's egress started (read at delivery: an attempt over by then starts
# nothing), and an egress stopped (none named: whichever of the room's still runs).
START_RECORDING = "livekit.start_recording"
STOP_RECORDING = "livekit.stop_recording"
# A direct-streaming room's LiveKit ingress it no longer uses (the room ended, or the stream
# key was reset): DeleteIngress, so its stream key stops working.
DELETE_LIVEKIT_INGRESS = "livekit.delete_ingress"
CANCEL_ROOM_INVITATIONS = "invitations.cancel_for_room"
CANCEL_USER_INVITATIONS = "invitations.cancel_for_user"

# The changes that show in the LiveKit room's metadata (its fields, status, moderators).
METADATA_CHANGES = frozenset(
    {ChangeKind.UPDATED, ChangeKind.STATUS_CHANGED, ChangeKind.RECORDED, ChangeKind.DELETED}
)


def side_effects(events: Sequence[DomainEvent]) -> SideEffects:
    """The outbox messages and notifications of one transaction's events. Watchers of a room
    get one notification per transaction, of its most telling change."""
    effects = SideEffects()
    changes: dict[str, ChangeKind] = {}
    # A ban puts the user out of LiveKit: no demotion to a viewer first.
    banned = {(e.room_id, e.user_id) for e in events if isinstance(e, UserBanned)}
    ended = {e.room_id for e in events if isinstance(e, RoomEnded)}
    metadata_changed: list[str] = []
    for event in events:
        match event:
            case RoomChanged(room_id, kind):
                if room_id not in changes or kind.rank > changes[room_id].rank:
                    changes[room_id] = kind
                if kind in METADATA_CHANGES and room_id not in metadata_changed:
                    metadata_changed.append(room_id)
            case RoomEnded(room_id):
                # Everyone off LiveKit, and nobody left invited to a room that is over.
                effects.send(OutboxMessage(END_LIVEKIT_ROOM, {"room_id": room_id}))
                effects.send(OutboxMessage(CANCEL_ROOM_INVITATIONS, {"room_id": room_id}))
            case TakenOffStage(room_id, user_id) | SeatedOnStage(room_id, user_id) if (
                room_id,
                user_id,
            ) not in banned:
                # Demoted to a viewer or promoted to a co-host in place, without reconnecting.
                payload = {"room_id": room_id, "user_id": user_id}
                effects.send(OutboxMessage(SYNC_LIVEKIT_PARTICIPANT, payload))
            case UserBanned(room_id, user_id, at, room_open=True) | ParticipantRefused(
                room_id, user_id, at
            ):
                # `since`: a delivery that finds the user seated again after it does nothing.
                payload = {"room_id": room_id, "user_id": user_id, "since": at.isoformat()}
                effects.send(OutboxMessage(REMOVE_LIVEKIT_PARTICIPANT, payload))
            case MuteRequested(room_id, user_id, sources, muted):
                payload = {
                    "room_id": room_id,
                    "user_id": user_id,
                    "sources": [source.value for source in sources],
                    "muted": muted,
                }
                effects.send(OutboxMessage(MUTE_LIVEKIT_TRACKS, payload))
            case RecordingRequested(room_id, recording_id, stop_egress_ids):
                payload = {
                    "room_id": room_id,
                    "recording_id": recording_id,
                    "stop_egress_ids": list(stop_egress_ids),
                }
                effects.send(OutboxMessage(START_RECORDING, payload))
            case RecordingStopRequested(room_id, egress_id):
                payload = {"room_id": room_id, "egress_id": egress_id or ""}
                effects.send(OutboxMessage(STOP_RECORDING, payload))
            case IngressRetired(room_id, ingress_id):
                payload = {"room_id": room_id, "ingress_id": ingress_id}
                effects.send(OutboxMessage(DELETE_LIVEKIT_INGRESS, payload))
        match event:
            case UserBanned(room_id, user_id):
                payload = {"room_id": room_id, "user_id": user_id}
                effects.send(OutboxMessage(CANCEL_USER_INVITATIONS, payload))
    for room_id in metadata_changed:
        if room_id not in ended:  # an ended room's LiveKit room is deleted instead
            effects.send(OutboxMessage(SYNC_LIVEKIT_ROOM_METADATA, {"room_id": room_id}))
    for room_id, kind in changes.items():
        payload = json.dumps({"room_id": room_id, "kind": kind.value})
        effects.notifications.append(Notification(ROOM_EVENTS_CHANNEL, payload))
    return effects

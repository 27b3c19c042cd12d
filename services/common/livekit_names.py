"""LiveKit's names, once, for every service that reads LiveKit events: the webhook event names
LiveKit sends in `WebhookEvent.event` (livekit/protocol `webhook` and livekit `telemetry`), and
the enum names costream compares, taken from livekit.protocol."""

from livekit.protocol import egress, models

ROOM_STARTED = "room_started"
ROOM_FINISHED = "room_finished"
PARTICIPANT_JOINED = "participant_joined"
PARTICIPANT_LEFT = "participant_left"
PARTICIPANT_CONNECTION_ABORTED = "participant_connection_aborted"
TRACK_PUBLISHED = "track_published"
TRACK_UNPUBLISHED = "track_unpublished"
EGRESS_STARTED = "egress_started"
EGRESS_UPDATED = "egress_updated"
EGRESS_ENDED = "egress_ended"
EGRESS_EVENTS = frozenset({EGRESS_STARTED, EGRESS_UPDATED, EGRESS_ENDED})
# A direct-streaming room's encoder connected to its ingress / went away.
INGRESS_STARTED = "ingress_started"
INGRESS_ENDED = "ingress_ended"
INGRESS_EVENTS = frozenset({INGRESS_STARTED, INGRESS_ENDED})

# A participant is connected after these, gone after those.
JOINS = frozenset({PARTICIPANT_JOINED, TRACK_PUBLISHED})
LEAVES = frozenset({PARTICIPANT_LEFT, PARTICIPANT_CONNECTION_ABORTED})

# DisconnectReason: the same identity connected again (a reconnect, not a departure).
DUPLICATE_IDENTITY = models.DisconnectReason.Name(models.DUPLICATE_IDENTITY)
UNKNOWN_REASON = models.DisconnectReason.Name(models.UNKNOWN_REASON)
EGRESS_STARTING = egress.EgressStatus.Name(egress.EGRESS_STARTING)
EGRESS_ACTIVE = egress.EgressStatus.Name(egress.EGRESS_ACTIVE)
EGRESS_ENDING = egress.EgressStatus.Name(egress.EGRESS_ENDING)
EGRESS_COMPLETE = egress.EgressStatus.Name(egress.EGRESS_COMPLETE)
EGRESS_FAILED = egress.EgressStatus.Name(egress.EGRESS_FAILED)
EGRESS_ABORTED = egress.EgressStatus.Name(egress.EGRESS_ABORTED)
EGRESS_LIMIT_REACHED = egress.EgressStatus.Name(egress.EGRESS_LIMIT_REACHED)

"""An accepted webhook is one outbox row keyed by its room, carrying the event whole."""

from costream.room.v1 import room_pb2

from services.broadcast.domain import WebhookAccepted
from services.broadcast.side_effects import APPLY_LIVEKIT_EVENT, from_payload, side_effects


def test_an_accepted_webhook_is_one_outbox_row_of_its_room_with_the_event_whole():
    event = room_pb2.LiveKitEvent(
        event_id="EV_1",
        event="participant_joined",
        room_name="room-1",
        room_sid="RM_1",
        participant_identity="ann",
        participant_sid="PA_1",
        participant_can_publish=True,
    )
    event.create_time.seconds = 1_800_000_000
    effects = side_effects([WebhookAccepted(event), WebhookAccepted(event)])
    assert [m.kind for m in effects.outbox] == [APPLY_LIVEKIT_EVENT] * 2
    assert effects.outbox[0].payload["room_id"] == "room-1"
    assert from_payload(dict(effects.outbox[0].payload)) == event
    assert effects.notifications == []

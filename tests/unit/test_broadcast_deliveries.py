"""An accepted webhook is one outbox row keyed by its room, carrying the event whole, and a
claim's rows of one room go to the room service in one call."""

from costream.room.v1 import room_pb2

from services.broadcast.deliveries import APPLY_LIVEKIT_EVENT, accepted, outbox_deliveries


def event(event_id: str, room: str) -> room_pb2.LiveKitEvent:
    e = room_pb2.LiveKitEvent(
        event_id=event_id,
        event="participant_joined",
        room_name=room,
        room_sid="RM_1",
        participant_identity="ann",
        participant_sid="PA_1",
        participant_can_publish=True,
    )
    e.create_time.seconds = 1_800_000_000
    return e


class Rooms:
    def __init__(self) -> None:
        self.calls: list[list[room_pb2.LiveKitEvent]] = []

    async def apply_events(self, events: list[room_pb2.LiveKitEvent]) -> int:
        self.calls.append(events)
        return 1


async def test_an_accepted_webhook_is_one_row_of_its_room_and_reaches_the_room_service_whole():
    first, second = event("EV_1", "room-1"), event("EV_2", "room-1")
    rows = [accepted(first), accepted(second)]
    assert [m.kind for m in rows] == [APPLY_LIVEKIT_EVENT] * 2
    assert rows[0].payload["room_id"] == "room-1"
    rooms = Rooms()
    delivery = outbox_deliveries(rooms)[APPLY_LIVEKIT_EVENT]  # type: ignore[arg-type]
    assert delivery.key == "room_id"
    await delivery.deliver([dict(m.payload) for m in rows])
    assert rooms.calls == [[first, second]]

"""Recording on the real database: egress webhooks duplicated and shuffled around the room's end
end the same, and the room outbox's recording deliveries, run by hand through the real broadcast
service to the LiveKit emulator's Egress API (a retried start starts one egress, an attempt
stopped before it was delivered starts none), and the start timeout of the room timers."""

import asyncio
import itertools
from datetime import timedelta

import pytest
from costream.broadcast.v1 import broadcast_service_pb2
from costream.room.v1 import room_pb2
from google.protobuf import timestamp_pb2

from services.common.auth import Caller
from services.common.timestamps import utcnow
from services.room import handlers
from services.room.deliveries import start_answered
from services.room.domain import EndReason, RecordingStatus, RoomStatus
from services.room.livekit.events import apply_livekit_events
from services.room.side_effects import START_RECORDING, STOP_RECORDING
from services.room.timers import fail_stuck_recordings
from tests.integration.conftest import Mirror
from tests.integration.test_room_service import joined
from tests.support import unique

RECONNECT = timedelta(seconds=180)
AT = 1_800_000_000


def egress_event(room_id: str, egress_id: str, event: str, status: str, **playback):
    e = room_pb2.LiveKitEvent(
        event_id=unique("EV"),
        event=event,
        create_time=timestamp_pb2.Timestamp(seconds=AT + 10),
        room_name=room_id,
        egress_id=egress_id,
        egress_status=status,
    )
    if playback:
        e.playback.url = playback["url"]
        e.playback.duration.seconds = playback["seconds"]
    return e


def lifecycle(room_id: str, egress_id: str) -> list[room_pb2.LiveKitEvent]:
    url = f"https://cdn/{room_id}.mp4"
    return [
        egress_event(room_id, egress_id, "egress_started", "EGRESS_STARTING"),
        egress_event(room_id, egress_id, "egress_updated", "EGRESS_ACTIVE"),
        egress_event(room_id, egress_id, "egress_updated", "EGRESS_ENDING"),
        egress_event(room_id, egress_id, "egress_ended", "EGRESS_COMPLETE", url=url, seconds=42),
    ]


async def recording_room(mirror: Mirror, host: str, **fields) -> str:
    """A live room (its host joined LiveKit) whose host started recording."""
    room_id = await mirror.room(host, **fields)
    await apply(mirror, [joined(room_id, host, unique("PA"), at=AT, publisher=True)])
    await handlers.start_recording(room_id, Caller(user_id=host), mirror.uow())
    return room_id


async def apply(mirror: Mirror, events) -> None:
    await apply_livekit_events(events, mirror.uow(), reconnect_timeout=RECONNECT)


async def state(mirror: Mirror, room_id: str):
    async with mirror.uow().read() as uow:
        return await uow.rooms.get(room_id), await uow.rooms.view(room_id)


async def answered(mirror: Mirror, room_id: str, egress_id: str, status: str) -> None:
    """LiveKit's answer to the start reaching the room, as the start delivery writes it."""
    reply = broadcast_service_pb2.StartLiveKitEgressResponse(
        egress_id=egress_id, egress_status=status
    )
    await start_answered(mirror.database, room_id, "1", "starting", reply, timedelta(seconds=60))


ORDERS = [
    # Events in arrival order, by index into lifecycle; "answer": LiveKit's answer to the
    # start reaches the room; "end": the room stops.
    ["answer", 0, 1, 2, 3, "end"],
    [0, "answer", 1, 2, 3, "end"],
    ["end", "answer", 0, 1, 2, 3],
    [3, 2, "end", 1, 0, "answer"],
    [3, 3, 0, 0, "answer", "end", 1, 2, 1],
    [1, "end", 3, "answer", 0, 2, 3],
]


@pytest.mark.parametrize("order", ORDERS)
async def test_egress_webhooks_in_any_order_around_the_end_make_the_room_recorded(mirror, order):
    host = unique("host")
    room_id = await recording_room(mirror, host)
    egress_id = unique("EG")
    events = lifecycle(room_id, egress_id)
    for step in order:
        if step == "end":
            await handlers.stop_room(room_id, Caller(user_id=host), mirror.uow())
        elif step == "answer":
            await answered(mirror, room_id, egress_id, "EGRESS_STARTING")
        else:
            await apply(mirror, [events[step]])
    room, view = await state(mirror, room_id)
    assert view.status is RoomStatus.RECORDED
    assert [(r.url, r.duration_ms) for r in view.recordings] == [
        (f"https://cdn/{room_id}.mp4", 42_000)
    ]
    assert room.recording.status is RecordingStatus.UNSPECIFIED
    assert room.recording.egress_status == "EGRESS_COMPLETE"


async def test_all_orders_of_one_lifecycle_in_one_batch_end_the_same(mirror):
    host = unique("host")
    for order in itertools.islice(itertools.permutations(range(4)), 0, 24, 5):
        room_id = await recording_room(mirror, host)
        egress_id = unique("EG")
        events = lifecycle(room_id, egress_id)
        await apply(mirror, [events[i] for i in order] + [events[order[0]]])
        await answered(mirror, room_id, egress_id, "EGRESS_STARTING")
        room, view = await state(mirror, room_id)
        assert room.recording.status is RecordingStatus.UNSPECIFIED, order
        assert view.status is RoomStatus.LIVE
        assert len(view.recordings) == 1


async def test_an_egress_of_a_room_not_recording_changes_only_its_recordings(mirror):
    host = unique("host")
    room_id = await mirror.room(host)
    events = lifecycle(room_id, unique("EG"))
    await apply(mirror, events)
    room, view = await state(mirror, room_id)
    assert room.recording.status is RecordingStatus.UNSPECIFIED
    assert room.recording.egress_id is None
    assert len(view.recordings) == 1


async def test_a_start_delivered_twice_starts_one_egress_and_names_it_on_the_room(mirror):
    host = unique("host")
    room_id = await recording_room(mirror, host)
    [payload] = await mirror.pending(START_RECORDING, room_id)
    assert payload == {"room_id": room_id, "recording_id": "1", "stop_egress_ids": []}
    deliver = mirror.deliveries[START_RECORDING]
    await deliver(payload)
    await deliver(payload)  # the relay retries a delivery whose outcome it did not learn
    running = mirror.emulator.egress_registry.list_egress(room_id)
    assert len(running) == 1
    room, view = await state(mirror, room_id)
    assert room.recording.egress_id == running[0].egress_id
    assert room.recording.deadline is not None
    assert view.recording_status in (RecordingStatus.STARTING, RecordingStatus.ACTIVE)


async def test_an_attempt_stopped_before_its_delivery_starts_nothing(mirror):
    host = unique("host")
    room_id = await recording_room(mirror, host)
    await handlers.stop_recording(room_id, Caller(user_id=host), mirror.uow())
    [start] = await mirror.pending(START_RECORDING, room_id)
    assert await mirror.pending(STOP_RECORDING, room_id) == [{"room_id": room_id, "egress_id": ""}]
    await mirror.deliveries[START_RECORDING](start)
    assert mirror.emulator.egress_registry.list_egress(room_id) == []
    room, _ = await state(mirror, room_id)
    assert room.recording.status is RecordingStatus.UNSPECIFIED


async def test_a_start_the_room_outlived_starts_nothing(mirror):
    host = unique("host")
    room_id = await recording_room(mirror, host)
    await handlers.stop_room(room_id, Caller(user_id=host), mirror.uow())
    [start] = await mirror.pending(START_RECORDING, room_id)
    await mirror.deliveries[START_RECORDING](start)
    assert mirror.emulator.egress_registry.list_egress(room_id) == []
    room, view = await state(mirror, room_id)
    assert room.recording.status is RecordingStatus.UNSPECIFIED
    assert view.status is RoomStatus.ENDED and room.end_reason is EndReason.STOPPED_BY_HOST


async def test_a_start_past_its_deadline_fails_and_with_auto_record_is_tried_once_more(mirror):
    host = unique("host")
    room_id = await mirror.room(host, auto_record=True)
    await apply(mirror, [joined(room_id, host, unique("PA"), at=AT, publisher=True)])
    [first] = await mirror.pending(START_RECORDING, room_id)
    await mirror.deliveries[START_RECORDING](first)
    room, _ = await state(mirror, room_id)
    stuck = room.recording.egress_id
    assert stuck

    later = utcnow() + timedelta(hours=1)
    assert await fail_stuck_recordings(mirror.database, now=later) >= 1
    room, _ = await state(mirror, room_id)
    assert room.recording.status is RecordingStatus.STARTING
    assert room.recording.attempt == 2 and room.recording.retried
    second = (await mirror.pending(START_RECORDING, room_id))[-1]
    assert second == {"room_id": room_id, "recording_id": "2", "stop_egress_ids": [stuck]}

    await mirror.deliveries[START_RECORDING](second)
    room, _ = await state(mirror, room_id)
    assert room.recording.egress_id not in (None, stuck)
    await fail_stuck_recordings(mirror.database, now=later + timedelta(hours=1))
    room, _ = await state(mirror, room_id)
    assert room.recording.status is RecordingStatus.FAILED
    stops = await mirror.pending(STOP_RECORDING, room_id)
    assert stops[-1] == {"room_id": room_id, "egress_id": room.recording.egress_id}
    assert len(await mirror.pending(START_RECORDING, room_id)) == 2


async def test_many_starts_at_once_make_one_attempt(mirror):
    host, mods = unique("host"), [unique("mod") for _ in range(3)]
    room_id = await mirror.room(host)
    for mod in mods:
        await handlers.add_moderator(room_id, mod, Caller(user_id=host), mirror.uow())
    await apply(mirror, [joined(room_id, host, unique("PA"), at=AT, publisher=True)])
    callers = [Caller(user_id=u) for u in [host, *mods] * 5]
    views = await asyncio.gather(
        *(handlers.start_recording(room_id, c, mirror.uow()) for c in callers)
    )
    assert {v.recording_status for v in views} == {RecordingStatus.STARTING}
    assert await mirror.pending(START_RECORDING, room_id) == [
        {"room_id": room_id, "recording_id": "1", "stop_egress_ids": []}
    ]

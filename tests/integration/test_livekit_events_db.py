"""The LiveKit event property of tests/unit/test_livekit_events.py against PostgreSQL: any
delivery LiveKit allows ends in the same status and live counts as LiveKit's order, and as
LiveKit left the room, with the real repository (dedupe, departures, parked events)."""

import random

import pytest
from costream.room.v1 import room_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.auth import Caller
from services.common.db import Database
from services.room import handlers
from services.room.domain import RoomStatus, RoomType, SeatTemplate
from services.room.livekit.events import apply_livekit_event
from services.room.repository import RoomUnitOfWork
from tests.support import unique
from tests.unit.test_livekit_events import (
    HOST,
    RECONNECT,
    LiveKitSimulator,
    delivery,
    livekit_runs,
)


@pytest.fixture(scope="module")
async def database(database_url):
    db = Database(database_url)
    await db.open()
    yield db
    await db.close()


async def new_room(database: Database) -> str:
    room_id = unique("lk")
    await handlers.create_room(
        handlers.CreateRoom(
            room_id=room_id, title="t", description="", thumbnail_file_id="", metadata={},
            live_chat_enabled=False, parent_room_id="", type=RoomType.CO_HOSTS,
            seat_template=SeatTemplate.VIDEO_DYNAMIC_GRID_9, co_host_user_ids=[], request_id="",
        ),
        Caller(user_id=HOST),
        RoomUnitOfWork(database),
    )  # fmt: skip
    return room_id


async def run(database: Database, events: list[room_pb2.LiveKitEvent]) -> tuple:
    """Apply the events to a new room (ids made unique to it) and read it back."""
    room_id = await new_room(database)
    for event in events:
        ours = room_pb2.LiveKitEvent()
        ours.CopyFrom(event)
        ours.room_name = room_id
        ours.event_id = f"{room_id}-{event.event_id}"
        await apply_livekit_event(ours, RoomUnitOfWork(database), reconnect_timeout=RECONNECT)
    view = await handlers.get_room(room_id, RoomUnitOfWork(database))
    assert view.peak_viewer_count >= view.viewer_count
    return (
        view.status,
        view.end_reason,
        view.viewer_count,
        view.publisher_count,
        len(view.recordings),
    )


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(sim=livekit_runs(), rnd=st.randoms(use_true_random=False))
async def test_any_delivery_order_ends_as_livekit_left_the_room(database, sim, rnd):
    in_order = await run(database, sim.events)
    assert in_order == sim.outcome()
    assert await run(database, delivery(sim, rnd)) == in_order


async def test_parked_and_stale_events_and_duplicates_in_postgres(database):
    """A fixed hard case: a new session's events before its room_started, the old session's
    events after it, and every event twice."""
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.join("vic")
    old = list(sim.events)
    sim.start_session()
    sim.join("val")
    sim.join(HOST)
    sim.join(HOST)
    new_started, *new_rest = sim.events[len(old) :]
    order = [old[0], *new_rest, new_started, *old[1:]]
    order += list(reversed(order))
    assert await run(database, order) == sim.outcome() == (RoomStatus.LIVE, None, 1, 1, 0)


async def test_counts_and_status_survive_a_random_storm(database):
    sim = LiveKitSimulator()
    rnd = random.Random(7)
    for _ in range(2):
        sim.start_session()
        for _ in range(40):
            getattr(sim, rnd.choice(["join", "leave", "abort", "publish"]))(
                rnd.choice([HOST, "cole", "vic", "val"])
            )
    sim.finish()
    sim.record()
    assert await run(database, delivery(sim, rnd)) == sim.outcome()

"""Reconciliation with LiveKit: the events LiveKit's webhooks lost, found by comparing a room's
connected set with LiveKit's, and applied as webhooks are (services.room.livekit.reconcile).
Whatever LiveKit dropped, the counts and the host's presence end as LiveKit has them, and
nothing merely in flight is undone."""

import random
from datetime import UTC, datetime, timedelta

from costream.broadcast.v1.broadcast_service_pb2 import LiveKitRoomState
from google.protobuf import timestamp_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.room.domain import RoomStatus
from services.room.livekit.reconcile import AGAIN_SECONDS, MARGIN, lost_events, reconcile_room
from services.room.livekit.repository import Connection
from tests.unit.test_livekit_events import (
    HOST,
    RECONNECT,
    ROOM,
    STAGE,
    FakeUnitOfWork,
    LiveKitSimulator,
    apply,
    delivery,
    livekit_runs,
    lk,
    new_store,
    outcome,
    room,
)

ASKED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD = ASKED - timedelta(minutes=5)


def in_session(sid: str | None, status: RoomStatus = RoomStatus.IDLE):  # type: ignore[no-untyped-def]
    return room(status, livekit_room_sid=sid)


def seconds(moment: datetime) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=int(moment.timestamp()))


def livekit(sid: str = "RM_1", *participants: tuple[str, str, bool], ours: bool = True):
    state = LiveKitRoomState(exists=True, room_sid=sid, ours=ours, create_time=seconds(OLD))
    for participant_sid, identity, can_publish in participants:
        state.participants.add(
            sid=participant_sid, identity=identity, can_publish=can_publish, join_time=seconds(OLD)
        )
    return state


def summary(events) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(e.event, e.participant_sid, e.room_sid) for e in events]


def test_a_participant_livekit_has_and_the_room_does_not_is_a_join_with_what_livekit_says():
    [joined] = lost_events(in_session("RM_1"), {}, livekit("RM_1", ("PA_1", "vic", False)), ASKED)
    assert (joined.event, joined.room_name, joined.room_sid) == ("participant_joined", ROOM, "RM_1")
    assert (joined.participant_sid, joined.participant_identity) == ("PA_1", "vic")
    assert joined.participant_can_publish is False
    assert joined.create_time == seconds(OLD)


def test_a_connection_livekit_does_not_have_is_a_leave_unless_applied_within_the_margin():
    connected = {
        "PA_old": Connection("vic", False, ASKED - MARGIN),
        "PA_new": Connection("val", False, ASKED - MARGIN + timedelta(microseconds=1)),
    }
    [left] = lost_events(in_session("RM_1"), connected, livekit("RM_1"), ASKED)
    assert summary([left]) == [("participant_left", "PA_old", "RM_1")]
    assert left.participant_identity == "vic"
    assert left.disconnect_reason == "UNKNOWN_REASON"
    assert left.create_time == seconds(ASKED)


def test_what_both_have_is_left_alone_and_a_viewer_livekit_lets_publish_is_a_publisher():
    connected = {
        "PA_1": Connection("vic", False, OLD),
        "PA_2": Connection(HOST, True, OLD),
        "PA_3": Connection("val", False, OLD),
        "PA_4": Connection("cole", True, OLD),
    }
    state = livekit(
        "RM_1", ("PA_1", "vic", False), ("PA_2", HOST, True), ("PA_3", "val", True),
        ("PA_4", "cole", False),
    )  # fmt: skip
    [upgraded] = lost_events(in_session("RM_1"), connected, state, ASKED)
    assert summary([upgraded]) == [("participant_joined", "PA_3", "RM_1")]
    assert upgraded.participant_can_publish is True
    assert upgraded.event_id != lost_events(in_session("RM_1"), {}, livekit("RM_1", ("PA_3", "val", False)), ASKED)[0].event_id  # fmt: skip


def test_the_same_difference_gives_the_same_event_ids_so_it_applies_once():
    connected = {"PA_gone": Connection("vic", False, OLD)}
    state = livekit("RM_1", ("PA_1", "val", False))
    first = lost_events(in_session("RM_1"), connected, state, ASKED)
    again = lost_events(in_session("RM_1"), connected, state, ASKED + timedelta(seconds=10))
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == 2


def test_a_session_the_broadcast_service_did_not_make_counts_for_nothing():
    state = livekit("RM_2", ("PA_1", "vic", False), ours=False)
    assert (
        lost_events(in_session("RM_1"), {"PA_0": Connection("v", False, OLD)}, state, ASKED) == []
    )


def test_a_livekit_session_the_room_missed_starts_first_and_alone():
    connected = {"PA_0": Connection("vic", False, OLD)}
    state = livekit("RM_2", ("PA_1", "vic", False))
    [started] = lost_events(in_session("RM_1", RoomStatus.LIVE), connected, state, ASKED)
    assert (started.event, started.event_id, started.room_sid) == (
        "room_started",
        "RC_RM_2",
        "RM_2",
    )
    assert started.create_time == seconds(OLD)
    assert summary(lost_events(in_session(None), {}, livekit("RM_2"), ASKED)) == [
        ("room_started", "", "RM_2")
    ]


def test_no_livekit_room_is_everyone_gone_and_nothing_without_a_session():
    connected = {"PA_1": Connection(HOST, True, OLD), "PA_2": Connection("v", False, OLD)}
    gone = LiveKitRoomState(exists=False)
    assert summary(lost_events(in_session("RM_1"), connected, gone, ASKED)) == [
        ("participant_left", "PA_1", "RM_1"),
        ("participant_left", "PA_2", "RM_1"),
    ]
    assert lost_events(in_session(None), {}, gone, ASKED) == []


def test_a_live_room_whose_host_livekit_does_not_have_is_told_the_host_left():
    live = in_session("RM_1", RoomStatus.LIVE)
    viewer = {"PA_1": Connection("vic", False, OLD)}
    [gone] = lost_events(live, viewer, livekit("RM_1", ("PA_1", "vic", False)), ASKED)
    assert (gone.event, gone.participant_identity, gone.room_sid) == (
        "participant_left", HOST, "RM_1",
    )  # fmt: skip
    assert gone.disconnect_reason == "UNKNOWN_REASON"
    # Not when LiveKit has the host, when the host's connection is too new to judge, or when
    # the room does not think the host is there.
    host = {"PA_h": Connection(HOST, True, OLD)}
    assert lost_events(live, host, livekit("RM_1", ("PA_h", HOST, True)), ASKED) == []
    just_joined = {"PA_h": Connection(HOST, True, ASKED)}
    assert lost_events(live, just_joined, livekit("RM_1"), ASKED) == []
    waiting = in_session("RM_1", RoomStatus.WAITING_RECONNECT)
    assert lost_events(waiting, {}, livekit("RM_1"), ASKED) == []


# --- applied ------------------------------------------------------------------------------------


def state_of(sim: LiveKitSimulator) -> LiveKitRoomState:
    """What LiveKit's ListRooms and ListParticipants say at the end of a simulated run."""
    started = next(e for e in reversed(sim.events) if e.event == "room_started")
    state = LiveKitRoomState(
        exists=True, room_sid=sim.session, ours=True, create_time=started.create_time
    )
    for who, sid in sim.connected.items():
        state.participants.add(
            sid=sid, identity=who, can_publish=who in STAGE, join_time=started.create_time
        )
    return state


async def reconcile(store, state: LiveKitRoomState) -> int:  # type: ignore[no-untyped-def]
    async def livekit_rooms(room_id: str) -> LiveKitRoomState:
        assert room_id == ROOM
        return state

    return await reconcile_room(
        ROOM,
        livekit_rooms,
        lambda: FakeUnitOfWork(store),  # type: ignore[arg-type,return-value]
        reconnect_timeout=RECONNECT,
    )


async def test_a_lost_host_join_makes_the_room_live_and_its_late_webhook_changes_nothing():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.join("vic")
    started, host_joined, viewer_joined = sim.events
    store = new_store()
    for event in (started, viewer_joined):  # LiveKit dropped the host's join
        await apply(store, event)
    assert store.rooms[ROOM].status is RoomStatus.IDLE
    assert store.reconcile_soon == {}
    assert await reconcile(store, state_of(sim)) == 1
    assert store.reconcile_soon == {ROOM: AGAIN_SECONDS}  # where one was lost, maybe more
    assert (store.rooms[ROOM].status, *store.counts(ROOM)) == (RoomStatus.LIVE, 1, 1)
    assert await reconcile(store, state_of(sim)) == 0
    assert await apply(store, host_joined) is False
    assert store.counts(ROOM) == (1, 1)


async def test_a_lost_host_leave_waits_for_the_host_and_lost_viewer_leaves_empty_the_counts():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.join("vic")
    sim.join("val")
    store = new_store()
    for event in sim.events:
        await apply(store, event)
    sim.leave(HOST)
    sim.leave("vic")  # both leaves lost
    await reconcile(store, state_of(sim))
    assert (store.rooms[ROOM].status, *store.counts(ROOM)) == (
        RoomStatus.WAITING_RECONNECT, 1, 0,
    )  # fmt: skip
    assert store.peaks[ROOM] == 2


async def test_a_lost_room_started_releases_the_events_waiting_for_it():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.start_session()  # LiveKit lost the room and made it again; its room_started is lost
    sim.join(HOST)
    sim.join("vic")
    store = new_store()
    for event in sim.events[:2] + sim.events[3:]:
        await apply(store, event)
    assert store.reconcile_soon == {ROOM: 0.0}  # its joins wait for a start that may be lost
    assert store.counts(ROOM) == (0, 1)  # still the first session's host
    await reconcile(store, state_of(sim))
    r = store.rooms[ROOM]
    assert (r.livekit_room_sid, r.status, *store.counts(ROOM)) == (
        sim.session,
        RoomStatus.LIVE,
        1,
        1,
    )


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sim=livekit_runs(), rnd=st.randoms(use_true_random=False), share=st.floats(0, 1))
async def test_whatever_livekit_drops_the_counts_and_the_host_end_as_livekit_has_them(
    sim, rnd, share
):
    if sim.finished:
        return  # a lost room_finished ends the room through its host's reconnect timeout
    keep = random.Random(rnd.random())
    store = new_store()
    for event in delivery(sim, rnd):
        if event.event == "egress_ended" or keep.random() >= share:
            await apply(store, event)
    await reconcile(store, state_of(sim))
    status, _, viewers, publishers, _ = outcome(store)
    _, _, sim_viewers, sim_publishers, _ = sim.outcome()
    assert (viewers, publishers) == (sim_viewers, sim_publishers)
    assert (status is RoomStatus.LIVE) == (HOST in sim.connected)
    assert store.rooms[ROOM].livekit_room_sid == sim.session


async def test_an_ended_room_is_not_reconciled():
    store = new_store()
    await apply(store, lk("room_finished", 5))
    assert await reconcile(store, livekit("RM_1", ("PA_1", "vic", False))) == 0
    assert store.counts(ROOM) == (0, 0)

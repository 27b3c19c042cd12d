"""The recording machine on the Room aggregate (domain.md "Recording and live playback"): who
starts and stops, auto_record, the attempt and its egress, egress statuses in any order, the
start timeout and its one retry. No I/O."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import FailedPrecondition, PermissionDenied
from services.room.domain import (
    ChangeKind,
    EndReason,
    RecordingRequested,
    RecordingState,
    RecordingStatus,
    RecordingStopRequested,
    Room,
    RoomChanged,
    RoomStatus,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DEADLINE = NOW + timedelta(seconds=60)
LIVE_URL = "http://play/r1/1/live.m3u8"


def room(status: RoomStatus = RoomStatus.LIVE, *, auto_record: bool = False) -> Room:
    return Room(
        room_id="r1",
        host_user_id="host",
        status=status,
        max_co_hosts=8,
        co_host_ids=["cole"],
        moderator_ids=["mona"],
        recording=RecordingState(auto_record=auto_record),
    )


def reason(error: Exception) -> str:
    return error.reason  # type: ignore[attr-defined]


def requests(r: Room) -> list[RecordingRequested]:
    return [e for e in r.events if isinstance(e, RecordingRequested)]


def stops(r: Room) -> list[RecordingStopRequested]:
    return [e for e in r.events if isinstance(e, RecordingStopRequested)]


def recording(r: Room, *, egress: str = "EG_1") -> Room:
    """The room with a recording whose egress LiveKit answered (still starting)."""
    r.start_recording("host", False)
    r.egress_started(r.recording.recording_id, egress, "EGRESS_STARTING", "", DEADLINE)
    r.events.clear()
    return r


@pytest.mark.parametrize(("by", "admin"), [("host", False), ("mona", False), ("root", True)])
def test_the_host_a_moderator_or_an_admin_starts_a_recording(by, admin):
    r = room()
    assert r.start_recording(by, admin)
    assert r.recording.status is RecordingStatus.STARTING
    assert requests(r) == [RecordingRequested("r1", "1", ())]
    assert RoomChanged("r1", ChangeKind.UPDATED) in r.events


@pytest.mark.parametrize("by", ["cole", "viewer"])
def test_a_co_host_or_a_viewer_may_not_record(by):
    r = room()
    with pytest.raises(PermissionDenied):
        r.start_recording(by, False)
    with pytest.raises(PermissionDenied):
        r.stop_recording(by, False)
    assert r.events == []


@pytest.mark.parametrize("status", [RoomStatus.IDLE, RoomStatus.ENDED, RoomStatus.RECORDED])
def test_only_a_live_or_waiting_room_is_recorded(status):
    r = room(status)
    with pytest.raises(FailedPrecondition) as caught:
        r.start_recording("host", False)
    assert reason(caught.value) == "ROOM_NOT_LIVE"
    assert r.recording.status is RecordingStatus.UNSPECIFIED
    assert requests(r) == []


def test_not_live_names_the_room():
    with pytest.raises(FailedPrecondition) as caught:
        room(RoomStatus.IDLE).start_recording("host", False)
    assert "r1" in str(caught.value)


def test_an_admin_stops_a_recording():
    r = recording(room())
    r.stop_recording("root", True)
    assert r.recording.status is RecordingStatus.STOPPING


def test_a_waiting_room_is_recorded():
    r = room(RoomStatus.WAITING_RECONNECT)
    assert r.start_recording("host", False)


@pytest.mark.parametrize("status", ["EGRESS_STARTING", "EGRESS_ACTIVE"])
def test_starting_twice_asks_once(status):
    r = recording(room())
    r.egress_changed("EG_1", status, "", DEADLINE)
    r.events.clear()
    assert not r.start_recording("host", False)
    assert r.events == []
    assert r.recording.attempt == 1


def test_a_start_while_the_last_one_stops_is_refused():
    r = recording(room())
    r.stop_recording("host", False)
    with pytest.raises(FailedPrecondition) as caught:
        r.start_recording("host", False)
    assert reason(caught.value) == "RECORDING_STOPPING"


def test_a_failed_recording_starts_again_as_a_new_attempt():
    r = recording(room())
    r.egress_changed("EG_1", "EGRESS_FAILED", "")
    assert r.recording.status is RecordingStatus.FAILED
    assert r.start_recording("host", False)
    assert r.recording.attempt == 2 and r.recording.egress_id is None
    assert (r.recording.egress_status, r.recording.deadline) == ("", None)
    assert requests(r)[-1].recording_id == "2"


@pytest.mark.parametrize("status", [RecordingStatus.UNSPECIFIED, RecordingStatus.FAILED])
def test_stopping_what_does_not_record_is_recording_not_active(status):
    r = room()
    r.recording.status = status
    with pytest.raises(FailedPrecondition) as caught:
        r.stop_recording("host", False)
    assert reason(caught.value) == "RECORDING_NOT_ACTIVE"


def test_stop_names_the_egress_once_known():
    r = recording(room())
    r.stop_recording("mona", False)
    assert r.recording.status is RecordingStatus.STOPPING
    assert r.recording.deadline is None
    assert RoomChanged("r1", ChangeKind.UPDATED) in r.events
    assert stops(r) == [RecordingStopRequested("r1", "EG_1")]


def test_a_stop_before_the_egress_is_known_stops_whichever_runs():
    r = room()
    r.start_recording("host", False)
    r.stop_recording("host", False)
    assert stops(r) == [RecordingStopRequested("r1", None)]


def test_auto_record_starts_as_the_room_goes_live_and_not_again_on_reconnect():
    r = room(RoomStatus.IDLE, auto_record=True)
    r.go_live(NOW)
    assert requests(r) == [RecordingRequested("r1", "1", ())]
    r.host_dropped(NOW, timedelta(seconds=180))
    r.go_live(NOW)
    assert len(requests(r)) == 1


def test_without_auto_record_going_live_records_nothing():
    r = room(RoomStatus.IDLE)
    r.go_live(NOW)
    assert requests(r) == []


def test_auto_record_tries_again_when_a_room_comes_back_after_a_failure():
    r = room(RoomStatus.IDLE, auto_record=True)
    r.go_live(NOW)
    r.egress_started("1", "EG_1", "EGRESS_ACTIVE", "", DEADLINE)
    r.egress_changed("EG_1", "EGRESS_FAILED", "")
    r.host_dropped(NOW, timedelta(seconds=180))
    r.go_live(NOW)
    assert [e.recording_id for e in requests(r)] == ["1", "2"]


@pytest.mark.parametrize("status", [RecordingStatus.STARTING, RecordingStatus.ACTIVE])
def test_the_room_ending_stops_its_recording(status):
    r = recording(room())
    r.recording.status = status
    r.end(EndReason.STOPPED_BY_HOST, NOW)
    assert r.recording.status is RecordingStatus.STOPPING
    assert stops(r) == [RecordingStopRequested("r1", "EG_1")]


def test_the_room_ending_without_a_recording_stops_none():
    r = room()
    r.end(EndReason.STOPPED_BY_HOST, NOW)
    assert stops(r) == []


def test_the_answer_of_the_start_names_the_egress_and_its_deadline():
    r = room()
    r.start_recording("host", False)
    r.egress_started("1", "EG_1", "EGRESS_STARTING", "", DEADLINE)
    assert r.recording.egress_id == "EG_1"
    assert r.recording.deadline == DEADLINE
    assert r.recording.status is RecordingStatus.STARTING
    assert stops(r) == []


def test_an_answer_for_an_attempt_that_is_over_stops_its_egress():
    r = room()
    r.start_recording("host", False)
    r.egress_changed("EG_1", "EGRESS_FAILED", "")  # not adopted: it ended
    r.recording.status = RecordingStatus.FAILED  # say it timed out
    r.egress_started("1", "EG_9", "EGRESS_STARTING", "", DEADLINE)
    assert stops(r) == [RecordingStopRequested("r1", "EG_9")]
    assert r.recording.egress_id is None


def test_an_answer_after_a_stop_learns_the_egress_and_stops_it():
    r = room()
    r.start_recording("host", False)
    r.stop_recording("host", False)
    r.events.clear()
    r.egress_started("1", "EG_1", "EGRESS_STARTING", "", DEADLINE)
    assert r.recording.egress_id == "EG_1"
    assert stops(r) == [RecordingStopRequested("r1", "EG_1")]
    assert r.recording.status is RecordingStatus.STOPPING


def test_an_answer_for_an_older_attempt_stops_its_egress():
    r = recording(room())
    r.egress_changed("EG_1", "EGRESS_COMPLETE", "")
    r.start_recording("host", False)
    r.events.clear()
    r.egress_started("1", "EG_OLD", "EGRESS_STARTING", "", DEADLINE)
    assert stops(r) == [RecordingStopRequested("r1", "EG_OLD")]
    assert r.recording.egress_id is None


def test_an_answer_that_the_egress_ended_already_stops_nothing():
    r = room()
    r.start_recording("host", False)
    r.stop_recording("host", False)
    r.events.clear()
    r.egress_started("1", "EG_1", "EGRESS_COMPLETE", "", DEADLINE)
    assert stops(r) == []
    assert r.recording.status is RecordingStatus.UNSPECIFIED
    r.recording.status = RecordingStatus.FAILED  # an attempt over: its ended egress neither
    r.events.clear()
    r.egress_started("1", "EG_2", "EGRESS_FAILED", "", DEADLINE)
    assert stops(r) == []


def test_an_answer_of_an_active_egress_gives_its_live_playback():
    r = room()
    r.start_recording("host", False)
    r.egress_started("1", "EG_1", "EGRESS_ACTIVE", LIVE_URL, DEADLINE)
    assert r.recording.status is RecordingStatus.ACTIVE
    assert r.recording.live_playback_url == LIVE_URL


def test_a_repeated_answer_changes_nothing():
    r = recording(room())
    r.egress_started("1", "EG_1", "EGRESS_STARTING", "", DEADLINE)
    assert r.events == []


def test_a_stopped_attempt_never_asked_of_livekit_records_nothing():
    r = room()
    r.start_recording("host", False)
    r.stop_recording("host", False)
    r.egress_not_started("1")
    assert r.recording.status is RecordingStatus.UNSPECIFIED
    assert RoomChanged("r1", ChangeKind.UPDATED) in r.events


def test_not_started_leaves_a_stopping_attempt_whose_egress_is_known_alone():
    r = recording(room())
    r.stop_recording("host", False)
    r.egress_not_started("1")
    assert r.recording.status is RecordingStatus.STOPPING


def test_not_started_leaves_a_starting_attempt_alone():
    r = room()
    r.start_recording("host", False)
    r.egress_not_started("1")
    assert r.recording.status is RecordingStatus.STARTING


def test_a_start_livekit_refuses_fails_the_attempt():
    r = room()
    r.start_recording("host", False)
    r.events.clear()
    r.egress_refused("1")
    assert r.recording.status is RecordingStatus.FAILED
    assert r.events == [RoomChanged("r1", ChangeKind.UPDATED)]
    r.egress_refused("0")  # another attempt's refusal
    assert r.recording.status is RecordingStatus.FAILED


def test_a_refusal_of_an_older_attempt_changes_nothing():
    r = room()
    r.start_recording("host", False)
    r.egress_refused("7")
    assert r.recording.status is RecordingStatus.STARTING


def test_the_first_event_of_an_egress_asked_for_adopts_it():
    r = room()
    r.start_recording("host", False)
    r.egress_changed("EG_1", "EGRESS_STARTING", "", DEADLINE)
    assert r.recording.egress_id == "EG_1"
    assert r.recording.deadline == DEADLINE


def test_an_egress_seen_before_is_not_adopted_by_a_new_attempt():
    r = room()
    r.start_recording("host", False)
    r.egress_changed("EG_OLD", "EGRESS_ACTIVE", LIVE_URL, DEADLINE, new=False)
    assert r.recording.egress_id is None
    assert r.recording.status is RecordingStatus.STARTING


def test_an_answer_after_the_egress_ended_ends_the_recording_at_once():
    r = room()
    r.start_recording("host", False)
    r.egress_started("1", "EG_1", "EGRESS_COMPLETE", "", DEADLINE)
    assert r.recording.egress_id == "EG_1"
    assert r.recording.status is RecordingStatus.UNSPECIFIED
    assert r.recording.deadline is None


def test_an_ended_egress_is_not_adopted_by_a_starting_attempt():
    r = room()
    r.start_recording("host", False)
    r.egress_changed("EG_OLD", "EGRESS_COMPLETE", "")
    assert r.recording.egress_id is None
    assert r.recording.status is RecordingStatus.STARTING


def test_an_egress_of_a_room_not_recording_changes_nothing():
    r = room()
    r.egress_changed("EG_X", "EGRESS_ACTIVE", LIVE_URL, DEADLINE)
    assert r.recording == RecordingState()
    assert r.events == []


def test_an_other_egress_changes_nothing():
    r = recording(room())
    r.egress_changed("EG_2", "EGRESS_FAILED", "")
    assert r.recording.status is RecordingStatus.STARTING
    assert r.events == []


def test_active_makes_the_recording_active_with_its_live_playback():
    r = recording(room())
    r.egress_changed("EG_1", "EGRESS_ACTIVE", LIVE_URL)
    assert r.recording.status is RecordingStatus.ACTIVE
    assert r.recording.live_playback_url == LIVE_URL
    assert r.recording.deadline is None
    assert RoomChanged("r1", ChangeKind.UPDATED) in r.events


def test_active_while_stopping_stays_stopping_without_live_playback():
    r = recording(room())
    r.stop_recording("host", False)
    r.events.clear()
    r.egress_changed("EG_1", "EGRESS_ACTIVE", LIVE_URL)
    assert r.recording.status is RecordingStatus.STOPPING
    assert r.recording.live_playback_url == ""
    assert r.events == []  # nothing a reader sees changed


@pytest.mark.parametrize(
    ("ended", "expected"),
    [
        ("EGRESS_COMPLETE", RecordingStatus.UNSPECIFIED),
        ("EGRESS_LIMIT_REACHED", RecordingStatus.UNSPECIFIED),
        ("EGRESS_FAILED", RecordingStatus.FAILED),
        ("EGRESS_ABORTED", RecordingStatus.FAILED),
    ],
)
def test_how_the_egress_ended_is_how_the_recording_ended(ended, expected):
    r = recording(room())
    r.egress_changed("EG_1", "EGRESS_ACTIVE", LIVE_URL)
    r.egress_changed("EG_1", ended, "")
    assert r.recording.status is expected
    assert r.recording.live_playback_url == ""


def test_an_egress_stopped_before_it_started_is_aborted_without_failing():
    r = recording(room())
    r.stop_recording("host", False)
    r.egress_changed("EG_1", "EGRESS_ABORTED", "")
    assert r.recording.status is RecordingStatus.UNSPECIFIED


def test_ending_moves_an_active_recording_to_stopping():
    r = recording(room())
    r.egress_changed("EG_1", "EGRESS_ACTIVE", LIVE_URL)
    r.egress_changed("EG_1", "EGRESS_ENDING", "")
    assert r.recording.status is RecordingStatus.STOPPING
    assert r.recording.live_playback_url == ""


def test_an_unknown_status_changes_nothing():
    r = recording(room())
    r.egress_changed("EG_1", "EGRESS_SOMETHING_NEW", LIVE_URL)
    assert r.recording.status is RecordingStatus.STARTING
    assert r.events == []


SEQUENCE = ["EGRESS_STARTING", "EGRESS_ACTIVE", "EGRESS_ENDING", "EGRESS_COMPLETE"]


@pytest.mark.parametrize("order", list(itertools.permutations(SEQUENCE)))
def test_egress_events_in_any_order_end_as_in_order(order):
    r = recording(room())
    for status in order:
        r.egress_changed("EG_1", status, LIVE_URL)
    assert r.recording.status is RecordingStatus.UNSPECIFIED
    assert r.recording.egress_status == "EGRESS_COMPLETE"
    assert r.recording.live_playback_url == ""


def test_a_late_active_after_the_end_changes_nothing():
    r = recording(room())
    r.egress_changed("EG_1", "EGRESS_FAILED", "")
    r.events.clear()
    r.egress_changed("EG_1", "EGRESS_ACTIVE", LIVE_URL)
    r.egress_changed("EG_1", "EGRESS_COMPLETE", "")
    assert r.recording.status is RecordingStatus.FAILED
    assert r.events == []


def test_a_start_that_times_out_fails_and_stops_its_egress():
    r = recording(room())
    r.recording_timed_out()
    assert r.recording.status is RecordingStatus.FAILED
    assert r.recording.deadline is None
    assert stops(r) == [RecordingStopRequested("r1", "EG_1")]
    assert requests(r) == []
    assert RoomChanged("r1", ChangeKind.UPDATED) in r.events


def test_a_retry_after_a_timeout_without_a_known_egress_stops_none_first():
    r = room(RoomStatus.IDLE, auto_record=True)
    r.go_live(NOW)
    r.events.clear()
    r.recording_timed_out()
    assert requests(r) == [RecordingRequested("r1", "2", ())]


def test_with_auto_record_a_timed_out_start_is_tried_once_more():
    r = room(RoomStatus.IDLE, auto_record=True)
    r.go_live(NOW)
    r.egress_started("1", "EG_1", "EGRESS_STARTING", "", DEADLINE)
    r.events.clear()
    r.recording_timed_out()
    assert r.recording.status is RecordingStatus.STARTING
    assert requests(r) == [RecordingRequested("r1", "2", ("EG_1",))]
    assert stops(r) == []
    r.egress_started("2", "EG_2", "EGRESS_STARTING", "", DEADLINE)
    r.events.clear()
    r.recording_timed_out()
    assert r.recording.status is RecordingStatus.FAILED
    assert requests(r) == []
    assert stops(r) == [RecordingStopRequested("r1", "EG_2")]


def test_the_aborted_end_of_a_timed_out_egress_leaves_it_failed():
    r = recording(room())
    r.recording_timed_out()
    r.egress_changed("EG_1", "EGRESS_ABORTED", "")
    assert r.recording.status is RecordingStatus.FAILED

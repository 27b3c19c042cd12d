"""The room status machine and room rules, without I/O."""

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from services.common.errors import FailedPrecondition, PermissionDenied
from services.common.validation import Violations
from services.room.domain import (
    TRANSITIONS,
    EndReason,
    Room,
    RoomStatus,
    SeatTemplate,
    can_move,
    check_co_hosts,
    check_title,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALLOWED = {
    (RoomStatus.IDLE, RoomStatus.LIVE),
    (RoomStatus.IDLE, RoomStatus.ENDED),
    (RoomStatus.LIVE, RoomStatus.WAITING_RECONNECT),
    (RoomStatus.LIVE, RoomStatus.ENDED),
    (RoomStatus.WAITING_RECONNECT, RoomStatus.LIVE),
    (RoomStatus.WAITING_RECONNECT, RoomStatus.ENDED),
    (RoomStatus.ENDED, RoomStatus.RECORDED),
}


def room(status: RoomStatus, **kwargs) -> Room:
    return Room(room_id="r1", host_user_id="host", status=status, max_co_hosts=8, **kwargs)


@pytest.mark.parametrize(("source", "target"), list(product(RoomStatus, RoomStatus)))
def test_only_the_moves_of_the_spec_are_allowed(source, target):
    assert can_move(source, target) == ((source, target) in ALLOWED)


def test_every_status_has_a_transition_entry():
    assert set(TRANSITIONS) == set(RoomStatus)


def test_host_joining_an_idle_room_makes_it_live_and_sets_live_time_once():
    r = room(RoomStatus.IDLE)
    assert r.go_live(NOW)
    assert r.status == RoomStatus.LIVE and r.live_time == NOW
    r.host_dropped(NOW + timedelta(seconds=5), timedelta(seconds=180))
    assert r.go_live(NOW + timedelta(seconds=10))
    assert r.live_time == NOW


def test_host_dropping_waits_for_reconnect_until_the_deadline():
    r = room(RoomStatus.LIVE, live_time=NOW)
    assert r.host_dropped(NOW, timedelta(seconds=180))
    assert r.status == RoomStatus.WAITING_RECONNECT
    assert r.reconnect_deadline == NOW + timedelta(seconds=180)


def test_host_back_clears_the_reconnect_deadline():
    r = room(RoomStatus.WAITING_RECONNECT, live_time=NOW, reconnect_deadline=NOW)
    assert r.go_live(NOW)
    assert r.status == RoomStatus.LIVE and r.reconnect_deadline is None


@pytest.mark.parametrize("status", [RoomStatus.IDLE, RoomStatus.WAITING_RECONNECT])
def test_host_dropping_outside_live_changes_nothing(status):
    r = room(status)
    assert not r.host_dropped(NOW, timedelta(seconds=1))
    assert r.status == status


@pytest.mark.parametrize("status", [RoomStatus.IDLE, RoomStatus.LIVE, RoomStatus.WAITING_RECONNECT])
@pytest.mark.parametrize("reason", list(EndReason))
def test_any_open_room_can_end_for_any_reason(status, reason):
    r = room(status)
    r.end(reason, NOW)
    assert r.status == RoomStatus.ENDED
    assert r.end_reason == reason and r.end_time == NOW and r.reconnect_deadline is None


@pytest.mark.parametrize("status", [RoomStatus.ENDED, RoomStatus.RECORDED])
def test_ending_an_ended_room_is_refused_with_room_ended(status):
    r = room(status, end_time=NOW, end_reason=EndReason.STOPPED_BY_HOST)
    with pytest.raises(FailedPrecondition) as e:
        r.end(EndReason.DISMISSED, NOW + timedelta(seconds=1))
    assert e.value.reason == "ROOM_ENDED"
    assert r.end_reason == EndReason.STOPPED_BY_HOST and r.end_time == NOW


@pytest.mark.parametrize("status", [RoomStatus.ENDED, RoomStatus.RECORDED])
def test_an_ended_room_never_goes_live_again(status):
    r = room(status, end_time=NOW)
    assert not r.go_live(NOW)
    assert r.status == status


def test_a_recording_turns_an_ended_room_recorded_once():
    r = room(RoomStatus.ENDED, end_time=NOW)
    r.recording_arrived(NOW)
    assert r.status == RoomStatus.RECORDED and r.recorded_time == NOW
    r.recording_arrived(NOW + timedelta(seconds=1))
    assert r.status == RoomStatus.RECORDED and r.recorded_time == NOW


@pytest.mark.parametrize("status", [RoomStatus.IDLE, RoomStatus.LIVE, RoomStatus.WAITING_RECONNECT])
def test_a_recording_before_the_end_waits_and_the_end_makes_the_room_recorded(status):
    r = room(status)
    r.recording_arrived(NOW)
    assert r.status == status and r.recording_pending
    r.end(EndReason.STOPPED_BY_HOST, NOW + timedelta(seconds=1))
    assert r.status == RoomStatus.RECORDED and not r.recording_pending
    assert r.recorded_time == NOW + timedelta(seconds=1)


def test_only_the_host_passes_the_host_check_and_admins_pass_host_or_admin():
    r = room(RoomStatus.IDLE)
    r.require_host("host")
    with pytest.raises(PermissionDenied) as e:
        r.require_host("someone")
    assert e.value.reason == "NOT_ROOM_HOST"
    r.require_host_or_admin("someone", is_admin=True)


@pytest.mark.parametrize(
    ("template", "co_hosts"),
    [
        (SeatTemplate.VIDEO_DYNAMIC_GRID_9, 8),
        (SeatTemplate.VIDEO_DYNAMIC_FLOAT_7, 6),
        (SeatTemplate.VIDEO_FIXED_GRID_9, 8),
        (SeatTemplate.VIDEO_FIXED_FLOAT_7, 6),
        (SeatTemplate.VIDEO_LANDSCAPE_4, 3),
    ],
)
def test_seat_templates_count_the_host_seat(template, co_hosts):
    assert template.max_co_hosts == co_hosts


@pytest.mark.parametrize("room_id", ["a", "room-1", "abc_def", "0" * 48])
def test_valid_room_ids(room_id):
    v = Violations()
    v.room_id("room_id", room_id)
    assert v.items == []


@pytest.mark.parametrize("room_id", ["", "A", "-a", "_a", "a b", "a/b", "0" * 49, "é"])
def test_invalid_room_ids(room_id):
    v = Violations()
    v.room_id("room_id", room_id)
    assert [f for f, _ in v.items] == ["room_id"]


@pytest.mark.parametrize(
    ("title", "ok"),
    [
        ("x", True),
        (" x ", True),
        ("", False),
        ("   ", False),
        ("t" * 1000, True),
        ("t" * 1001, False),
    ],
)
def test_title_is_1_to_1000_chars_after_trim(title, ok):
    v = Violations()
    check_title(v, "title", title)
    assert (v.items == []) == ok


def test_initial_co_hosts_must_be_unique_and_not_the_host():
    v = Violations()
    check_co_hosts(v, ["a", "a", "host"], "host", 8)
    assert [d for _, d in v.items] == ["must not repeat a user", "must not contain the host"]


def test_initial_co_hosts_fill_the_seats_and_one_more_is_refused_by_count_alone():
    v = Violations()
    assert check_co_hosts(v, [f"u{i}" for i in range(8)], "host", 8) == [f"u{i}" for i in range(8)]
    assert v.items == []
    check_co_hosts(v, [f"u{i}" for i in range(8)] + ["\x00bad"], "host", 8)
    assert v.items == [("co_host_user_ids", "at most 8 values")]

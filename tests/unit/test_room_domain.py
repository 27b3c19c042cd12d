"""The room status machine and room rules, without I/O."""

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.common.validation import Violations
from services.room.domain import (
    MAX_BAN_DURATION,
    MAX_DESCRIPTION,
    MAX_THUMBNAIL_FILE_ID,
    TRANSITIONS,
    Ban,
    ChangeKind,
    EndReason,
    Participant,
    ParticipantRefused,
    Role,
    Room,
    RoomChanged,
    RoomEnded,
    RoomStatus,
    RoomType,
    RoomView,
    SeatedOnStage,
    SeatTemplate,
    TakenOffStage,
    UserBanned,
    ban_expiry,
    can_move,
    check_co_hosts,
    check_description,
    check_parent_room_id,
    check_thumbnail_file_id,
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
    assert [f for f, _ in v.items] == ["co_host_user_ids", "co_host_user_ids"]


def test_initial_co_hosts_fill_the_seats_and_one_more_is_refused_by_count_alone():
    v = Violations()
    assert check_co_hosts(v, [f"u{i}" for i in range(8)], "host", 8) == [f"u{i}" for i in range(8)]
    assert v.items == []
    check_co_hosts(v, [f"u{i}" for i in range(8)] + ["\x00bad"], "host", 8)
    assert v.items == [("co_host_user_ids", "at most 8 values")]


# --- what the room records as it changes ---------------------------------------------------


def changes(r: Room) -> list[ChangeKind]:
    return [e.kind for e in r.events if isinstance(e, RoomChanged)]


@pytest.mark.parametrize(
    ("template", "seats"),
    [
        (SeatTemplate.VIDEO_DYNAMIC_GRID_9, 9),
        (SeatTemplate.VIDEO_DYNAMIC_FLOAT_7, 7),
        (SeatTemplate.VIDEO_FIXED_GRID_9, 9),
        (SeatTemplate.VIDEO_FIXED_FLOAT_7, 7),
        (SeatTemplate.VIDEO_LANDSCAPE_4, 4),
    ],
)
def test_seat_templates_have_the_seats_their_names_end_with(template, seats):
    assert template.seats == seats


def test_change_kinds_rank_from_least_to_most_telling():
    assert [k.rank for k in ChangeKind] == [0, 1, 2, 3, 4, 5, 6]
    assert (
        ChangeKind.BANS_CHANGED.rank
        < ChangeKind.UPDATED.rank
        < ChangeKind.STATS_CHANGED.rank
        < ChangeKind.PARTICIPANTS_CHANGED.rank
        < ChangeKind.STATUS_CHANGED.rank
        < ChangeKind.RECORDED.rank
        < ChangeKind.DELETED.rank
    )


@pytest.mark.parametrize(
    ("status", "ended"),
    [
        (RoomStatus.IDLE, False),
        (RoomStatus.LIVE, False),
        (RoomStatus.WAITING_RECONNECT, False),
        (RoomStatus.ENDED, True),
        (RoomStatus.RECORDED, True),
    ],
)
def test_only_ended_and_recorded_rooms_are_ended(status, ended):
    assert room(status).ended is ended
    assert view(status=status).ended is ended


def test_going_live_records_a_status_change():
    r = room(RoomStatus.IDLE)
    r.go_live(NOW)
    assert r.events == [RoomChanged("r1", ChangeKind.STATUS_CHANGED)]


def test_going_live_when_live_already_changes_nothing():
    r = room(RoomStatus.LIVE, live_time=NOW)
    assert r.go_live(NOW + timedelta(seconds=1)) is False
    assert r.live_time == NOW and r.events == []


def test_host_dropping_records_a_status_change_and_outside_live_records_nothing():
    r = room(RoomStatus.LIVE)
    assert r.host_dropped(NOW, timedelta(seconds=1)) is True
    assert r.events == [RoomChanged("r1", ChangeKind.STATUS_CHANGED)]
    assert r.host_dropped(NOW, timedelta(seconds=1)) is False
    assert len(r.events) == 1


def test_ending_records_the_status_change_then_the_end_with_its_reason():
    r = room(RoomStatus.LIVE, reconnect_deadline=NOW)
    r.end(EndReason.MAX_DURATION, NOW)
    assert r.events == [
        RoomChanged("r1", ChangeKind.STATUS_CHANGED),
        RoomEnded("r1", EndReason.MAX_DURATION),
    ]
    assert r.recorded_time is None and not r.recording_pending


def test_ending_an_ended_room_records_nothing():
    r = room(RoomStatus.ENDED, end_time=NOW)
    with pytest.raises(FailedPrecondition):
        r.end(EndReason.DISMISSED, NOW)
    assert r.events == []


def test_a_recording_pending_at_the_end_records_the_end_then_recorded():
    r = room(RoomStatus.WAITING_RECONNECT, recording_pending=True)
    r.end(EndReason.RECONNECT_TIMEOUT, NOW)
    assert r.events == [
        RoomChanged("r1", ChangeKind.STATUS_CHANGED),
        RoomEnded("r1", EndReason.RECONNECT_TIMEOUT),
        RoomChanged("r1", ChangeKind.RECORDED),
    ]
    assert (r.status, r.end_time, r.recorded_time) == (RoomStatus.RECORDED, NOW, NOW)
    assert r.end_reason is EndReason.RECONNECT_TIMEOUT


def test_a_recording_of_an_ended_room_records_recorded_and_the_update():
    r = room(RoomStatus.ENDED, end_time=NOW)
    r.recording_arrived(NOW)
    assert changes(r) == [ChangeKind.RECORDED, ChangeKind.UPDATED]
    assert not r.recording_pending


def test_another_recording_of_a_recorded_room_is_an_update_only():
    r = room(RoomStatus.RECORDED, end_time=NOW, recorded_time=NOW)
    r.recording_arrived(NOW + timedelta(seconds=5))
    assert r.status is RoomStatus.RECORDED and r.recorded_time == NOW
    assert not r.recording_pending
    assert r.events == [RoomChanged("r1", ChangeKind.UPDATED)]


@pytest.mark.parametrize("status", [RoomStatus.IDLE, RoomStatus.LIVE, RoomStatus.WAITING_RECONNECT])
def test_a_recording_of_an_open_room_waits_as_an_update(status):
    r = room(status)
    r.recording_arrived(NOW)
    assert r.recording_pending and r.recorded_time is None
    assert r.events == [RoomChanged("r1", ChangeKind.UPDATED)]


def test_without_a_recording_the_end_leaves_the_room_ended():
    r = room(RoomStatus.LIVE)
    r.end(EndReason.STOPPED_BY_HOST, NOW)
    assert r.status is RoomStatus.ENDED and r.recorded_time is None


@pytest.mark.parametrize("status", [RoomStatus.IDLE, RoomStatus.LIVE, RoomStatus.WAITING_RECONNECT])
def test_deleting_an_open_room_ends_it_as_deleted(status):
    r = room(status)
    assert r.delete(NOW) is True
    assert r.deleted and r.status is RoomStatus.ENDED
    assert (r.end_reason, r.end_time) == (EndReason.DELETED, NOW)
    assert r.events == [
        RoomChanged("r1", ChangeKind.STATUS_CHANGED),
        RoomEnded("r1", EndReason.DELETED),
        RoomChanged("r1", ChangeKind.DELETED),
    ]


@pytest.mark.parametrize("status", [RoomStatus.ENDED, RoomStatus.RECORDED])
def test_deleting_an_ended_room_keeps_how_it_ended(status):
    r = room(status, end_time=NOW, end_reason=EndReason.STOPPED_BY_HOST)
    assert r.delete(NOW + timedelta(seconds=1)) is True
    assert r.deleted and r.status is status
    assert (r.end_reason, r.end_time) == (EndReason.STOPPED_BY_HOST, NOW)
    assert r.events == [RoomChanged("r1", ChangeKind.DELETED)]


def test_deleting_a_deleted_room_changes_nothing():
    r = room(RoomStatus.ENDED, end_time=NOW, deleted=True)
    assert r.delete(NOW) is False
    assert r.deleted and r.events == []


def test_a_room_that_never_went_live_can_be_purged():
    r = room(RoomStatus.IDLE)
    r.purge()
    assert r.events == [RoomChanged("r1", ChangeKind.DELETED)]


@pytest.mark.parametrize(
    "used",
    [
        {"status": RoomStatus.LIVE},
        {"status": RoomStatus.WAITING_RECONNECT},
        {"status": RoomStatus.ENDED},
        {"status": RoomStatus.RECORDED},
        {"status": RoomStatus.IDLE, "live_time": NOW},
        {"status": RoomStatus.IDLE, "livekit_room_sid": "RM_1"},
    ],
)
def test_a_room_that_was_used_cannot_be_purged(used):
    r = Room(room_id="r1", host_user_id="host", max_co_hosts=8, **used)
    with pytest.raises(FailedPrecondition) as e:
        r.purge()
    assert e.value.reason == "ROOM_IN_USE"
    assert r.events == []


def test_edits_and_live_counts_are_recorded_as_their_kinds():
    r = room(RoomStatus.LIVE)
    r.edited()
    r.live_counts_changed()
    assert changes(r) == [ChangeKind.UPDATED, ChangeKind.STATS_CHANGED]


# --- who ---------------------------------------------------------------------------------


def test_the_host_is_host_co_hosts_are_co_hosts_and_others_have_no_role():
    r = room(RoomStatus.LIVE, co_host_ids=["cole"])
    assert r.role_of("host") is Role.HOST
    assert r.role_of("cole") is Role.CO_HOST
    assert r.role_of("vic") is None


def test_the_host_passes_host_or_admin_and_others_need_to_be_admins():
    r = room(RoomStatus.IDLE)
    r.require_host_or_admin("host", is_admin=False)
    with pytest.raises(PermissionDenied) as e:
        r.require_host_or_admin("someone", is_admin=False)
    assert e.value.reason == "NOT_ROOM_HOST"


@pytest.mark.parametrize("status", [RoomStatus.IDLE, RoomStatus.LIVE, RoomStatus.WAITING_RECONNECT])
def test_an_open_room_is_not_ended(status):
    room(status).require_not_ended()
    assert room(status).ended is False


@pytest.mark.parametrize(
    ("status", "deleted"),
    [(RoomStatus.ENDED, False), (RoomStatus.RECORDED, False), (RoomStatus.ENDED, True)],
)
def test_an_ended_or_deleted_room_is_refused_as_ended(status, deleted):
    r = room(status, deleted=deleted)
    with pytest.raises(FailedPrecondition) as e:
        r.require_not_ended()
    assert e.value.reason == "ROOM_ENDED"


# --- the stage ---------------------------------------------------------------------------


def test_seating_a_co_host_takes_the_last_free_seat():
    r = room(RoomStatus.LIVE, co_host_ids=[f"u{i}" for i in range(7)])
    r.seat_co_host("last")
    assert r.co_host_ids == [*(f"u{i}" for i in range(7)), "last"]
    assert r.role_of("last") is Role.CO_HOST
    assert r.events == [
        SeatedOnStage("r1", "last"),
        RoomChanged("r1", ChangeKind.PARTICIPANTS_CHANGED),
    ]


def test_seating_a_co_host_when_the_seats_are_full_is_refused_and_seats_nobody():
    r = room(RoomStatus.LIVE, co_host_ids=[f"u{i}" for i in range(8)])
    with pytest.raises(FailedPrecondition) as e:
        r.seat_co_host("one-more")
    assert e.value.reason == "SEAT_LIMIT_REACHED"
    assert e.value.metadata == {"max_co_hosts": "8"}
    assert len(r.co_host_ids) == 8 and "one-more" not in r.co_host_ids
    assert r.events == []


def test_a_room_with_no_co_host_seats_refuses_the_first():
    r = Room(room_id="r1", host_user_id="host", status=RoomStatus.IDLE, max_co_hosts=0)
    with pytest.raises(FailedPrecondition) as e:
        r.seat_co_host("cole")
    assert e.value.reason == "SEAT_LIMIT_REACHED"


@pytest.mark.parametrize("user_id", ["host", "cole"])
def test_seating_someone_on_stage_already_is_refused(user_id):
    r = room(RoomStatus.LIVE, co_host_ids=["cole"])
    with pytest.raises(FailedPrecondition) as e:
        r.seat_co_host(user_id)
    assert e.value.reason == "ALREADY_ON_STAGE"
    assert e.value.metadata == {"user_id": user_id}
    assert r.co_host_ids == ["cole"] and r.events == []


@pytest.mark.parametrize(
    ("status", "deleted"),
    [(RoomStatus.ENDED, False), (RoomStatus.RECORDED, False), (RoomStatus.ENDED, True)],
)
def test_seating_a_co_host_in_an_ended_room_is_refused(status, deleted):
    r = room(status, deleted=deleted)
    with pytest.raises(FailedPrecondition) as e:
        r.seat_co_host("cole")
    assert e.value.reason == "ROOM_ENDED"
    assert r.co_host_ids == []


def test_a_co_host_taken_off_stage_frees_the_seat_and_is_recorded():
    r = room(RoomStatus.LIVE, co_host_ids=["cole", "cora"])
    assert r.take_off_stage("cole", NOW) is True
    assert r.co_host_ids == ["cora"] and r.role_of("cole") is None
    assert r.events == [
        TakenOffStage("r1", "cole", NOW),
        RoomChanged("r1", ChangeKind.PARTICIPANTS_CHANGED),
    ]


def test_taking_off_stage_someone_not_on_it_changes_nothing():
    r = room(RoomStatus.LIVE, co_host_ids=["cole"])
    assert r.take_off_stage("vic", NOW) is False
    assert r.co_host_ids == ["cole"] and r.events == []


def test_the_host_cannot_leave_the_stage():
    r = room(RoomStatus.LIVE)
    with pytest.raises(FailedPrecondition) as e:
        r.take_off_stage("host", NOW)
    assert e.value.reason == "HOST_CANNOT_LEAVE"
    assert r.events == []


def test_banning_a_co_host_takes_them_off_stage_and_records_the_ban_in_an_open_room():
    r = room(RoomStatus.LIVE, co_host_ids=["cole"])
    r.ban("cole", NOW)
    assert r.co_host_ids == []
    assert r.events == [
        TakenOffStage("r1", "cole", NOW),
        RoomChanged("r1", ChangeKind.PARTICIPANTS_CHANGED),
        UserBanned("r1", "cole", NOW, room_open=True),
        RoomChanged("r1", ChangeKind.BANS_CHANGED),
    ]


def test_banning_a_viewer_records_only_the_ban():
    r = room(RoomStatus.IDLE)
    r.ban("vic", NOW)
    assert r.events == [
        UserBanned("r1", "vic", NOW, room_open=True),
        RoomChanged("r1", ChangeKind.BANS_CHANGED),
    ]


def test_an_unban_changes_the_rooms_bans_only():
    r = room(RoomStatus.LIVE)
    r.unban()
    assert r.events == [RoomChanged("r1", ChangeKind.BANS_CHANGED)]


@pytest.mark.parametrize("status", [RoomStatus.ENDED, RoomStatus.RECORDED])
def test_a_ban_in_an_ended_room_says_the_room_is_closed(status):
    r = room(status)
    r.ban("vic", NOW)
    assert r.events == [
        UserBanned("r1", "vic", NOW, room_open=False),
        RoomChanged("r1", ChangeKind.BANS_CHANGED),
    ]


def test_the_host_cannot_be_banned():
    r = room(RoomStatus.LIVE)
    with pytest.raises(InvalidArgument) as e:
        r.ban("host", NOW)
    assert e.value.violations == [("user_id", "the host cannot be banned from their room")]
    assert r.events == []


@pytest.mark.parametrize(
    ("user_id", "banned", "publishing"),
    [
        ("vic", False, False),
        ("cole", False, True),
        ("host", False, True),
        ("cole", False, False),
    ],
)
def test_livekit_keeps_viewers_and_publishers_on_stage(user_id, banned, publishing):
    r = room(RoomStatus.LIVE, co_host_ids=["cole"])
    assert r.admits(user_id, NOW, banned=banned, publishing=publishing) is True
    assert r.events == []


@pytest.mark.parametrize(
    ("user_id", "banned", "publishing"),
    [
        ("vic", True, False),
        ("cole", True, True),
        ("vic", False, True),
    ],
)
def test_livekit_puts_out_the_banned_and_publishers_off_stage(user_id, banned, publishing):
    r = room(RoomStatus.LIVE, co_host_ids=["cole"])
    assert r.admits(user_id, NOW, banned=banned, publishing=publishing) is False
    assert r.events == [ParticipantRefused("r1", user_id, NOW)]


@pytest.mark.parametrize("status", [RoomStatus.ENDED, RoomStatus.RECORDED])
def test_an_ended_room_refuses_nobody_in_livekit(status):
    r = room(status)
    assert r.admits("vic", NOW, banned=True, publishing=True) is True
    assert r.events == []


@pytest.mark.parametrize(
    ("duration", "expiry"),
    [
        (None, None),
        (timedelta(0), None),
        (timedelta(seconds=1), NOW + timedelta(seconds=1)),
        (MAX_BAN_DURATION, NOW + timedelta(days=36500)),
    ],
)
def test_a_ban_lapses_after_its_duration_and_without_one_lasts_until_unbanned(duration, expiry):
    assert ban_expiry(NOW, duration) == expiry


# --- the room as readers see it ------------------------------------------------------------


def view(**fields) -> RoomView:
    defaults = {
        "room_id": "r1",
        "type": RoomType.CO_HOSTS,
        "status": RoomStatus.LIVE,
        "title": "t",
        "description": "",
        "thumbnail_file_id": "",
        "metadata": {},
        "live_chat_enabled": True,
        "parent_room_id": "",
        "seat_template": SeatTemplate.VIDEO_DYNAMIC_GRID_9,
        "max_co_hosts": 8,
        "host_user_id": "host",
        "end_reason": None,
        "participants": (),
        "viewer_count": 0,
        "publisher_count": 0,
        "stored_peak_viewer_count": 0,
        "recordings": (),
        "create_time": NOW,
        "update_time": NOW,
        "live_time": None,
        "end_time": None,
        "recorded_time": None,
        "deleted": False,
        "delete_time": None,
    }
    return RoomView(**{**defaults, **fields})


def test_the_live_chat_channel_exists_only_while_chat_is_enabled():
    assert view(live_chat_enabled=True).live_channel_id == "r1:chat"
    assert view(live_chat_enabled=False).live_channel_id == ""


@pytest.mark.parametrize(("stored", "now", "peak"), [(5, 3, 5), (3, 5, 5), (4, 4, 4), (0, 0, 0)])
def test_the_peak_is_never_below_the_viewers_connected_now(stored, now, peak):
    assert view(stored_peak_viewer_count=stored, viewer_count=now).peak_viewer_count == peak


def test_rooms_and_bans_page_by_creation_then_id():
    later = NOW + timedelta(seconds=1)
    assert view(create_time=later).page_key == (later, "r1")
    ban = Ban("r1", "vic", "spam", "host", later, None)
    assert ban.page_key == (later, "vic")


def test_the_view_tells_each_participants_role():
    participants = (
        Participant("host", Role.HOST, NOW, connected=True),
        Participant("cole", Role.CO_HOST, NOW, connected=False),
    )
    v = view(participants=participants)
    assert v.role_of("host") is Role.HOST
    assert v.role_of("cole") is Role.CO_HOST
    assert v.role_of("vic") is None


# --- input rules ---------------------------------------------------------------------------


def test_a_title_is_trimmed_at_its_ends_only():
    v = Violations()
    assert check_title(v, "title", "  a  b \n") == "a  b"
    assert v.items == []


def test_a_missing_title_is_required_under_its_field():
    v = Violations()
    check_title(v, "room.title", "  ")
    assert v.items == [("room.title", "is required")]


@pytest.mark.parametrize(
    ("check", "limit"),
    [(check_description, MAX_DESCRIPTION), (check_thumbnail_file_id, MAX_THUMBNAIL_FILE_ID)],
)
def test_optional_texts_may_be_empty_or_fill_their_limit_but_not_one_more(check, limit):
    assert (MAX_DESCRIPTION, MAX_THUMBNAIL_FILE_ID) == (5000, 256)
    for text in ("", " x ", "d" * limit):
        v = Violations()
        assert check(v, "f", text) == text
        assert v.items == []
    v = Violations()
    check(v, "f", "d" * (limit + 1))
    assert v.items == [("f", f"must be at most {limit} characters")]


@pytest.mark.parametrize("room_id", ["", "p", "0" * 48])
def test_a_parent_room_is_optional_and_a_room_id_up_to_48_chars(room_id):
    v = Violations()
    assert check_parent_room_id(v, "parent_room_id", room_id) == room_id
    assert v.items == []


@pytest.mark.parametrize("room_id", ["0" * 49, "Parent", "a b"])
def test_a_parent_room_id_must_be_a_room_id(room_id):
    v = Violations()
    check_parent_room_id(v, "parent_room_id", room_id)
    assert [f for f, _ in v.items] == ["parent_room_id"]


def test_initial_co_hosts_are_returned_when_valid_and_none_when_too_many():
    v = Violations()
    assert check_co_hosts(v, [], "host", 8) == []
    assert check_co_hosts(v, ["a", "b"], "host", 2) == ["a", "b"]
    assert v.items == []
    assert check_co_hosts(v, ["a", "b", "c"], "host", 2) == []
    assert v.items == [("co_host_user_ids", "at most 2 values")]


def test_each_initial_co_host_must_be_an_id_and_is_named_by_its_index():
    v = Violations()
    check_co_hosts(v, ["a", "", "c" * 129], "host", 8)
    assert v.items == [
        ("co_host_user_ids[1]", "is required"),
        ("co_host_user_ids[2]", "must be at most 128 characters"),
    ]


def test_a_room_without_seats_takes_no_initial_co_host():
    v = Violations()
    assert check_co_hosts(v, ["a"], "host", 0) == []
    assert v.items == [("co_host_user_ids", "at most 0 values")]

"""Moderator rules of the Room aggregate: naming (at most 5, not the host, idempotent), who
passes the moderation check, and a ban ending a moderator. No I/O."""

from datetime import UTC, datetime

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.room.domain import (
    MAX_MODERATORS,
    ChangeKind,
    Room,
    RoomChanged,
    RoomStatus,
    UserBanned,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def room(status: RoomStatus = RoomStatus.LIVE, **kwargs) -> Room:
    return Room(room_id="r1", host_user_id="host", status=status, max_co_hosts=8, **kwargs)


def changes(r: Room) -> list[ChangeKind]:
    return [e.kind for e in r.events if isinstance(e, RoomChanged)]


def test_the_limit_is_five():
    assert MAX_MODERATORS == 5


def test_five_moderators_are_named_and_a_sixth_is_moderator_limit_reached():
    r = room()
    for i in range(5):
        assert r.add_moderator(f"m{i}") is True
    assert r.moderator_ids == ["m0", "m1", "m2", "m3", "m4"]
    assert changes(r) == [ChangeKind.UPDATED] * 5
    with pytest.raises(FailedPrecondition) as e:
        r.add_moderator("m5")
    assert e.value.reason == "MODERATOR_LIMIT_REACHED"
    assert e.value.metadata == {"max_moderators": "5"}
    assert r.moderator_ids == ["m0", "m1", "m2", "m3", "m4"]
    assert len(changes(r)) == 5


def test_naming_a_moderator_again_changes_nothing_even_at_the_limit():
    r = room(moderator_ids=["m0", "m1", "m2", "m3", "m4"])
    assert r.add_moderator("m2") is False
    assert r.moderator_ids == ["m0", "m1", "m2", "m3", "m4"]
    assert r.events == []


def test_four_moderators_leave_room_for_a_fifth():
    r = room(moderator_ids=["m0", "m1", "m2", "m3"])
    assert r.add_moderator("m4") is True
    assert len(r.moderator_ids) == 5


@pytest.mark.parametrize("move", ["add_moderator", "remove_moderator"])
def test_the_host_is_never_a_moderator(move):
    r = room()
    with pytest.raises(InvalidArgument) as e:
        getattr(r, move)("host")
    assert e.value.violations == [("user_id", "the host moderates their room already")]
    assert r.moderator_ids == [] and r.events == []


@pytest.mark.parametrize("status", [RoomStatus.ENDED, RoomStatus.RECORDED])
@pytest.mark.parametrize("move", ["add_moderator", "remove_moderator"])
def test_an_ended_room_names_or_withdraws_no_moderator(status, move):
    r = room(status, moderator_ids=["m0"])
    with pytest.raises(FailedPrecondition) as e:
        getattr(r, move)("m0" if move == "remove_moderator" else "m1")
    assert e.value.reason == "ROOM_ENDED"
    assert r.moderator_ids == ["m0"]


def test_a_deleted_room_names_no_moderator():
    r = room(RoomStatus.ENDED, deleted=True)
    with pytest.raises(FailedPrecondition):
        r.add_moderator("m0")


def test_withdrawing_a_moderator_and_a_non_moderator():
    r = room(moderator_ids=["m0", "m1"])
    assert r.remove_moderator("m0") is True
    assert r.moderator_ids == ["m1"]
    assert changes(r) == [ChangeKind.UPDATED]
    assert r.remove_moderator("stranger") is False
    assert r.moderator_ids == ["m1"]
    assert len(r.events) == 1


@pytest.mark.parametrize(
    ("user", "allowed"),
    [("host", True), ("mod", True), ("co", False), ("stranger", False), ("", False)],
)
def test_who_may_moderate(user, allowed):
    r = room(co_host_ids=["co"], moderator_ids=["mod"])
    assert r.is_moderator_or_host(user) is allowed
    if allowed:
        r.require_moderator_or_host(user)
        r.require_moderator_host_or_admin(user, is_admin=False)
    else:
        with pytest.raises(PermissionDenied) as e:
            r.require_moderator_or_host(user)
        assert e.value.reason == "NOT_ROOM_MODERATOR"
        with pytest.raises(PermissionDenied):
            r.require_moderator_host_or_admin(user, is_admin=False)
    # An admin passes where admins are allowed (bans), whoever they are in the room.
    r.require_moderator_host_or_admin(user, is_admin=True)


@pytest.mark.parametrize("user", ["mod", "co", "stranger"])
def test_a_moderator_is_not_the_host(user):
    r = room(co_host_ids=["co"], moderator_ids=["mod"])
    with pytest.raises(PermissionDenied) as e:
        r.require_host(user)
    assert e.value.reason == "NOT_ROOM_HOST"


def test_a_banned_moderator_stops_being_one():
    r = room(co_host_ids=["mod"], moderator_ids=["mod", "other"])
    r.ban("mod", NOW)
    assert r.moderator_ids == ["other"]
    assert r.co_host_ids == []
    assert not r.is_moderator_or_host("mod")
    assert ChangeKind.UPDATED in changes(r)
    assert any(isinstance(e, UserBanned) for e in r.events)


def test_banning_someone_else_leaves_the_moderators():
    r = room(moderator_ids=["mod"])
    r.ban("viewer", NOW)
    assert r.moderator_ids == ["mod"]
    assert ChangeKind.UPDATED not in changes(r)

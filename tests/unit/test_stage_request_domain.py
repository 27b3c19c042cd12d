"""Stage requests in the invitation domain: who may ask, who may withdraw and read, the type
checks, and who resolved each. No I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import FailedPrecondition, PermissionDenied
from services.invitation.domain import (
    ChangeKind,
    Invitation,
    InvitationChanged,
    InvitationStatus,
    InvitationType,
    RoomAccess,
    require_can_request_stage,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TTL = 600


def request() -> Invitation:
    return Invitation.request_stage("s1", "r1", "viewer", NOW, TTL)


def co_host_invitation() -> Invitation:
    return Invitation.create("i1", "r1", "guest", "host", NOW, TTL)


def access(**overrides) -> RoomAccess:
    values = dict(room_id="r1", host_user_id="host", moderator_user_ids=("mod",))
    values.update(overrides)
    return RoomAccess(**values)


def test_a_stage_request_is_pending_without_inviter_and_expires_after_the_ttl():
    r = request()
    assert (r.type, r.status, r.user_id, r.inviter_user_id) == (
        InvitationType.STAGE_REQUEST, InvitationStatus.PENDING, "viewer", "",
    )  # fmt: skip
    assert r.is_stage_request and not co_host_invitation().is_stage_request
    assert r.expire_time == NOW + timedelta(seconds=TTL)
    assert r.responder_user_id == "" and r.respond_time is None
    assert r.events == [InvitationChanged(r, ChangeKind.CREATED)]
    assert r.status_at(r.expire_time) is InvitationStatus.EXPIRED


def test_anyone_off_stage_and_not_banned_may_ask_an_open_room():
    assert require_can_request_stage(access(), "viewer") is None


@pytest.mark.parametrize(
    ("room", "requester", "error", "reason"),
    [
        (access(ended=True), "viewer", FailedPrecondition, "ROOM_ENDED"),
        (access(deleted=True), "viewer", FailedPrecondition, "ROOM_ENDED"),
        (access(role="host"), "host", FailedPrecondition, "ALREADY_ON_STAGE"),
        (access(), "host", FailedPrecondition, "ALREADY_ON_STAGE"),
        (access(role="co_host"), "co", FailedPrecondition, "ALREADY_ON_STAGE"),
        (access(banned=True), "viewer", PermissionDenied, "USER_BANNED"),
    ],
    ids=["ended", "deleted", "host", "host-by-id", "co-host", "banned"],
)
def test_stage_requests_are_refused(room, requester, error, reason):
    with pytest.raises(error) as e:
        require_can_request_stage(room, requester)
    assert e.value.reason == reason


@pytest.mark.parametrize(
    ("user", "allowed"), [("host", True), ("mod", True), ("viewer", False), ("other", False)]
)
def test_host_and_moderators_answer_through_the_room_access(user, allowed):
    a = access()
    assert a.is_moderator_or_host(user) is allowed
    if allowed:
        a.require_moderator_or_host(user)
    else:
        with pytest.raises(PermissionDenied) as e:
            a.require_moderator_or_host(user)
        assert e.value.reason == "NOT_ROOM_MODERATOR"


def test_the_requester_withdraws_a_request_and_the_inviter_an_invitation():
    assert request().may_withdraw("viewer")
    assert not request().may_withdraw("host")  # the host passes as host, not as withdrawer
    assert not request().may_withdraw("")
    assert co_host_invitation().may_withdraw("host")
    assert not co_host_invitation().may_withdraw("guest")  # the invitee rejects instead


def test_the_requester_is_a_party_and_nobody_is_by_the_empty_inviter():
    assert request().is_party("viewer")
    assert not request().is_party("")
    assert not request().is_party("host")


@pytest.mark.parametrize(
    ("make", "expected", "ok"),
    [
        (request, InvitationType.STAGE_REQUEST, True),
        (request, InvitationType.LIVESTREAM_CO_HOST, False),
        (co_host_invitation, InvitationType.LIVESTREAM_CO_HOST, True),
        (co_host_invitation, InvitationType.STAGE_REQUEST, False),
    ],
)
def test_an_rpc_of_the_other_kind_is_wrong_invitation_type(make, expected, ok):
    inv = make()
    if ok:
        inv.require_type(expected)
        return
    with pytest.raises(FailedPrecondition) as e:
        inv.require_type(expected)
    assert e.value.reason == "WRONG_INVITATION_TYPE"
    assert e.value.metadata == {"invitation_id": inv.invitation_id, "type": inv.type.value}


@pytest.mark.parametrize(
    ("move", "status"),
    [
        ("accept", InvitationStatus.ACCEPTED),
        ("reject", InvitationStatus.REJECTED),
        ("cancel", InvitationStatus.CANCELLED),
    ],
)
def test_each_resolution_records_who_made_it(move, status):
    r = request()
    getattr(r, move)(NOW + timedelta(seconds=1), "mod")
    assert (r.status, r.responder_user_id) == (status, "mod")
    assert r.respond_time == NOW + timedelta(seconds=1)


def test_a_resolution_needs_a_responder():
    with pytest.raises(AssertionError):
        request().accept(NOW, "")

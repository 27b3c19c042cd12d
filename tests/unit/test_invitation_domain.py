from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import FailedPrecondition, PermissionDenied
from services.invitation.domain import (
    TRANSITIONS,
    ChangeKind,
    Invitation,
    InvitationChanged,
    InvitationStatus,
    InvitationType,
    RoomAccess,
    can_move,
    effective_status,
    expire_time_for,
    require_can_invite,
)

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)
RESOLVED = [s for s in InvitationStatus if s is not InvitationStatus.PENDING]


def invitation(status: InvitationStatus = InvitationStatus.PENDING) -> Invitation:
    return Invitation(
        invitation_id="i1",
        room_id="r1",
        user_id="guest",
        inviter_user_id="host",
        status=status,
        create_time=NOW,
        expire_time=NOW + TTL,
    )


def moves(inv: Invitation):
    return {
        InvitationStatus.ACCEPTED: inv.accept,
        InvitationStatus.REJECTED: inv.reject,
        InvitationStatus.CANCELLED: inv.cancel,
    }


@pytest.mark.parametrize(
    "target", [InvitationStatus.ACCEPTED, InvitationStatus.REJECTED, InvitationStatus.CANCELLED]
)
def test_pending_resolves_once_and_records_when(target):
    inv = invitation()
    later = NOW + timedelta(minutes=1)
    moves(inv)[target](later, "guest")
    assert inv.status is target
    assert inv.respond_time == later
    assert inv.responder_user_id == "guest"
    for again in moves(inv).values():
        with pytest.raises(FailedPrecondition) as e:
            again(later, "host")
        assert e.value.reason == "INVITATION_NOT_PENDING"


@pytest.mark.parametrize("source", RESOLVED)
@pytest.mark.parametrize("move", ["accept", "reject", "cancel"], ids=lambda m: f"then-{m}")
def test_every_move_out_of_a_resolved_invitation_is_refused(source, move):
    inv = invitation(source)
    with pytest.raises(FailedPrecondition) as e:
        getattr(inv, move)(NOW + 2 * TTL, "guest")
    assert e.value.reason == "INVITATION_NOT_PENDING"
    assert inv.status is source
    assert inv.respond_time is None


def test_the_transition_table_only_leaves_pending():
    for source in InvitationStatus:
        for target in InvitationStatus:
            assert can_move(source, target) == (
                source is InvitationStatus.PENDING and target is not InvitationStatus.PENDING
            )
    assert all(not TRANSITIONS[s] for s in RESOLVED)


def test_a_pending_invitation_reads_expired_the_moment_its_deadline_passes():
    inv = invitation()
    assert inv.status_at(inv.expire_time - timedelta(microseconds=1)) is InvitationStatus.PENDING
    assert inv.status_at(inv.expire_time) is InvitationStatus.EXPIRED
    assert inv.status is InvitationStatus.PENDING  # reading writes nothing
    assert effective_status("pending", inv.expire_time, inv.expire_time) is InvitationStatus.EXPIRED


@pytest.mark.parametrize("source", RESOLVED)
def test_a_resolved_invitation_reads_as_resolved_after_its_deadline(source):
    assert effective_status(source.value, NOW, NOW + TTL) is source


@pytest.mark.parametrize("move", ["accept", "reject", "cancel"])
def test_an_expired_but_unswept_invitation_cannot_be_resolved(move):
    inv = invitation()
    with pytest.raises(FailedPrecondition) as e:
        getattr(inv, move)(inv.expire_time, "guest")
    assert e.value.reason == "INVITATION_NOT_PENDING"
    assert e.value.metadata["status"] == "expired"
    assert inv.status is InvitationStatus.PENDING


def test_only_the_invitee_accepts_and_only_the_parties_read():
    inv = invitation()
    assert inv.require_invitee("guest") is None
    with pytest.raises(PermissionDenied) as e:
        inv.require_invitee("host")
    assert e.value.reason == "NOT_INVITEE"
    assert inv.require_party("guest") is None
    assert inv.require_party("host") is None
    with pytest.raises(PermissionDenied) as e:
        inv.require_party("stranger")
    assert e.value.reason == "NOT_INVITEE"
    assert "inviter" in e.value.message


def test_only_the_inviter_is_the_inviter():
    inv = invitation()
    assert inv.is_inviter("host")
    assert not inv.is_inviter("guest")
    assert not inv.is_inviter("stranger")


def test_statuses_kinds_and_types_are_spelled_as_stored_and_notified():
    assert [s.value for s in InvitationStatus] == [
        "pending", "accepted", "rejected", "cancelled", "expired",
    ]  # fmt: skip
    assert [k.value for k in ChangeKind] == ["created", "status_changed"]
    assert [t.value for t in InvitationType] == ["livestream_co_host", "stage_request"]


def test_a_new_invitation_is_pending_expires_after_the_ttl_and_records_its_creation():
    inv = Invitation.create("i9", "r1", "guest", "host", now=NOW, ttl_seconds=600)
    assert (inv.invitation_id, inv.room_id, inv.user_id, inv.inviter_user_id) == (
        "i9", "r1", "guest", "host",
    )  # fmt: skip
    assert inv.status is InvitationStatus.PENDING
    assert inv.type is InvitationType.LIVESTREAM_CO_HOST
    assert inv.create_time == NOW
    assert inv.expire_time == NOW + timedelta(seconds=600)
    assert inv.respond_time is None
    assert inv.events == [InvitationChanged(inv, ChangeKind.CREATED)]


def test_the_expire_time_is_the_ttl_in_seconds_after_now():
    assert expire_time_for(NOW, 1) == NOW + timedelta(seconds=1)
    assert expire_time_for(NOW, 86_400) == datetime(2025, 1, 2, 12, 0, tzinfo=UTC)


def test_a_new_invitation_is_pending_a_microsecond_before_its_ttl_and_expired_at_it():
    inv = Invitation.create("i9", "r1", "guest", "host", now=NOW, ttl_seconds=600)
    deadline = NOW + timedelta(seconds=600)
    assert inv.status_at(deadline - timedelta(microseconds=1)) is InvitationStatus.PENDING
    assert inv.status_at(deadline) is InvitationStatus.EXPIRED


@pytest.mark.parametrize(
    "target", [InvitationStatus.ACCEPTED, InvitationStatus.REJECTED, InvitationStatus.CANCELLED]
)
def test_resolving_records_one_status_change_with_the_invitation(target):
    inv = invitation()
    moves(inv)[target](NOW, "guest")
    assert inv.events == [InvitationChanged(inv, ChangeKind.STATUS_CHANGED)]
    assert inv.events[0].invitation is inv


def test_a_resolved_invitation_says_which_and_what_it_is_when_moved_again():
    inv = invitation(InvitationStatus.REJECTED)
    with pytest.raises(FailedPrecondition) as e:
        inv.accept(NOW, "guest")
    assert e.value.metadata == {"invitation_id": "i1", "status": "rejected"}
    assert inv.events == []


def test_invitations_are_listed_by_create_time_then_id():
    assert invitation().page_key == (NOW, "i1")


def room(**overrides) -> RoomAccess:
    values = dict(
        room_id="r1",
        host_user_id="host",
        ended=False,
        deleted=False,
        role=None,
        banned=False,
    )
    values.update(overrides)
    return RoomAccess(**values)


def test_the_host_invites_someone_off_stage():
    assert require_can_invite(room(), "host", "guest") is None


@pytest.mark.parametrize(
    ("access", "inviter", "invitee", "error", "reason", "named"),
    [
        (room(), "guest", "other", PermissionDenied, "NOT_ROOM_HOST", None),
        (room(ended=True), "host", "guest", FailedPrecondition, "ROOM_ENDED", None),
        (room(deleted=True), "host", "guest", FailedPrecondition, "ROOM_ENDED", None),
        (room(role="host"), "host", "host", FailedPrecondition, "ALREADY_ON_STAGE", "host"),
        (room(role=None), "host", "host", FailedPrecondition, "ALREADY_ON_STAGE", "host"),
        (room(role="co_host"), "host", "guest", FailedPrecondition, "ALREADY_ON_STAGE", "guest"),
        (room(banned=True), "host", "guest", PermissionDenied, "USER_BANNED", "guest"),
    ],
    ids=["not-host", "ended", "deleted", "the-host", "the-host-by-id", "co-host", "banned"],
)
def test_invitations_are_refused_naming_the_invitee(access, inviter, invitee, error, reason, named):
    with pytest.raises(error) as e:
        require_can_invite(access, inviter, invitee)
    assert e.value.reason == reason
    assert e.value.metadata == ({"user_id": named} if named else {})


def test_an_invitation_into_an_ended_room_names_the_room():
    with pytest.raises(FailedPrecondition) as e:
        require_can_invite(room(ended=True), "host", "guest")
    assert "r1" in e.value.message

from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import FailedPrecondition, PermissionDenied
from services.invitation.domain import (
    TRANSITIONS,
    Invitation,
    InvitationStatus,
    RoomAccess,
    can_move,
    effective_status,
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
    moves(inv)[target](later)
    assert inv.status is target
    assert inv.respond_time == later
    for again in moves(inv).values():
        with pytest.raises(FailedPrecondition) as e:
            again(later)
        assert e.value.reason == "INVITATION_NOT_PENDING"


@pytest.mark.parametrize("source", RESOLVED)
@pytest.mark.parametrize("move", ["accept", "reject", "cancel"], ids=lambda m: f"then-{m}")
def test_every_move_out_of_a_resolved_invitation_is_refused(source, move):
    inv = invitation(source)
    with pytest.raises(FailedPrecondition) as e:
        getattr(inv, move)(NOW + 2 * TTL)
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
        getattr(inv, move)(inv.expire_time)
    assert e.value.reason == "INVITATION_NOT_PENDING"
    assert e.value.metadata["status"] == "expired"
    assert inv.status is InvitationStatus.PENDING


def test_only_the_invitee_accepts_and_only_the_parties_read():
    inv = invitation()
    inv.require_invitee("guest")
    with pytest.raises(PermissionDenied) as e:
        inv.require_invitee("host")
    assert e.value.reason == "NOT_INVITEE"
    inv.require_party("guest")
    inv.require_party("host")
    with pytest.raises(PermissionDenied):
        inv.require_party("stranger")


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
    require_can_invite(room(), "host", "guest")


@pytest.mark.parametrize(
    ("access", "inviter", "invitee", "error", "reason"),
    [
        (room(), "guest", "other", PermissionDenied, "NOT_ROOM_HOST"),
        (room(ended=True), "host", "guest", FailedPrecondition, "ROOM_ENDED"),
        (room(deleted=True), "host", "guest", FailedPrecondition, "ROOM_ENDED"),
        (room(role="host"), "host", "host", FailedPrecondition, "ALREADY_ON_STAGE"),
        (room(role="co_host"), "host", "guest", FailedPrecondition, "ALREADY_ON_STAGE"),
        (room(banned=True), "host", "guest", PermissionDenied, "USER_BANNED"),
    ],
    ids=["not-host", "ended", "deleted", "the-host", "co-host", "banned"],
)
def test_invitations_are_refused(access, inviter, invitee, error, reason):
    with pytest.raises(error) as e:
        require_can_invite(access, inviter, invitee)
    assert e.value.reason == reason

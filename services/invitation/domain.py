"""Invitation rules and the invitation status machine. No I/O.

pending → accepted | rejected | cancelled | expired; every other move is FAILED_PRECONDITION
`INVITATION_NOT_PENDING`, so an invitation resolves exactly once.

Expiry: a pending invitation whose `expire_time` has passed *is* expired, whether or not the
sweeper has written that down yet: every read goes through `effective_status`, and the SQL
filters use the same rule. An expired invitation has no `respond_time` (nobody responded),
so a swept and an unswept one read the same.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.common.events import DomainEvent
from services.invitation import errors
from services.room import errors as room_errors
from services.room.client import RoomAccess

MAX_REQUEST_ID = 128


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class InvitationType(StrEnum):
    # The host invites a user on stage; the invitee accepts or rejects.
    LIVESTREAM_CO_HOST = "livestream_co_host"
    # A viewer asks to go on stage; the host or a moderator approves or declines.
    STAGE_REQUEST = "stage_request"


class ChangeKind(StrEnum):
    """What WatchMyInvitations streams are told."""

    CREATED = "created"
    STATUS_CHANGED = "status_changed"


# Every move of the status machine; anything else is refused.
TRANSITIONS: dict[InvitationStatus, frozenset[InvitationStatus]] = {
    InvitationStatus.PENDING: frozenset(
        {
            InvitationStatus.ACCEPTED,
            InvitationStatus.REJECTED,
            InvitationStatus.CANCELLED,
            InvitationStatus.EXPIRED,
        }
    ),
    InvitationStatus.ACCEPTED: frozenset(),
    InvitationStatus.REJECTED: frozenset(),
    InvitationStatus.CANCELLED: frozenset(),
    InvitationStatus.EXPIRED: frozenset(),
}


def can_move(source: InvitationStatus, target: InvitationStatus) -> bool:
    return target in TRANSITIONS[source]


def effective_status(status: str, expire_time: datetime, now: datetime) -> InvitationStatus:
    """The status a reader sees: pending turns into expired the moment the deadline passes
    (the repository's SQL filters apply the same rule)."""
    stored = InvitationStatus(status)
    if stored is InvitationStatus.PENDING and now >= expire_time:
        return InvitationStatus.EXPIRED
    return stored


def expire_time_for(now: datetime, ttl_seconds: int) -> datetime:
    return now + timedelta(seconds=ttl_seconds)


def require_can_invite(room: RoomAccess, inviter: str, invitee: str) -> None:
    """Only the host invites, into a room that is not ended, someone not on stage and not
    banned."""
    room.require_host(inviter)
    if room.ended or room.deleted:
        raise room_errors.room_ended(room.room_id)
    if invitee == room.host_user_id or room.role is not None:
        raise room_errors.already_on_stage(invitee)
    if room.banned:
        raise room_errors.user_banned(invitee)


def require_can_request_stage(room: RoomAccess, requester: str) -> None:
    """Anyone asks, into a room that is not ended, unless banned or on stage already."""
    if room.ended or room.deleted:
        raise room_errors.room_ended(room.room_id)
    if requester == room.host_user_id or room.role is not None:
        raise room_errors.already_on_stage(requester)
    if room.banned:
        raise room_errors.user_banned(requester)


@dataclass(frozen=True)
class InvitationChanged(DomainEvent):
    """The invitation as it is at commit, and how it changed."""

    invitation: "Invitation"
    kind: ChangeKind


@dataclass
class Invitation:
    invitation_id: str
    room_id: str
    user_id: str
    inviter_user_id: str
    status: InvitationStatus
    create_time: datetime
    expire_time: datetime
    respond_time: datetime | None = None
    type: InvitationType = InvitationType.LIVESTREAM_CO_HOST
    # Who resolved it; empty while pending, once expired, and when the system cancelled it.
    responder_user_id: str = ""
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def create(
        cls,
        invitation_id: str,
        room_id: str,
        user_id: str,
        inviter_user_id: str,
        now: datetime,
        ttl_seconds: int,
    ) -> "Invitation":
        """A new pending invitation, expiring after the TTL."""
        invitation = cls(
            invitation_id=invitation_id,
            room_id=room_id,
            user_id=user_id,
            inviter_user_id=inviter_user_id,
            status=InvitationStatus.PENDING,
            create_time=now,
            expire_time=expire_time_for(now, ttl_seconds),
        )
        invitation.events.append(InvitationChanged(invitation, ChangeKind.CREATED))
        return invitation

    @classmethod
    def request_stage(
        cls, invitation_id: str, room_id: str, requester: str, now: datetime, ttl_seconds: int
    ) -> "Invitation":
        """A new pending stage request (no inviter), expiring after the TTL."""
        request = cls(
            invitation_id=invitation_id,
            room_id=room_id,
            user_id=requester,
            inviter_user_id="",
            status=InvitationStatus.PENDING,
            create_time=now,
            expire_time=expire_time_for(now, ttl_seconds),
            type=InvitationType.STAGE_REQUEST,
        )
        request.events.append(InvitationChanged(request, ChangeKind.CREATED))
        return request

    @property
    def is_stage_request(self) -> bool:
        return self.type is InvitationType.STAGE_REQUEST

    def status_at(self, now: datetime) -> InvitationStatus:
        return effective_status(self.status, self.expire_time, now)

    @property
    def page_key(self) -> tuple[datetime, str]:
        return self.create_time, self.invitation_id

    # --- who ---

    def require_invitee(self, user_id: str) -> None:
        if user_id != self.user_id:
            raise errors.not_invitee()

    def is_party(self, user_id: str) -> bool:
        """The inviter, the invitee, or the requester of a stage request (which has no
        inviter: the empty id is nobody)."""
        return bool(user_id) and user_id in (self.user_id, self.inviter_user_id)

    def require_party(self, user_id: str) -> None:
        """The inviter and the invitee read an invitation; nobody else."""
        if not self.is_party(user_id):
            raise errors.not_invitee("only the invitee or the inviter may read this invitation")

    def is_inviter(self, user_id: str) -> bool:
        return user_id == self.inviter_user_id

    def may_withdraw(self, user_id: str) -> bool:
        """Who cancels without being the host: the inviter of an invitation, the requester
        of a stage request."""
        if self.is_stage_request:
            return user_id == self.user_id
        return self.is_inviter(user_id)

    def require_type(self, expected: InvitationType) -> None:
        if self.type is not expected:
            raise errors.wrong_invitation_type(self.invitation_id, self.type.value)

    # --- the status machine ---

    def require_pending(self, now: datetime) -> None:
        current = self.status_at(now)
        if current is not InvitationStatus.PENDING:
            raise errors.invitation_not_pending(self.invitation_id, current.value)

    def _resolve(self, target: InvitationStatus, now: datetime, by: str) -> None:
        self.require_pending(now)
        assert can_move(self.status, target)
        assert by, "a user resolves it"
        self.status = target
        self.respond_time = now
        self.responder_user_id = by
        self.events.append(InvitationChanged(self, ChangeKind.STATUS_CHANGED))

    def accept(self, now: datetime, by: str) -> None:
        """Accepted by the invitee, or a stage request approved by the host or a moderator."""
        self._resolve(InvitationStatus.ACCEPTED, now, by)

    def reject(self, now: datetime, by: str) -> None:
        """Rejected by the invitee, or a stage request declined by the host or a moderator."""
        self._resolve(InvitationStatus.REJECTED, now, by)

    def cancel(self, now: datetime, by: str) -> None:
        self._resolve(InvitationStatus.CANCELLED, now, by)

"""The invitation use cases: plain async functions taking a command and a unit of work.

Accept claims the seat in the room service while the invitation row is locked (SELECT ... FOR
UPDATE): a concurrent cancel, reject or CancelRoomInvitations waits and then finds the
invitation accepted, and the sweeper skips it. If the process dies after the seat claim but
before the commit, the invitation is still pending and a retried accept finishes the job:
AddCoHost is idempotent per invitation and seats nobody twice.
"""

from dataclasses import dataclass
from typing import Protocol

from services.common.auth import Caller
from services.common.errors import DuplicateKey
from services.common.ids import new_id
from services.common.pagination import Page, PageRequest
from services.common.timestamps import utcnow
from services.invitation import errors
from services.invitation.domain import (
    ChangeKind,
    Invitation,
    InvitationChanged,
    InvitationStatus,
    RoomAccess,
    require_can_invite,
)
from services.invitation.repository import InvitationUnitOfWork
from services.room import errors as room_errors


class Rooms(Protocol):
    async def access(self, room_id: str, user_id: str) -> RoomAccess: ...

    async def add_co_host(self, room_id: str, user_id: str, invitation_id: str) -> None: ...


def _changed(uow: InvitationUnitOfWork, invitations: list[Invitation]) -> None:
    """Invitations changed in bulk (no aggregate loaded): their watchers are told."""
    uow.record(*(InvitationChanged(i, ChangeKind.STATUS_CHANGED) for i in invitations))


@dataclass(frozen=True)
class CreateInvitation:
    room_id: str
    user_id: str
    request_id: str


async def create_invitation(
    cmd: CreateInvitation,
    caller: Caller,
    uow: InvitationUnitOfWork,
    rooms: Rooms,
    ttl_seconds: int,
) -> tuple[Invitation, bool]:
    """The invitation, and whether it was made by an earlier call with the same request_id.

    The room is asked before the transaction opens (no connection is held during the peer
    call); the room ending meanwhile is caught inside it: CancelRoomInvitations closes the
    room here under the same per-room lock, so an invitation is never left pending in an
    ended room."""
    inviter = caller.require_user()
    if cmd.request_id:
        async with uow.read():
            existing = await uow.invitations.find_by_request(inviter, cmd.request_id)
            if existing is not None:
                return existing, True
    require_can_invite(await rooms.access(cmd.room_id, cmd.user_id), inviter, cmd.user_id)
    now = utcnow()
    invitation = Invitation.create(new_id(), cmd.room_id, cmd.user_id, inviter, now, ttl_seconds)
    try:
        async with uow:
            if await uow.invitations.lock_room(cmd.room_id):
                raise room_errors.room_ended(cmd.room_id)
            # A pending invitation past its deadline must not hold the one-pending slot.
            _changed(uow, await uow.invitations.expire_stale(cmd.room_id, cmd.user_id, now))
            await uow.invitations.insert(invitation, cmd.request_id, now)
            await uow.commit()
            return invitation, False
    except DuplicateKey:
        async with uow.read():
            # A concurrent retry with the same request_id won (whichever index caught it).
            existing = None
            if cmd.request_id:
                existing = await uow.invitations.find_by_request(inviter, cmd.request_id)
            pending = await uow.invitations.latest_of(cmd.room_id, cmd.user_id)
        if existing is not None:
            return existing, True
        pending_id = pending.invitation_id if pending else ""
        raise errors.invitation_pending(cmd.user_id, pending_id) from None


async def _get(uow: InvitationUnitOfWork, invitation_id: str, *, lock: bool) -> Invitation:
    invitation = await uow.invitations.get(invitation_id, for_update=lock)
    if invitation is None:
        raise errors.invitation_not_found(invitation_id)
    return invitation


async def get_invitation(
    invitation_id: str, caller: Caller, uow: InvitationUnitOfWork
) -> Invitation:
    user = caller.require_user()
    async with uow.read():
        invitation = await _get(uow, invitation_id, lock=False)
    invitation.require_party(user)
    return invitation


@dataclass(frozen=True)
class ListInvitations:
    statuses: list[InvitationStatus]
    page: PageRequest


async def list_room_invitations(
    room_id: str, cmd: ListInvitations, caller: Caller, uow: InvitationUnitOfWork, rooms: Rooms
) -> Page[Invitation]:
    """A page of the invitations a room's host sent, newest first."""
    user = caller.require_user()
    (await rooms.access(room_id, user)).require_host(user)
    async with uow.read():
        rows = await uow.invitations.list_by_room(
            room_id, [s.value for s in cmd.statuses], utcnow(), cmd.page.after, cmd.page.limit
        )
    return Page.of(rows, cmd.page)


async def list_my_invitations(
    cmd: ListInvitations, caller: Caller, uow: InvitationUnitOfWork
) -> Page[Invitation]:
    """A page of the caller's invitations as invitee (pending ones unless asked otherwise)."""
    user = caller.require_user()
    statuses = cmd.statuses or [InvitationStatus.PENDING]
    async with uow.read():
        rows = await uow.invitations.list_by_invitee(
            user, [s.value for s in statuses], utcnow(), cmd.page.after, cmd.page.limit
        )
    return Page.of(rows, cmd.page)


async def get_my_room_invitation(
    room_id: str, caller: Caller, uow: InvitationUnitOfWork
) -> Invitation:
    user = caller.require_user()
    async with uow.read():
        invitation = await uow.invitations.latest_of(room_id, user)
    if invitation is None:
        raise errors.no_invitation_to_room(room_id)
    return invitation


async def _resolved(uow: InvitationUnitOfWork, invitation: Invitation) -> Invitation:
    saved = await uow.invitations.save_resolution(invitation, utcnow())
    assert saved, "the row is locked, so it is still pending"
    await uow.commit()
    return invitation


async def accept_invitation(
    invitation_id: str, caller: Caller, uow: InvitationUnitOfWork, rooms: Rooms
) -> Invitation:
    """The invitee takes a seat. Seats full: SEAT_LIMIT_REACHED and the invitation stays
    pending."""
    user = caller.require_user()
    async with uow:
        invitation = await _get(uow, invitation_id, lock=True)
        invitation.require_invitee(user)
        now = utcnow()
        invitation.require_pending(now)
        await rooms.add_co_host(invitation.room_id, invitation.user_id, invitation_id)
        invitation.accept(now)
        return await _resolved(uow, invitation)


async def reject_invitation(
    invitation_id: str, caller: Caller, uow: InvitationUnitOfWork
) -> Invitation:
    user = caller.require_user()
    async with uow:
        invitation = await _get(uow, invitation_id, lock=True)
        invitation.require_invitee(user)
        invitation.reject(utcnow())
        return await _resolved(uow, invitation)


async def cancel_invitation(
    invitation_id: str, caller: Caller, uow: InvitationUnitOfWork, rooms: Rooms
) -> Invitation:
    """Cancelled by the inviter or the room's host."""
    user = caller.require_user()
    async with uow.read():
        invitation = await _get(uow, invitation_id, lock=False)
    if not invitation.is_inviter(user):
        (await rooms.access(invitation.room_id, user)).require_host(user)
    async with uow:
        invitation = await _get(uow, invitation_id, lock=True)
        invitation.cancel(utcnow())
        return await _resolved(uow, invitation)


async def cancel_room_invitations(room_id: str, user_id: str, uow: InvitationUnitOfWork) -> int:
    """The room ended (no `user_id`): it is closed to new invitations and every pending one is
    cancelled (or written down as expired when its deadline had passed). Or a user was banned
    from it: that user's pending ones are. Idempotent: a second call finds nothing pending
    and returns 0."""
    async with uow:
        await uow.invitations.lock_room(room_id)
        if not user_id:
            await uow.invitations.close_room(room_id, utcnow())
        resolved = await uow.invitations.cancel_room(room_id, user_id, utcnow())
        _changed(uow, resolved)
        await uow.commit()
    return sum(1 for i in resolved if i.status is InvitationStatus.CANCELLED)


async def expire_pending_invitations(uow: InvitationUnitOfWork, limit: int = 500) -> list[str]:
    """One sweep: write down up to `limit` expiries that have happened; return their ids.
    Safe with replicas: each row is taken by one sweeper (SKIP LOCKED)."""
    async with uow:
        expired = await uow.invitations.expire_due(utcnow(), limit)
        _changed(uow, expired)
        await uow.commit()
    return [i.invitation_id for i in expired]

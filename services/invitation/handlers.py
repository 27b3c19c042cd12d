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
    InvitationType,
    RoomAccess,
    require_can_invite,
    require_can_request_stage,
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

    The room is asked before the transaction (refusals cost no connection) and again under
    the room's advisory lock: a ban committed in between is seen then, and the room ending
    or a later ban (CancelRoomInvitations, same lock) waits for this one and cancels it, so
    an invitation is never left pending for a banned user or in an ended room."""
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
            require_can_invite(await rooms.access(cmd.room_id, cmd.user_id), inviter, cmd.user_id)
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
    invitation_id: str, caller: Caller, uow: InvitationUnitOfWork, rooms: Rooms
) -> Invitation:
    """For its parties (inviter, invitee or requester), and the room's host and moderators,
    who see every invitation and stage request of the room anyway."""
    user = caller.require_user()
    async with uow.read():
        invitation = await _get(uow, invitation_id, lock=False)
    if invitation.is_party(user):
        return invitation
    if not (await rooms.access(invitation.room_id, user)).is_moderator_or_host(user):
        invitation.require_party(user)
    return invitation


@dataclass(frozen=True)
class ListInvitations:
    statuses: list[InvitationStatus]
    page: PageRequest
    types: tuple[InvitationType, ...] = ()


async def list_room_invitations(
    room_id: str, cmd: ListInvitations, caller: Caller, uow: InvitationUnitOfWork, rooms: Rooms
) -> Page[Invitation]:
    """A page of a room's invitations and stage requests, newest first: for its host and
    moderators."""
    user = caller.require_user()
    (await rooms.access(room_id, user)).require_moderator_or_host(user)
    async with uow.read():
        rows = await uow.invitations.list_by_room(
            room_id,
            [s.value for s in cmd.statuses],
            utcnow(),
            cmd.page.after,
            cmd.page.limit,
            [t.value for t in cmd.types],
        )
    return Page.of(rows, cmd.page)


async def require_room_watcher(room_id: str, caller: Caller, rooms: Rooms) -> str:
    """WatchRoomInvitations: the room's host and moderators only."""
    user = caller.require_user()
    (await rooms.access(room_id, user)).require_moderator_or_host(user)
    return user


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
        invitation.require_type(InvitationType.LIVESTREAM_CO_HOST)
        now = utcnow()
        invitation.require_pending(now)
        await rooms.add_co_host(invitation.room_id, invitation.user_id, invitation_id)
        invitation.accept(now, user)
        return await _resolved(uow, invitation)


async def reject_invitation(
    invitation_id: str, caller: Caller, uow: InvitationUnitOfWork
) -> Invitation:
    user = caller.require_user()
    async with uow:
        invitation = await _get(uow, invitation_id, lock=True)
        invitation.require_invitee(user)
        invitation.require_type(InvitationType.LIVESTREAM_CO_HOST)
        invitation.reject(utcnow(), user)
        return await _resolved(uow, invitation)


async def cancel_invitation(
    invitation_id: str, caller: Caller, uow: InvitationUnitOfWork, rooms: Rooms
) -> Invitation:
    """Cancelled by the inviter or the room's host; a stage request by its requester or the
    room's host (moderators decline it instead)."""
    user = caller.require_user()
    async with uow.read():
        invitation = await _get(uow, invitation_id, lock=False)
    if not invitation.may_withdraw(user):
        (await rooms.access(invitation.room_id, user)).require_host(user)
    async with uow:
        invitation = await _get(uow, invitation_id, lock=True)
        invitation.cancel(utcnow(), user)
        return await _resolved(uow, invitation)


@dataclass(frozen=True)
class RequestStage:
    room_id: str
    request_id: str


async def request_stage(
    cmd: RequestStage,
    caller: Caller,
    uow: InvitationUnitOfWork,
    rooms: Rooms,
    ttl_seconds: int,
) -> tuple[Invitation, bool]:
    """The stage request, and whether it was made by an earlier call with the same
    request_id. One pending invitation or stage request per (room, user): a second is
    INVITATION_PENDING.

    The room is asked before the transaction (refusals cost no connection) and again under
    the room's advisory lock: a ban committed in between is seen then, and a later ban's
    cancellation (CancelRoomInvitations, same lock) waits for this one and cancels it."""
    requester = caller.require_user()
    if cmd.request_id:
        async with uow.read():
            existing = await uow.invitations.find_stage_request(requester, cmd.request_id)
            if existing is not None:
                return existing, True
    require_can_request_stage(await rooms.access(cmd.room_id, requester), requester)
    now = utcnow()
    request = Invitation.request_stage(new_id(), cmd.room_id, requester, now, ttl_seconds)
    try:
        async with uow:
            if await uow.invitations.lock_room(cmd.room_id):
                raise room_errors.room_ended(cmd.room_id)
            _changed(uow, await uow.invitations.expire_stale(cmd.room_id, requester, now))
            await uow.invitations.insert(request, cmd.request_id, now)
            require_can_request_stage(await rooms.access(cmd.room_id, requester), requester)
            await uow.commit()
            return request, False
    except DuplicateKey:
        async with uow.read():
            existing = None
            if cmd.request_id:
                existing = await uow.invitations.find_stage_request(requester, cmd.request_id)
            pending = await uow.invitations.latest_of(cmd.room_id, requester)
        if existing is not None:
            return existing, True
        pending_id = pending.invitation_id if pending else ""
        raise errors.invitation_pending(requester, pending_id) from None


async def _answerable(
    invitation_id: str, user: str, uow: InvitationUnitOfWork, rooms: Rooms
) -> None:
    """Only the room's host and moderators answer, and only stage requests."""
    async with uow.read():
        invitation = await _get(uow, invitation_id, lock=False)
    (await rooms.access(invitation.room_id, user)).require_moderator_or_host(user)
    invitation.require_type(InvitationType.STAGE_REQUEST)


async def approve_stage_request(
    invitation_id: str, caller: Caller, uow: InvitationUnitOfWork, rooms: Rooms
) -> Invitation:
    """The requester takes a seat: the same atomic, idempotent seat claim as an accept, under
    the request's row lock. Seats full: SEAT_LIMIT_REACHED and the request stays pending."""
    user = caller.require_user()
    await _answerable(invitation_id, user, uow, rooms)
    async with uow:
        request = await _get(uow, invitation_id, lock=True)
        now = utcnow()
        request.require_pending(now)
        await rooms.add_co_host(request.room_id, request.user_id, invitation_id)
        request.accept(now, user)
        return await _resolved(uow, request)


async def decline_stage_request(
    invitation_id: str, caller: Caller, uow: InvitationUnitOfWork, rooms: Rooms
) -> Invitation:
    user = caller.require_user()
    await _answerable(invitation_id, user, uow, rooms)
    async with uow:
        request = await _get(uow, invitation_id, lock=True)
        request.reject(utcnow(), user)
        return await _resolved(uow, request)


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

"""The room use cases: plain async functions taking a command and a unit of work."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import uuid_utils

from services.common.auth import Caller
from services.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from services.room.domain import (
    EndReason,
    Role,
    Room,
    RoomStatus,
    RoomType,
    SeatTemplate,
    ban_expiry,
)
from services.room.repository import RoomUnitOfWork

# Outbox kinds: side effects delivered after the commit by the room outbox relay.
END_LIVEKIT_ROOM = "livekit.end_room"
REMOVE_LIVEKIT_PARTICIPANT = "livekit.remove_participant"
CANCEL_ROOM_INVITATIONS = "invitations.cancel_for_room"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_room_id() -> str:
    """URL-safe, unguessable and time-ordered (UUIDv7), and a valid client-style room id."""
    return str(uuid_utils.uuid7())


def room_not_found(room_id: str) -> NotFound:
    return NotFound("ROOM_NOT_FOUND", f"room {room_id!r} not found", metadata={"room_id": room_id})


async def _locked(uow: RoomUnitOfWork, room_id: str) -> Room:
    room = await uow.rooms.get(room_id, for_update=True)
    if room is None:
        raise room_not_found(room_id)
    return room


async def _view(uow: RoomUnitOfWork, room_id: str) -> asyncpg.Record:
    view = await uow.rooms.view(room_id)
    if view is None:
        raise room_not_found(room_id)
    return view


async def end_room(uow: RoomUnitOfWork, room: Room, reason: EndReason, now: datetime) -> None:
    """Every way a room ends: the status, then LiveKit and pending invitations, reliably. A
    recording that arrived before the end makes the room recorded at once."""
    room.end(reason, now)
    if await uow.livekit.set_recording_pending(room.room_id, False):
        room.record(now)
    await uow.rooms.save_status(room, now)
    await uow.outbox.add(END_LIVEKIT_ROOM, {"room_id": room.room_id})
    await uow.outbox.add(CANCEL_ROOM_INVITATIONS, {"room_id": room.room_id})
    await uow.rooms.notify(room.room_id, "status_changed")


@dataclass(frozen=True)
class CreateRoom:
    room_id: str
    title: str
    description: str
    thumbnail_file_id: str
    metadata: dict[str, Any]
    live_chat_enabled: bool
    parent_room_id: str
    type: RoomType
    seat_template: SeatTemplate
    co_host_user_ids: list[str]
    request_id: str


async def create_room(cmd: CreateRoom, caller: Caller, uow: RoomUnitOfWork) -> asyncpg.Record:
    host = caller.require_user()
    now = utcnow()
    room_id = cmd.room_id or new_room_id()
    try:
        async with uow:
            if cmd.request_id:
                existing = await uow.rooms.find_by_request(host, cmd.request_id)
                if existing:
                    return await _view(uow, existing)
            if cmd.parent_room_id and await uow.rooms.get(cmd.parent_room_id) is None:
                raise room_not_found(cmd.parent_room_id)
            await uow.rooms.insert(
                {
                    "room_id": room_id,
                    "type": cmd.type.value,
                    "status": RoomStatus.IDLE.value,
                    "title": cmd.title,
                    "description": cmd.description,
                    "thumbnail_file_id": cmd.thumbnail_file_id,
                    "metadata": cmd.metadata,
                    "live_chat_enabled": cmd.live_chat_enabled,
                    "parent_room_id": cmd.parent_room_id,
                    "seat_template": cmd.seat_template.value,
                    "max_co_hosts": cmd.seat_template.max_co_hosts,
                    "host_user_id": host,
                    "create_request_id": cmd.request_id or None,
                    "create_time": now,
                    "update_time": now,
                }
            )
            await uow.rooms.add_participant(room_id, host, Role.HOST, now, None)
            await uow.rooms.add_co_hosts(room_id, cmd.co_host_user_ids, now)
            view = await _view(uow, room_id)
            await uow.commit()
            return view
    except asyncpg.UniqueViolationError:
        if cmd.request_id:
            # A concurrent retry with the same request_id may have won (on the request index
            # or, with a client-chosen id, on the room id): then return its room.
            async with uow:
                existing = await uow.rooms.find_by_request(host, cmd.request_id)
                if existing:
                    return await _view(uow, existing)
        raise AlreadyExists(
            "ROOM_ID_TAKEN", f"room id {room_id!r} is taken", metadata={"room_id": room_id}
        ) from None


async def get_room(room_id: str, uow: RoomUnitOfWork) -> asyncpg.Record:
    async with uow:
        return await _view(uow, room_id)


async def batch_get_rooms(room_ids: list[str], uow: RoomUnitOfWork) -> list[asyncpg.Record]:
    async with uow:
        return await uow.rooms.views(room_ids)


@dataclass(frozen=True)
class ListRooms:
    statuses: list[str]
    types: list[str]
    host_user_id: str
    parent_room_id: str
    newest_first: bool
    include_deleted: bool
    after: tuple[datetime, str] | None
    page_size: int


async def list_rooms(
    cmd: ListRooms, caller: Caller, uow: RoomUnitOfWork
) -> tuple[list[asyncpg.Record], bool]:
    """A page of rooms and whether there are more."""
    if cmd.include_deleted:
        caller.require_admin()
    async with uow:
        rows = await uow.rooms.list_views(
            statuses=cmd.statuses,
            types=cmd.types,
            host_user_id=cmd.host_user_id,
            parent_room_id=cmd.parent_room_id,
            include_deleted=cmd.include_deleted,
            newest_first=cmd.newest_first,
            after=cmd.after,
            limit=cmd.page_size + 1,
        )
    return rows[: cmd.page_size], len(rows) > cmd.page_size


async def update_room(
    room_id: str, fields: dict[str, Any], caller: Caller, uow: RoomUnitOfWork
) -> asyncpg.Record:
    user = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_host_or_admin(user, caller.is_admin)
        if room.deleted:
            raise FailedPrecondition("ROOM_ENDED", f"room {room_id} was deleted")
        if fields.get("parent_room_id") == room_id:
            raise InvalidArgument([("room.parent_room_id", "a room cannot be its own parent")])
        if fields.get("parent_room_id") and await uow.rooms.get(fields["parent_room_id"]) is None:
            raise room_not_found(fields["parent_room_id"])
        if fields:
            await uow.rooms.update_fields(room_id, fields, now)
            await uow.rooms.notify(room_id, "updated")
        view = await _view(uow, room_id)
        await uow.commit()
        return view


async def delete_room(room_id: str, caller: Caller, uow: RoomUnitOfWork) -> None:
    """Soft delete; ends the room first if it has not ended. Deleting twice is a no-op."""
    user = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_host_or_admin(user, caller.is_admin)
        if room.deleted:
            return
        if not room.ended:
            await end_room(uow, room, EndReason.DELETED, now)
        await uow.rooms.mark_deleted(room_id, now)
        await uow.rooms.notify(room_id, "deleted")
        await uow.commit()


async def stop_room(room_id: str, caller: Caller, uow: RoomUnitOfWork) -> asyncpg.Record:
    user = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_host(user)
        room.require_not_ended()
        await end_room(uow, room, EndReason.STOPPED_BY_HOST, now)
        view = await _view(uow, room_id)
        await uow.commit()
        return view


async def dismiss_room(
    room_id: str, reason: str, caller: Caller, uow: RoomUnitOfWork
) -> asyncpg.Record:
    caller.require_admin()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_not_ended()
        await end_room(uow, room, EndReason.DISMISSED, now)
        await uow.rooms.set_dismiss_reason(room_id, reason)
        view = await _view(uow, room_id)
        await uow.commit()
        return view


async def _take_off_stage(uow: RoomUnitOfWork, room: Room, user_id: str) -> bool:
    removed = await uow.rooms.remove_participant(room.room_id, user_id)
    if removed:
        await uow.outbox.add(
            REMOVE_LIVEKIT_PARTICIPANT, {"room_id": room.room_id, "user_id": user_id}
        )
        await uow.rooms.notify(room.room_id, "participants_changed")
    return removed


async def remove_participant(
    room_id: str, user_id: str, caller: Caller, uow: RoomUnitOfWork
) -> asyncpg.Record:
    host = caller.require_user()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_host(host)
        room.require_not_ended()
        if user_id == room.host_user_id:
            raise FailedPrecondition("HOST_CANNOT_LEAVE", "the host cannot be taken off stage")
        if not await _take_off_stage(uow, room, user_id):
            raise FailedPrecondition("NOT_ON_STAGE", f"{user_id} is not a co-host of this room")
        view = await _view(uow, room_id)
        await uow.commit()
        return view


async def leave_room(room_id: str, caller: Caller, uow: RoomUnitOfWork) -> asyncpg.Record:
    user = caller.require_user()
    async with uow:
        room = await _locked(uow, room_id)
        if user == room.host_user_id:
            raise FailedPrecondition("HOST_CANNOT_LEAVE", "the host stops the room instead")
        room.require_not_ended()
        if not await _take_off_stage(uow, room, user):
            raise PermissionDenied("NOT_ON_STAGE", "you are not a co-host of this room")
        view = await _view(uow, room_id)
        await uow.commit()
        return view


async def ban_user(
    room_id: str,
    user_id: str,
    duration: timedelta | None,
    reason: str,
    caller: Caller,
    uow: RoomUnitOfWork,
) -> asyncpg.Record:
    """Ban a user: off stage, off LiveKit, no credentials, no invitations until it lapses."""
    by = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_host_or_admin(by, caller.is_admin)
        if user_id == room.host_user_id:
            raise InvalidArgument([("user_id", "the host cannot be banned from their room")])
        await uow.rooms.ban(room_id, user_id, reason, by, now, ban_expiry(now, duration))
        if not await _take_off_stage(uow, room, user_id) and not room.ended:
            # Not on stage, maybe watching: still disconnect them from LiveKit.
            await uow.outbox.add(
                REMOVE_LIVEKIT_PARTICIPANT, {"room_id": room_id, "user_id": user_id}
            )
        view = await _view(uow, room_id)
        await uow.commit()
        return view


async def unban_user(
    room_id: str, user_id: str, caller: Caller, uow: RoomUnitOfWork
) -> asyncpg.Record:
    by = caller.require_user()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_host_or_admin(by, caller.is_admin)
        await uow.rooms.unban(room_id, user_id)
        view = await _view(uow, room_id)
        await uow.commit()
        return view


async def list_banned_users(
    room_id: str,
    after: tuple[datetime, str] | None,
    page_size: int,
    caller: Caller,
    uow: RoomUnitOfWork,
) -> tuple[list[asyncpg.Record], bool]:
    user = caller.require_user()
    async with uow:
        room = await uow.rooms.get(room_id)
        if room is None:
            raise room_not_found(room_id)
        room.require_host_or_admin(user, caller.is_admin)
        rows = await uow.rooms.list_bans(room_id, utcnow(), after, page_size + 1)
    return rows[:page_size], len(rows) > page_size


async def add_co_host(
    room_id: str, user_id: str, invitation_id: str, uow: RoomUnitOfWork
) -> asyncpg.Record:
    """Seat check and seat claim as one step: the room row is locked, so concurrent claims
    queue up and the co-hosts never exceed max_co_hosts. Repeating an invitation's claim
    returns the room as it is and seats nobody twice."""
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        claimed_in = await uow.rooms.seat_claimed(invitation_id)
        if claimed_in is not None:
            if claimed_in != room_id:
                raise InvalidArgument([("invitation_id", "was used for another room")])
            return await _view(uow, room_id)
        room.require_not_ended()
        if user_id == room.host_user_id or await uow.rooms.role_of(room_id, user_id):
            raise FailedPrecondition("ALREADY_ON_STAGE", f"{user_id} is already on stage")
        if await uow.rooms.is_banned(room_id, user_id, now):
            raise PermissionDenied("USER_BANNED", f"{user_id} is banned from this room")
        if await uow.rooms.co_host_count(room_id) >= room.max_co_hosts:
            raise FailedPrecondition(
                "SEAT_LIMIT_REACHED",
                f"all {room.max_co_hosts} co-host seats are taken",
                metadata={"max_co_hosts": str(room.max_co_hosts)},
            )
        await uow.rooms.claim_seat(room_id, user_id, invitation_id, now)
        await uow.rooms.notify(room_id, "participants_changed")
        view = await _view(uow, room_id)
        await uow.commit()
        return view


async def get_room_access(
    room_id: str, user_id: str, uow: RoomUnitOfWork
) -> tuple[asyncpg.Record, Role | None, bool]:
    """The room (deleted too), the user's role on stage and whether they are banned."""
    async with uow:
        view = await _view(uow, room_id)
        role = await uow.rooms.role_of(room_id, user_id)
        banned = await uow.rooms.is_banned(room_id, user_id, utcnow())
        return view, role, banned


async def purge_room(room_id: str, caller: Caller, uow: RoomUnitOfWork) -> None:
    """Remove a room for good: the gateway undoing a CreateLiveRoomPost whose post failed. Only
    its host, only while it is idle and was never live; a room already gone is a no-op."""
    user = caller.require_user()
    async with uow:
        room = await uow.rooms.get(room_id, for_update=True)
        if room is None:
            return
        room.require_host(user)
        if room.status is not RoomStatus.IDLE or room.live_time is not None or room.deleted:
            raise FailedPrecondition("ROOM_IN_USE", f"room {room_id} was used; delete it instead")
        await uow.rooms.purge(room_id)
        await uow.rooms.notify(room_id, "deleted")
        await uow.commit()

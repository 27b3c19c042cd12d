"""The room use cases: plain async functions taking a command and a unit of work. Their side
effects follow from the events the Room aggregate records (services.room.side_effects)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from services.common.auth import Caller
from services.common.errors import DuplicateKey, InvalidArgument
from services.common.ids import new_id
from services.common.pagination import Page, PageRequest
from services.common.timestamps import utcnow
from services.room import errors
from services.room.domain import (
    Ban,
    EndReason,
    Role,
    Room,
    RoomStatus,
    RoomType,
    RoomView,
    SeatTemplate,
    TrackSource,
    UserInRoom,
    Viewer,
    ban_expiry,
)
from services.room.repository import RoomUnitOfWork


async def _locked(uow: RoomUnitOfWork, room_id: str) -> Room:
    room = await uow.rooms.get(room_id, for_update=True)
    if room is None:
        raise errors.room_not_found(room_id)
    return room


async def _view(uow: RoomUnitOfWork, room_id: str) -> RoomView:
    view = await uow.rooms.view(room_id)
    if view is None:
        raise errors.room_not_found(room_id)
    return view


async def _saved(uow: RoomUnitOfWork, room: Room, now: datetime) -> RoomView:
    """Write the room, commit with its side effects, and return it as readers see it."""
    await uow.rooms.save(room, now)
    view = await _view(uow, room.room_id)
    await uow.commit()
    return view


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
    auto_record: bool = False


async def create_room(
    cmd: CreateRoom, caller: Caller, uow: RoomUnitOfWork
) -> tuple[RoomView, bool]:
    """The room, and whether it was made by an earlier call with the same request_id."""
    host = caller.require_user()
    now = utcnow()
    room_id = cmd.room_id or new_id()
    try:
        async with uow:
            if cmd.request_id:
                existing = await uow.rooms.find_by_request(host, cmd.request_id)
                if existing:
                    return await _view(uow, existing), True
            if cmd.parent_room_id and not await uow.rooms.exists(cmd.parent_room_id):
                raise errors.room_not_found(cmd.parent_room_id)
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
                    "auto_record": cmd.auto_record,
                    "create_request_id": cmd.request_id or None,
                    "create_time": now,
                    "update_time": now,
                }
            )
            await uow.rooms.add_participant(room_id, host, Role.HOST, now, None)
            await uow.rooms.add_co_hosts(room_id, cmd.co_host_user_ids, now)
            view = await _view(uow, room_id)
            await uow.commit()
            return view, False
    except DuplicateKey:
        if cmd.request_id:
            # A concurrent retry with the same request_id may have won (on the request index
            # or, with a client-chosen id, on the room id): then return its room.
            async with uow.read():
                existing = await uow.rooms.find_by_request(host, cmd.request_id)
                if existing:
                    return await _view(uow, existing), True
        raise errors.room_id_taken(room_id) from None


async def get_room(room_id: str, uow: RoomUnitOfWork) -> RoomView:
    async with uow.read():
        return await _view(uow, room_id)


async def batch_get_rooms(room_ids: list[str], uow: RoomUnitOfWork) -> list[RoomView]:
    async with uow.read():
        return await uow.rooms.views(room_ids)


@dataclass(frozen=True)
class ListRooms:
    statuses: list[RoomStatus]
    types: list[RoomType]
    host_user_id: str
    parent_room_id: str
    newest_first: bool
    include_deleted: bool
    page: PageRequest


async def list_rooms(cmd: ListRooms, caller: Caller, uow: RoomUnitOfWork) -> Page[RoomView]:
    if cmd.include_deleted:
        caller.require_admin()
    async with uow.read():
        rows = await uow.rooms.list_views(
            statuses=[s.value for s in cmd.statuses],
            types=[t.value for t in cmd.types],
            host_user_id=cmd.host_user_id,
            parent_room_id=cmd.parent_room_id,
            include_deleted=cmd.include_deleted,
            newest_first=cmd.newest_first,
            after=cmd.page.after,
            limit=cmd.page.limit,
        )
    return Page.of(rows, cmd.page)


async def update_room(
    room_id: str, fields: dict[str, Any], caller: Caller, uow: RoomUnitOfWork
) -> RoomView:
    user = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_host_or_admin(user, caller.is_admin)
        if room.deleted:
            raise errors.room_ended(room_id)
        parent = fields.get("parent_room_id")
        if parent == room_id:
            raise InvalidArgument([("room.parent_room_id", "a room cannot be its own parent")])
        if parent and not await uow.rooms.exists(parent):
            raise errors.room_not_found(parent)
        if fields:
            await uow.rooms.update_fields(room_id, fields, now)
            room.edited()
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
        if room.delete(now):
            await uow.rooms.save(room, now)
            await uow.commit()


async def stop_room(room_id: str, caller: Caller, uow: RoomUnitOfWork) -> RoomView:
    user = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_host(user)
        room.require_not_ended()
        room.end(EndReason.STOPPED_BY_HOST, now)
        return await _saved(uow, room, now)


async def start_recording(room_id: str, caller: Caller, uow: RoomUnitOfWork) -> RoomView:
    """The host, a moderator or an admin starts recording; LiveKit is asked through the outbox
    (services.room.deliveries), so an outage delays the start but never loses it."""
    user = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_not_ended()
        if not room.start_recording(user, caller.is_admin):
            return await _view(uow, room_id)
        return await _saved(uow, room, now)


async def stop_recording(room_id: str, caller: Caller, uow: RoomUnitOfWork) -> RoomView:
    user = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_not_ended()
        room.stop_recording(user, caller.is_admin)
        return await _saved(uow, room, now)


async def dismiss_room(room_id: str, reason: str, caller: Caller, uow: RoomUnitOfWork) -> RoomView:
    caller.require_admin()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_not_ended()
        room.end(EndReason.DISMISSED, now)
        await uow.rooms.set_dismiss_reason(room_id, reason)
        return await _saved(uow, room, now)


async def remove_participant(
    room_id: str, user_id: str, caller: Caller, uow: RoomUnitOfWork
) -> RoomView:
    by = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_moderator_or_host(by)
        room.require_not_ended()
        if not room.take_off_stage(user_id, now):
            raise errors.not_on_stage(user_id)
        await uow.rooms.remove_participant(room_id, user_id)
        # A viewer from now on, in the counts too (LiveKit is told through the outbox).
        await uow.livekit.set_publishing(room_id, user_id, False)
        return await _saved(uow, room, now)


async def leave_room(room_id: str, caller: Caller, uow: RoomUnitOfWork) -> RoomView:
    user = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_not_ended()
        if not room.take_off_stage(user, now):
            raise errors.caller_not_on_stage("leave the stage")
        await uow.rooms.remove_participant(room_id, user)
        await uow.livekit.set_publishing(room_id, user, False)
        return await _saved(uow, room, now)


async def ban_user(
    room_id: str,
    user_id: str,
    duration: timedelta | None,
    reason: str,
    caller: Caller,
    uow: RoomUnitOfWork,
) -> RoomView:
    by = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_moderator_host_or_admin(by, caller.is_admin)
        # Whether the room as readers see it changes (its stage or its moderators).
        visible = room.role_of(user_id) is not None or user_id in room.moderator_ids
        room.ban(user_id, now)
        await uow.rooms.ban(room_id, user_id, reason, by, now, ban_expiry(now, duration))
        await uow.rooms.remove_participant(room_id, user_id)
        await uow.rooms.remove_moderator(room_id, user_id)
        if visible:
            return await _saved(uow, room, now)
        view = await _view(uow, room_id)
        await uow.commit()
        return view


async def unban_user(room_id: str, user_id: str, caller: Caller, uow: RoomUnitOfWork) -> RoomView:
    by = caller.require_user()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_moderator_host_or_admin(by, caller.is_admin)
        room.unban()
        await uow.rooms.unban(room_id, user_id)
        view = await _view(uow, room_id)
        await uow.commit()
        return view


async def list_banned_users(
    room_id: str, page: PageRequest, caller: Caller, uow: RoomUnitOfWork
) -> Page[Ban]:
    async with uow.read():
        await _moderated_by(uow, room_id, caller)
        rows = await uow.rooms.list_bans(room_id, utcnow(), page.after, page.limit)
    return Page.of(rows, page)


async def _moderated_by(uow: RoomUnitOfWork, room_id: str, caller: Caller) -> None:
    """Refuses a caller who does not moderate the room (its host, a moderator, an admin), as
    its moderation lists (bans, viewers) do."""
    user = caller.require_user()
    room = await uow.rooms.get(room_id)
    if room is None:
        raise errors.room_not_found(room_id)
    room.require_moderator_host_or_admin(user, caller.is_admin)


@dataclass(frozen=True)
class MuteParticipant:
    room_id: str
    user_id: str
    # Empty: every source.
    sources: tuple[TrackSource, ...]
    muted: bool


async def mute_participant(
    cmd: MuteParticipant, caller: Caller, uow: RoomUnitOfWork, *, remote_unmute: bool
) -> RoomView:
    """The host or a moderator mutes someone on stage; LiveKit is told through the outbox
    (MutePublishedTrack of each of their tracks of those sources)."""
    by = caller.require_user()
    async with uow:
        room = await _locked(uow, cmd.room_id)
        room.mute(by, cmd.user_id, cmd.sources, cmd.muted, remote_unmute=remote_unmute)
        view = await _view(uow, cmd.room_id)
        await uow.commit()
        return view


async def list_viewers(
    room_id: str, page: PageRequest, caller: Caller, uow: RoomUnitOfWork
) -> Page[Viewer]:
    """Who is connected now without being on stage: the identities `stats.viewer_count`
    counts, from the same connections (none once the room ended)."""
    async with uow.read():
        await _moderated_by(uow, room_id, caller)
        rows = await uow.rooms.list_viewers(room_id, page.after, page.limit)
    return Page.of(rows, page)


async def add_moderator(
    room_id: str, user_id: str, caller: Caller, uow: RoomUnitOfWork
) -> RoomView:
    """The host names a moderator: at most MAX_MODERATORS (counted under the room's lock), never
    the host or a banned user; naming one twice changes nothing."""
    host = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_host(host)
        room.require_not_ended()
        if user_id in room.moderator_ids:
            return await _view(uow, room_id)
        if await uow.rooms.is_banned(room_id, user_id, now):
            raise errors.user_banned(user_id)
        if room.add_moderator(user_id):
            await uow.rooms.add_moderator(room_id, user_id, host, now)
        return await _saved(uow, room, now)


async def remove_moderator(
    room_id: str, user_id: str, caller: Caller, uow: RoomUnitOfWork
) -> RoomView:
    """The host withdraws a moderator; one who is not a moderator changes nothing."""
    host = caller.require_user()
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        room.require_host(host)
        if not room.remove_moderator(user_id):
            return await _view(uow, room_id)
        await uow.rooms.remove_moderator(room_id, user_id)
        return await _saved(uow, room, now)


async def add_co_host(room_id: str, user_id: str, invitation_id: str, uow: RoomUnitOfWork) -> Room:
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
            return room
        room.require_not_ended()
        if room.role_of(user_id) is None and await uow.rooms.is_banned(room_id, user_id, now):
            raise errors.user_banned(user_id)
        room.seat_co_host(user_id)
        await uow.rooms.claim_seat(room_id, user_id, invitation_id, now)
        # Watching already: a publisher from now on, in the counts too (LiveKit is told
        # through the outbox).
        await uow.livekit.set_publishing(room_id, user_id, True)
        await uow.rooms.save(room, now)
        await uow.commit()
        return room


async def attach_ingress(
    room_id: str, ingress_id: str, replaces_ingress_id: str, uow: RoomUnitOfWork
) -> str:
    """The broadcast service made a LiveKit ingress for a direct-streaming room: under the
    room's lock, the room keeps its first (or, replacing its current one, the new one, the
    old deleted through the outbox); returns the one kept."""
    now = utcnow()
    async with uow:
        room = await _locked(uow, room_id)
        kept = room.attach_ingress(ingress_id, replaces_ingress_id or None)
        if room.events:
            await uow.rooms.save(room, now)
            await uow.commit()
        return kept


async def get_room_access(room_id: str, user_id: str, uow: RoomUnitOfWork) -> UserInRoom:
    """The room (deleted too), the user's role on stage and whether they are banned."""
    [access] = await get_room_accesses(room_id, [user_id], uow)
    return access


async def get_room_accesses(
    room_id: str, user_ids: list[str], uow: RoomUnitOfWork
) -> list[UserInRoom]:
    """get_room_access for each of these users, from one read of the room and its bans."""
    async with uow.read():
        view = await _view(uow, room_id)
        banned = await uow.rooms.banned_among(room_id, user_ids, utcnow())
    return [UserInRoom(view, view.role_of(u), u in banned) for u in user_ids]


class Attachments(Protocol):
    async def any(self, room_id: str) -> bool: ...


async def purge_room(
    room_id: str, caller: Caller, uow: RoomUnitOfWork, attachments: Attachments
) -> None:
    """Remove a room for good: the gateway undoing a CreateLiveRoomPost whose post failed. Only
    its host, only a room that never went live, had no LiveKit session, and has no post and
    no invitation (its peers are asked first, outside the transaction); a room already gone
    is a no-op."""
    user = caller.require_user()
    async with uow.read():
        room = await uow.rooms.get(room_id)
        if room is None:
            return
        room.require_host(user)
        room.purge()
    if await attachments.any(room_id):
        raise errors.room_in_use(room_id)
    async with uow:
        room = await uow.rooms.get(room_id, for_update=True)
        if room is None:
            return
        room.purge()
        await uow.rooms.purge(room_id)
        await uow.commit()

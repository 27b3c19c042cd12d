"""The broadcast use cases: credentials for LiveKit, and the LiveKit side effects rooms ask
for (idempotent, so the room outbox may deliver them more than once)."""

from collections.abc import Callable
from dataclasses import dataclass

from services.broadcast import domain
from services.broadcast.livekit_client import LiveKitClient
from services.broadcast.repository import BroadcastUnitOfWork
from services.common.auth import Caller
from services.common.timestamps import utcnow
from services.room.client import RoomClient


@dataclass(frozen=True)
class Broadcast:
    """What the use cases talk to."""

    rooms: RoomClient
    livekit: LiveKitClient
    tokens: domain.TokenMinter
    uow: Callable[[], BroadcastUnitOfWork]
    token_ttl: int
    reconnect_timeout: int


async def _ensure_livekit_room(access: domain.RoomAccess, b: Broadcast) -> None:
    """Create the session's LiveKit room before its first broadcaster credential. CreateRoom
    is idempotent on LiveKit too, so two first credentials at once do no harm."""
    async with b.uow() as uow:
        if await uow.livekit_rooms.session(access.room_id):
            return
    room = await b.livekit.create_room(
        domain.create_room_request(
            access.room_id,
            access.host_user_id,
            token_ttl=b.token_ttl,
            reconnect_timeout=b.reconnect_timeout,
        )
    )
    async with b.uow() as uow:
        await uow.livekit_rooms.save(access.room_id, room.sid, utcnow())
        await uow.commit()


async def get_broadcast_data(room_id: str, caller: Caller, b: Broadcast) -> domain.Credentials:
    user = caller.require_user()
    access = await b.rooms.access(room_id, user)
    role = domain.broadcaster_role(access)
    await _ensure_livekit_room(access, b)
    return b.tokens.mint(user, room_id, role)


async def get_viewer_data(room_id: str, caller: Caller, b: Broadcast) -> domain.Credentials:
    """Watch-only credentials. Viewers do not create LiveKit rooms: they join the one a
    broadcaster's credential created (LiveKit in production runs with room.auto_create off)."""
    user = caller.require_user()
    access = await b.rooms.access(room_id, user)
    domain.check_viewer(access)
    return b.tokens.mint(
        user, room_id, domain.Role.VIEWER, live_chat_enabled=access.live_chat_enabled
    )


async def end_livekit_room(room_id: str, b: Broadcast) -> None:
    await b.livekit.delete_room(room_id)
    async with b.uow() as uow:
        await uow.livekit_rooms.forget(room_id)
        await uow.commit()


async def remove_livekit_participant(room_id: str, user_id: str, b: Broadcast) -> None:
    await b.livekit.remove_participant(room_id, user_id)


async def livekit_room_finished(room_id: str, livekit_room_sid: str, b: Broadcast) -> None:
    """LiveKit closed that session's room: the next session needs a CreateRoom again."""
    async with b.uow() as uow:
        await uow.livekit_rooms.forget(room_id, livekit_room_sid)
        await uow.commit()

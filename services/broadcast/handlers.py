"""The broadcast use cases: credentials for LiveKit, and the LiveKit side effects rooms ask
for (idempotent, so the room outbox may deliver them more than once)."""

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
import structlog
from costream.broadcast.v1.broadcast_service_pb2 import LiveKitRoomState
from costream.room.v1 import room_pb2
from livekit.protocol import egress as egress_pb

from services.broadcast import domain
from services.broadcast.livekit_client import LiveKitClient
from services.broadcast.recording import DEFAULT_OUTPUTS, RecordingOutputs
from services.common.auth import Caller
from services.common.errors import Unavailable
from services.room.client import RoomClient

log = structlog.get_logger()


@dataclass(frozen=True)
class Broadcast:
    """What the use cases talk to."""

    rooms: RoomClient
    livekit: LiveKitClient
    tokens: domain.TokenMinter
    token_ttl: int
    reconnect_timeout: int
    recordings: RecordingOutputs = DEFAULT_OUTPUTS
    # Given to direct-streaming hosts as whip_url as it is (empty: WHIP not offered).
    whip_url: str = ""


async def _ensure_livekit_room(access: domain.RoomAccess, b: Broadcast) -> None:
    """The session's LiveKit room, before any broadcaster credential: created if LiveKit has
    none (asked every time, so a room LiveKit lost is made again; CreateRoom of a live room
    returns it), and marked as ours if someone else opened it (a viewer token where LiveKit
    auto-creates rooms), so its events count from now on."""
    room = await b.livekit.create_room(
        domain.create_room_request(
            access.room, token_ttl=b.token_ttl, reconnect_timeout=b.reconnect_timeout
        )
    )
    if not domain.is_ours(room):
        await b.livekit.update_room_metadata(access.room_id, domain.room_metadata(access.room))


async def get_broadcast_data(
    room_id: str, caller: Caller, b: Broadcast
) -> domain.Credentials | domain.StreamSettings:
    """Broadcaster credentials; the host of a direct-streaming room gets its encoder settings
    instead. The access is asked again after signing: a ban or a removal that commits while
    the token is made wins (and LiveKit removes a banned identity that joins anyway,
    services.room.livekit)."""
    user = caller.require_user()
    access = await b.rooms.access(room_id, user)
    role = domain.broadcaster_role(access)
    if domain.streams_directly(access, role):
        return await _stream_settings(room_id, user, b, reset=False)
    await _ensure_livekit_room(access, b)
    credentials = b.tokens.mint(user, room_id, role)
    if domain.broadcaster_role(await b.rooms.access(room_id, user)) is not role:
        raise domain.stage_changed()
    return credentials


async def reset_stream_key(room_id: str, caller: Caller, b: Broadcast) -> domain.StreamSettings:
    """A new ingress for the host of a direct-streaming room; the room service deletes the old
    one (its key stops working) through its outbox."""
    user = caller.require_user()
    return await _stream_settings(room_id, user, b, reset=True)


async def _stream_settings(
    room_id: str, user: str, b: Broadcast, *, reset: bool
) -> domain.StreamSettings:
    """The room's ingress, made on first use and reused after (or replaced: `reset`). The
    LiveKit room exists with our metadata before the ingress can join it, so its events
    count. Two made at once: the room keeps one (AttachIngress) and the other is deleted."""
    access = await b.rooms.stream_access(room_id, user)
    domain.check_stream_host(access, user)
    await _ensure_livekit_room(access, b)
    current = access.ingress_id
    if current and not reset:
        info = await b.livekit.get_ingress(current)
        if info is not None:
            return domain.stream_settings(info, b.whip_url)
        # LiveKit lost it (deleted behind our back): a new one replaces it.
    mine = await b.livekit.create_ingress(domain.create_ingress_request(access.room))
    try:
        kept = await b.rooms.attach_ingress(room_id, mine.ingress_id, current)
    except grpc.aio.AioRpcError as error:
        if error.code() not in MAYBE_ATTACHED:
            await b.livekit.delete_ingress(mine.ingress_id)
        raise
    if kept == mine.ingress_id:
        log.info("ingress attached", room_id=room_id, ingress_id=kept, replaced=bool(current))
        return domain.stream_settings(mine, b.whip_url)
    await b.livekit.delete_ingress(mine.ingress_id)
    theirs = await b.livekit.get_ingress(kept)
    if theirs is None:
        raise Unavailable("the room's ingress changed meanwhile; retry")
    return domain.stream_settings(theirs, b.whip_url)


# AttachIngress failures after which the room may hold the new ingress all the same: it is
# not deleted (the next call finds it, or replaces it if LiveKit lost it).
MAYBE_ATTACHED = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED,
     grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
)  # fmt: skip


async def delete_livekit_ingress(ingress_id: str, b: Broadcast) -> None:
    await b.livekit.delete_ingress(ingress_id)


async def get_viewer_data(room_id: str, caller: Caller, b: Broadcast) -> domain.Credentials:
    """Watch-only credentials. Viewers do not create LiveKit rooms: they join the one a
    broadcaster's credential created (LiveKit in production runs with room.auto_create off)."""
    user = caller.require_user()
    access = await b.rooms.access(room_id, user)
    domain.check_viewer(access)
    return b.tokens.mint(
        user, room_id, domain.Role.VIEWER, live_chat_enabled=access.live_chat_enabled
    )


async def livekit_room_state(room_id: str, b: Broadcast) -> LiveKitRoomState:
    """The room's LiveKit room and its participants now (two calls to LiveKit: a room that
    goes between them has nobody in it)."""
    room = await b.livekit.get_room(room_id)
    participants = await b.livekit.list_participants(room_id) if room is not None else []
    return domain.livekit_room_state(room, participants)


async def end_livekit_room(room_id: str, b: Broadcast) -> None:
    await b.livekit.delete_room(room_id)


async def remove_livekit_participant(room_id: str, user_id: str, b: Broadcast) -> None:
    await b.livekit.remove_participant(room_id, user_id)


async def update_livekit_participant(
    room_id: str, user_id: str, role: domain.Role, live_chat_enabled: bool, b: Broadcast
) -> None:
    """A connected user gets the permissions and `role` attribute of their place now, in
    place (no reconnect): a new co-host may publish, a former one's tracks are unpublished."""
    await b.livekit.update_participant(
        room_id,
        user_id,
        domain.participant_permission(role, live_chat_enabled),
        {"role": role.value},
    )


async def mute_livekit_tracks(
    room_id: str, user_id: str, sources: Sequence[int], muted: bool, b: Broadcast
) -> None:
    """MutePublishedTrack of each of the user's tracks of these sources not in that state yet
    (none: every source); a user LiveKit does not have has nothing to mute."""
    participant = await b.livekit.get_participant(room_id, user_id)
    if participant is None:
        return
    for track_sid in domain.tracks_to_mute(participant, sources, muted):
        await b.livekit.mute_published_track(room_id, user_id, track_sid, muted)


async def update_livekit_room_metadata(room: room_pb2.Room, b: Broadcast) -> None:
    """The LiveKit room's metadata from the room as it is; a room LiveKit does not have (not
    live yet, or over) gets it when it is created."""
    await b.livekit.update_room_metadata(room.room_id, domain.room_metadata(room))


async def start_livekit_egress(
    room: room_pb2.Room, recording_id: str, stop_egress_ids: Sequence[str], b: Broadcast
) -> egress_pb.EgressInfo:
    """The room's recording egress: the one running already (so a retried start starts
    none), or a new RoomComposite egress. Egresses to stop (a start that timed out) are stopped
    first and never reused."""
    for egress_id in stop_egress_ids:
        await b.livekit.stop_egress(egress_id)
    running = [
        info
        for info in await b.livekit.running_egresses(room.room_id)
        if info.egress_id not in stop_egress_ids
    ]
    if running:
        return running[0]
    return await b.livekit.start_room_composite_egress(b.recordings.request(room, recording_id))


async def stop_livekit_egress(room_id: str, egress_id: str, b: Broadcast) -> None:
    """Stop the egress; none named: every egress of the room still running (one was asked
    for, but its id never came back)."""
    if egress_id:
        await b.livekit.stop_egress(egress_id)
        return
    for info in await b.livekit.running_egresses(room_id):
        await b.livekit.stop_egress(info.egress_id)

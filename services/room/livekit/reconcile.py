"""Reconciliation with LiveKit. LiveKit drops webhooks (a room's queue deeper than 200 events,
or an event queued longer than 30 s: livekit/protocol webhook/resource_url_notifier.go), so
counts, the viewer list and the host's presence would drift for good. Every room with a LiveKit
session that has not ended is compared, in turn, with what LiveKit says (ListRooms and
ListParticipants, through the broadcast service's GetLiveKitRoom): every
`livekit_reconcile_seconds`, at most `livekit_reconcile_per_second` rooms a second per
replica, and at once after a suspected gap (an event waiting for a session start that may
have been lost).

The differences are applied as the events that were lost: the start of a session LiveKit has
and we missed, the joins of participants LiveKit has, the leaves of those it no longer has.
They go through the same order-independent application as webhooks
(services.room.livekit.events), under ids of their own, so a real webhook arriving late
changes nothing. Nothing in flight is fought: a connection applied after LiveKit was asked
(plus a margin for LiveKit's own lag) is not taken away, and a participant whose leave was
applied is not brought back (a join never undoes a departure).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import grpc
import structlog
from costream.broadcast.v1.broadcast_service_pb2 import LiveKitRoomState
from costream.room.v1 import room_pb2

from services.common import observability
from services.common.db import CONNECTION_ERRORS, Database
from services.common.errors import Unavailable
from services.common.livekit_names import (
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    ROOM_STARTED,
    UNKNOWN_REASON,
)
from services.common.timestamps import to_timestamp, utcnow
from services.room.domain import Room, RoomStatus
from services.room.livekit.events import apply_livekit_events
from services.room.livekit.repository import Connection, LiveKitRepository
from services.room.repository import RoomUnitOfWork

log = structlog.get_logger()

# A connection applied this soon before LiveKit was asked may not be in LiveKit's answer yet.
MARGIN = timedelta(seconds=2)
# A room where something was lost, or a connection too new to judge, is asked about again
# this soon (losses come in surges), so every loss is found within interval + this.
AGAIN_SECONDS = 3.0
TICK_SECONDS = 1.0
# Rooms asked about at the same time.
CONCURRENCY = 4

LiveKitRooms = Callable[[str], Awaitable[LiveKitRoomState]]


def _event(kind: str, event_id: str, room_id: str, room_sid: str) -> room_pb2.LiveKitEvent:
    return room_pb2.LiveKitEvent(
        event_id=event_id, event=kind, room_name=room_id, room_sid=room_sid
    )


def lost_events(
    room: Room,
    connected: dict[str, Connection],
    livekit: LiveKitRoomState,
    asked_at: datetime,
) -> list[room_pb2.LiveKitEvent]:
    """The events that bring the room's session (with its `connected` sids) to what LiveKit
    answered when asked at `asked_at`. When LiveKit is in a session the room missed, only its
    start: its participants are compared once the room is in it."""
    room_id, session = room.room_id, room.livekit_room_sid
    if not livekit.exists:
        if session is None:
            return []
        # LiveKit has no room: everyone is gone (the room ends by its host's reconnect
        # timeout unless the host comes back).
        livekit = LiveKitRoomState(exists=True, room_sid=session, ours=True)
    if not livekit.ours:
        return []  # a session the broadcast service did not make counts for nothing
    if livekit.room_sid != session:
        started = _event(ROOM_STARTED, f"RC_{livekit.room_sid}", room_id, livekit.room_sid)
        started.create_time.CopyFrom(livekit.create_time)
        return [started]
    events = []
    # An ingress counts only as the host of a direct-streaming room, as in webhooks.
    present = {
        p.sid: p for p in livekit.participants if not p.ingress or room.counts_ingress(p.identity)
    }
    for sid, participant in present.items():
        known = connected.get(sid)
        if known is not None and (known.can_publish or not participant.can_publish):
            continue
        # Not counted yet, or counted as a viewer while LiveKit lets it publish.
        joined = _event(PARTICIPANT_JOINED, f"RC_{sid}_{int(participant.can_publish)}",
                        room_id, session)  # fmt: skip
        joined.create_time.CopyFrom(participant.join_time)
        joined.participant_identity = participant.identity
        joined.participant_sid = sid
        joined.participant_can_publish = participant.can_publish
        joined.participant_ingress = participant.ingress
        events.append(joined)
    staying = set()
    for sid, known in connected.items():
        if sid in present or known.join_time > asked_at - MARGIN:
            staying.add(known.identity)
        else:
            events.append(_left(room_id, session, sid, known.identity, asked_at))
    host = room.host_user_id
    if (
        room.status is RoomStatus.LIVE
        and host not in staying
        and all(p.identity != host for p in present.values())
    ):
        # Live for a host LiveKit does not have and who holds no connection: the room went
        # live on a reconnect (a DUPLICATE_IDENTITY departure) whose join and leave were lost.
        gone = f"RC_{host}_{int(asked_at.timestamp())}"
        events.append(_left(room_id, session, gone, host, asked_at))
    return events


def _left(
    room_id: str, session: str, sid: str, identity: str, asked_at: datetime
) -> room_pb2.LiveKitEvent:
    left = _event(PARTICIPANT_LEFT, f"RC_{sid}_left", room_id, session)
    left.create_time.CopyFrom(to_timestamp(asked_at))
    left.participant_identity = identity
    left.participant_sid = sid
    left.disconnect_reason = UNKNOWN_REASON
    return left


async def reconcile_room(
    room_id: str,
    livekit_rooms: LiveKitRooms,
    uow: Callable[[], RoomUnitOfWork],
    *,
    reconnect_timeout: timedelta,
) -> int:
    """Compare one room with LiveKit and apply what was lost; how many events that took.
    Twice when LiveKit is in a session the room missed: its start first (which releases the
    events that waited for it, counted from when they arrived), then its participants."""
    asked_at = utcnow()
    livekit = await livekit_rooms(room_id)
    present = {p.sid for p in livekit.participants}
    applied: list[room_pb2.LiveKitEvent] = []
    unsure = False
    for _ in range(2):
        async with uow().read() as reading:
            room = await reading.rooms.get(room_id)
            if room is None or room.ended:
                break
            session = room.livekit_room_sid
            connected = await reading.livekit.connections(room_id, session) if session else {}
        unsure = any(
            sid not in present and c.join_time > asked_at - MARGIN for sid, c in connected.items()
        )
        events = lost_events(room, connected, livekit, asked_at)
        if not events or (applied and events[0].event_id == applied[0].event_id):
            break  # nothing lost, or LiveKit's session is older than the room's
        await apply_livekit_events(events, uow(), reconnect_timeout=reconnect_timeout)
        applied += events
        if events[0].event != ROOM_STARTED:
            break
    if applied or unsure:
        async with uow() as writing:
            await writing.livekit.reconcile_soon(room_id, AGAIN_SECONDS)
            await writing.commit()
    for event in applied:
        observability.LIVEKIT_RECONCILED.labels(event.event).inc()
    if applied:
        log.info(
            "room reconciled with LiveKit",
            room_id=room_id,
            lost=[(e.event, e.participant_identity) for e in applied][:20],
            count=len(applied),
        )
    return len(applied)


async def run_reconciliation(
    database: Database,
    livekit_rooms: LiveKitRooms,
    uow: Callable[[], RoomUnitOfWork],
    *,
    interval_seconds: float,
    per_second: int,
    reconnect_timeout: timedelta,
) -> None:
    """Every second, the rooms due (at most `per_second`, none when 0), a few at a time."""
    if per_second <= 0:
        return
    concurrency = asyncio.Semaphore(CONCURRENCY)

    async def one(room_id: str) -> None:
        async with concurrency:
            try:
                await reconcile_room(
                    room_id, livekit_rooms, uow, reconnect_timeout=reconnect_timeout
                )
            except (Unavailable, grpc.aio.AioRpcError, *CONNECTION_ERRORS) as e:
                # LiveKit, the broadcast service or the database: the next round.
                log.debug("room not reconciled", room_id=room_id, error=type(e).__name__)

    while True:
        started = time.monotonic()
        try:
            async with database.pool.acquire() as conn:
                due = await LiveKitRepository(conn).claim_reconciliations(
                    per_second, interval_seconds
                )
            await asyncio.gather(*(one(room_id) for room_id in due))
        except (Unavailable, *CONNECTION_ERRORS) as e:
            log.warning("reconciliation paused", error=type(e).__name__)
        await asyncio.sleep(max(0.0, TICK_SECONDS - (time.monotonic() - started)))

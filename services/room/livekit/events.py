"""LiveKit webhooks applied to rooms (domain.md "Room status machine", "LiveKit webhooks").

Built so that the same events, duplicated and reordered within a session, end in the same
status and live counts as the events in order:
- Sessions are LiveKit room sids. The first event adopts one; a room_started created after the
  current session began replaces it (the old session's connections go); events of the current
  session apply; events created before it began are stale (they only tell that the host was
  here); events of an unknown session wait, parked, until its room_started arrives.
- Live counts are the set of connected participant sids: a join counts its sid unless the
  sid's departure was seen already; a departure stops counting it.
- A join or publish of a banned identity, or of a publisher who is not on stage, puts them out
  of LiveKit again (bans and removals stick although LiveKit accepts the tokens they hold).
- The host is present while one of the host's sids is connected, or when the host's latest
  departure was DUPLICATE_IDENTITY (a reconnect under way). Present → live; gone after being
  seen → waitingReconnect; not seen yet → idle.
- room_finished ends the room. After the end, events change nothing but recordings (LiveKit's
  leaves and room_finished still empty the counts).
- Egress events move the room's recording (services.room.domain Room.egress_changed: an
  egress's status only moves forward, so any order ends the same), before and after the end;
  egress_ended with a completed file appends a playback: an ended room becomes recorded, one
  that has not ended becomes recorded when it ends.
- Direct streaming: the LiveKit ingress participant (kind INGRESS) counts only in a
  direct-streaming room and only under the host's identity, where it is the host's presence
  like a host client's; any other ingress participant changes nothing. ingress_started and
  ingress_ended of the room's current ingress move its ingress_status (publishing / ready),
  the latest by time winning whatever order they arrive in.
"""

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import structlog
from costream.room.v1 import room_pb2

from services.common.livekit_names import (
    DUPLICATE_IDENTITY,
    EGRESS_COMPLETE,
    EGRESS_ENDED,
    EGRESS_EVENTS,
    INGRESS_EVENTS,
    INGRESS_STARTED,
    JOINS,
    LEAVES,
    ROOM_FINISHED,
    ROOM_STARTED,
    TRACK_PUBLISHED,
    UNKNOWN_REASON,
)
from services.common.timestamps import duration_to_ms, from_timestamp, utcnow
from services.room.domain import EGRESS_RANK, EndReason, Recording, Room, RoomStatus
from services.room.repository import RoomUnitOfWork

log = structlog.get_logger()

SESSION_EVENTS = JOINS | LEAVES | {ROOM_STARTED, ROOM_FINISHED}
# How long an egress may take to start by default (EGRESS_START_TIMEOUT).
EGRESS_START_TIMEOUT = timedelta(seconds=60)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Session(StrEnum):
    """Where an event stands relative to the room's current LiveKit session."""

    ADOPT = "adopt"  # the room has no session yet: the event's becomes it
    CURRENT = "current"
    REPLACE = "replace"  # room_started of a later session
    STALE = "stale"  # created before the current session began
    PARK = "park"  # an unknown session, maybe one whose room_started is on its way


def classify_session(
    current_sid: str | None,
    session_time: datetime | None,
    event_sid: str,
    kind: str,
    created: datetime,
) -> Session:
    if not event_sid or event_sid == current_sid:
        return Session.CURRENT
    if current_sid is None:
        return Session.ADOPT
    # LiveKit rooms of one name do not overlap: what was created before this session began
    # belongs to an older one.
    if session_time is not None and created < session_time:
        return Session.STALE
    return Session.REPLACE if kind == ROOM_STARTED else Session.PARK


class Presence(StrEnum):
    NOT_SEEN = "not_seen"
    PRESENT = "present"
    GONE = "gone"


def host_presence(connected: int, departures: Iterable[tuple[datetime, str]]) -> Presence:
    """The host in one session, from its connected sids and its (leave_time, reason)
    departures."""
    if connected:
        return Presence.PRESENT
    # At the same time, a DUPLICATE_IDENTITY departure came first: its replacement joined after.
    latest = max(departures, key=lambda d: (d[0], d[1] != DUPLICATE_IDENTITY), default=None)
    if latest is None:
        return Presence.NOT_SEEN
    return Presence.PRESENT if latest[1] == DUPLICATE_IDENTITY else Presence.GONE


def follow_host(
    room: Room, presence: Presence, now: datetime, reconnect_timeout: timedelta
) -> bool:
    """Move the status where the host's presence puts it; True when it moved."""
    if room.ended:
        return False
    if presence is Presence.PRESENT:
        return room.go_live(now)
    if presence is Presence.GONE:
        # A departure proves a join, even when the join has not arrived (yet).
        went_live = room.go_live(now) if room.status is RoomStatus.IDLE else False
        return room.host_dropped(now, reconnect_timeout) or went_live
    # Not seen in this session: idle stays idle, a room live in an older one waits for its host.
    return room.host_dropped(now, reconnect_timeout)


def completed_recording(event: room_pb2.LiveKitEvent) -> Recording | None:
    """The recording an egress_ended event brings, if it completed with a file."""
    if (
        event.event != EGRESS_ENDED
        or event.egress_status != EGRESS_COMPLETE
        or not event.egress_id
        or not event.playback.url
    ):
        return None
    return Recording(
        egress_id=event.egress_id,
        url=event.playback.url,
        thumbnail_url=event.playback.thumbnail_url,
        duration_ms=duration_to_ms(event.playback.duration),
    )


def event_time(event: room_pb2.LiveKitEvent) -> datetime:
    if not event.HasField("create_time"):
        return _EPOCH
    return from_timestamp(event.create_time)


async def apply_livekit_event(
    event: room_pb2.LiveKitEvent,
    uow: RoomUnitOfWork,
    *,
    reconnect_timeout: timedelta,
    egress_start_timeout: timedelta = EGRESS_START_TIMEOUT,
    now: datetime | None = None,
) -> bool:
    """Apply one verified LiveKit event; False for duplicates, other rooms, stale or parked
    events and events that change nothing."""
    changed = await apply_livekit_events(
        [event],
        uow,
        reconnect_timeout=reconnect_timeout,
        egress_start_timeout=egress_start_timeout,
        now=now,
    )
    return changed > 0


async def apply_livekit_events(
    events: Sequence[room_pb2.LiveKitEvent],
    uow: RoomUnitOfWork,
    *,
    reconnect_timeout: timedelta,
    egress_start_timeout: timedelta = EGRESS_START_TIMEOUT,
    now: datetime | None = None,
) -> int:
    """Apply verified LiveKit events room by room, each room's together in one transaction
    with its row locked once (a surge of joins is a few transactions, not thousands); return
    how many rooms changed. Duplicates, other rooms', stale and parked events change
    nothing."""
    now = now or utcnow()
    by_room: dict[str, list[room_pb2.LiveKitEvent]] = {}
    for event in events:
        by_room.setdefault(event.room_name, []).append(event)
    changed = 0
    for room_name, batch in by_room.items():
        async with uow:
            room = await uow.rooms.get(room_name, for_update=True) if room_name else None
            first_seen = [
                event
                for event in batch
                if await uow.livekit.record_event(
                    event.event_id, event.room_name, event.event, event.room_sid, now
                )
            ]
            if room is not None and first_seen:
                session_time = await uow.livekit.session_time(room.room_id)
                application = _Application(
                    uow, room, session_time, now, reconnect_timeout, egress_start_timeout
                )
                for event in first_seen:
                    await application.apply(event)
                changed += await application.finish()
            await uow.commit()
    return changed


class _Application:
    """Events of one room, and the parked events they release, applied to the locked room."""

    def __init__(
        self,
        uow: RoomUnitOfWork,
        room: Room,
        session_time: datetime | None,
        now: datetime,
        reconnect_timeout: timedelta,
        egress_start_timeout: timedelta = EGRESS_START_TIMEOUT,
    ) -> None:
        self._uow = uow
        self._room = room
        self._session_time = session_time
        self._now = now
        self._reconnect_timeout = reconnect_timeout
        self._egress_start_timeout = egress_start_timeout
        self._before = _persisted(room)
        self._session_time_before = session_time
        self._check_host = False
        self._counts_changed = False
        # A viewer joined since the peak was last taken: take it before the count can fall,
        # so the peak is the most there ever were, however many events one batch holds.
        self._peak_pending = False
        self._gap_suspected = False
        self._recording_added = False

    def _is_host(self, event: room_pb2.LiveKitEvent) -> bool:
        return event.participant_identity == self._room.host_user_id

    async def apply(self, event: room_pb2.LiveKitEvent, received: datetime | None = None) -> None:
        """Apply one event; `received`: when a parked event arrived (its join counts from
        then, which reconciliation relies on: services.room.livekit.reconcile)."""
        if event.event in EGRESS_EVENTS:
            await self._egress(event)
            return
        if event.event in INGRESS_EVENTS:
            started = event.event == INGRESS_STARTED
            self._room.ingress_event(event.ingress_id, started, event_time(event))
            return
        if event.event not in SESSION_EVENTS:
            return
        if event.event in JOINS | LEAVES and not event.participant_sid:
            return
        if event.participant_ingress and not self._room.counts_ingress(event.participant_identity):
            return
        if self._room.ended:
            await self._after_end(event)
            return
        created = event_time(event)
        session = classify_session(
            self._room.livekit_room_sid, self._session_time, event.room_sid, event.event, created
        )
        if session is Session.PARK:
            await self._uow.livekit.park(event.event_id, event.SerializeToString())
            # Its session's room_started may have been lost: ask LiveKit soon.
            self._gap_suspected = True
        elif session is Session.STALE:
            if self._is_host(event) and self._room.status is RoomStatus.IDLE:
                # The host was live in an older session; this session says where it is now.
                self._room.go_live(self._now)
                self._check_host = True
        elif session is Session.CURRENT:
            if self._session_time is None or created < self._session_time:
                self._session_time = created
            await self._in_session(event, received or self._now)
        else:
            await self._start_session(event, created, replace=session is Session.REPLACE)

    async def _start_session(
        self, event: room_pb2.LiveKitEvent, created: datetime, *, replace: bool
    ) -> None:
        room_id = self._room.room_id
        # Where the host left the room in the session that ends here (a batch may hold both).
        await self._follow_host()
        self._room.livekit_room_sid = event.room_sid
        self._session_time = created
        self._check_host = True
        if replace:
            # The old session's connections go; the new one has none yet (its earlier events
            # are parked, and applied below).
            await self._take_peak()
            self._counts_changed |= await self._uow.livekit.drop_connections(room_id)
        await self._in_session(event, self._now)
        parked = [
            (room_pb2.LiveKitEvent.FromString(payload), received)
            for payload, received in await self._uow.livekit.take_parked(room_id, event.room_sid)
        ]
        for waiting, received in sorted(parked, key=lambda p: (event_time(p[0]), p[0].event_id)):
            await self.apply(waiting, received)

    async def _in_session(self, event: room_pb2.LiveKitEvent, received: datetime) -> None:
        room_id = self._room.room_id
        room_sid = event.room_sid or self._room.livekit_room_sid or ""
        if event.event in JOINS:
            # Only publishers publish tracks; track events carry no permission.
            can_publish = event.participant_can_publish or event.event == TRACK_PUBLISHED
            if can_publish:  # a viewer's sid may become a publisher's
                await self._take_peak()
            changed = await self._uow.livekit.connect(
                room_id,
                event.participant_sid,
                event.participant_identity,
                room_sid,
                can_publish,
                received,
            )
            # Bans and removals stick: LiveKit lets a client back in with a token it holds.
            identity = event.participant_identity
            banned = await self._uow.rooms.is_banned(room_id, identity, self._now)
            self._room.admits(identity, self._now, banned=banned, publishing=can_publish)
            self._peak_pending |= changed and not can_publish
        elif event.event in LEAVES:
            await self._take_peak()
            changed = await self._uow.livekit.disconnect(
                room_id,
                event.participant_sid,
                event.participant_identity,
                room_sid,
                event.disconnect_reason or UNKNOWN_REASON,
                event_time(event),
            )
        elif event.event == ROOM_FINISHED:
            self._room.end(EndReason.LIVEKIT_ROOM_FINISHED, self._now)
            await self._take_peak()
            self._counts_changed |= await self._uow.livekit.drop_connections(room_id)
            return
        else:
            return
        self._counts_changed |= changed
        self._check_host = self._check_host or self._is_host(event)

    async def _after_end(self, event: room_pb2.LiveKitEvent) -> None:
        """Ended is final; LiveKit emptying the room still empties the counts."""
        room_id = self._room.room_id
        await self._take_peak()
        if event.event == ROOM_FINISHED:
            self._counts_changed |= await self._uow.livekit.drop_connections(room_id)
        elif event.event in LEAVES:
            changed = await self._uow.livekit.drop_connection(room_id, event.participant_sid)
            self._counts_changed |= changed

    async def _egress(self, event: room_pb2.LiveKitEvent) -> None:
        if event.egress_id and event.egress_status in EGRESS_RANK:
            status, new = await self._uow.livekit.egress_seen(
                self._room.room_id, event.egress_id, event.egress_status
            )
            self._room.egress_changed(
                event.egress_id,
                status,
                event.live_playback_url,
                self._now + self._egress_start_timeout,
                new=new,
            )
        recording = completed_recording(event)
        if recording is None:
            return
        if await self._uow.livekit.add_recording(self._room.room_id, recording, self._now):
            self._recording_added = True
            self._room.recording_arrived(self._now)

    async def _take_peak(self) -> None:
        if self._peak_pending:
            await self._uow.livekit.update_peak(self._room.room_id)
            self._peak_pending = False

    async def _follow_host(self) -> None:
        """Move the room where the host's presence in the current session puts it, if an
        event may have changed that."""
        room = self._room
        if self._check_host and not room.ended:
            connected, departures = await self._uow.livekit.presence(
                room.room_id, room.host_user_id, room.livekit_room_sid or ""
            )
            follow_host(
                room, host_presence(connected, departures), self._now, self._reconnect_timeout
            )
        self._check_host = False

    async def finish(self) -> bool:
        """Follow the host and save; True when anything changed."""
        room = self._room
        await self._follow_host()
        room_changed = _persisted(room) != self._before
        if room_changed:
            await self._uow.rooms.save(room, self._now)
        if room.status is not self._before[0]:
            log.info("room status follows LiveKit", room_id=room.room_id, status=room.status.value)
        session_changed = self._session_time != self._session_time_before
        if session_changed:
            await self._uow.livekit.set_session_time(room.room_id, self._session_time)
        await self._take_peak()
        if self._counts_changed:
            room.live_counts_changed()
        if self._gap_suspected:
            await self._uow.livekit.reconcile_soon(room.room_id)
        return room_changed or session_changed or self._counts_changed or self._recording_added


def _persisted(room: Room) -> tuple[object, ...]:
    """The room's stored state that LiveKit events move."""
    return (
        room.status,
        room.livekit_room_sid,
        room.live_time,
        room.reconnect_deadline,
        room.end_time,
        room.recorded_time,
        room.recording_pending,
        dataclasses.astuple(room.recording),
        room.ingress_status,
        room.ingress_event_time,
    )

"""Room rules: the status machine, the stage, and the room as readers see it. No I/O.

The `Room` aggregate records what happens to it as domain events; services.room.side_effects
says what each means (LiveKit, invitations, watchers), so every way a room ends, say, has the
same side effects."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from services.common.events import DomainEvent
from services.common.livekit_names import (
    EGRESS_ABORTED,
    EGRESS_ACTIVE,
    EGRESS_COMPLETE,
    EGRESS_ENDING,
    EGRESS_FAILED,
    EGRESS_LIMIT_REACHED,
    EGRESS_STARTING,
)
from services.common.update_mask import unchecked
from services.common.validation import Violations
from services.room import errors

MAX_TITLE = 1000
MAX_DESCRIPTION = 5000
MAX_THUMBNAIL_FILE_ID = 256
MAX_BATCH = 100
# Longer bans would overflow datetime; 0 means until unbanned anyway.
MAX_BAN_DURATION = timedelta(days=36500)
# Moderators a host may name per room (Tencent's room admins).
MAX_MODERATORS = 5


class RoomStatus(StrEnum):
    IDLE = "idle"
    LIVE = "live"
    WAITING_RECONNECT = "waiting_reconnect"
    ENDED = "ended"
    RECORDED = "recorded"


class EndReason(StrEnum):
    STOPPED_BY_HOST = "stopped_by_host"
    DISMISSED = "dismissed"
    RECONNECT_TIMEOUT = "reconnect_timeout"
    MAX_DURATION = "max_duration"
    LIVEKIT_ROOM_FINISHED = "livekit_room_finished"
    DELETED = "deleted"


class RoomType(StrEnum):
    CO_HOSTS = "co_hosts"
    # The host streams from an encoder (OBS) through a LiveKit ingress; co-hosts join as usual.
    DIRECT_STREAMING = "direct_streaming"


class RecordingStatus(StrEnum):
    """The room's recording (domain.md "Recording and live playback"); UNSPECIFIED: not
    recording."""

    UNSPECIFIED = "unspecified"
    STARTING = "starting"
    ACTIVE = "active"
    STOPPING = "stopping"
    FAILED = "failed"


# LiveKit's egress statuses in the order an egress goes through them: an event never moves
# an egress back (webhooks arrive in any order), and the ended ones are final.
EGRESS_RANK = {
    EGRESS_STARTING: 0,
    EGRESS_ACTIVE: 1,
    EGRESS_ENDING: 2,
    EGRESS_COMPLETE: 3,
    EGRESS_LIMIT_REACHED: 3,
    EGRESS_FAILED: 3,
    EGRESS_ABORTED: 3,
}
EGRESS_ENDED_WELL = frozenset({EGRESS_COMPLETE, EGRESS_LIMIT_REACHED})


class IngressStatus(StrEnum):
    """A direct-streaming room's ingress; None while it has none."""

    READY = "ready"  # waiting for the encoder
    PUBLISHING = "publishing"
    ENDED = "ended"  # deleted with the room's end


class Role(StrEnum):
    HOST = "host"
    CO_HOST = "co_host"


class TrackSource(StrEnum):
    """A kind of published track, as LiveKit's TrackSource (and its tokens) name them."""

    CAMERA = "camera"
    MICROPHONE = "microphone"
    SCREEN_SHARE = "screen_share"
    SCREEN_SHARE_AUDIO = "screen_share_audio"


class SeatTemplate(StrEnum):
    VIDEO_DYNAMIC_GRID_9 = "video_dynamic_grid_9"
    VIDEO_DYNAMIC_FLOAT_7 = "video_dynamic_float_7"
    VIDEO_FIXED_GRID_9 = "video_fixed_grid_9"
    VIDEO_FIXED_FLOAT_7 = "video_fixed_float_7"
    VIDEO_LANDSCAPE_4 = "video_landscape_4"

    @property
    def seats(self) -> int:
        """Seats including the host's: the number at the end of the name."""
        return int(self.value.rsplit("_", 1)[1])

    @property
    def max_co_hosts(self) -> int:
        return self.seats - 1


class ChangeKind(StrEnum):
    """What WatchRoom streams are told changed, least telling first: changes made in one
    transaction reach them as one event of the most telling kind."""

    # Who is banned: nothing a watcher sees, but read caches must forget the room's bans.
    BANS_CHANGED = "bans_changed"
    UPDATED = "updated"
    STATS_CHANGED = "stats_changed"
    PARTICIPANTS_CHANGED = "participants_changed"
    STATUS_CHANGED = "status_changed"
    RECORDED = "recorded"
    DELETED = "deleted"

    @property
    def rank(self) -> int:
        return list(ChangeKind).index(self)


# Every move of the status machine; anything else is refused.
TRANSITIONS: dict[RoomStatus, frozenset[RoomStatus]] = {
    RoomStatus.IDLE: frozenset({RoomStatus.LIVE, RoomStatus.ENDED}),
    RoomStatus.LIVE: frozenset({RoomStatus.WAITING_RECONNECT, RoomStatus.ENDED}),
    RoomStatus.WAITING_RECONNECT: frozenset({RoomStatus.LIVE, RoomStatus.ENDED}),
    RoomStatus.ENDED: frozenset({RoomStatus.RECORDED}),
    RoomStatus.RECORDED: frozenset(),
}


def can_move(source: RoomStatus, target: RoomStatus) -> bool:
    return target in TRANSITIONS[source]


# --- what happens to a room (services.room.side_effects says what each means) ---------------


@dataclass(frozen=True)
class RoomChanged(DomainEvent):
    room_id: str
    kind: ChangeKind


@dataclass(frozen=True)
class RoomEnded(DomainEvent):
    room_id: str
    reason: EndReason


@dataclass(frozen=True)
class TakenOffStage(DomainEvent):
    room_id: str
    user_id: str
    at: datetime


@dataclass(frozen=True)
class SeatedOnStage(DomainEvent):
    """A user took a seat (an accepted invitation, an approved stage request): if they watch
    already, LiveKit makes them a co-host in place."""

    room_id: str
    user_id: str


@dataclass(frozen=True)
class MuteRequested(DomainEvent):
    """Someone on stage is to be muted (or unmuted) in LiveKit; no sources means all."""

    room_id: str
    user_id: str
    sources: tuple[TrackSource, ...]
    muted: bool


@dataclass(frozen=True)
class RecordingRequested(DomainEvent):
    """A recording attempt is to start in LiveKit (after stopping the egresses named)."""

    room_id: str
    recording_id: str
    stop_egress_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordingStopRequested(DomainEvent):
    """The room's egress is to stop; None: whichever egress of the room still runs (one asked
    for but not known yet)."""

    room_id: str
    egress_id: str | None


@dataclass(frozen=True)
class UserBanned(DomainEvent):
    room_id: str
    user_id: str
    at: datetime
    # Whether the room was still open: an ended room has nobody to disconnect.
    room_open: bool


@dataclass(frozen=True)
class ParticipantRefused(DomainEvent):
    """LiveKit let in someone who may not be there (a banned identity reconnecting with a
    token it still holds, or a publisher who is not on stage): out again."""

    room_id: str
    user_id: str
    at: datetime


@dataclass(frozen=True)
class IngressRetired(DomainEvent):
    """A LiveKit ingress the room no longer uses (the room ended, or ResetStreamKey replaced
    it): deleted in LiveKit, so its stream key stops working."""

    room_id: str
    ingress_id: str


@dataclass
class RecordingState:
    """The room's recording: the current attempt (its number names its outputs), its LiveKit
    egress once known and that egress's furthest status, and the start deadline."""

    auto_record: bool = False
    status: RecordingStatus = RecordingStatus.UNSPECIFIED
    attempt: int = 0
    egress_id: str | None = None
    egress_status: str = ""
    # A STARTING recording whose egress is known fails at this time.
    deadline: datetime | None = None
    # The auto_record retry of a start that timed out was used.
    retried: bool = False
    live_playback_url: str = ""

    @property
    def recording_id(self) -> str:
        return str(self.attempt)


@dataclass
class Room:
    """The aggregate: the state the status machine and the stage rules need."""

    room_id: str
    host_user_id: str
    status: RoomStatus
    max_co_hosts: int
    co_host_ids: list[str] = field(default_factory=list)
    live_time: datetime | None = None
    end_time: datetime | None = None
    end_reason: EndReason | None = None
    recorded_time: datetime | None = None
    reconnect_deadline: datetime | None = None
    livekit_room_sid: str | None = None
    # A recording arrived before the end: the room becomes recorded as it ends.
    recording_pending: bool = False
    deleted: bool = False
    moderator_ids: list[str] = field(default_factory=list)
    recording: "RecordingState" = field(default_factory=lambda: RecordingState())
    type: RoomType = RoomType.CO_HOSTS
    # Direct streaming: the host's LiveKit ingress, its status, and when the latest ingress
    # event applied to it happened.
    ingress_id: str | None = None
    ingress_status: IngressStatus | None = None
    ingress_event_time: datetime | None = None
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @property
    def ended(self) -> bool:
        return self.status in (RoomStatus.ENDED, RoomStatus.RECORDED)

    def _changed(self, kind: ChangeKind) -> None:
        self.events.append(RoomChanged(self.room_id, kind))

    def _move(self, target: RoomStatus) -> None:
        # Each caller moves an open room only where the machine allows: what is left is ended.
        if not can_move(self.status, target):
            raise errors.room_ended(self.room_id)
        self.status = target
        recorded = target is RoomStatus.RECORDED
        self._changed(ChangeKind.RECORDED if recorded else ChangeKind.STATUS_CHANGED)

    # --- who ---

    def require_not_ended(self) -> None:
        if self.ended or self.deleted:
            raise errors.room_ended(self.room_id)

    def require_host(self, user_id: str) -> None:
        if user_id != self.host_user_id:
            raise errors.not_room_host()

    def require_host_or_admin(self, user_id: str, is_admin: bool) -> None:
        if not is_admin:
            self.require_host(user_id)

    def role_of(self, user_id: str) -> Role | None:
        if user_id == self.host_user_id:
            return Role.HOST
        return Role.CO_HOST if user_id in self.co_host_ids else None

    def is_moderator_or_host(self, user_id: str) -> bool:
        """May this user moderate this room: the host or a current moderator."""
        return user_id == self.host_user_id or user_id in self.moderator_ids

    def require_moderator_or_host(self, user_id: str) -> None:
        if not self.is_moderator_or_host(user_id):
            raise errors.not_room_moderator()

    def require_moderator_host_or_admin(self, user_id: str, is_admin: bool) -> None:
        if not is_admin:
            self.require_moderator_or_host(user_id)

    # --- moderators ---

    def add_moderator(self, user_id: str) -> bool:
        """Name a moderator (the caller checked the host and the ban); False when they are
        one already."""
        self.require_not_ended()
        if user_id == self.host_user_id:
            raise errors.host_cannot_moderate()
        if user_id in self.moderator_ids:
            return False
        if len(self.moderator_ids) >= MAX_MODERATORS:
            raise errors.moderator_limit_reached(MAX_MODERATORS)
        self.moderator_ids.append(user_id)
        self._changed(ChangeKind.UPDATED)
        return True

    def remove_moderator(self, user_id: str) -> bool:
        """Withdraw a moderator; False when they were not one (nothing changes)."""
        self.require_not_ended()
        if user_id == self.host_user_id:
            raise errors.host_cannot_moderate()
        if user_id not in self.moderator_ids:
            return False
        self.moderator_ids.remove(user_id)
        self._changed(ChangeKind.UPDATED)
        return True

    # --- the status machine ---

    def go_live(self, now: datetime) -> bool:
        """The host joined LiveKit. False when nothing changes (already live, or ended)."""
        if self.status not in (RoomStatus.IDLE, RoomStatus.WAITING_RECONNECT):
            return False
        self._move(RoomStatus.LIVE)
        self.live_time = self.live_time or now
        self.reconnect_deadline = None
        if self.recording.auto_record and self.recording.status in (
            RecordingStatus.UNSPECIFIED,
            RecordingStatus.FAILED,
        ):
            self.recording.retried = False
            self._begin_recording()
        return True

    def host_dropped(self, now: datetime, reconnect_timeout: timedelta) -> bool:
        """The host left LiveKit: wait for them to come back until the deadline."""
        if self.status != RoomStatus.LIVE:
            return False
        self._move(RoomStatus.WAITING_RECONNECT)
        self.reconnect_deadline = now + reconnect_timeout
        return True

    def end(self, reason: EndReason, now: datetime) -> None:
        """Every way a room ends. Ended is final (ending twice is ROOM_ENDED); a recording
        that arrived before makes the room recorded at once."""
        self._move(RoomStatus.ENDED)
        self.end_time = self.end_time or now
        self.end_reason = reason
        self.reconnect_deadline = None
        self.events.append(RoomEnded(self.room_id, reason))
        if self.recording.status in (RecordingStatus.STARTING, RecordingStatus.ACTIVE):
            self._stop_recording()
        self._retire_ingress()
        if self.recording_pending:
            self.recording_pending = False
            self._record(now)

    def recording_arrived(self, now: datetime) -> None:
        """A recording is ready: an ended room becomes recorded, an open one when it ends."""
        if self.status is RoomStatus.ENDED:
            self._record(now)
        elif not self.ended:
            self.recording_pending = True
        self._changed(ChangeKind.UPDATED)

    def _record(self, now: datetime) -> None:
        self._move(RoomStatus.RECORDED)
        self.recorded_time = self.recorded_time or now

    # --- recording (domain.md "Recording and live playback") ---

    def start_recording(self, by: str, is_admin: bool) -> bool:
        """StartRecording: False when a recording is starting or active already."""
        self.require_moderator_host_or_admin(by, is_admin)
        if self.status not in (RoomStatus.LIVE, RoomStatus.WAITING_RECONNECT):
            raise errors.room_not_live(self.room_id)
        status = self.recording.status
        if status in (RecordingStatus.STARTING, RecordingStatus.ACTIVE):
            return False
        if status is RecordingStatus.STOPPING:
            raise errors.recording_stopping()
        self._begin_recording()
        return True

    def stop_recording(self, by: str, is_admin: bool) -> None:
        self.require_moderator_host_or_admin(by, is_admin)
        if self.recording.status not in (RecordingStatus.STARTING, RecordingStatus.ACTIVE):
            raise errors.recording_not_active()
        self._stop_recording()

    def _begin_recording(self, stop_egress_ids: tuple[str, ...] = ()) -> None:
        """A new attempt: its own outputs, its egress not known until LiveKit answers."""
        rec = self.recording
        rec.attempt += 1
        rec.status = RecordingStatus.STARTING
        rec.egress_id = None
        rec.egress_status = ""
        rec.deadline = None
        rec.live_playback_url = ""
        self.events.append(RecordingRequested(self.room_id, rec.recording_id, stop_egress_ids))
        self._changed(ChangeKind.UPDATED)

    def _stop_recording(self) -> None:
        rec = self.recording
        rec.status = RecordingStatus.STOPPING
        rec.deadline = None
        self.events.append(RecordingStopRequested(self.room_id, rec.egress_id))
        self._changed(ChangeKind.UPDATED)

    def egress_started(
        self,
        recording_id: str,
        egress_id: str,
        egress_status: str,
        live_url: str,
        deadline: datetime,
    ) -> None:
        """LiveKit answered the start of an attempt with its egress. An attempt that is over
        (stopped, timed out, the room ended) has its egress stopped; one stopped before its
        egress was known learns it, so that the egress is stopped too."""
        rec = self.recording
        if egress_id == rec.egress_id:
            return  # known already (its webhook came first)
        current = recording_id == rec.recording_id and rec.egress_id is None
        ended = EGRESS_RANK.get(egress_status) == EGRESS_RANK[EGRESS_COMPLETE]
        waiting = rec.status in (RecordingStatus.STARTING, RecordingStatus.STOPPING)
        if current and waiting:
            rec.egress_id = egress_id
        if current and rec.status is RecordingStatus.STARTING:
            rec.deadline = deadline
        elif not ended:
            self.events.append(RecordingStopRequested(self.room_id, egress_id))
        if current and waiting:
            self.egress_changed(egress_id, egress_status, live_url)

    def egress_not_started(self, recording_id: str) -> None:
        """The attempt was stopped (or its room ended) before LiveKit was asked: nothing to
        stop, so nothing is recording."""
        rec = self.recording
        current = recording_id == rec.recording_id and rec.egress_id is None
        if current and rec.status is RecordingStatus.STOPPING:
            rec.status = RecordingStatus.UNSPECIFIED
            self._changed(ChangeKind.UPDATED)

    def egress_refused(self, recording_id: str) -> None:
        """LiveKit refused to start the attempt for good."""
        rec = self.recording
        if recording_id == rec.recording_id and rec.status is RecordingStatus.STARTING:
            rec.status = RecordingStatus.FAILED
            self._changed(ChangeKind.UPDATED)

    def egress_changed(
        self,
        egress_id: str,
        egress_status: str,
        live_url: str,
        deadline: datetime | None = None,
        *,
        new: bool = True,
    ) -> None:
        """An egress's furthest status (from its webhooks in any order, or LiveKit's answer):
        the recording follows the room's egress. An egress asked for but not known yet is
        adopted by the first event of an egress never seen before, while it runs (or at any
        status while stopping); any other egress changes nothing here (its recording still
        counts: recording_arrived)."""
        rec = self.recording
        rank = EGRESS_RANK.get(egress_status)
        if rank is None:
            return
        if rec.egress_id is None:
            if not new:
                return
            # Stopping, even its end is adopted: the recording it stopped has ended.
            ended = rank == EGRESS_RANK[EGRESS_COMPLETE]
            if rec.status is not RecordingStatus.STOPPING and (
                rec.status is not RecordingStatus.STARTING or ended
            ):
                return
            rec.egress_id = egress_id
            if rec.status is RecordingStatus.STARTING:
                rec.deadline = deadline
        elif egress_id != rec.egress_id:
            return
        if rec.egress_status and rank <= EGRESS_RANK[rec.egress_status]:
            return  # never back, and an ended egress stays as it ended
        before = (rec.status, rec.live_playback_url)
        rec.egress_status = egress_status
        if egress_status == EGRESS_ACTIVE:
            if rec.status is RecordingStatus.STARTING:
                rec.status = RecordingStatus.ACTIVE
                rec.deadline = None
            if rec.status is RecordingStatus.ACTIVE:
                rec.live_playback_url = live_url
        elif egress_status == EGRESS_ENDING:
            rec.status = RecordingStatus.STOPPING
            rec.live_playback_url = ""
        elif rank == EGRESS_RANK[EGRESS_COMPLETE]:
            stopped = rec.status is RecordingStatus.STOPPING
            well = egress_status in EGRESS_ENDED_WELL or (
                stopped and egress_status == EGRESS_ABORTED
            )
            if rec.status is not RecordingStatus.FAILED:
                rec.status = RecordingStatus.UNSPECIFIED if well else RecordingStatus.FAILED
            rec.deadline = None
            rec.live_playback_url = ""
        if (rec.status, rec.live_playback_url) != before:
            self._changed(ChangeKind.UPDATED)

    def recording_timed_out(self) -> None:
        """The egress is still starting at its deadline (a known LiveKit failure): stopped and
        failed, and with auto_record tried once more."""
        rec = self.recording
        stuck = rec.egress_id
        rec.status = RecordingStatus.FAILED
        rec.deadline = None
        self._changed(ChangeKind.UPDATED)
        if rec.auto_record and not rec.retried and not self.ended:
            rec.retried = True
            self._begin_recording(stop_egress_ids=(stuck,) if stuck else ())
        else:
            self.events.append(RecordingStopRequested(self.room_id, stuck))

    def delete(self, now: datetime) -> bool:
        """Soft delete, ending the room first; False when it was deleted already."""
        if self.deleted:
            return False
        if not self.ended:
            self.end(EndReason.DELETED, now)
        self.deleted = True
        self._changed(ChangeKind.DELETED)
        return True

    def purge(self) -> None:
        """Removed for good: only a room that never went live nor had a LiveKit session
        (nothing to undo in LiveKit)."""
        used = self.live_time is not None or self.livekit_room_sid is not None
        if self.status is not RoomStatus.IDLE or used or self.deleted:
            raise errors.room_in_use(self.room_id)
        if self.ingress_id is not None:  # an ingress to delete in LiveKit
            raise errors.room_in_use(self.room_id)
        self._changed(ChangeKind.DELETED)

    def edited(self) -> None:
        self._changed(ChangeKind.UPDATED)

    def live_counts_changed(self) -> None:
        self._changed(ChangeKind.STATS_CHANGED)

    # --- the stage ---

    def seat_co_host(self, user_id: str) -> None:
        """Take a free seat; the caller holds the room's lock, so seats never oversubscribe."""
        self.require_not_ended()
        if self.role_of(user_id) is not None:
            raise errors.already_on_stage(user_id)
        if len(self.co_host_ids) >= self.max_co_hosts:
            raise errors.seat_limit_reached(self.max_co_hosts)
        self.co_host_ids.append(user_id)
        self.events.append(SeatedOnStage(self.room_id, user_id))
        self._changed(ChangeKind.PARTICIPANTS_CHANGED)

    def take_off_stage(self, user_id: str, now: datetime) -> bool:
        """A co-host leaves the stage (the host cannot); False when not on it."""
        if user_id == self.host_user_id:
            raise errors.host_cannot_leave()
        if user_id not in self.co_host_ids:
            return False
        self.co_host_ids.remove(user_id)
        self.events.append(TakenOffStage(self.room_id, user_id, now))
        self._changed(ChangeKind.PARTICIPANTS_CHANGED)
        return True

    def mute(
        self,
        by: str,
        user_id: str,
        sources: tuple[TrackSource, ...],
        muted: bool,
        *,
        remote_unmute: bool,
    ) -> None:
        """The host or a moderator mutes someone on stage: a co-host, or the host (by a
        moderator; the host mutes their own tracks in their client). An unmute only where
        LiveKit allows remote unmute."""
        self.require_moderator_or_host(by)
        self.require_not_ended()
        if user_id == by == self.host_user_id:
            raise errors.cannot_mute_yourself()
        if self.role_of(user_id) is None:
            raise errors.not_on_stage(user_id)
        if not muted and not remote_unmute:
            raise errors.remote_unmute_disabled()
        self.events.append(MuteRequested(self.room_id, user_id, sources, muted))

    def ban(self, user_id: str, now: datetime) -> None:
        """Off stage and off LiveKit; no credentials, no invitations and no stage requests
        until it lapses."""
        if user_id == self.host_user_id:
            raise errors.host_cannot_be_banned()
        self.take_off_stage(user_id, now)
        if user_id in self.moderator_ids:
            # A moderator who is banned stops being one.
            self.moderator_ids.remove(user_id)
            self._changed(ChangeKind.UPDATED)
        self.events.append(UserBanned(self.room_id, user_id, now, room_open=not self.ended))
        self._changed(ChangeKind.BANS_CHANGED)

    def unban(self) -> None:
        self._changed(ChangeKind.BANS_CHANGED)

    def admits(self, user_id: str, now: datetime, *, banned: bool, publishing: bool) -> bool:
        """Whether LiveKit may keep this participant: not banned, and publishing only from
        the stage. One it may not keep is refused (put out again)."""
        if self.ended or not (banned or (publishing and self.role_of(user_id) is None)):
            return True
        self.events.append(ParticipantRefused(self.room_id, user_id, now))
        return False

    # --- direct streaming (LiveKit ingress) ---

    def counts_ingress(self, identity: str) -> bool:
        """Whether a LiveKit ingress participant of this identity counts for the room: only
        the host's, in a direct-streaming room, where it is the host's presence."""
        return self.type is RoomType.DIRECT_STREAMING and identity == self.host_user_id

    def attach_ingress(self, ingress_id: str, replaces: str | None) -> str:
        """The broadcast service made an ingress for the room: the room keeps its first one
        (two made at once: the later is not kept), or, with `replaces` naming the current one
        (ResetStreamKey), takes the new one and retires the old. Returns the one kept; a retry
        that finds its own kept changes nothing."""
        self.require_not_ended()
        if self.type is not RoomType.DIRECT_STREAMING:
            raise errors.wrong_room_type(self.room_id)
        current = self.ingress_id
        if current == ingress_id or (current is not None and current != replaces):
            return current
        self.ingress_id = ingress_id
        self.ingress_status = IngressStatus.READY
        self.ingress_event_time = None
        if current is not None:
            self.events.append(IngressRetired(self.room_id, current))
        self._changed(ChangeKind.UPDATED)
        return ingress_id

    def ingress_event(self, ingress_id: str, publishing: bool, at: datetime) -> bool:
        """ingress_started (`publishing`) or ingress_ended of the room's current ingress,
        created at `at`. Order-independent: an event from before the latest applied one
        changes nothing, and of two at the same time the end wins. False when nothing
        changed."""
        if self.ended or self.deleted or not ingress_id or ingress_id != self.ingress_id:
            return False
        latest = self.ingress_event_time
        if latest is not None and (at < latest or (at == latest and publishing)):
            return False
        self.ingress_event_time = at
        status = IngressStatus.PUBLISHING if publishing else IngressStatus.READY
        if status is self.ingress_status:
            return False
        self.ingress_status = status
        self._changed(ChangeKind.UPDATED)
        return True

    def _retire_ingress(self) -> None:
        """The room is over: its ingress goes (the stream key stops working)."""
        if self.ingress_id is None or self.ingress_status is IngressStatus.ENDED:
            return
        self.ingress_status = IngressStatus.ENDED
        self.events.append(IngressRetired(self.room_id, self.ingress_id))


def ban_expiry(now: datetime, duration: timedelta | None) -> datetime | None:
    """When a ban lapses; None for a ban until unbanned."""
    return now + duration if duration else None


# --- the room as readers see it ------------------------------------------------------------


@dataclass(frozen=True)
class Participant:
    user_id: str
    role: Role
    join_time: datetime
    connected: bool


@dataclass(frozen=True)
class Recording:
    """A finished recording of the room (a completed LiveKit egress)."""

    egress_id: str
    url: str
    thumbnail_url: str
    duration_ms: int


@dataclass(frozen=True)
class RoomView:
    """A room with everything the API shows."""

    room_id: str
    type: RoomType
    status: RoomStatus
    title: str
    description: str
    thumbnail_file_id: str
    metadata: dict[str, Any]
    live_chat_enabled: bool
    parent_room_id: str
    seat_template: SeatTemplate
    max_co_hosts: int
    host_user_id: str
    end_reason: EndReason | None
    participants: tuple[Participant, ...]
    # Distinct identities connected now (none once ended), and the highest viewer count stored.
    viewer_count: int
    publisher_count: int
    stored_peak_viewer_count: int
    recordings: tuple[Recording, ...]
    create_time: datetime
    update_time: datetime
    live_time: datetime | None
    end_time: datetime | None
    recorded_time: datetime | None
    deleted: bool
    delete_time: datetime | None
    moderator_user_ids: tuple[str, ...] = ()
    auto_record: bool = False
    recording_status: RecordingStatus = RecordingStatus.UNSPECIFIED
    live_playback_url: str = ""
    ingress_status: IngressStatus | None = None
    # Internal (RoomAccess): never on the Room message.
    ingress_id: str | None = None

    @property
    def live_channel_id(self) -> str:
        """The live chat channel, while chat is enabled."""
        return f"{self.room_id}:chat" if self.live_chat_enabled else ""

    @property
    def peak_viewer_count(self) -> int:
        """Never below the viewers connected now, even before the peak was stored."""
        return max(self.stored_peak_viewer_count, self.viewer_count)

    @property
    def ended(self) -> bool:
        return self.status in (RoomStatus.ENDED, RoomStatus.RECORDED)

    @property
    def page_key(self) -> tuple[datetime, str]:
        return self.create_time, self.room_id

    def role_of(self, user_id: str) -> Role | None:
        return next((p.role for p in self.participants if p.user_id == user_id), None)

    def is_moderator_or_host(self, user_id: str) -> bool:
        return user_id == self.host_user_id or user_id in self.moderator_user_ids


@dataclass(frozen=True)
class Ban:
    room_id: str
    user_id: str
    reason: str
    banned_by_user_id: str
    create_time: datetime
    expire_time: datetime | None

    @property
    def page_key(self) -> tuple[datetime, str]:
        return self.create_time, self.user_id


@dataclass(frozen=True)
class Viewer:
    """Someone connected to the room's LiveKit room without being on stage: an identity
    counted in `viewer_count`, since its earliest connection still open."""

    user_id: str
    join_time: datetime

    @property
    def page_key(self) -> tuple[datetime, str]:
        return self.join_time, self.user_id


@dataclass(frozen=True)
class UserInRoom:
    """What peers need to decide a user's access: the room, the user's place on stage, and
    whether they are banned."""

    room: RoomView
    role: Role | None
    banned: bool


# --- input rules (checks of the form services.common.update_mask.FieldCheck) ---------------


def check_title(v: Violations, field: str, title: str) -> str:
    return v.text(field, title, min_len=1, max_len=MAX_TITLE, trim=True)


def check_description(v: Violations, field: str, description: str) -> str:
    return v.text(field, description, max_len=MAX_DESCRIPTION)


def check_thumbnail_file_id(v: Violations, field: str, file_id: str) -> str:
    return v.text(field, file_id, max_len=MAX_THUMBNAIL_FILE_ID)


def check_parent_room_id(v: Violations, field: str, room_id: str) -> str:
    """Optional: empty, or a room id."""
    return v.room_id(field, room_id, required=False)


def check_co_hosts(
    v: Violations, co_host_user_ids: list[str], host_user_id: str, max_co_hosts: int
) -> list[str]:
    """Initial co-hosts: unique, not the host, no more than the seats."""
    if not v.count("co_host_user_ids", co_host_user_ids, max_co_hosts):
        return []
    if len(set(co_host_user_ids)) != len(co_host_user_ids):
        v.add("co_host_user_ids", "must not repeat a user")
    if host_user_id in co_host_user_ids:
        v.add("co_host_user_ids", "must not contain the host")
    for i, user_id in enumerate(co_host_user_ids):
        v.identifier(f"co_host_user_ids[{i}]", user_id)
    return co_host_user_ids


# The fields UpdateRoom may change (AIP-134), each with its check: declared once here.
UPDATABLE_FIELDS = {
    "title": check_title,
    "description": check_description,
    "thumbnail_file_id": check_thumbnail_file_id,
    "metadata": Violations.metadata,
    "live_chat_enabled": unchecked,
    "parent_room_id": check_parent_room_id,
    "auto_record": unchecked,
}

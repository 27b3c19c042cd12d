"""Room rules and the room status machine. No I/O."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.common.errors import FailedPrecondition, PermissionDenied
from services.common.validation import Violations

ROOM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
MAX_TITLE = 1000
MAX_DESCRIPTION = 5000
MAX_BATCH = 100
# Longer bans would overflow datetime; 0 means until unbanned anyway.
MAX_BAN_DURATION = timedelta(days=36500)


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


class Role(StrEnum):
    HOST = "host"
    CO_HOST = "co_host"


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


@dataclass
class Room:
    """The state the status machine and the permission rules need."""

    room_id: str
    host_user_id: str
    status: RoomStatus
    max_co_hosts: int
    live_time: datetime | None = None
    end_time: datetime | None = None
    end_reason: EndReason | None = None
    recorded_time: datetime | None = None
    reconnect_deadline: datetime | None = None
    livekit_room_sid: str | None = None
    deleted: bool = False

    @property
    def ended(self) -> bool:
        return self.status in (RoomStatus.ENDED, RoomStatus.RECORDED)

    def _move(self, target: RoomStatus) -> None:
        if not can_move(self.status, target):
            raise FailedPrecondition(
                "ROOM_ENDED" if self.ended else "INVALID_TRANSITION",
                f"room {self.room_id} cannot go from {self.status} to {target}",
            )
        self.status = target

    def require_not_ended(self) -> None:
        if self.ended or self.deleted:
            raise FailedPrecondition("ROOM_ENDED", f"room {self.room_id} has ended")

    def require_host(self, user_id: str) -> None:
        if user_id != self.host_user_id:
            raise PermissionDenied("NOT_ROOM_HOST", "only the room's host may do this")

    def require_host_or_admin(self, user_id: str, is_admin: bool) -> None:
        if not is_admin:
            self.require_host(user_id)

    def go_live(self, now: datetime) -> bool:
        """The host joined LiveKit. False when nothing changes (already live, or ended)."""
        if self.status not in (RoomStatus.IDLE, RoomStatus.WAITING_RECONNECT):
            return False
        self._move(RoomStatus.LIVE)
        self.live_time = self.live_time or now
        self.reconnect_deadline = None
        return True

    def host_dropped(self, now: datetime, reconnect_timeout: timedelta) -> bool:
        """The host left LiveKit: wait for them to come back until the deadline."""
        if self.status != RoomStatus.LIVE:
            return False
        self._move(RoomStatus.WAITING_RECONNECT)
        self.reconnect_deadline = now + reconnect_timeout
        return True

    def end(self, reason: EndReason, now: datetime) -> None:
        """Ended is final; ending twice is refused with ROOM_ENDED."""
        self._move(RoomStatus.ENDED)
        self.end_time = self.end_time or now
        self.end_reason = reason
        self.reconnect_deadline = None

    def record(self, now: datetime) -> bool:
        """A recording is ready. Only an ended room becomes recorded; a recording that arrives
        earlier is kept and the room becomes recorded when it ends."""
        if self.status == RoomStatus.RECORDED:
            return False
        if self.status != RoomStatus.ENDED:
            return False
        self._move(RoomStatus.RECORDED)
        self.recorded_time = self.recorded_time or now
        return True


def check_room_id(v: Violations, room_id: str, field: str = "room_id") -> None:
    if not ROOM_ID.fullmatch(room_id):  # match() would let a trailing newline through
        v.add(field, "must match ^[a-z0-9][a-z0-9_-]{0,47}$")


def check_title(v: Violations, title: str, field: str = "title") -> str:
    return v.text(field, title, min_len=1, max_len=MAX_TITLE, trim=True)


def check_description(v: Violations, description: str, field: str = "description") -> str:
    return v.text(field, description, max_len=MAX_DESCRIPTION)


def check_co_hosts(
    v: Violations, co_host_user_ids: list[str], host_user_id: str, max_co_hosts: int
) -> list[str]:
    """Initial co-hosts: unique, not the host, no more than the seats."""
    if len(set(co_host_user_ids)) != len(co_host_user_ids):
        v.add("co_host_user_ids", "must not repeat a user")
    if host_user_id in co_host_user_ids:
        v.add("co_host_user_ids", "must not contain the host")
    if len(set(co_host_user_ids)) > max_co_hosts:
        v.add("co_host_user_ids", f"at most {max_co_hosts} co-hosts for this seat template")
    for i, user_id in enumerate(co_host_user_ids):
        v.identifier(f"co_host_user_ids[{i}]", user_id)
    return co_host_user_ids


def ban_expiry(now: datetime, duration: timedelta | None) -> datetime | None:
    """When a ban lapses; None for a ban until unbanned."""
    return now + duration if duration else None

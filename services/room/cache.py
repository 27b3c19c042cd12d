"""Rooms as readers see them, kept in memory per replica, so a read of a hot room costs no
query. Every change evicts the room: at commit on the replica that made it (a client reads its
own writes at once) and on every replica when the change's NOTIFY arrives (milliseconds
later); a replica that lost its LISTEN connection forgets everything. A read that raced a
change is not kept. Bans are kept the same way, per room, for the access checks."""

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from services.room.domain import RoomView

ROOMS = 10_000
# A room with more active bans than this is asked about one user at a time.
BANS_PER_ROOM = 1_000


class RoomCache:
    def __init__(self, size: int = ROOMS) -> None:
        self._size = size
        self._views: OrderedDict[str, RoomView] = OrderedDict()
        # Per room: banned user → when the ban lapses (None: until unbanned).
        self._bans: OrderedDict[str, dict[str, datetime | None]] = OrderedDict()
        # A logical clock: a read keeps what it read only if its room was not evicted since.
        self._clock = 0
        self._evicted_at: dict[str, int] = {}
        self._floor = 0

    def now(self) -> int:
        """Take before reading from the database; give to keep()."""
        return self._clock

    def view(self, room_id: str) -> RoomView | None:
        view = self._views.get(room_id)
        if view is not None:
            self._views.move_to_end(room_id)
        return view

    def keep_view(self, view: RoomView, read_at: int) -> None:
        if self._fresh(view.room_id, read_at):
            _put(self._views, view.room_id, view, self._size)

    def bans(self, room_id: str) -> dict[str, datetime | None] | None:
        bans = self._bans.get(room_id)
        if bans is not None:
            self._bans.move_to_end(room_id)
        return bans

    def keep_bans(self, room_id: str, bans: dict[str, datetime | None], read_at: int) -> None:
        if len(bans) <= BANS_PER_ROOM and self._fresh(room_id, read_at):
            _put(self._bans, room_id, bans, self._size)

    def evict(self, room_ids: Iterable[str]) -> None:
        self._clock += 1
        for room_id in room_ids:
            self._views.pop(room_id, None)
            self._bans.pop(room_id, None)
            self._evicted_at[room_id] = self._clock
        if len(self._evicted_at) > 4 * self._size:
            self.clear()

    def clear(self) -> None:
        """Forget everything (the replica may have missed changes)."""
        self._clock += 1
        self._views.clear()
        self._bans.clear()
        self._evicted_at.clear()
        self._floor = self._clock

    def _fresh(self, room_id: str, read_at: int) -> bool:
        return read_at >= self._floor and self._evicted_at.get(room_id, -1) <= read_at


def _put(entries: OrderedDict, key: str, value: object, size: int) -> None:
    entries[key] = value
    entries.move_to_end(key)
    if len(entries) > size:
        entries.popitem(last=False)

"""The per-replica room cache: what it keeps, what a change evicts, and the read that raced a
change never being kept."""

from dataclasses import replace
from datetime import UTC, datetime

from services.room.cache import BANS_PER_ROOM, RoomCache
from services.room.domain import RoomStatus, RoomType, RoomView, SeatTemplate

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def view(room_id: str = "r1", title: str = "t") -> RoomView:
    return RoomView(
        room_id=room_id, type=RoomType.CO_HOSTS, status=RoomStatus.IDLE, title=title,
        description="", thumbnail_file_id="", metadata={}, live_chat_enabled=False,
        parent_room_id="", seat_template=SeatTemplate.VIDEO_DYNAMIC_GRID_9, max_co_hosts=8,
        host_user_id="h", end_reason=None, participants=(), viewer_count=0, publisher_count=0,
        stored_peak_viewer_count=0, recordings=(), create_time=NOW, update_time=NOW,
        live_time=None, end_time=None, recorded_time=None, deleted=False, delete_time=None,
    )  # fmt: skip


def test_a_read_is_kept_until_its_room_changes():
    cache = RoomCache()
    cache.keep_view(view(), cache.now())
    assert cache.view("r1") == view()
    cache.evict(["r1"])
    assert cache.view("r1") is None


def test_a_read_that_raced_a_change_is_not_kept():
    cache = RoomCache()
    read_at = cache.now()
    cache.evict(["r1"])  # committed while the read was on its way
    cache.keep_view(view(), read_at)
    assert cache.view("r1") is None
    cache.keep_view(view(title="new"), cache.now())
    assert cache.view("r1").title == "new"


def test_a_change_to_one_room_keeps_the_others():
    cache = RoomCache()
    read_at = cache.now()
    cache.evict(["r2"])
    cache.keep_view(view("r1"), read_at)
    assert cache.view("r1") is not None


def test_clearing_forgets_everything_and_refuses_reads_from_before():
    cache = RoomCache()
    before = cache.now()
    cache.keep_view(view("r1"), before)
    cache.keep_bans("r1", {"u": None}, before)
    cache.clear()
    assert cache.view("r1") is None and cache.bans("r1") is None
    cache.keep_view(view("r2"), before)
    assert cache.view("r2") is None


def test_the_least_recently_read_room_goes_first_when_full():
    cache = RoomCache(size=2)
    for room_id in ("r1", "r2"):
        cache.keep_view(view(room_id), cache.now())
    assert cache.view("r1") is not None  # read: now the most recent
    cache.keep_view(view("r3"), cache.now())
    assert [cache.view(r) is not None for r in ("r1", "r2", "r3")] == [True, False, True]


def test_bans_are_kept_per_room_up_to_a_bound():
    cache = RoomCache()
    cache.keep_bans("r1", {"u": None}, cache.now())
    assert cache.bans("r1") == {"u": None}
    many = {f"u{i}": None for i in range(BANS_PER_ROOM + 1)}
    cache.keep_bans("r2", many, cache.now())
    assert cache.bans("r2") is None
    cache.keep_bans("r3", dict(list(many.items())[:BANS_PER_ROOM]), cache.now())
    assert len(cache.bans("r3")) == BANS_PER_ROOM


def test_a_change_evicts_the_rooms_bans_too():
    cache = RoomCache()
    cache.keep_bans("r1", {"u": None}, cache.now())
    cache.evict(["r1"])
    assert cache.bans("r1") is None


def test_a_kept_view_is_the_one_read():
    cache = RoomCache()
    kept = replace(view(), viewer_count=3)
    cache.keep_view(kept, cache.now())
    assert cache.view("r1").viewer_count == 3

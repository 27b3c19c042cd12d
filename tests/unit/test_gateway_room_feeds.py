"""The gateway's room feeds against a fake room service (no I/O): which copy is served after
stream messages and writes, eviction, bounds, idle and silent feeds, broken streams, and
watchers sharing one stream."""

import asyncio

import grpc
import pytest
from costream.room.v1 import room_pb2, room_service_pb2
from google.protobuf import timestamp_pb2

from services.gateway.room_feeds import RoomFeed, RoomFeeds

SNAPSHOT = room_pb2.ROOM_EVENT_KIND_SNAPSHOT
UPDATED = room_pb2.ROOM_EVENT_KIND_UPDATED
KEEPALIVE = room_pb2.ROOM_EVENT_KIND_KEEPALIVE
_END = object()


def room(version: int, room_id: str = "r", title: str = "") -> room_pb2.Room:
    return room_pb2.Room(
        room_id=room_id,
        title=title or f"v{version}",
        update_time=timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=version * 1000),
    )


class FakeStream:
    """A WatchRoom call: what the test puts in comes out, in order."""

    def __init__(self) -> None:
        self.items: asyncio.Queue[object] = asyncio.Queue()
        self.cancelled = False

    def send(self, item: object) -> None:
        self.items.put_nowait(item)

    def __aiter__(self) -> "FakeStream":
        return self

    async def __anext__(self) -> room_pb2.RoomEvent:
        item = await self.items.get()
        if item is _END:
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[return-value]

    def cancel(self) -> None:
        self.cancelled = True


class FakeRooms:
    def __init__(self) -> None:
        self.streams: dict[str, list[FakeStream]] = {}

    def WatchRoom(self, request: room_service_pb2.WatchRoomRequest, timeout: float) -> FakeStream:
        stream = FakeStream()
        self.streams.setdefault(request.room_id, []).append(stream)
        return stream

    def stream(self, room_id: str = "r") -> FakeStream:
        return self.streams[room_id][-1]

    def opened(self, room_id: str = "r") -> int:
        return len(self.streams.get(room_id, []))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def event(r: room_pb2.Room, kind: int = UPDATED) -> room_pb2.RoomEvent:
    return room_pb2.RoomEvent(room=r, kind=kind)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rooms() -> FakeRooms:
    return FakeRooms()


@pytest.fixture
async def feeds(rooms: FakeRooms, clock: Clock):
    feeds = RoomFeeds(rooms, size=3, idle_seconds=30.0, keepalive_seconds=15.0, clock=clock)
    yield feeds
    await feeds.close_all()


async def hot(feeds: RoomFeeds, rooms: FakeRooms, r: room_pb2.Room) -> None:
    """The room read once from the backend, and its feed's snapshot delivered."""
    feeds.read(r.room_id)
    await settle()
    rooms.stream(r.room_id).send(event(r, SNAPSHOT))
    await settle()


# --- which copy is served -----------------------------------------------------------------------


async def test_a_room_read_from_the_backend_gets_a_feed_whose_snapshot_answers_the_next_reads(
    feeds, rooms
):
    assert feeds.room("r") is None  # nothing held: ask the backend
    assert rooms.opened() == 0
    feeds.read("r")
    await settle()
    assert rooms.opened() == 1
    assert feeds.room("r") is None  # until the snapshot arrives
    rooms.stream().send(event(room(1), SNAPSHOT))
    await settle()
    assert feeds.room("r") == room(1)
    feeds.read("r")
    await settle()
    assert rooms.opened() == 1  # one stream per room


async def test_each_change_the_stream_delivers_becomes_the_copy(feeds, rooms):
    await hot(feeds, rooms, room(1))
    rooms.stream().send(event(room(2)))
    await settle()
    assert feeds.room("r").title == "v2"
    # A change that does not move update_time (live counts) is taken in stream order.
    rooms.stream().send(event(room(2, title="v2 with counts")))
    await settle()
    assert feeds.room("r").title == "v2 with counts"


async def test_an_older_message_never_overwrites_a_newer_copy(feeds, rooms):
    await hot(feeds, rooms, room(5))
    rooms.stream().send(event(room(4)))
    await settle()
    assert feeds.room("r") == room(5)


async def test_a_write_drops_the_copy_until_the_stream_delivers_that_version(feeds, rooms):
    await hot(feeds, rooms, room(1))
    feeds.wrote(room(3, title="written"))
    assert feeds.room("r") is None  # the writer reads the backend
    rooms.stream().send(event(room(2)))  # in flight from before the write
    await settle()
    assert feeds.room("r") is None
    rooms.stream().send(event(room(3, title="written")))
    await settle()
    assert feeds.room("r").title == "written"


async def test_a_write_the_stream_already_delivered_keeps_the_copy(feeds, rooms):
    await hot(feeds, rooms, room(1))
    rooms.stream().send(event(room(2)))
    await settle()
    feeds.wrote(room(2))
    feeds.wrote(room(1))  # a write that did not move the room (an unban)
    assert feeds.room("r") == room(2)


async def test_a_write_of_another_room_changes_nothing(feeds, rooms):
    await hot(feeds, rooms, room(1))
    feeds.wrote(room(9, room_id="other"))
    assert feeds.room("r") == room(1)
    assert not feeds.holds("other")


async def test_a_write_that_may_have_happened_drops_the_copy_until_a_newer_version(feeds, rooms):
    await hot(feeds, rooms, room(1))
    feeds.unsure("r")
    rooms.stream().send(event(room(1, title="v1 again")))
    await settle()
    assert feeds.room("r") is None
    rooms.stream().send(event(room(2)))
    await settle()
    assert feeds.room("r") == room(2)


def test_the_feed_rules_alone():
    feed = RoomFeed("r", now=0.0)
    assert feed.room is None and not feed.ready.is_set()
    feed.delivered(room(2), now=1.0)
    assert feed.room == room(2) and feed.ready.is_set() and feed.heard_at == 1.0
    feed.delivered(room(1), now=2.0)
    assert feed.room == room(2) and feed.latest == room(1)
    feed.wrote(room(3))
    assert feed.room is None
    feed.delivered(room(3), now=3.0)
    assert feed.room == room(3)
    assert feed.idle(now=100.0, idle_seconds=30.0)  # never read
    feed.read_at = 90.0
    assert not feed.idle(now=100.0, idle_seconds=30.0)
    assert feed.idle(now=120.0, idle_seconds=30.0)


# --- bounds and lifetime ------------------------------------------------------------------------


async def test_at_most_size_feeds_the_least_recently_read_goes_first(feeds, rooms):
    for room_id in ("a", "b", "c"):
        await hot(feeds, rooms, room(1, room_id=room_id))
    feeds.room("a")  # read again: now "b" is the least recently read
    await hot(feeds, rooms, room(1, room_id="d"))
    assert len(feeds) == 3
    assert not feeds.holds("b") and rooms.stream("b").cancelled
    assert all(feeds.holds(room_id) for room_id in ("a", "c", "d"))
    assert feeds.room("b") is None


async def test_no_feeds_when_size_is_zero(rooms, clock):
    feeds = RoomFeeds(rooms, size=0, idle_seconds=30.0, keepalive_seconds=15.0, clock=clock)
    feeds.read("r")
    await settle()
    assert rooms.opened() == 0 and feeds.room("r") is None
    assert feeds.watch("r", subscribed=settle) is None


async def test_a_feed_nobody_read_for_idle_seconds_is_closed(feeds, rooms, clock):
    await hot(feeds, rooms, room(1))
    clock.now += 20
    assert feeds.room("r") == room(1)  # a read keeps it
    clock.now += 29
    rooms.stream().send(event(room(1), KEEPALIVE))
    await settle()
    feeds.sweep_once()
    assert feeds.holds("r")
    clock.now += 1
    feeds.sweep_once()
    await settle()
    assert not feeds.holds("r") and rooms.stream().cancelled
    assert feeds.room("r") is None
    feeds.read("r")
    await settle()
    assert rooms.opened() == 2  # the next read opens it again


async def test_a_silent_stream_is_dropped(feeds, rooms, clock):
    await hot(feeds, rooms, room(1))
    clock.now += 44
    feeds.room("r")
    feeds.sweep_once()
    assert feeds.holds("r")
    clock.now += 2  # three keepalives (45 s) without a word
    feeds.room("r")
    feeds.sweep_once()
    await settle()
    assert not feeds.holds("r") and rooms.stream().cancelled


@pytest.mark.parametrize("end", ["error", "end"])
async def test_a_broken_stream_drops_the_copy_and_the_next_read_opens_the_feed_again(
    feeds, rooms, end
):
    await hot(feeds, rooms, room(1))
    gone = grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "restarting"
    )
    rooms.stream().send(gone if end == "error" else _END)
    await settle()
    assert not feeds.holds("r")
    assert feeds.room("r") is None
    feeds.read("r")
    await settle()
    assert rooms.opened() == 2
    assert feeds.room("r") is None  # the new stream has delivered nothing yet


# --- watchers -----------------------------------------------------------------------------------


async def _next(events) -> room_pb2.RoomEvent:
    return await asyncio.wait_for(anext(events), 2)


async def test_watchers_share_one_stream_snapshot_first_then_each_change(feeds, rooms):
    subscribed: list[str] = []

    async def mark() -> None:
        subscribed.append("yes")

    first = feeds.watch("r", subscribed=mark)
    second = feeds.watch("r", subscribed=mark)
    reading = asyncio.ensure_future(_next(first))
    await settle()
    assert rooms.opened() == 1 and not subscribed  # not before the feed has the room
    rooms.stream().send(event(room(1), SNAPSHOT))
    snapshot = await reading
    assert (snapshot.kind, snapshot.room) == (SNAPSHOT, room(1))
    assert (await _next(second)).kind == SNAPSHOT
    assert subscribed == ["yes", "yes"]
    rooms.stream().send(event(room(1), KEEPALIVE))  # the backend's keepalives stay there
    rooms.stream().send(event(room(2)))
    for events in (first, second):
        change = await _next(events)
        assert (change.kind, change.room) == (UPDATED, room(2))
    assert rooms.opened() == 1
    await first.aclose()
    assert feeds.holds("r")
    await second.aclose()
    await settle()
    # The last watcher of a feed nobody reads takes its stream with it.
    assert not feeds.holds("r") and rooms.stream().cancelled


async def test_a_watched_feed_that_is_read_stays_after_its_watchers_leave(feeds, rooms):
    await hot(feeds, rooms, room(1))
    events = feeds.watch("r", subscribed=settle)
    assert (await _next(events)).room == room(1)
    await events.aclose()
    await settle()
    assert feeds.holds("r") and not rooms.stream().cancelled


async def test_watched_feeds_are_never_evicted(rooms, clock):
    feeds = RoomFeeds(rooms, size=1, idle_seconds=30.0, keepalive_seconds=15.0, clock=clock)
    events = feeds.watch("a", subscribed=settle)
    reading = asyncio.ensure_future(_next(events))
    await settle()
    rooms.stream("a").send(event(room(1, room_id="a"), SNAPSHOT))
    await reading
    feeds.read("b")
    assert feeds.holds("a") and not feeds.holds("b")
    assert feeds.watch("b", subscribed=settle) is None  # b's watcher streams on its own
    clock.now += 40  # past idle, not yet silent
    feeds.sweep_once()
    assert feeds.holds("a")  # watched: never idle
    await events.aclose()
    await feeds.close_all()


async def test_watchers_end_with_the_streams_error(feeds, rooms):
    events = feeds.watch("r", subscribed=settle)
    reading = asyncio.ensure_future(_next(events))
    await settle()
    rooms.stream().send(event(room(1), SNAPSHOT))
    await reading
    missing = grpc.aio.AioRpcError(
        grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(), "purged"
    )
    rooms.stream().send(missing)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _next(events)
    assert raised.value is missing
    assert not feeds.holds("r")


async def test_a_watcher_of_a_room_whose_stream_fails_at_once_gets_the_error(feeds, rooms):
    events = feeds.watch("r", subscribed=settle)
    reading = asyncio.ensure_future(_next(events))
    await settle()
    missing = grpc.aio.AioRpcError(
        grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(), "no such room"
    )
    rooms.stream().send(missing)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await reading
    assert raised.value is missing

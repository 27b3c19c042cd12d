"""MuteParticipant's rules on the Room aggregate (who may mute whom, the unmute refusal) and who
may list a room's viewers, with the list_viewers handler against a fake unit of work. No I/O."""

from datetime import UTC, datetime

import pytest

from services.common.auth import Caller
from services.common.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.common.pagination import PageRequest
from services.room import handlers
from services.room.domain import MuteRequested, Room, RoomStatus, TrackSource, Viewer

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BOTH = (TrackSource.CAMERA, TrackSource.MICROPHONE)


def room(status: RoomStatus = RoomStatus.LIVE, **kwargs) -> Room:
    values = {"co_host_ids": ["cole"], "moderator_ids": ["mona"], **kwargs}
    return Room(room_id="r1", host_user_id="host", status=status, max_co_hosts=8, **values)


def reason(error: Exception) -> str:
    return error.reason  # type: ignore[attr-defined]


@pytest.mark.parametrize("by", ["host", "mona"])
def test_the_host_or_a_moderator_mutes_a_co_host(by):
    r = room()
    r.mute(by, "cole", BOTH, True, remote_unmute=False)
    assert r.events == [MuteRequested("r1", "cole", BOTH, True)]


def test_a_moderator_mutes_the_host_with_every_source():
    r = room()
    r.mute("mona", "host", (), True, remote_unmute=False)
    assert r.events == [MuteRequested("r1", "host", (), True)]


def test_the_host_does_not_mute_themselves_remotely():
    r = room()
    with pytest.raises(InvalidArgument):
        r.mute("host", "host", (), True, remote_unmute=False)
    assert r.events == []


@pytest.mark.parametrize("by", ["cole", "vic"])
def test_a_co_host_or_a_viewer_may_not_mute(by):
    r = room()
    with pytest.raises(PermissionDenied) as e:
        r.mute(by, "cole", (), True, remote_unmute=False)
    assert reason(e.value) == "NOT_ROOM_MODERATOR"
    assert r.events == []


def test_a_banned_moderator_is_no_moderator_and_may_not_mute():
    r = room()
    r.ban("mona", NOW)
    r.events.clear()
    with pytest.raises(PermissionDenied) as e:
        r.mute("mona", "cole", (), True, remote_unmute=False)
    assert reason(e.value) == "NOT_ROOM_MODERATOR"


def test_someone_not_on_stage_is_not_on_stage():
    r = room()
    with pytest.raises(FailedPrecondition) as e:
        r.mute("host", "vic", (), True, remote_unmute=False)
    assert reason(e.value) == "NOT_ON_STAGE"
    assert r.events == []


@pytest.mark.parametrize("status", [RoomStatus.ENDED, RoomStatus.RECORDED])
def test_an_ended_room_mutes_nobody(status):
    r = room(status)
    with pytest.raises(FailedPrecondition) as e:
        r.mute("host", "cole", (), True, remote_unmute=False)
    assert reason(e.value) == "ROOM_ENDED"


def test_a_remote_unmute_is_refused_unless_livekit_allows_it():
    r = room()
    with pytest.raises(FailedPrecondition) as e:
        r.mute("host", "cole", BOTH, False, remote_unmute=False)
    assert reason(e.value) == "REMOTE_UNMUTE_DISABLED"
    assert r.events == []
    r.mute("host", "cole", BOTH, False, remote_unmute=True)
    assert r.events == [MuteRequested("r1", "cole", BOTH, False)]


def test_the_permission_is_checked_before_the_unmute_setting():
    with pytest.raises(PermissionDenied):
        room().mute("vic", "cole", (), False, remote_unmute=False)


def test_the_sources_are_named_as_livekit_tokens_name_them():
    assert [s.value for s in TrackSource] == [
        "camera",
        "microphone",
        "screen_share",
        "screen_share_audio",
    ]


def test_viewers_page_by_join_time_then_user_id():
    assert Viewer("vic", NOW).page_key == (NOW, "vic")


class FakeRooms:
    def __init__(self, found: Room | None, viewers: list[Viewer]) -> None:
        self.found = found
        self.viewers = viewers
        self.asked: list[tuple] = []

    async def get(self, room_id: str, *, for_update: bool = False) -> Room | None:
        return self.found

    async def list_viewers(self, room_id, after, limit) -> list[Viewer]:
        self.asked.append((room_id, after, limit))
        return self.viewers[:limit]


class FakeUnitOfWork:
    def __init__(self, rooms: FakeRooms) -> None:
        self.rooms = rooms

    def read(self) -> "FakeUnitOfWork":
        return self

    async def __aenter__(self) -> "FakeUnitOfWork":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


VIEWERS = [Viewer(f"v{i}", NOW) for i in range(3)]


@pytest.mark.parametrize(
    "caller",
    [Caller(user_id="host"), Caller(user_id="mona"), Caller(user_id="ada", roles={"admin"})],
    ids=["host", "moderator", "admin"],
)
async def test_the_host_a_moderator_or_an_admin_lists_viewers(caller):
    rooms = FakeRooms(room(), VIEWERS)
    page = await handlers.list_viewers("r1", PageRequest(size=2), caller, FakeUnitOfWork(rooms))
    assert page.items == VIEWERS[:2] and page.more
    assert rooms.asked == [("r1", None, 3)]


@pytest.mark.parametrize("user", ["cole", "vic"])
async def test_a_co_host_or_a_viewer_may_not_list_viewers(user):
    rooms = FakeRooms(room(), VIEWERS)
    with pytest.raises(PermissionDenied) as e:
        await handlers.list_viewers(
            "r1", PageRequest(size=2), Caller(user_id=user), FakeUnitOfWork(rooms)
        )
    assert reason(e.value) == "NOT_ROOM_MODERATOR"
    assert rooms.asked == []


async def test_viewers_of_a_room_that_is_not_there_are_room_not_found():
    with pytest.raises(Exception) as e:
        await handlers.list_viewers(
            "r1", PageRequest(size=2), Caller(user_id="host"), FakeUnitOfWork(FakeRooms(None, []))
        )
    assert reason(e.value) == "ROOM_NOT_FOUND"

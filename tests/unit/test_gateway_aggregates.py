"""The gateway's aggregates against fake backends (no I/O): what they ask, in what order, and
what is left when a half fails."""

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from costream.broadcast.v1 import broadcast_pb2
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_pb2
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.invitation.v1 import invitation_pb2
from costream.post.v1 import post_pb2, post_service_pb2
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2, room_service_pb2
from costream.room.v1 import room_service_pb2 as rs

from services.common.auth import Caller
from services.common.errors import InvalidArgument, NotFound, ServiceError, to_status
from services.common.server import REPLAYED_HEADER, status_details
from services.gateway import handlers
from services.gateway.handlers import Backends
from services.gateway.room_feeds import RoomFeeds
from services.room.errors import user_banned
from tests.support import reason_of

ALICE = Caller(user_id="alice", token="t")
# No room feeds: every room is asked of the room service.
NO_FEEDS = RoomFeeds(None, size=0, idle_seconds=30.0, keepalive_seconds=15.0)


def rpc_error(code: grpc.StatusCode, error: ServiceError | None = None) -> grpc.aio.AioRpcError:
    trailing = grpc.aio.Metadata(*to_status(error).trailing_metadata) if error else None
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailing or grpc.aio.Metadata(), "x")


class Replayed:
    """A Create answered from an earlier call with the same request_id."""

    def __init__(self, message: Any) -> None:
        self.message = message


class FakeCall:
    """What a grpc.aio stub returns: awaitable, with trailing metadata."""

    def __init__(self, answer: Callable[[], Any]) -> None:
        self._answer = answer
        self._trailing: tuple = ()

    def __await__(self):
        return self._result().__await__()

    async def _result(self) -> Any:
        reply = self._answer()
        if isinstance(reply, Replayed):
            self._trailing = ((REPLAYED_HEADER, "true"),)
            reply = reply.message
        if isinstance(reply, BaseException):
            raise reply
        return reply

    async def trailing_metadata(self) -> tuple:
        return self._trailing


class Fake:
    """A stub whose RPCs answer from `replies`: a message, an exception to raise, a function of
    the request, Replayed(message), or a list of those (one per call). Every call is
    recorded."""

    def __init__(self, calls: list[tuple[str, Any]], **replies: Any) -> None:
        self._calls = calls
        self._replies = replies

    def __getattr__(self, rpc: str) -> Callable[..., Any]:
        def call(request: Any, **_: Any) -> FakeCall:
            def answer() -> Any:
                self._calls.append((rpc, request))
                reply = self._replies[rpc]
                if isinstance(reply, list):
                    reply = reply.pop(0)
                if callable(reply) and not isinstance(reply, type):
                    reply = reply(request)
                return reply

            return FakeCall(answer)

        return call


def backends(calls: list, *, rooms=None, posts=None, invitations=None) -> Backends:
    return Backends(
        rooms=Fake(calls, **(rooms or {})),
        posts=Fake(calls, **(posts or {})),
        invitations=Fake(calls, **(invitations or {})),
        broadcast=Fake(calls),
    )


NEW_ROOM = room_pb2.Room(room_id="r1", host_user_id="alice")


def new_post(request: post_service_pb2.CreateRoomPostRequest) -> post_pb2.Post:
    return post_pb2.Post(post_id="p1", room_id=request.room_id, creator_id="alice")


def request(**room: Any) -> gw.CreateLiveRoomPostRequest:
    return gw.CreateLiveRoomPostRequest(
        room=rs.CreateRoomRequest(title="jam", **room), post=ps.CreateRoomPostRequest(text="hi")
    )


# --- CreateLiveRoomPost ------------------------------------------------------------------------


async def test_create_live_room_post_posts_the_new_room_with_idempotency_keys():
    calls: list = []
    b = backends(calls, rooms={"CreateRoom": NEW_ROOM}, posts={"CreateRoomPost": new_post})
    reply = await handlers.create_live_room_post(request(request_id="k"), ALICE, b)
    assert (reply.room.room_id, reply.post.room_id) == ("r1", "r1")
    (_, room_req), (_, post_req) = calls
    assert room_req.request_id == "k"
    assert (post_req.room_id, post_req.request_id) == ("r1", handlers.post_request_id("r1"))


async def test_create_live_room_post_takes_the_post_request_id_when_only_that_is_set():
    calls: list = []
    b = backends(calls, rooms={"CreateRoom": NEW_ROOM}, posts={"CreateRoomPost": new_post})
    req = request()
    req.post.request_id = "from-post"
    await handlers.create_live_room_post(req, ALICE, b)
    assert calls[0][1].request_id == "from-post"


async def test_when_the_post_fails_the_room_is_purged_and_the_error_names_post_fields():
    calls: list = []
    bad = rpc_error(grpc.StatusCode.INVALID_ARGUMENT, InvalidArgument([("text", "is required")]))
    b = backends(
        calls,
        rooms={"CreateRoom": NEW_ROOM, "PurgeRoom": room_pb2.Room()},
        posts={"CreateRoomPost": bad},
    )
    with pytest.raises(InvalidArgument) as caught:
        await handlers.create_live_room_post(request(), ALICE, b)
    assert caught.value.violations == [("post.text", "is required")]
    assert [rpc for rpc, _ in calls] == ["CreateRoom", "CreateRoomPost", "PurgeRoom"]
    assert calls[-1][1].room_id == "r1"


async def test_a_post_refused_for_another_reason_passes_through_after_the_purge():
    calls: list = []
    denied = rpc_error(grpc.StatusCode.PERMISSION_DENIED)
    b = backends(
        calls,
        rooms={"CreateRoom": NEW_ROOM, "PurgeRoom": room_pb2.Room()},
        posts={"CreateRoomPost": denied},
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await handlers.create_live_room_post(request(), ALICE, b)
    assert caught.value is denied
    assert calls[-1][0] == "PurgeRoom"


async def test_the_purge_is_retried_while_the_room_service_is_unavailable(monkeypatch):
    monkeypatch.setattr(handlers, "PURGE_BACKOFF_SECONDS", 0.0)
    calls: list = []
    down = rpc_error(grpc.StatusCode.UNAVAILABLE)
    b = backends(
        calls,
        rooms={"CreateRoom": NEW_ROOM, "PurgeRoom": [down, down, room_pb2.Room()]},
        posts={"CreateRoomPost": rpc_error(grpc.StatusCode.PERMISSION_DENIED)},
    )
    with pytest.raises(grpc.aio.AioRpcError):
        await handlers.create_live_room_post(request(), ALICE, b)
    assert [rpc for rpc, _ in calls].count("PurgeRoom") == 3


async def test_a_post_written_although_its_call_failed_is_kept_and_returned():
    calls: list = []
    written = post_pb2.Post(post_id="p1", room_id="r1", creator_id="alice")
    b = backends(
        calls,
        rooms={"CreateRoom": NEW_ROOM},
        posts={
            "CreateRoomPost": rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED),
            "ListPostsByRoom": post_service_pb2.ListPostsByRoomResponse(posts=[written]),
        },
    )
    reply = await handlers.create_live_room_post(request(), ALICE, b)
    assert reply.post.post_id == "p1"
    assert "PurgeRoom" not in [rpc for rpc, _ in calls]


@pytest.mark.parametrize(
    "post_error", [grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAVAILABLE]
)
async def test_a_retry_that_gets_an_existing_room_back_never_removes_it(post_error):
    calls: list = []
    b = backends(
        calls,
        rooms={"CreateRoom": Replayed(NEW_ROOM)},
        posts={
            "CreateRoomPost": rpc_error(post_error),
            "ListPostsByRoom": post_service_pb2.ListPostsByRoomResponse(),
        },
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await handlers.create_live_room_post(request(request_id="k"), ALICE, b)
    assert caught.value.code() == post_error
    assert "PurgeRoom" not in [rpc for rpc, _ in calls]


async def test_when_the_room_fails_nothing_else_is_asked_and_the_error_names_room_fields():
    calls: list = []
    bad = rpc_error(grpc.StatusCode.INVALID_ARGUMENT, InvalidArgument([("title", "is required")]))
    b = backends(calls, rooms={"CreateRoom": bad})
    with pytest.raises(InvalidArgument) as caught:
        await handlers.create_live_room_post(request(), ALICE, b)
    assert caught.value.violations == [("room.title", "is required")]
    assert [rpc for rpc, _ in calls] == ["CreateRoom"]


# --- GetRoomView -------------------------------------------------------------------------------

ROOM = room_pb2.Room(
    room_id="r1",
    host_user_id="alice",
    participants=[room_pb2.Participant(user_id="bob", role=room_pb2.PARTICIPANT_ROLE_CO_HOST)],
)
POSTS = post_service_pb2.ListPostsByRoomResponse(
    posts=[post_pb2.Post(post_id="new", room_id="r1"), post_pb2.Post(post_id="old", room_id="r1")]
)
NO_INVITATION = rpc_error(
    grpc.StatusCode.NOT_FOUND, NotFound("INVITATION_NOT_FOUND", "you have no invitation")
)


async def test_get_room_view_asks_the_three_backends_and_a_missing_invitation_is_fine():
    calls: list = []
    b = backends(
        calls,
        rooms={"GetRoom": ROOM},
        posts={"ListPostsByRoom": POSTS},
        invitations={"GetMyRoomInvitation": NO_INVITATION},
    )
    view = await handlers.get_room_view("r1", Caller(user_id="bob"), b, NO_FEEDS)
    assert view.my_role == gateway_pb2.ROOM_ROLE_CO_HOST
    assert view.post.post_id == "new"
    assert not view.HasField("my_invitation")
    assert sorted(rpc for rpc, _ in calls) == ["GetMyRoomInvitation", "GetRoom", "ListPostsByRoom"]


async def test_get_room_view_with_my_invitation():
    invitation = invitation_pb2.Invitation(invitation_id="i1", room_id="r1", user_id="carol")
    b = backends(
        [],
        rooms={"GetRoom": ROOM},
        posts={"ListPostsByRoom": post_service_pb2.ListPostsByRoomResponse()},
        invitations={"GetMyRoomInvitation": invitation},
    )
    view = await handlers.get_room_view("r1", Caller(user_id="carol"), b, NO_FEEDS)
    assert view.my_role == gateway_pb2.ROOM_ROLE_VIEWER
    assert view.my_invitation.invitation_id == "i1"
    assert not view.HasField("post")


async def test_get_room_view_reports_the_rooms_error_first():
    missing = rpc_error(grpc.StatusCode.NOT_FOUND)
    b = backends(
        [],
        rooms={"GetRoom": missing},
        posts={"ListPostsByRoom": rpc_error(grpc.StatusCode.UNAVAILABLE)},
        invitations={"GetMyRoomInvitation": rpc_error(grpc.StatusCode.UNAVAILABLE)},
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await handlers.get_room_view("r1", ALICE, b, NO_FEEDS)
    assert caught.value is missing


async def test_get_room_view_fails_when_the_invitation_service_is_down():
    down = rpc_error(grpc.StatusCode.UNAVAILABLE)
    b = backends(
        [],
        rooms={"GetRoom": ROOM},
        posts={"ListPostsByRoom": POSTS},
        invitations={"GetMyRoomInvitation": down},
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await handlers.get_room_view("r1", ALICE, b, NO_FEEDS)
    assert caught.value is down


# --- ListLiveRoomPosts -------------------------------------------------------------------------


async def test_list_live_room_posts_is_one_room_page_and_one_post_batch():
    calls: list = []
    page = room_service_pb2.ListRoomsResponse(
        rooms=[room_pb2.Room(room_id=f"r{i}") for i in range(100, 0, -1)],
        next_page_token="next",
    )
    posts = post_service_pb2.ListPostsByRoomResponse(
        posts=[post_pb2.Post(post_id=f"p{i}", room_id=f"r{i}") for i in range(100, 0, -1)]
    )
    b = backends(calls, rooms={"ListRooms": page}, posts={"ListPostsByRoom": posts})
    reply = await handlers.list_live_room_posts(
        gw.ListLiveRoomPostsRequest(page_size=100, page_token="tok"), b
    )
    assert [rpc for rpc, _ in calls] == ["ListRooms", "ListPostsByRoom"]
    rooms_request = calls[0][1]
    assert list(rooms_request.statuses) == [room_pb2.ROOM_STATUS_LIVE]
    assert (rooms_request.page_size, rooms_request.page_token) == (100, "tok")
    assert rooms_request.order_by == "last_created"
    assert len(calls[1][1].room_ids) == 100
    assert reply.next_page_token == "next"
    assert [i.post.post_id for i in reply.items][:2] == ["p100", "p99"]


async def test_list_live_room_posts_with_no_live_room_asks_only_the_room_service():
    calls: list = []
    b = backends(calls, rooms={"ListRooms": room_service_pb2.ListRoomsResponse()})
    reply = await handlers.list_live_room_posts(gw.ListLiveRoomPostsRequest(), b)
    assert [rpc for rpc, _ in calls] == ["ListRooms"]
    assert list(reply.items) == [] and reply.next_page_token == ""


class SlowRooms:
    """ListRooms answering, once `release` is set, a page of one live room named after the call
    (r1, r2, ...), or UNAVAILABLE while `down`."""

    def __init__(self) -> None:
        self.pages: list[tuple[str, int]] = []
        self.asked = asyncio.Event()
        self.release = asyncio.Event()
        self.down = False

    async def ListRooms(self, request, **_):
        self.pages.append((request.page_token, request.page_size))
        number = len(self.pages)
        self.asked.set()
        await self.release.wait()
        if self.down:
            raise rpc_error(grpc.StatusCode.UNAVAILABLE)
        return room_service_pb2.ListRoomsResponse(rooms=[room_pb2.Room(room_id=f"r{number}")])


def live_feed(rooms: SlowRooms) -> tuple[handlers.LiveFeed, list]:
    calls: list = []
    posts = Fake(
        calls,
        ListPostsByRoom=lambda request: post_service_pb2.ListPostsByRoomResponse(
            posts=[post_pb2.Post(post_id=f"p-{r}", room_id=r) for r in request.room_ids]
        ),
    )
    b = Backends(rooms=rooms, posts=posts, invitations=Fake(calls), broadcast=Fake(calls))
    return handlers.LiveFeed(b), calls


async def test_callers_of_the_same_moment_asking_for_the_same_page_share_one_read():
    rooms = SlowRooms()
    feed, calls = live_feed(rooms)
    first = gw.ListLiveRoomPostsRequest(page_size=20)
    other = gw.ListLiveRoomPostsRequest(page_size=20, page_token="tok")
    waiting = [asyncio.create_task(feed.get(r)) for r in (first, first, other, first)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    rooms.release.set()
    got = await asyncio.gather(*waiting)
    assert sorted(rooms.pages) == [("", 20), ("tok", 20)]  # one read per page
    assert [rpc for rpc, _ in calls] == ["ListPostsByRoom", "ListPostsByRoom"]
    assert got[0] == got[1] == got[3] and got[0].items[0].room.room_id in ("r1", "r2")
    assert got[2].items[0].room.room_id != got[0].items[0].room.room_id


async def test_a_caller_arriving_while_a_read_is_on_its_way_gets_a_read_begun_after_it():
    rooms = SlowRooms()
    feed, _ = live_feed(rooms)
    request = gw.ListLiveRoomPostsRequest(page_size=5)
    early = asyncio.create_task(feed.get(request))
    await rooms.asked.wait()
    late = [asyncio.create_task(feed.get(request)) for _ in range(3)]
    await asyncio.sleep(0)
    rooms.release.set()
    got = await asyncio.gather(early, *late)
    assert rooms.pages == [("", 5), ("", 5)]
    assert got[0].items[0].room.room_id == "r1"
    assert {g.items[0].room.room_id for g in got[1:]} == {"r2"}


async def test_a_failed_read_fails_each_of_its_callers_and_the_next_read_is_new():
    rooms = SlowRooms()
    feed, _ = live_feed(rooms)
    rooms.release.set()
    rooms.down = True
    request = gw.ListLiveRoomPostsRequest(page_size=5)
    got = await asyncio.gather(*(feed.get(request) for _ in range(3)), return_exceptions=True)
    assert len(rooms.pages) == 1
    assert all(isinstance(g, grpc.aio.AioRpcError) for g in got)
    assert {g.code() for g in got} == {grpc.StatusCode.UNAVAILABLE}
    assert len({id(g) for g in got}) == 3  # each caller raises its own error
    rooms.down = False
    assert (await feed.get(request)).items[0].room.room_id == "r2"


class FakeBroadcast:
    """BatchGetViewerData: a token for each viewer named, USER_BANNED for the user "banned",
    and the whole call failing while `down`."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[str, str]]] = []
        self.down = False

    async def BatchGetViewerData(self, request):
        self.batches.append([(r.room_id, r.user_id) for r in request.requests])
        assert not any(r.user_token for r in request.requests)  # no client token travels
        if self.down:
            raise rpc_error(grpc.StatusCode.UNAVAILABLE)
        results = []
        for r in request.requests:
            if r.user_id == "banned":
                results.append(bs.ViewerDataResult(error=status_details(user_banned("b"))))
            else:
                data = broadcast_pb2.ViewerData(viewer_token=f"{r.room_id}/{r.user_id}")
                results.append(bs.ViewerDataResult(viewer_data=data))
        return bs.BatchGetViewerDataResponse(results=results)


async def test_viewer_credentials_of_the_same_moment_go_together_each_named_as_verified():
    broadcast = FakeBroadcast()
    viewers = handlers.ViewerCredentials(broadcast)
    callers = [Caller(user_id=u, token=f"token-of-{u}") for u in ("ann", "banned", "bob")]
    got = await asyncio.gather(
        *(viewers.get(f"room-{c.user_id}", c) for c in callers), return_exceptions=True
    )
    assert broadcast.batches == [
        [("room-ann", "ann"), ("room-banned", "banned"), ("room-bob", "bob")]
    ]
    assert got[0].viewer_token == "room-ann/ann" and got[2].viewer_token == "room-bob/bob"
    assert isinstance(got[1], grpc.aio.AioRpcError)
    assert (got[1].code(), reason_of(got[1])) == (grpc.StatusCode.PERMISSION_DENIED, "USER_BANNED")
    broadcast.down = True
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await viewers.get("room-ann", callers[0])
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE

"""The gateway's aggregates: several backend calls behind one client RPC. Backend errors reach
the client unchanged through the server interceptor (UNAVAILABLE/DEADLINE_EXCEEDED of a peer
become UNAVAILABLE DEPENDENCY_UNAVAILABLE)."""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from costream.broadcast.v1 import broadcast_pb2, broadcast_service_pb2
from costream.gateway.v1 import gateway_pb2, gateway_service_pb2
from costream.invitation.v1 import invitation_service_pb2
from costream.post.v1 import post_service_pb2
from costream.room.v1 import room_pb2, room_service_pb2
from google.rpc import error_details_pb2, status_pb2

from services.common.auth import Caller
from services.common.batching import Coalescer
from services.common.errors import InvalidArgument, peer_detail, rpc_error_from_status
from services.common.pagination import within_bytes
from services.common.server import REPLAYED_HEADER, request_deadline
from services.gateway import domain
from services.gateway.room_feeds import RoomFeeds

log = structlog.get_logger()

# Codes after which a post may have been written although the call failed.
MAYBE_DONE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
    }
)
_RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
PURGE_ATTEMPTS = 5
PURGE_BACKOFF_SECONDS = 0.5
# Undo tasks still running after their call answered; kept so they are not garbage collected.
_undoing: set[asyncio.Task[Any]] = set()
# GetViewerData callers asked about in one BatchGetViewerData, at most, and how long they wait
# for the batch on its way before they go anyway. Under a crowd the batch's trip is longer than
# the linger, so the linger sets the batch size: 2 ms gave batches of ~3 viewers and each
# BatchGetViewerData's own cost dominated broadcast (bench/README.md, "Viewer join storm").
MAX_VIEWER_BATCH = 256
VIEWER_LINGER = 0.010
# ListLiveRoomPosts callers asking for the same page at once share one read, at most this many
# (a page is the same for every caller); later ones wait this long for the read on its way.
MAX_FEED_READERS = 1024
FEED_LINGER = 0.010


@dataclass(frozen=True)
class Backends:
    """One stub per backend service, each on its own long-lived channel."""

    rooms: Any  # room_service_pb2_grpc.RoomServiceStub
    posts: Any  # post_service_pb2_grpc.PostServiceStub
    invitations: Any  # invitation_service_pb2_grpc.InvitationServiceStub
    broadcast: Any  # broadcast_service_pb2_grpc.BroadcastServiceStub


async def _known(room: room_pb2.Room) -> room_pb2.Room:
    return room


def post_request_id(room_id: str) -> str:
    """The post half's request_id: one post per room, so a retry that gets the same room back
    gets the same post back, and a retry after an undo (a new room) posts anew."""
    return f"live-room-post:{room_id}"


def _as_part_of(error: grpc.aio.AioRpcError, prefix: str) -> Exception:
    """A half's INVALID_ARGUMENT with its fields named as in the aggregate's request."""
    if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
        return error
    bad = peer_detail(error, error_details_pb2.BadRequest)
    violations = [(v.field, v.description) for v in bad.field_violations] if bad else []
    if not violations:
        return error
    return InvalidArgument([(f"{prefix}.{field}", why) for field, why in violations])


async def create_live_room_post(
    request: gateway_service_pb2.CreateLiveRoomPostRequest, caller: Caller, backends: Backends
) -> gateway_service_pb2.CreateLiveRoomPostResponse:
    """CreateRoom, then CreateRoomPost for the new room. When the post fails, a room this
    call created is removed (PurgeRoom, which keeps a room anything hangs on), so nothing is
    left behind and a retry starts afresh; a room a retry got back is never removed.
    Idempotent with `room.request_id` (or `post.request_id` when only that is set)."""
    room_request = room_service_pb2.CreateRoomRequest()
    room_request.CopyFrom(request.room)
    room_request.request_id = request.room.request_id or request.post.request_id
    call = backends.rooms.CreateRoom(room_request)
    try:
        room = await call
        replayed = (REPLAYED_HEADER, "true") in tuple(await call.trailing_metadata() or ())
    except grpc.aio.AioRpcError as error:
        raise _as_part_of(error, "room") from None

    post_request = post_service_pb2.CreateRoomPostRequest()
    post_request.CopyFrom(request.post)
    post_request.room_id = room.room_id
    post_request.request_id = post_request_id(room.room_id)
    try:
        post = await backends.posts.CreateRoomPost(post_request)
    except grpc.aio.AioRpcError as error:
        if error.code() in MAYBE_DONE:
            post = await _written_post(backends, room.room_id, caller)
            if post is not None:
                return gateway_service_pb2.CreateLiveRoomPostResponse(room=room, post=post)
        if not replayed:
            await _undo_room(backends, room.room_id)
        raise _as_part_of(error, "post") from None
    return gateway_service_pb2.CreateLiveRoomPostResponse(room=room, post=post)


async def _written_post(backends: Backends, room_id: str, caller: Caller) -> Any:
    """The post of this room by the caller, if the failed call wrote it after all."""
    try:
        reply = await backends.posts.ListPostsByRoom(
            post_service_pb2.ListPostsByRoomRequest(room_ids=[room_id], max_posts_per_room=1)
        )
    except grpc.aio.AioRpcError:
        return None
    return next((p for p in reply.posts if p.creator_id == caller.user_id), None)


async def _purge(backends: Backends, room_id: str) -> None:
    # Its own budget: the undo must run even when the caller's deadline is what failed.
    request_deadline.set(None)
    for attempt in range(PURGE_ATTEMPTS):
        try:
            await backends.rooms.PurgeRoom(room_service_pb2.PurgeRoomRequest(room_id=room_id))
            log.info("removed the room of a failed CreateLiveRoomPost", room_id=room_id)
            return
        except grpc.aio.AioRpcError as error:
            if error.code() not in _RETRYABLE or attempt == PURGE_ATTEMPTS - 1:
                log.error(
                    "could not remove the room of a failed CreateLiveRoomPost",
                    room_id=room_id,
                    code=error.code().name,
                    error=error.details(),
                )
                return
            await asyncio.sleep(PURGE_BACKOFF_SECONDS * 2**attempt)


async def _undo_room(backends: Backends, room_id: str) -> None:
    """Remove the room; wait for it as long as the caller waits, and let it finish (with
    retries) even if the caller goes away first."""
    task = asyncio.create_task(_purge(backends, room_id))
    _undoing.add(task)
    task.add_done_callback(_undoing.discard)
    deadline = request_deadline.get()
    timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
    await asyncio.wait({task}, timeout=timeout)


async def get_room_view(
    room_id: str, caller: Caller, backends: Backends, feeds: RoomFeeds
) -> gateway_pb2.RoomView:
    """The room, its newest post, the caller's role and latest invitation: three backends
    asked at once, two when the room's feed has it (the post and the caller's invitation are
    asked every time: posts have no feed, and the invitation is the caller's own)."""
    cached = feeds.room(room_id)
    if cached is None:
        room_call = backends.rooms.GetRoom(room_service_pb2.GetRoomRequest(room_id=room_id))
    else:
        room_call = _known(cached)
    room, posts, invitation = await asyncio.gather(
        room_call,
        backends.posts.ListPostsByRoom(
            post_service_pb2.ListPostsByRoomRequest(room_ids=[room_id], max_posts_per_room=1)
        ),
        backends.invitations.GetMyRoomInvitation(
            invitation_service_pb2.GetMyRoomInvitationRequest(room_id=room_id)
        ),
        return_exceptions=True,
    )
    # The room's error first: ROOM_NOT_FOUND says more than anything the others say.
    for result in (room, posts):
        if isinstance(result, BaseException):
            raise result
    if isinstance(invitation, grpc.aio.AioRpcError):
        if invitation.code() != grpc.StatusCode.NOT_FOUND:
            raise invitation
        invitation = None  # no invitation to this room is not an error
    elif isinstance(invitation, BaseException):
        raise invitation
    if cached is None:
        feeds.read(room_id)
    view = gateway_pb2.RoomView(room=room, my_role=domain.role_in(room, caller.user_id or ""))
    newest = domain.newest_posts(posts.posts).get(room.room_id)
    if newest is not None:
        view.post.CopyFrom(newest)
    if invitation is not None:
        view.my_invitation.CopyFrom(invitation)
    return view


async def list_live_room_posts(
    request: gateway_service_pb2.ListLiveRoomPostsRequest, backends: Backends
) -> gateway_service_pb2.ListLiveRoomPostsResponse:
    """A page of live rooms (newest created first) with their newest posts: two backend calls
    per page. The page token is the room page token, passed through. A page too large for
    one response (1 MiB) is asked again with fewer rooms, so its token follows the last room
    sent."""
    page_size = request.page_size
    while True:
        page = await backends.rooms.ListRooms(
            room_service_pb2.ListRoomsRequest(
                statuses=[room_pb2.ROOM_STATUS_LIVE],
                order_by="last_created",
                page_size=page_size,
                page_token=request.page_token,
            )
        )
        response = gateway_service_pb2.ListLiveRoomPostsResponse(
            next_page_token=page.next_page_token
        )
        if not page.rooms:
            return response
        posts = await backends.posts.ListPostsByRoom(
            post_service_pb2.ListPostsByRoomRequest(
                room_ids=[room.room_id for room in page.rooms], max_posts_per_room=1
            )
        )
        items = domain.live_room_posts(page.rooms, posts.posts)
        fitting = within_bytes(items, lambda item: item)
        if len(page.rooms) == 1 or (len(fitting) == len(items) and not posts.truncated):
            response.items.extend(fitting)
            return response
        page_size = max(1, min(len(page.rooms) // 2, len(fitting)))


class LiveFeed:
    """ListLiveRoomPosts for many callers: the callers of the same moment asking for the same
    page (a crowd opening the app) share one read of it (services.common.batching), read after
    each of their calls began, so none gets a page older than its call."""

    def __init__(
        self, backends: Backends, max_batch: int = MAX_FEED_READERS, linger: float = FEED_LINGER
    ) -> None:
        self._backends = backends
        self._reads: Coalescer[
            tuple[str, int], None, gateway_service_pb2.ListLiveRoomPostsResponse
        ] = Coalescer(self._read, max_batch=max_batch, linger=linger)

    async def get(
        self, request: gateway_service_pb2.ListLiveRoomPostsRequest
    ) -> gateway_service_pb2.ListLiveRoomPostsResponse:
        return await self._reads.call((request.page_token, request.page_size), None)

    async def _read(
        self, page: tuple[str, int], callers: list[None]
    ) -> list[gateway_service_pb2.ListLiveRoomPostsResponse | Exception]:
        page_token, page_size = page
        request = gateway_service_pb2.ListLiveRoomPostsRequest(
            page_token=page_token, page_size=page_size
        )
        response = await list_live_room_posts(request, self._backends)
        return [response] * len(callers)


class ViewerCredentials:
    """GetViewerData for many callers: the calls of the same moment (a crowd joining a room)
    go to the broadcast service as one BatchGetViewerData (services.common.batching), each
    naming the user whose client token this gateway verified (the broadcast service takes the
    name on the gateway's service token); each caller gets what GetViewerData would answer
    it, errors included."""

    def __init__(
        self, broadcast: Any, max_batch: int = MAX_VIEWER_BATCH, linger: float = VIEWER_LINGER
    ) -> None:
        self._broadcast = broadcast  # broadcast_service_pb2_grpc.BroadcastServiceStub
        self._calls: Coalescer[None, tuple[str, str], broadcast_pb2.ViewerData] = Coalescer(
            self._batch, max_batch=max_batch, linger=linger
        )

    async def get(self, room_id: str, caller: Caller) -> broadcast_pb2.ViewerData:
        return await self._calls.call(None, (room_id, caller.require_user()))

    async def _batch(
        self, _: None, requests: list[tuple[str, str]]
    ) -> list[broadcast_pb2.ViewerData | Exception]:
        reply = await self._broadcast.BatchGetViewerData(
            broadcast_service_pb2.BatchGetViewerDataRequest(
                requests=[
                    broadcast_service_pb2.ViewerDataRequest(room_id=room_id, user_id=user_id)
                    for room_id, user_id in requests
                ]
            )
        )
        return [
            rpc_error_from_status(status_pb2.Status.FromString(r.error))
            if r.error
            else r.viewer_data
            for r in reply.results
        ]

"""The gateway in-process in front of the real room, post and invitation services (real
PostgreSQL): errors passing through, the aggregates, admin checks, rate limits, streams, and
a backend that is down. Backend calls are counted with the services' own Prometheus counters,
which in one process are shared (labelled by method)."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import asyncpg
import grpc
import pytest
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_pb2, gateway_service_pb2_grpc
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.invitation.v1 import invitation_pb2
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import field_mask_pb2

from services.common.config import Settings
from services.gateway.app import build
from tests.conftest import RunningService
from tests.support import reason_of, served, unique, user_metadata, violated_fields
from tools.devstack import free_port

ROOM = "/costream.room.v1.RoomService/"
POST = "/costream.post.v1.PostService/"


def as_user(user: str, *roles: str) -> dict:
    return {"metadata": user_metadata(user, *roles), "timeout": 10}


async def rpc_error(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


@pytest.fixture(scope="module")
async def gateway(gateway_service) -> AsyncIterator[gateway_service_pb2_grpc.GatewayServiceStub]:
    async with grpc.aio.insecure_channel(gateway_service.address) as channel:
        yield gateway_service_pb2_grpc.GatewayServiceStub(channel)


async def another_gateway(
    make_settings: Callable[..., Settings], ports: dict[str, int], **overrides: object
) -> RunningService:
    """A second gateway process-in-a-task with other settings, on its own port."""
    settings = make_settings("gateway", grpc_ports={**ports, "gateway": free_port()}, **overrides)
    return await RunningService(build(settings)).start()


# --- forwarding --------------------------------------------------------------------------------


async def test_backend_errors_pass_through_with_code_reason_and_field_violations(gateway):
    error = await rpc_error(gateway.CreateRoom(rs.CreateRoomRequest(title=" "), **as_user("a")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(error) == "INVALID_FIELD"
    assert violated_fields(error) == {"title"}

    error = await rpc_error(gateway.GetRoom(rs.GetRoomRequest(room_id="nope"), **as_user("a")))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(error) == "ROOM_NOT_FOUND"


async def test_the_callers_token_reaches_the_backend(gateway):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="mine"), **as_user(host))
    assert room.host_user_id == host


async def test_dismiss_room_is_refused_at_the_gateway_without_the_admin_role(gateway):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="keep"), **as_user(host))
    backend_calls = served(ROOM + "DismissRoom")
    request = rs.DismissRoomRequest(room_id=room.room_id)
    error = await rpc_error(gateway.DismissRoom(request, **as_user(host)))
    assert (error.code(), reason_of(error)) == (grpc.StatusCode.PERMISSION_DENIED, "ADMIN_ONLY")
    assert served(ROOM + "DismissRoom") == backend_calls
    dismissed = await gateway.DismissRoom(request, **as_user(unique("admin"), "admin"))
    assert dismissed.end_reason == room_pb2.END_REASON_DISMISSED


async def test_list_rooms_with_deleted_ones_is_refused_at_the_gateway_without_the_admin_role(
    gateway,
):
    backend_calls = served(ROOM + "ListRooms")
    request = rs.ListRoomsRequest(include_deleted=True)
    error = await rpc_error(gateway.ListRooms(request, **as_user("someone")))
    assert (error.code(), reason_of(error)) == (grpc.StatusCode.PERMISSION_DENIED, "ADMIN_ONLY")
    assert served(ROOM + "ListRooms") == backend_calls
    await gateway.ListRooms(request, **as_user("root", "admin"))


# --- CreateLiveRoomPost ------------------------------------------------------------------------


def live_room_post(title: str = "jam", text: str = "come", request_id: str = ""):
    return gw.CreateLiveRoomPostRequest(
        room=rs.CreateRoomRequest(title=title, request_id=request_id),
        post=ps.CreateRoomPostRequest(text=text),
    )


async def rooms_of(gateway, host: str) -> list[room_pb2.Room]:
    """Every room of a host, deleted ones included (as an admin sees them)."""
    reply = await gateway.ListRooms(
        rs.ListRoomsRequest(host_user_id=host, include_deleted=True), **as_user("root", "admin")
    )
    return list(reply.rooms)


async def test_create_live_room_post_creates_the_room_and_its_post(gateway):
    host = unique("host")
    reply = await gateway.CreateLiveRoomPost(live_room_post(), **as_user(host))
    assert reply.room.host_user_id == host
    assert (reply.post.room_id, reply.post.creator_id) == (reply.room.room_id, host)


async def test_create_live_room_post_when_the_post_fails_leaves_no_room_behind(gateway):
    host = unique("host")
    error = await rpc_error(gateway.CreateLiveRoomPost(live_room_post(text=""), **as_user(host)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == {"post.text"}
    assert await rooms_of(gateway, host) == []


async def test_create_live_room_post_with_a_bad_room_creates_nothing(gateway):
    host = unique("host")
    error = await rpc_error(gateway.CreateLiveRoomPost(live_room_post(title=""), **as_user(host)))
    assert violated_fields(error) == {"room.title"}
    assert await rooms_of(gateway, host) == []


async def test_create_live_room_post_retried_with_its_request_id_returns_the_same_pair(gateway):
    host = unique("host")
    first = await gateway.CreateLiveRoomPost(live_room_post(request_id="r1"), **as_user(host))
    again = await gateway.CreateLiveRoomPost(live_room_post(request_id="r1"), **as_user(host))
    assert (again.room.room_id, again.post.post_id) == (first.room.room_id, first.post.post_id)
    assert len(await rooms_of(gateway, host)) == 1


async def test_create_live_room_post_retried_after_a_failed_post_creates_one_room(gateway):
    host = unique("host")
    await rpc_error(
        gateway.CreateLiveRoomPost(live_room_post(text="", request_id="r"), **as_user(host))
    )
    reply = await gateway.CreateLiveRoomPost(live_room_post(request_id="r"), **as_user(host))
    assert [r.room_id for r in await rooms_of(gateway, host)] == [reply.room.room_id]
    assert reply.post.room_id == reply.room.room_id


async def test_a_retry_whose_post_fails_never_removes_the_room_it_got_back(gateway):
    host = unique("host")
    first = await gateway.CreateLiveRoomPost(live_room_post(request_id="k"), **as_user(host))
    invitee = unique("guest")
    await gateway.CreateInvitation(
        inv.CreateInvitationRequest(room_id=first.room.room_id, user_id=invitee), **as_user(host)
    )
    error = await rpc_error(
        gateway.CreateLiveRoomPost(live_room_post(text="", request_id="k"), **as_user(host))
    )
    assert violated_fields(error) == {"post.text"}
    view = await gateway.GetRoomView(
        gw.GetRoomViewRequest(room_id=first.room.room_id), **as_user(invitee)
    )
    assert view.room.room_id == first.room.room_id and not view.room.deleted
    assert view.post.post_id == first.post.post_id
    assert view.my_invitation.status == invitation_pb2.INVITATION_STATUS_PENDING
    # Nobody else can take its id either.
    taken = await rpc_error(
        gateway.CreateRoom(
            rs.CreateRoomRequest(room_id=first.room.room_id, title="mine"), **as_user("eve")
        )
    )
    assert (taken.code(), reason_of(taken)) == (grpc.StatusCode.ALREADY_EXISTS, "ROOM_ID_TAKEN")


# --- GetRoomView -------------------------------------------------------------------------------


async def test_get_room_view_without_post_or_invitation_is_not_an_error(gateway):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="bare"), **as_user(host))
    view = await gateway.GetRoomView(gw.GetRoomViewRequest(room_id=room.room_id), **as_user("x"))
    assert view.room.room_id == room.room_id
    assert not view.HasField("post") and not view.HasField("my_invitation")
    assert view.my_role == gateway_pb2.ROOM_ROLE_VIEWER


async def test_get_room_view_shows_the_newest_post_and_my_invitation(gateway):
    host, guest = unique("host"), unique("guest")
    created = await gateway.CreateLiveRoomPost(live_room_post(), **as_user(host))
    room_id = created.room.room_id
    newer = await gateway.CreateRoomPost(
        ps.CreateRoomPostRequest(room_id=room_id, text="newer"), **as_user(host)
    )
    invitation = await gateway.CreateInvitation(
        inv.CreateInvitationRequest(room_id=room_id, user_id=guest), **as_user(host)
    )
    view = await gateway.GetRoomView(gw.GetRoomViewRequest(room_id=room_id), **as_user(guest))
    assert view.post.post_id == newer.post_id
    assert view.my_invitation.invitation_id == invitation.invitation_id
    host_view = await gateway.GetRoomView(gw.GetRoomViewRequest(room_id=room_id), **as_user(host))
    assert host_view.my_role == gateway_pb2.ROOM_ROLE_HOST


async def test_get_room_view_of_a_missing_room_is_room_not_found(gateway):
    error = await rpc_error(
        gateway.GetRoomView(gw.GetRoomViewRequest(room_id="missing"), **as_user("x"))
    )
    assert (error.code(), reason_of(error)) == (grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND")


# --- ListLiveRoomPosts -------------------------------------------------------------------------


async def test_list_live_room_posts_pairs_each_live_room_with_its_post_in_two_calls(
    gateway, database_url
):
    host = unique("host")
    created = [
        await gateway.CreateLiveRoomPost(live_room_post(title=f"r{i}"), **as_user(host))
        for i in range(3)
    ]
    unposted = await gateway.CreateRoom(rs.CreateRoomRequest(title="no post"), **as_user(host))
    # Made live directly: this test is about the gateway, not about LiveKit webhooks.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE room.rooms SET status = 'live', live_time = now() WHERE room_id = ANY($1)",
            [c.room.room_id for c in created] + [unposted.room_id],
        )
    finally:
        await conn.close()
    before = {m: served(m) for m in (ROOM + "ListRooms", POST + "ListPostsByRoom")}
    page = await gateway.ListLiveRoomPosts(
        gw.ListLiveRoomPostsRequest(page_size=4), **as_user("reader")
    )
    assert {m: served(m) - v for m, v in before.items()} == {
        ROOM + "ListRooms": 1,
        POST + "ListPostsByRoom": 1,
    }
    # Newest first; the room nobody posted is left out of the feed.
    assert [(i.room.room_id, i.post.post_id) for i in page.items] == [
        (c.room.room_id, c.post.post_id) for c in reversed(created)
    ]


async def test_list_live_room_posts_rejects_a_bad_page_token(gateway):
    error = await rpc_error(
        gateway.ListLiveRoomPosts(gw.ListLiveRoomPostsRequest(page_token="x"), **as_user("r"))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


# --- streams -----------------------------------------------------------------------------------


async def test_watch_room_through_the_gateway_and_cancel_reaches_the_backend(gateway):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="watched"), **as_user(host))
    cancelled = served(ROOM + "WatchRoom", "CANCELLED")
    call = gateway.WatchRoom(
        rs.WatchRoomRequest(room_id=room.room_id), metadata=user_metadata("viewer")
    )
    snapshot = await call.read()
    assert snapshot.kind == room_pb2.ROOM_EVENT_KIND_SNAPSHOT
    await gateway.UpdateRoom(
        rs.UpdateRoomRequest(
            room=room_pb2.Room(room_id=room.room_id, title="renamed"),
            update_mask=field_mask_pb2.FieldMask(paths=["title"]),
        ),
        **as_user(host),
    )
    event = await asyncio.wait_for(call.read(), 5)
    assert event.room.title == "renamed"

    call.cancel()
    deadline = time.monotonic() + 5
    while served(ROOM + "WatchRoom", "CANCELLED") == cancelled:
        assert time.monotonic() < deadline, "the room service's stream was not cancelled"
        await asyncio.sleep(0.05)


async def test_watch_my_invitations_through_the_gateway(gateway):
    host, guest = unique("host"), unique("guest")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="w"), **as_user(host))
    call = gateway.WatchMyInvitations(
        inv.WatchMyInvitationsRequest(), metadata=user_metadata(guest)
    )
    try:
        await call.initial_metadata()  # subscribed: nothing committed after this is missed
        created = await gateway.CreateInvitation(
            inv.CreateInvitationRequest(room_id=room.room_id, user_id=guest), **as_user(host)
        )
        event = await asyncio.wait_for(call.read(), 5)
        assert event.invitation.invitation_id == created.invitation_id
    finally:
        call.cancel()


# --- limits and failures -----------------------------------------------------------------------


async def test_rate_limit_per_user_answers_resource_exhausted(
    make_settings, ports, room_service, post_service, invitation_service
):
    service = await another_gateway(make_settings, ports, rate_limit_per_minute=3)
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
            await stub.WhoAmI(gw.WhoAmIRequest(), **as_user("busy"))
            await stub.ListRooms(rs.ListRoomsRequest(), **as_user("busy"))
            await stub.WhoAmI(gw.WhoAmIRequest(), **as_user("busy"))
            error = await rpc_error(stub.GetRoom(rs.GetRoomRequest(room_id="x"), **as_user("busy")))
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert reason_of(error) == "RATE_LIMITED"
            # Others have their own allowance.
            me = await stub.WhoAmI(gw.WhoAmIRequest(), **as_user("calm"))
            assert me.user_id == "calm"
    finally:
        await service.close()


async def test_a_backend_that_is_down_answers_unavailable_at_once_and_others_keep_working(
    make_settings, ports, room_service, post_service, invitation_service
):
    addrs = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    addrs["broadcast"] = f"127.0.0.1:{free_port()}"  # nothing listens there
    service = await another_gateway(make_settings, ports, service_addrs=addrs)
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
            for _ in range(2):  # the first call and one while the channel backs off
                started = time.monotonic()
                error = await rpc_error(
                    stub.GetViewerData(bs.GetViewerDataRequest(room_id="r"), **as_user("v"))
                )
                assert error.code() == grpc.StatusCode.UNAVAILABLE
                assert reason_of(error) == "DEPENDENCY_UNAVAILABLE"
                assert time.monotonic() - started < 1.0
            room = await stub.CreateRoom(rs.CreateRoomRequest(title="fine"), **as_user("v"))
            assert room.host_user_id == "v"
    finally:
        await service.close()


async def test_watch_room_of_a_missing_room_passes_the_backends_error_through(gateway):
    call = gateway.WatchRoom(rs.WatchRoomRequest(room_id="missing"), metadata=user_metadata("v"))
    error = await rpc_error(call.read())
    assert (error.code(), reason_of(error)) == (grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND")


async def _reflected_services(address: str) -> list[str]:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async with grpc.aio.insecure_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for reply in stub.ServerReflectionInfo(iter([request]), timeout=5):
            return [s.name for s in reply.list_services_response.service]
    return []


@pytest.mark.parametrize("on", [True, False])
async def test_reflection_is_served_only_when_turned_on(
    make_settings, ports, room_service, post_service, invitation_service, on
):
    service = await another_gateway(make_settings, ports, grpc_reflection=on)
    try:
        if on:
            assert "costream.gateway.v1.GatewayService" in await _reflected_services(
                service.address
            )
        else:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await _reflected_services(service.address)
            assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        await service.close()


async def test_a_user_may_hold_max_streams_and_one_more_is_too_many_streams(
    make_settings, ports, room_service, post_service, invitation_service
):
    service = await another_gateway(make_settings, ports, max_streams_per_user=3)
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
            host = unique("host")
            room = await stub.CreateRoom(rs.CreateRoomRequest(title="w"), **as_user(host))
            streams = [
                stub.WatchRoom(rs.WatchRoomRequest(room_id=room.room_id), **as_user(host)),
                stub.WatchRoom(rs.WatchRoomRequest(room_id=room.room_id), **as_user(host)),
                stub.WatchMyInvitations(inv.WatchMyInvitationsRequest(), **as_user(host)),
            ]
            for stream in streams:
                await stream.initial_metadata()
            extra = stub.WatchRoom(rs.WatchRoomRequest(room_id=room.room_id), **as_user(host))
            error = await rpc_error(extra.read())
            assert (error.code(), reason_of(error)) == (
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "TOO_MANY_STREAMS",
            )
            other = stub.WatchRoom(rs.WatchRoomRequest(room_id=room.room_id), **as_user("other"))
            assert (await other.read()).room.room_id == room.room_id
            streams[0].cancel()
            for _ in range(50):  # the gateway sees the cancel, then the place is free
                again = stub.WatchRoom(rs.WatchRoomRequest(room_id=room.room_id), **as_user(host))
                try:
                    assert (await again.read()).room.room_id == room.room_id
                    break
                except grpc.aio.AioRpcError as e:
                    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("a cancelled stream kept its place")
            for stream in (*streams, other, again):
                stream.cancel()
    finally:
        await service.close()

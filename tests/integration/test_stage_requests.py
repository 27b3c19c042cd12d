"""Stage requests through the invitation and room services' gRPC APIs on a real PostgreSQL:
who may ask and answer, one pending per (room, user), the atomic seat claim under contention,
bans, and WatchRoomInvitations."""

import asyncio
import time

import asyncpg
import grpc
import pytest
from costream.invitation.v1 import (
    invitation_pb2,
    invitation_service_pb2,
    invitation_service_pb2_grpc,
)
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.rpc import error_details_pb2

from services.common.errors import peer_detail
from tests.support import reason_of, unique, user_metadata, violated_fields

api = invitation_service_pb2
rs = room_service_pb2
PENDING = invitation_pb2.INVITATION_STATUS_PENDING
ACCEPTED = invitation_pb2.INVITATION_STATUS_ACCEPTED
REJECTED = invitation_pb2.INVITATION_STATUS_REJECTED
CANCELLED = invitation_pb2.INVITATION_STATUS_CANCELLED
STAGE = invitation_pb2.INVITATION_TYPE_STAGE_REQUEST
CO_HOST = invitation_pb2.INVITATION_TYPE_LIVESTREAM_CO_HOST
DENIED = grpc.StatusCode.PERMISSION_DENIED
FAILED = grpc.StatusCode.FAILED_PRECONDITION


class Stubs:
    def __init__(self, room, invitation) -> None:
        self.rooms = room_service_pb2_grpc.RoomServiceStub(room)
        self.invitations = invitation_service_pb2_grpc.InvitationServiceStub(invitation)

    async def room(self, host: str, moderators: tuple[str, ...] = (), **fields) -> room_pb2.Room:
        room = await self.rooms.CreateRoom(
            rs.CreateRoomRequest(title="Stage", **fields), metadata=user_metadata(host)
        )
        for mod in moderators:
            room = await self.rooms.AddModerator(
                rs.AddModeratorRequest(room_id=room.room_id, user_id=mod),
                metadata=user_metadata(host),
            )
        return room

    def request(self, user: str, room_id: str, request_id: str = ""):
        return self.invitations.RequestStage(
            api.RequestStageRequest(room_id=room_id, request_id=request_id),
            metadata=user_metadata(user),
        )

    def approve(self, user: str, invitation_id: str):
        return self.invitations.ApproveStageRequest(
            api.ApproveStageRequestRequest(invitation_id=invitation_id),
            metadata=user_metadata(user),
        )

    def decline(self, user: str, invitation_id: str):
        return self.invitations.DeclineStageRequest(
            api.DeclineStageRequestRequest(invitation_id=invitation_id),
            metadata=user_metadata(user),
        )

    def cancel(self, user: str, invitation_id: str):
        return self.invitations.CancelInvitation(
            api.CancelInvitationRequest(invitation_id=invitation_id), metadata=user_metadata(user)
        )

    def invite(self, host: str, room_id: str, user_id: str):
        return self.invitations.CreateInvitation(
            api.CreateInvitationRequest(room_id=room_id, user_id=user_id),
            metadata=user_metadata(host),
        )

    async def get(self, user: str, invitation_id: str) -> invitation_pb2.Invitation:
        return await self.invitations.GetInvitation(
            api.GetInvitationRequest(invitation_id=invitation_id), metadata=user_metadata(user)
        )

    async def co_hosts(self, room_id: str) -> set[str]:
        room = await self.rooms.GetRoom(
            rs.GetRoomRequest(room_id=room_id), metadata=user_metadata(unique("viewer"))
        )
        return {p.user_id for p in room.participants if p.role == room_pb2.PARTICIPANT_ROLE_CO_HOST}


@pytest.fixture
async def stubs(room_service, invitation_service):
    async with (
        grpc.aio.insecure_channel(room_service.address) as room,
        grpc.aio.insecure_channel(invitation_service.address) as invitation,
    ):
        yield Stubs(room, invitation)


@pytest.fixture(scope="module")
async def db(database_url):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def refused(call, code: grpc.StatusCode, reason: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    assert (e.value.code(), reason_of(e.value)) == (code, reason), e.value.details()
    return e.value


async def stored(db, room_id: str) -> list[tuple[str, str, str, str]]:
    rows = await db.fetch(
        """SELECT user_id, type, status, responder_user_id FROM invitation.invitations
           WHERE room_id = $1 ORDER BY create_time, invitation_id""",
        room_id,
    )
    return [tuple(r) for r in rows]


async def test_a_viewer_requests_and_a_moderator_approves_seating_the_viewer(stubs, db):
    host, mod, viewer = unique("host"), unique("mod"), unique("viewer")
    room = await stubs.room(host, (mod,))
    request = await stubs.request(viewer, room.room_id)
    assert (request.type, request.status, request.user_id) == (STAGE, PENDING, viewer)
    assert request.inviter_user_id == "" and request.responder_user_id == ""
    assert request.expire_time.ToSeconds() - request.create_time.ToSeconds() == 600

    for who in (host, mod):
        listed = await stubs.invitations.ListRoomInvitations(
            api.ListRoomInvitationsRequest(room_id=room.room_id, types=[STAGE]),
            metadata=user_metadata(who),
        )
        assert [i.invitation_id for i in listed.invitations] == [request.invitation_id]
    mine = await stubs.invitations.ListMyInvitations(
        api.ListMyInvitationsRequest(), metadata=user_metadata(viewer)
    )
    assert [i.invitation_id for i in mine.invitations] == [request.invitation_id]

    approved = await stubs.approve(mod, request.invitation_id)
    assert (approved.status, approved.responder_user_id) == (ACCEPTED, mod)
    assert approved.HasField("respond_time")
    assert viewer in await stubs.co_hosts(room.room_id)
    assert await stored(db, room.room_id) == [(viewer, "stage_request", "accepted", mod)]
    # Resolved once: a second answer is refused and seats nobody twice.
    await refused(stubs.approve(host, request.invitation_id), FAILED, "INVITATION_NOT_PENDING")
    await refused(stubs.decline(host, request.invitation_id), FAILED, "INVITATION_NOT_PENDING")
    # On stage now: no new request.
    await refused(stubs.request(viewer, room.room_id), FAILED, "ALREADY_ON_STAGE")


async def test_the_types_filter_separates_invitations_from_stage_requests(stubs):
    host, guest, viewer = unique("host"), unique("guest"), unique("viewer")
    room = await stubs.room(host)
    invitation = await stubs.invite(host, room.room_id, guest)
    request = await stubs.request(viewer, room.room_id)

    async def listed(types) -> list[str]:
        reply = await stubs.invitations.ListRoomInvitations(
            api.ListRoomInvitationsRequest(room_id=room.room_id, types=types),
            metadata=user_metadata(host),
        )
        return [i.invitation_id for i in reply.invitations]

    assert await listed([STAGE]) == [request.invitation_id]
    assert await listed([CO_HOST]) == [invitation.invitation_id]
    assert await listed([]) == [request.invitation_id, invitation.invitation_id]
    error = await refused(
        stubs.invitations.ListRoomInvitations(
            api.ListRoomInvitationsRequest(room_id=room.room_id, types=[99]),
            metadata=user_metadata(host),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )
    assert violated_fields(error) == {"types[0]"}
    # A page token is bound to the types it was issued for.
    first = await stubs.invitations.ListRoomInvitations(
        api.ListRoomInvitationsRequest(room_id=room.room_id, page_size=1),
        metadata=user_metadata(host),
    )
    await refused(
        stubs.invitations.ListRoomInvitations(
            api.ListRoomInvitationsRequest(
                room_id=room.room_id, page_size=1, page_token=first.next_page_token, types=[STAGE]
            ),
            metadata=user_metadata(host),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )


async def test_request_id_replays_and_a_second_pending_request_is_invitation_pending(stubs, db):
    host, viewer = unique("host"), unique("viewer")
    room = await stubs.room(host)
    first = await stubs.request(viewer, room.room_id, "req-1")
    again = await stubs.request(viewer, room.room_id, "req-1")
    assert again == first
    error = await refused(
        stubs.request(viewer, room.room_id, "req-2"), grpc.StatusCode.ALREADY_EXISTS,
        "INVITATION_PENDING",
    )  # fmt: skip
    info = peer_detail(error, error_details_pb2.ErrorInfo)
    assert info.metadata["invitation_id"] == first.invitation_id
    # The same request_id of another requester is theirs alone.
    other = await stubs.request(unique("viewer"), room.room_id, "req-1")
    assert other.invitation_id != first.invitation_id
    assert len(await stored(db, room.room_id)) == 2


async def test_a_pending_invitation_and_a_stage_request_for_one_user_cannot_coexist(stubs, db):
    host, guest, viewer = unique("host"), unique("guest"), unique("viewer")
    room = await stubs.room(host)
    await stubs.invite(host, room.room_id, guest)
    await refused(
        stubs.request(guest, room.room_id), grpc.StatusCode.ALREADY_EXISTS, "INVITATION_PENDING"
    )
    await stubs.request(viewer, room.room_id)
    await refused(
        stubs.invite(host, room.room_id, viewer), grpc.StatusCode.ALREADY_EXISTS,
        "INVITATION_PENDING",
    )  # fmt: skip
    assert [(u, t) for u, t, _, _ in await stored(db, room.room_id)] == [
        (guest, "livestream_co_host"),
        (viewer, "stage_request"),
    ]


async def test_the_host_a_co_host_a_banned_user_and_an_ended_room_cannot_request(stubs, db):
    host, co_host, banned = unique("host"), unique("co"), unique("banned")
    room = await stubs.room(host, co_host_user_ids=[co_host])
    await stubs.rooms.BanUser(
        rs.BanUserRequest(room_id=room.room_id, user_id=banned), metadata=user_metadata(host)
    )
    await refused(stubs.request(host, room.room_id), FAILED, "ALREADY_ON_STAGE")
    await refused(stubs.request(co_host, room.room_id), FAILED, "ALREADY_ON_STAGE")
    await refused(stubs.request(banned, room.room_id), DENIED, "USER_BANNED")
    await refused(
        stubs.request(unique("v"), "no-such-" + unique()), grpc.StatusCode.NOT_FOUND,
        "ROOM_NOT_FOUND",
    )  # fmt: skip
    await stubs.rooms.StopRoom(
        rs.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    await refused(stubs.request(unique("v"), room.room_id), FAILED, "ROOM_ENDED")
    assert await stored(db, room.room_id) == []


@pytest.mark.parametrize(
    ("room_id", "request_id", "bad"),
    [
        ("", "", {"room_id"}),
        ("Bad Room", "", {"room_id"}),
        ("r" * 49, "", {"room_id"}),
        ("some-room", "x" * 129, {"request_id"}),
        ("some-room", "nul\x00", {"request_id"}),
    ],
)
async def test_request_stage_refuses_malformed_input(stubs, room_id, request_id, bad):
    error = await refused(
        stubs.request(unique("v"), room_id, request_id),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )
    assert violated_fields(error) == bad


@pytest.mark.parametrize("invitation_id", ["", "x" * 129, "bad\x01"])
async def test_answers_refuse_malformed_ids(stubs, invitation_id):
    host = unique("host")
    for call in (stubs.approve(host, invitation_id), stubs.decline(host, invitation_id)):
        error = await refused(call, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
        assert violated_fields(error) == {"invitation_id"}
    stream = stubs.invitations.WatchRoomInvitations(
        api.WatchRoomInvitationsRequest(room_id="Bad Room"), metadata=user_metadata(host)
    )
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stream.read()
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_only_the_host_and_moderators_answer_and_a_refusal_leaves_it_pending(stubs, db):
    host, mod, co_host, viewer = unique("host"), unique("mod"), unique("co"), unique("viewer")
    room = await stubs.room(host, (mod,), co_host_user_ids=[co_host])
    request = await stubs.request(viewer, room.room_id)
    for who in (viewer, co_host, unique("stranger")):
        await refused(stubs.approve(who, request.invitation_id), DENIED, "NOT_ROOM_MODERATOR")
        await refused(stubs.decline(who, request.invitation_id), DENIED, "NOT_ROOM_MODERATOR")
    await refused(
        stubs.approve(host, unique("missing")), grpc.StatusCode.NOT_FOUND, "INVITATION_NOT_FOUND"
    )
    assert (await stubs.get(viewer, request.invitation_id)).status == PENDING
    assert viewer not in await stubs.co_hosts(room.room_id)
    declined = await stubs.decline(host, request.invitation_id)
    assert (declined.status, declined.responder_user_id) == (REJECTED, host)
    assert await stored(db, room.room_id) == [(viewer, "stage_request", "rejected", host)]


async def test_each_rpc_answers_only_its_own_kind_with_wrong_invitation_type(stubs):
    host, guest, viewer = unique("host"), unique("guest"), unique("viewer")
    room = await stubs.room(host)
    invitation = await stubs.invite(host, room.room_id, guest)
    request = await stubs.request(viewer, room.room_id)
    for call in (
        stubs.approve(host, invitation.invitation_id),
        stubs.decline(host, invitation.invitation_id),
        stubs.invitations.AcceptInvitation(
            api.AcceptInvitationRequest(invitation_id=request.invitation_id),
            metadata=user_metadata(viewer),
        ),
        stubs.invitations.RejectInvitation(
            api.RejectInvitationRequest(invitation_id=request.invitation_id),
            metadata=user_metadata(viewer),
        ),
    ):
        await refused(call, FAILED, "WRONG_INVITATION_TYPE")
    assert (await stubs.get(host, invitation.invitation_id)).status == PENDING
    assert (await stubs.get(viewer, request.invitation_id)).status == PENDING
    assert await stubs.co_hosts(room.room_id) == set()


async def test_the_requester_or_the_host_cancels_and_a_moderator_declines_instead(stubs):
    host, mod, viewer, other = unique("host"), unique("mod"), unique("viewer"), unique("other")
    room = await stubs.room(host, (mod,))
    request = await stubs.request(viewer, room.room_id)
    await refused(stubs.cancel(mod, request.invitation_id), DENIED, "NOT_ROOM_HOST")
    await refused(stubs.cancel(unique("stranger"), request.invitation_id), DENIED, "NOT_ROOM_HOST")
    cancelled = await stubs.cancel(viewer, request.invitation_id)
    assert (cancelled.status, cancelled.responder_user_id) == (CANCELLED, viewer)
    second = await stubs.request(other, room.room_id)
    by_host = await stubs.cancel(host, second.invitation_id)
    assert (by_host.status, by_host.responder_user_id) == (CANCELLED, host)


async def test_host_and_moderators_read_a_request_and_others_do_not(stubs):
    host, mod, viewer = unique("host"), unique("mod"), unique("viewer")
    room = await stubs.room(host, (mod,))
    request = await stubs.request(viewer, room.room_id)
    for who in (viewer, host, mod):
        assert (await stubs.get(who, request.invitation_id)).invitation_id == request.invitation_id
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stubs.get(unique("stranger"), request.invitation_id)
    assert reason_of(e.value) == "NOT_INVITEE"


async def test_approving_into_full_seats_is_seat_limit_reached_and_leaves_it_pending(stubs):
    host = unique("host")
    seated = [unique("co") for _ in range(3)]
    room = await stubs.room(
        host, co_host_user_ids=seated, seat_template=room_pb2.SEAT_TEMPLATE_VIDEO_LANDSCAPE_4
    )
    viewer = unique("viewer")
    request = await stubs.request(viewer, room.room_id)
    await refused(stubs.approve(host, request.invitation_id), FAILED, "SEAT_LIMIT_REACHED")
    assert (await stubs.get(viewer, request.invitation_id)).status == PENDING
    await stubs.rooms.RemoveParticipant(
        rs.RemoveParticipantRequest(room_id=room.room_id, user_id=seated[0]),
        metadata=user_metadata(host),
    )
    assert (await stubs.approve(host, request.invitation_id)).status == ACCEPTED
    assert viewer in await stubs.co_hosts(room.room_id)


async def test_thirty_concurrent_approvals_and_accepts_for_three_free_seats_seat_exactly_three(
    stubs,
):
    for _ in range(3):
        host, mods = unique("host"), (unique("mod"), unique("mod"))
        initial = [unique("co") for _ in range(5)]  # of 8 seats: 3 free
        room = await stubs.room(host, mods, co_host_user_ids=initial)
        viewers = [unique("viewer") for _ in range(15)]
        guests = [unique("guest") for _ in range(15)]
        requests = await asyncio.gather(*(stubs.request(v, room.room_id) for v in viewers))
        invitations = await asyncio.gather(*(stubs.invite(host, room.room_id, g) for g in guests))
        answerers = [host, *mods]
        calls = [
            stubs.approve(answerers[i % 3], r.invitation_id) for i, r in enumerate(requests)
        ] + [
            stubs.invitations.AcceptInvitation(
                api.AcceptInvitationRequest(invitation_id=i.invitation_id),
                metadata=user_metadata(i.user_id),
            )
            for i in invitations
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        winners = {r.user_id for r in results if isinstance(r, invitation_pb2.Invitation)}
        losers = [r for r in results if not isinstance(r, invitation_pb2.Invitation)]
        assert len(winners) == 3
        assert len(losers) == 27
        for error in losers:
            assert isinstance(error, grpc.aio.AioRpcError), error
            assert (error.code(), reason_of(error)) == (FAILED, "SEAT_LIMIT_REACHED")
        assert await stubs.co_hosts(room.room_id) == set(initial) | winners
        listed = await stubs.invitations.ListRoomInvitations(
            api.ListRoomInvitationsRequest(room_id=room.room_id, page_size=100),
            metadata=user_metadata(host),
        )
        by_status: dict[int, set[str]] = {}
        for inv in listed.invitations:
            by_status.setdefault(inv.status, set()).add(inv.user_id)
        assert by_status == {ACCEPTED: winners, PENDING: set(viewers + guests) - winners}


async def test_a_ban_cancels_the_users_pending_stage_request(stubs):
    host, mod, viewer = unique("host"), unique("mod"), unique("viewer")
    room = await stubs.room(host, (mod,))
    request = await stubs.request(viewer, room.room_id)
    await stubs.rooms.BanUser(
        rs.BanUserRequest(room_id=room.room_id, user_id=viewer), metadata=user_metadata(mod)
    )
    deadline = time.monotonic() + 15
    while (got := await stubs.get(host, request.invitation_id)).status == PENDING:
        assert time.monotonic() < deadline, "the ban did not cancel the stage request"
        await asyncio.sleep(0.1)
    assert got.status == CANCELLED
    assert got.responder_user_id == ""  # the system cancelled it, nobody answered
    await refused(stubs.approve(host, request.invitation_id), FAILED, "INVITATION_NOT_PENDING")


async def next_event(stream) -> invitation_pb2.InvitationEvent:
    return await asyncio.wait_for(stream.read(), timeout=5)


async def test_host_and_moderators_watch_a_rooms_requests_and_the_requester_watches_his(stubs):
    host, mod, viewer, guest = unique("host"), unique("mod"), unique("viewer"), unique("guest")
    room = await stubs.room(host, (mod,))
    other_room = await stubs.room(host)
    room_streams = [
        stubs.invitations.WatchRoomInvitations(
            api.WatchRoomInvitationsRequest(room_id=room.room_id), metadata=user_metadata(who)
        )
        for who in (host, mod)
    ]
    mine = stubs.invitations.WatchMyInvitations(
        api.WatchMyInvitationsRequest(), metadata=user_metadata(viewer)
    )
    streams = [*room_streams, mine]
    for stream in streams:
        await stream.initial_metadata()  # subscribed
    try:
        await stubs.invite(host, other_room.room_id, unique("elsewhere"))  # not this room's
        request = await stubs.request(viewer, room.room_id)
        for stream in streams:
            event = await next_event(stream)
            assert event.kind == invitation_pb2.INVITATION_EVENT_KIND_CREATED
            assert event.invitation == request
        approved = await stubs.approve(mod, request.invitation_id)
        for stream in streams:
            event = await next_event(stream)
            assert event.kind == invitation_pb2.INVITATION_EVENT_KIND_STATUS_CHANGED
            assert event.invitation == approved
        invitation = await stubs.invite(host, room.room_id, guest)
        for stream in room_streams:
            assert (await next_event(stream)).invitation == invitation
    finally:
        for stream in streams:
            stream.cancel()


async def test_only_the_host_and_moderators_may_watch_a_rooms_invitations(stubs):
    host, co_host = unique("host"), unique("co")
    room = await stubs.room(host, co_host_user_ids=[co_host])
    for who in (co_host, unique("stranger")):
        stream = stubs.invitations.WatchRoomInvitations(
            api.WatchRoomInvitationsRequest(room_id=room.room_id), metadata=user_metadata(who)
        )
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stream.read()
        assert (e.value.code(), reason_of(e.value)) == (DENIED, "NOT_ROOM_MODERATOR")
    stream = stubs.invitations.WatchRoomInvitations(
        api.WatchRoomInvitationsRequest(room_id="no-such-" + unique()),
        metadata=user_metadata(host),
    )
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stream.read()
    assert reason_of(e.value) == "ROOM_NOT_FOUND"

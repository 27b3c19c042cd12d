"""InvitationService through gRPC, with the room and post services, on a real PostgreSQL."""

import asyncio

import asyncpg
import grpc
import pytest
from costream.invitation.v1 import (
    invitation_pb2,
    invitation_service_pb2,
    invitation_service_pb2_grpc,
)
from costream.post.v1 import post_pb2, post_service_pb2, post_service_pb2_grpc
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.rpc import error_details_pb2

from services.common.errors import peer_detail
from tests.support import reason_of, service_metadata, unique, user_metadata, violated_fields

PENDING = invitation_pb2.INVITATION_STATUS_PENDING
ACCEPTED = invitation_pb2.INVITATION_STATUS_ACCEPTED
REJECTED = invitation_pb2.INVITATION_STATUS_REJECTED
CANCELLED = invitation_pb2.INVITATION_STATUS_CANCELLED


class Stubs:
    def __init__(self, room, post, invitation) -> None:
        self.rooms = room_service_pb2_grpc.RoomServiceStub(room)
        self.posts = post_service_pb2_grpc.PostServiceStub(post)
        self.invitations = invitation_service_pb2_grpc.InvitationServiceStub(invitation)

    async def room(self, host: str, **fields) -> room_pb2.Room:
        return await self.rooms.CreateRoom(
            room_service_pb2.CreateRoomRequest(title="Live", **fields),
            metadata=user_metadata(host),
        )

    async def invite(self, host: str, room_id: str, user_id: str, **fields):
        return await self.invitations.CreateInvitation(
            invitation_service_pb2.CreateInvitationRequest(
                room_id=room_id, user_id=user_id, **fields
            ),
            metadata=user_metadata(host),
        )

    async def accept(self, user: str, invitation_id: str):
        return await self.invitations.AcceptInvitation(
            invitation_service_pb2.AcceptInvitationRequest(invitation_id=invitation_id),
            metadata=user_metadata(user),
        )

    async def reject(self, user: str, invitation_id: str):
        return await self.invitations.RejectInvitation(
            invitation_service_pb2.RejectInvitationRequest(invitation_id=invitation_id),
            metadata=user_metadata(user),
        )

    async def cancel(self, user: str, invitation_id: str):
        return await self.invitations.CancelInvitation(
            invitation_service_pb2.CancelInvitationRequest(invitation_id=invitation_id),
            metadata=user_metadata(user),
        )

    async def get(self, user: str, invitation_id: str):
        return await self.invitations.GetInvitation(
            invitation_service_pb2.GetInvitationRequest(invitation_id=invitation_id),
            metadata=user_metadata(user),
        )


@pytest.fixture
async def stubs(room_service, post_service, invitation_service):
    async with (
        grpc.aio.insecure_channel(room_service.address) as room,
        grpc.aio.insecure_channel(post_service.address) as post,
        grpc.aio.insecure_channel(invitation_service.address) as invitation,
    ):
        yield Stubs(room, post, invitation)


@pytest.fixture
async def db(database_url):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def refused(call, code: grpc.StatusCode, reason: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    assert (e.value.code(), reason_of(e.value)) == (code, reason), e.value.details()
    return e.value


async def test_the_seed_flow_host_posts_invites_three_and_each_resolves_once(stubs):
    host, b, c, d = (unique(n) for n in ("host", "b", "c", "d"))
    room = await stubs.room(host)
    post = await stubs.posts.CreateRoomPost(
        post_service_pb2.CreateRoomPostRequest(
            room_id=room.room_id, text="Join us", target_type=post_pb2.TARGET_TYPE_USER
        ),
        metadata=user_metadata(host),
    )
    assert post.target_id == host

    sent = {}
    for user in (b, c, d):
        invitation = await stubs.invite(host, room.room_id, user)
        assert invitation.status == PENDING
        assert (invitation.user_id, invitation.inviter_user_id) == (user, host)
        assert invitation.type == invitation_pb2.INVITATION_TYPE_LIVESTREAM_CO_HOST
        assert invitation.expire_time.ToSeconds() - invitation.create_time.ToSeconds() == 600
        sent[user] = invitation.invitation_id

    listed = await stubs.invitations.ListRoomInvitations(
        invitation_service_pb2.ListRoomInvitationsRequest(room_id=room.room_id),
        metadata=user_metadata(host),
    )
    assert [i.invitation_id for i in listed.invitations] == [sent[d], sent[c], sent[b]]
    assert {i.status for i in listed.invitations} == {PENDING}

    mine = await stubs.invitations.ListMyInvitations(
        invitation_service_pb2.ListMyInvitationsRequest(), metadata=user_metadata(b)
    )
    assert [i.invitation_id for i in mine.invitations] == [sent[b]]
    accepted = await stubs.accept(b, sent[b])
    assert accepted.status == ACCEPTED and accepted.HasField("respond_time")
    assert (await stubs.reject(c, sent[c])).status == REJECTED
    assert (await stubs.cancel(host, sent[d])).status == CANCELLED

    expected = {b: ACCEPTED, c: REJECTED, d: CANCELLED}
    for user, status in expected.items():
        assert (await stubs.get(host, sent[user])).status == status
        assert (await stubs.get(user, sent[user])).status == status
        mine = await stubs.invitations.GetMyRoomInvitation(
            invitation_service_pb2.GetMyRoomInvitationRequest(room_id=room.room_id),
            metadata=user_metadata(user),
        )
        assert (mine.invitation_id, mine.status) == (sent[user], status)
    listed = await stubs.invitations.ListRoomInvitations(
        invitation_service_pb2.ListRoomInvitationsRequest(
            room_id=room.room_id, statuses=[ACCEPTED, REJECTED]
        ),
        metadata=user_metadata(host),
    )
    assert {i.invitation_id for i in listed.invitations} == {sent[b], sent[c]}
    pending = await stubs.invitations.ListMyInvitations(
        invitation_service_pb2.ListMyInvitationsRequest(), metadata=user_metadata(b)
    )
    assert list(pending.invitations) == []

    got = await stubs.rooms.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=room.room_id), metadata=user_metadata(b)
    )
    roles = {p.user_id: p.role for p in got.participants}
    assert roles == {host: room_pb2.PARTICIPANT_ROLE_HOST, b: room_pb2.PARTICIPANT_ROLE_CO_HOST}


async def test_a_second_pending_invitation_for_the_same_user_already_exists(stubs, db):
    host, guest = unique("host"), unique("guest")
    room = await stubs.room(host)
    first = await stubs.invite(host, room.room_id, guest)
    error = await refused(
        stubs.invite(host, room.room_id, guest),
        grpc.StatusCode.ALREADY_EXISTS,
        "INVITATION_PENDING",
    )
    assert (
        peer_detail(error, error_details_pb2.ErrorInfo).metadata["invitation_id"]
        == first.invitation_id
    )
    count = await db.fetchval(
        "SELECT count(*) FROM invitation.invitations WHERE room_id = $1", room.room_id
    )
    assert count == 1
    await stubs.reject(guest, first.invitation_id)
    second = await stubs.invite(host, room.room_id, guest)
    assert second.status == PENDING and second.invitation_id != first.invitation_id


async def test_a_retry_with_the_same_request_id_returns_the_original_invitation(stubs, db):
    host, guest = unique("host"), unique("guest")
    room = await stubs.room(host)
    results = await asyncio.gather(
        *(stubs.invite(host, room.room_id, guest, request_id="req-1") for _ in range(5))
    )
    assert len({i.invitation_id for i in results}) == 1
    count = await db.fetchval(
        "SELECT count(*) FROM invitation.invitations WHERE room_id = $1", room.room_id
    )
    assert count == 1


async def test_who_may_be_invited(stubs):
    host, co_host, banned, guest = (unique(n) for n in ("host", "co", "banned", "guest"))
    room = await stubs.room(host, co_host_user_ids=[co_host])
    await stubs.rooms.BanUser(
        room_service_pb2.BanUserRequest(room_id=room.room_id, user_id=banned),
        metadata=user_metadata(host),
    )
    await refused(
        stubs.invite(guest, room.room_id, unique("x")),
        grpc.StatusCode.PERMISSION_DENIED,
        "NOT_ROOM_HOST",
    )
    for on_stage in (host, co_host):
        await refused(
            stubs.invite(host, room.room_id, on_stage),
            grpc.StatusCode.FAILED_PRECONDITION,
            "ALREADY_ON_STAGE",
        )
    await refused(
        stubs.invite(host, room.room_id, banned), grpc.StatusCode.PERMISSION_DENIED, "USER_BANNED"
    )
    await refused(
        stubs.invite(host, unique("room"), guest), grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND"
    )
    await stubs.rooms.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    await refused(
        stubs.invite(host, room.room_id, guest), grpc.StatusCode.FAILED_PRECONDITION, "ROOM_ENDED"
    )


async def test_only_the_parties_act_on_an_invitation(stubs):
    host, guest, stranger = unique("host"), unique("guest"), unique("stranger")
    room = await stubs.room(host)
    invitation_id = (await stubs.invite(host, room.room_id, guest)).invitation_id
    denied = grpc.StatusCode.PERMISSION_DENIED
    await refused(stubs.get(stranger, invitation_id), denied, "NOT_INVITEE")
    await refused(stubs.accept(host, invitation_id), denied, "NOT_INVITEE")
    await refused(stubs.accept(stranger, invitation_id), denied, "NOT_INVITEE")
    await refused(stubs.reject(host, invitation_id), denied, "NOT_INVITEE")
    await refused(stubs.cancel(guest, invitation_id), denied, "NOT_ROOM_HOST")
    await refused(stubs.cancel(stranger, invitation_id), denied, "NOT_ROOM_HOST")
    await refused(
        stubs.invitations.ListRoomInvitations(
            invitation_service_pb2.ListRoomInvitationsRequest(room_id=room.room_id),
            metadata=user_metadata(guest),
        ),
        denied,
        "NOT_ROOM_MODERATOR",
    )
    assert (await stubs.get(guest, invitation_id)).status == PENDING
    await refused(
        stubs.get(guest, unique("inv")), grpc.StatusCode.NOT_FOUND, "INVITATION_NOT_FOUND"
    )
    await refused(
        stubs.invitations.GetMyRoomInvitation(
            invitation_service_pb2.GetMyRoomInvitationRequest(room_id=room.room_id),
            metadata=user_metadata(stranger),
        ),
        grpc.StatusCode.NOT_FOUND,
        "INVITATION_NOT_FOUND",
    )


async def test_every_move_out_of_a_resolved_invitation_is_refused(stubs):
    host = unique("host")
    room = await stubs.room(host)
    resolutions = {"accepted": stubs.accept, "rejected": stubs.reject}
    for name, resolve in resolutions.items():
        guest = unique(name)
        invitation_id = (await stubs.invite(host, room.room_id, guest)).invitation_id
        await resolve(guest, invitation_id)
        for move in (stubs.accept(guest, invitation_id), stubs.reject(guest, invitation_id),
                     stubs.cancel(host, invitation_id)):  # fmt: skip
            await refused(move, grpc.StatusCode.FAILED_PRECONDITION, "INVITATION_NOT_PENDING")
    guest = unique("cancelled")
    invitation_id = (await stubs.invite(host, room.room_id, guest)).invitation_id
    await stubs.cancel(host, invitation_id)
    for move in (stubs.accept(guest, invitation_id), stubs.cancel(host, invitation_id)):
        await refused(move, grpc.StatusCode.FAILED_PRECONDITION, "INVITATION_NOT_PENDING")
    got = await stubs.rooms.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    assert len(got.participants) == 2  # the host and the one who accepted


async def test_a_retried_accept_after_a_crash_finishes_the_job_and_seats_once(stubs):
    host, guest = unique("host"), unique("guest")
    room = await stubs.room(host)
    invitation_id = (await stubs.invite(host, room.room_id, guest)).invitation_id
    # The seat was claimed, then the invitation service died before writing "accepted".
    await stubs.rooms.AddCoHost(
        room_service_pb2.AddCoHostRequest(
            room_id=room.room_id, user_id=guest, invitation_id=invitation_id
        ),
        metadata=service_metadata("invitation"),
    )
    assert (await stubs.get(guest, invitation_id)).status == PENDING
    assert (await stubs.accept(guest, invitation_id)).status == ACCEPTED
    got = await stubs.rooms.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    assert [p.user_id for p in got.participants].count(guest) == 1


async def test_accept_after_the_room_ended_seats_nobody(stubs):
    host, guest = unique("host"), unique("guest")
    room = await stubs.room(host)
    invitation_id = (await stubs.invite(host, room.room_id, guest)).invitation_id
    await stubs.rooms.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stubs.accept(guest, invitation_id)
    # ROOM_ENDED from the room service, or INVITATION_NOT_PENDING once the room's outbox has
    # delivered CancelRoomInvitations: either way nobody is seated and nothing is accepted.
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(e.value) in ("ROOM_ENDED", "INVITATION_NOT_PENDING")
    assert (await stubs.get(guest, invitation_id)).status in (PENDING, CANCELLED)
    got = await stubs.rooms.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
    )
    assert guest not in {p.user_id for p in got.participants}


async def test_cancel_room_invitations_is_internal_and_idempotent(stubs):
    host = unique("host")
    room = await stubs.room(host)
    guests = [unique("guest") for _ in range(3)]
    ids = [(await stubs.invite(host, room.room_id, g)).invitation_id for g in guests]
    await stubs.accept(guests[0], ids[0])
    request = invitation_service_pb2.CancelRoomInvitationsRequest(room_id=room.room_id)
    for metadata in (user_metadata(host), user_metadata(host, "admin"), ()):
        await refused(
            stubs.invitations.CancelRoomInvitations(request, metadata=metadata),
            grpc.StatusCode.PERMISSION_DENIED,
            "INTERNAL_ONLY",
        )
    first = await stubs.invitations.CancelRoomInvitations(request, metadata=service_metadata())
    again = await stubs.invitations.CancelRoomInvitations(request, metadata=service_metadata())
    assert (first.cancelled_count, again.cancelled_count) == (2, 0)
    statuses = [(await stubs.get(host, i)).status for i in ids]
    assert statuses == [ACCEPTED, CANCELLED, CANCELLED]


async def test_no_invitation_is_made_for_a_room_whose_end_was_delivered(stubs):
    # The room service still says the room is open (its end is in flight): the invitation
    # service, told already, refuses, so nothing stays pending in an ended room.
    host = unique("host")
    room = await stubs.room(host)
    await stubs.invitations.CancelRoomInvitations(
        invitation_service_pb2.CancelRoomInvitationsRequest(room_id=room.room_id),
        metadata=service_metadata(),
    )
    await refused(
        stubs.invite(host, room.room_id, unique("guest")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ROOM_ENDED",
    )


async def test_cancelling_one_users_invitations_leaves_the_others_and_the_room_open(stubs):
    host, banned, other = unique("host"), unique("banned"), unique("other")
    room = await stubs.room(host)
    first = await stubs.invite(host, room.room_id, banned)
    second = await stubs.invite(host, room.room_id, other)
    reply = await stubs.invitations.CancelRoomInvitations(
        invitation_service_pb2.CancelRoomInvitationsRequest(room_id=room.room_id, user_id=banned),
        metadata=service_metadata(),
    )
    assert reply.cancelled_count == 1
    assert (await stubs.get(host, first.invitation_id)).status == CANCELLED
    assert (await stubs.get(host, second.invitation_id)).status == PENDING
    assert (await stubs.invite(host, room.room_id, unique("third"))).status == PENDING


async def test_my_invitations_are_pending_ones_unless_asked(stubs):
    guest = unique("guest")
    hosts = [unique("host") for _ in range(3)]
    ids = []
    for host in hosts:
        room = await stubs.room(host)
        ids.append((await stubs.invite(host, room.room_id, guest)).invitation_id)
    await stubs.reject(guest, ids[0])
    pending = await stubs.invitations.ListMyInvitations(
        invitation_service_pb2.ListMyInvitationsRequest(page_size=1), metadata=user_metadata(guest)
    )
    assert [i.invitation_id for i in pending.invitations] == [ids[2]]
    rest = await stubs.invitations.ListMyInvitations(
        invitation_service_pb2.ListMyInvitationsRequest(
            page_size=1, page_token=pending.next_page_token
        ),
        metadata=user_metadata(guest),
    )
    assert [i.invitation_id for i in rest.invitations] == [ids[1]]
    assert rest.next_page_token == ""
    every = await stubs.invitations.ListMyInvitations(
        invitation_service_pb2.ListMyInvitationsRequest(statuses=[PENDING, REJECTED]),
        metadata=user_metadata(guest),
    )
    assert [i.invitation_id for i in every.invitations] == ids[::-1]
    await refused(
        stubs.invitations.ListMyInvitations(
            invitation_service_pb2.ListMyInvitationsRequest(
                statuses=[REJECTED], page_token=pending.next_page_token
            ),
            metadata=user_metadata(guest),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )


BAD_CREATES = {
    "no room id": ({"room_id": ""}, "room_id"),
    "no user id": ({"user_id": ""}, "user_id"),
    "user id too long": ({"user_id": "u" * 129}, "user_id"),
    "user id with control char": ({"user_id": "a\x07b"}, "user_id"),
    "request id too long": ({"request_id": "r" * 129}, "request_id"),
}


@pytest.mark.parametrize("case", list(BAD_CREATES))
async def test_each_bad_create_is_refused_with_its_field_and_nothing_written(stubs, db, case):
    host = unique("host")
    room = await stubs.room(host)
    fields = {"room_id": room.room_id, "user_id": unique("guest")}
    overrides, field = BAD_CREATES[case]
    fields.update(overrides)
    error = await refused(
        stubs.invitations.CreateInvitation(
            invitation_service_pb2.CreateInvitationRequest(**fields), metadata=user_metadata(host)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )
    assert violated_fields(error) == {field}
    count = await db.fetchval(
        "SELECT count(*) FROM invitation.invitations WHERE room_id = $1", room.room_id
    )
    assert count == 0


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"page_size": -1}, "page_size"),
        ({"page_token": "forged.token"}, "page_token"),
        ({"statuses": [42]}, "statuses[0]"),
    ],
)
async def test_bad_list_requests_are_refused_with_their_field(stubs, request_fields, field):
    error = await refused(
        stubs.invitations.ListMyInvitations(
            invitation_service_pb2.ListMyInvitationsRequest(**request_fields),
            metadata=user_metadata("x"),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )
    assert violated_fields(error) == {field}


async def test_calls_without_a_valid_user_token_are_refused(stubs):
    api = invitation_service_pb2
    calls = [
        (stubs.invitations.CreateInvitation, api.CreateInvitationRequest(room_id="r", user_id="u")),
        (stubs.invitations.GetInvitation, api.GetInvitationRequest(invitation_id="i")),
        (stubs.invitations.ListRoomInvitations, api.ListRoomInvitationsRequest(room_id="r")),
        (stubs.invitations.ListMyInvitations, api.ListMyInvitationsRequest()),
        (stubs.invitations.GetMyRoomInvitation, api.GetMyRoomInvitationRequest(room_id="r")),
        (stubs.invitations.AcceptInvitation, api.AcceptInvitationRequest(invitation_id="i")),
        (stubs.invitations.RejectInvitation, api.RejectInvitationRequest(invitation_id="i")),
        (stubs.invitations.CancelInvitation, api.CancelInvitationRequest(invitation_id="i")),
    ]
    for call, request in calls:
        # No token, a malformed one, and a service token without a user.
        for metadata in [(), [("authorization", "Bearer x.y.z")], service_metadata()]:
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await call(request, metadata=metadata)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    stream = stubs.invitations.WatchMyInvitations(api.WatchMyInvitationsRequest())
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stream.read()
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def next_event(stream) -> invitation_pb2.InvitationEvent:
    return await asyncio.wait_for(stream.read(), timeout=5)


async def test_invitee_and_inviter_watch_each_change_after_it_commits(stubs):
    host, guest = unique("host"), unique("guest")
    room = await stubs.room(host)
    request = invitation_service_pb2.WatchMyInvitationsRequest()
    guest_stream = stubs.invitations.WatchMyInvitations(request, metadata=user_metadata(guest))
    host_stream = stubs.invitations.WatchMyInvitations(request, metadata=user_metadata(host))
    await guest_stream.initial_metadata()  # subscribed
    await host_stream.initial_metadata()
    try:
        invitation = await stubs.invite(host, room.room_id, guest)
        for stream in (guest_stream, host_stream):
            event = await next_event(stream)
            assert event.kind == invitation_pb2.INVITATION_EVENT_KIND_CREATED
            assert event.invitation == invitation
        accepted = await stubs.accept(guest, invitation.invitation_id)
        for stream in (guest_stream, host_stream):
            event = await next_event(stream)
            assert event.kind == invitation_pb2.INVITATION_EVENT_KIND_STATUS_CHANGED
            assert event.invitation == accepted
        # A refused move changes nothing and sends nothing.
        await refused(
            stubs.reject(guest, invitation.invitation_id),
            grpc.StatusCode.FAILED_PRECONDITION,
            "INVITATION_NOT_PENDING",
        )
        other = await stubs.room(host)
        second = await stubs.invite(host, other.room_id, guest)
        assert (await next_event(guest_stream)).invitation.invitation_id == second.invitation_id
    finally:
        guest_stream.cancel()
        host_stream.cancel()


async def test_watchers_get_events_again_after_the_listen_connection_is_lost(stubs, db):
    host = unique("host")
    room = await stubs.room(host)
    stream = stubs.invitations.WatchMyInvitations(
        invitation_service_pb2.WatchMyInvitationsRequest(), metadata=user_metadata(host)
    )
    await stream.initial_metadata()
    try:
        killed = await db.fetchval(
            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
               WHERE datname = current_database() AND query = 'LISTEN "invitation_events"'"""
        )
        assert killed >= 1
        sent: set[str] = set()
        # Not wait_for(stream.read()): cancelling a read cancels the whole call.
        first_event = asyncio.ensure_future(stream.read())
        for _ in range(40):  # the listener comes back within about a second
            sent.add((await stubs.invite(host, room.room_id, unique("guest"))).invitation_id)
            done, _ = await asyncio.wait({first_event}, timeout=0.2)
            if done:
                break
        else:
            raise AssertionError("no event after the LISTEN connection was lost")
        # First the stream is told it may have missed changes, then changes flow again.
        assert first_event.result().kind == invitation_pb2.INVITATION_EVENT_KIND_RESYNC
        for _ in range(40):
            sent.add((await stubs.invite(host, room.room_id, unique("guest"))).invitation_id)
            event = await asyncio.wait_for(stream.read(), timeout=5)
            if event.kind != invitation_pb2.INVITATION_EVENT_KIND_RESYNC:
                break
        assert event.kind == invitation_pb2.INVITATION_EVENT_KIND_CREATED
        assert event.invitation.invitation_id in sent
    finally:
        stream.cancel()

"""Moderators and stage requests through the gateway, the way clients use them: a viewer asks
to go on stage, the host watches the request arrive, a moderator approves it; what moderators
may and may not do; the limit of five; bad input refused with nothing written."""

import asyncio

import grpc
import pytest
from costream.invitation.v1 import invitation_pb2
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import field_mask_pb2

from tests.e2e.flow import auth, expect_error
from tests.support import reason_of, unique

DENIED = grpc.StatusCode.PERMISSION_DENIED
INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def new_room(gateway, host: str, *moderators: str, **fields) -> room_pb2.Room:
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="Stage", **fields), **auth(host))
    for mod in moderators:
        room = await gateway.AddModerator(
            rs.AddModeratorRequest(room_id=room.room_id, user_id=mod), **auth(host)
        )
    return room


async def test_a_viewer_requests_the_stage_the_host_sees_it_and_a_moderator_approves(gateway):
    host, mod, viewer = unique("host"), unique("mod"), unique("viewer")
    room = await new_room(gateway, host, mod)
    assert list(room.moderator_user_ids) == [mod]
    watch = gateway.WatchRoomInvitations(
        inv.WatchRoomInvitationsRequest(room_id=room.room_id), **auth(host)
    )
    mine = gateway.WatchMyInvitations(inv.WatchMyInvitationsRequest(), **auth(viewer))
    try:
        await watch.initial_metadata()
        await mine.initial_metadata()
        request = await gateway.RequestStage(
            inv.RequestStageRequest(room_id=room.room_id, request_id="ask-1"), **auth(viewer)
        )
        assert request.type == invitation_pb2.INVITATION_TYPE_STAGE_REQUEST
        for stream in (watch, mine):
            seen = await asyncio.wait_for(stream.read(), timeout=5)
            assert seen.kind == invitation_pb2.INVITATION_EVENT_KIND_CREATED
            assert seen.invitation.invitation_id == request.invitation_id
        approved = await gateway.ApproveStageRequest(
            inv.ApproveStageRequestRequest(invitation_id=request.invitation_id), **auth(mod)
        )
        assert approved.status == invitation_pb2.INVITATION_STATUS_ACCEPTED
        assert approved.responder_user_id == mod
        for stream in (watch, mine):
            seen = await asyncio.wait_for(stream.read(), timeout=5)
            assert seen.kind == invitation_pb2.INVITATION_EVENT_KIND_STATUS_CHANGED
            assert seen.invitation.responder_user_id == mod
    finally:
        watch.cancel()
        mine.cancel()
    got = await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(viewer))
    roles = {p.user_id: p.role for p in got.participants}
    assert roles[viewer] == room_pb2.PARTICIPANT_ROLE_CO_HOST
    # The requester's retry with the same request_id replays the request, now accepted.
    again = await gateway.RequestStage(
        inv.RequestStageRequest(room_id=room.room_id, request_id="ask-1"), **auth(viewer)
    )
    assert again.invitation_id == request.invitation_id
    assert again.status == invitation_pb2.INVITATION_STATUS_ACCEPTED


async def test_a_moderator_bans_and_takes_off_stage_but_cannot_run_the_room(gateway):
    host, mod, co_host, troll = unique("host"), unique("mod"), unique("co"), unique("troll")
    room = await new_room(gateway, host, mod, co_host_user_ids=[co_host])
    off = await gateway.RemoveParticipant(
        rs.RemoveParticipantRequest(room_id=room.room_id, user_id=co_host), **auth(mod)
    )
    assert co_host not in {p.user_id for p in off.participants}
    await gateway.BanUser(rs.BanUserRequest(room_id=room.room_id, user_id=troll), **auth(mod))
    bans = await gateway.ListBannedUsers(
        rs.ListBannedUsersRequest(room_id=room.room_id), **auth(mod)
    )
    assert [b.user_id for b in bans.bans] == [troll]

    refused = [
        (gateway.StopRoom(rs.StopRoomRequest(room_id=room.room_id), **auth(mod)), "NOT_ROOM_HOST"),
        (
            gateway.DismissRoom(rs.DismissRoomRequest(room_id=room.room_id), **auth(mod)),
            "ADMIN_ONLY",
        ),
        (
            gateway.UpdateRoom(
                rs.UpdateRoomRequest(
                    room=room_pb2.Room(room_id=room.room_id, title="taken over"),
                    update_mask=field_mask_pb2.FieldMask(paths=["title"]),
                ),
                **auth(mod),
            ),
            "NOT_ROOM_HOST",
        ),
        (
            gateway.DeleteRoom(rs.DeleteRoomRequest(room_id=room.room_id), **auth(mod)),
            "NOT_ROOM_HOST",
        ),
        (
            gateway.CreateInvitation(
                inv.CreateInvitationRequest(room_id=room.room_id, user_id=unique("guest")),
                **auth(mod),
            ),
            "NOT_ROOM_HOST",
        ),
        (
            gateway.AddModerator(
                rs.AddModeratorRequest(room_id=room.room_id, user_id=unique("x")), **auth(mod)
            ),
            "NOT_ROOM_HOST",
        ),
        (
            gateway.RemoveModerator(
                rs.RemoveModeratorRequest(room_id=room.room_id, user_id=mod), **auth(mod)
            ),
            "NOT_ROOM_HOST",
        ),
    ]
    for call, reason in refused:
        await expect_error(call, DENIED, reason)
    got = await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(host))
    assert (got.status, got.title, got.deleted) == (room_pb2.ROOM_STATUS_IDLE, "Stage", False)
    assert list(got.moderator_user_ids) == [mod]
    listed = await gateway.ListRoomInvitations(
        inv.ListRoomInvitationsRequest(room_id=room.room_id), **auth(host)
    )
    assert list(listed.invitations) == []


async def test_a_sixth_moderator_is_moderator_limit_reached(gateway):
    host = unique("host")
    mods = [unique("mod") for _ in range(5)]
    room = await new_room(gateway, host, *mods)
    assert list(room.moderator_user_ids) == mods
    await expect_error(
        gateway.AddModerator(
            rs.AddModeratorRequest(room_id=room.room_id, user_id=unique("sixth")), **auth(host)
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "MODERATOR_LIMIT_REACHED",
    )
    got = await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(host))
    assert list(got.moderator_user_ids) == mods


async def test_a_banned_moderator_loses_the_powers(gateway):
    host, mod = unique("host"), unique("mod")
    room = await new_room(gateway, host, mod)
    await gateway.BanUser(rs.BanUserRequest(room_id=room.room_id, user_id=mod), **auth(host))
    got = await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(host))
    assert list(got.moderator_user_ids) == []
    await expect_error(
        gateway.BanUser(rs.BanUserRequest(room_id=room.room_id, user_id=unique("x")), **auth(mod)),
        DENIED,
        "NOT_ROOM_MODERATOR",
    )


LONG = "x" * 129


@pytest.mark.parametrize(
    "make",
    [
        lambda g: g.AddModerator(rs.AddModeratorRequest(room_id="Bad Id", user_id="u")),
        lambda g: g.AddModerator(rs.AddModeratorRequest(room_id="r" * 49, user_id="u")),
        lambda g: g.AddModerator(rs.AddModeratorRequest(room_id="some-room", user_id=LONG)),
        lambda g: g.RemoveModerator(rs.RemoveModeratorRequest(room_id="some-room", user_id="")),
        lambda g: g.RequestStage(inv.RequestStageRequest(room_id="Bad Id")),
        lambda g: g.RequestStage(inv.RequestStageRequest(room_id="some-room", request_id=LONG)),
        lambda g: g.ApproveStageRequest(inv.ApproveStageRequestRequest(invitation_id=LONG)),
        lambda g: g.DeclineStageRequest(inv.DeclineStageRequestRequest(invitation_id="")),
    ],
    ids=[
        "add-bad-room", "add-long-room", "add-long-user", "remove-empty-user",
        "request-bad-room", "request-long-request-id", "approve-long-id", "decline-empty-id",
    ],
)  # fmt: skip
async def test_bad_input_is_invalid_argument(gateway, make):
    call = make(_WithAuth(gateway, unique("caller")))
    await expect_error(call, INVALID, "INVALID_FIELD")


async def test_watch_room_invitations_refuses_a_malformed_room_id(gateway):
    call = gateway.WatchRoomInvitations(
        inv.WatchRoomInvitationsRequest(room_id="Bad Id"), **auth(unique("host"))
    )
    try:
        await expect_error(call.read(), INVALID, "INVALID_FIELD")
    finally:
        call.cancel()


class _WithAuth:
    """The gateway stub, calling as one user."""

    def __init__(self, gateway, user: str) -> None:
        self._gateway = gateway
        self._user = user

    def __getattr__(self, name: str):
        rpc = getattr(self._gateway, name)
        return lambda request: rpc(request, **auth(self._user))


async def test_thirty_approvals_and_accepts_at_once_for_three_free_seats_seat_exactly_three(
    gateway,
):
    host, mods = unique("host"), [unique("mod"), unique("mod")]
    seated = [unique("co") for _ in range(5)]  # 8 seats: 3 free
    room = await new_room(gateway, host, *mods, co_host_user_ids=seated)
    viewers = [unique("viewer") for _ in range(15)]
    guests = [unique("guest") for _ in range(15)]
    requests = await asyncio.gather(
        *(
            gateway.RequestStage(inv.RequestStageRequest(room_id=room.room_id), **auth(v))
            for v in viewers
        )
    )
    invitations = await asyncio.gather(
        *(
            gateway.CreateInvitation(
                inv.CreateInvitationRequest(room_id=room.room_id, user_id=g), **auth(host)
            )
            for g in guests
        )
    )
    answerers = [host, *mods]
    calls = [
        gateway.ApproveStageRequest(
            inv.ApproveStageRequestRequest(invitation_id=r.invitation_id),
            **auth(answerers[i % 3]),
        )
        for i, r in enumerate(requests)
    ] + [
        gateway.AcceptInvitation(
            inv.AcceptInvitationRequest(invitation_id=i.invitation_id), **auth(i.user_id)
        )
        for i in invitations
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    winners = {r.user_id for r in results if isinstance(r, invitation_pb2.Invitation)}
    refused = [r for r in results if not isinstance(r, invitation_pb2.Invitation)]
    assert len(winners) == 3
    assert {(e.code(), reason_of(e)) for e in refused} == {
        (grpc.StatusCode.FAILED_PRECONDITION, "SEAT_LIMIT_REACHED")
    }
    assert len(refused) == 27
    got = await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(host))
    co_hosts = {p.user_id for p in got.participants if p.role == room_pb2.PARTICIPANT_ROLE_CO_HOST}
    assert co_hosts == set(seated) | winners

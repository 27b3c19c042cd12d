"""Every rule of the spec's "who" columns, one test per rule, through the gateway: who may
and who may not, with the code and reason the others get."""

import asyncio
import contextlib
from dataclasses import dataclass

import grpc
import jwt
import pytest
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_pb2
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.invitation.v1 import invitation_pb2
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.post.v1 import post_pb2
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import field_mask_pb2

from tests.e2e.flow import auth, expect_error
from tests.support import unique

DENIED = grpc.StatusCode.PERMISSION_DENIED
OK = None


@dataclass
class Scene:
    """A room with a host, a co-host, a moderator, an invitee with a pending invitation, a
    banned user, an outsider and an admin; the host has posted the room."""

    gateway: object
    room_id: str
    post_id: str
    invitation_id: str
    host: str
    co_host: str
    invitee: str
    banned: str
    outsider: str
    admin: str
    moderator: str

    def user(self, who: str) -> str:
        return getattr(self, who)

    def opts(self, who: str) -> dict:
        return auth(self.admin, "admin") if who == "admin" else auth(self.user(who))


@pytest.fixture
async def scene(gateway) -> Scene:
    host, co_host, invitee, banned = unique("host"), unique("co"), unique("inv"), unique("ban")
    room = await gateway.CreateRoom(
        rs.CreateRoomRequest(title="permissions", co_host_user_ids=[co_host]), **auth(host)
    )
    post = await gateway.CreateRoomPost(
        ps.CreateRoomPostRequest(room_id=room.room_id, text="watch this"), **auth(host)
    )
    invitation = await gateway.CreateInvitation(
        inv.CreateInvitationRequest(room_id=room.room_id, user_id=invitee), **auth(host)
    )
    await gateway.BanUser(rs.BanUserRequest(room_id=room.room_id, user_id=banned), **auth(host))
    moderator = unique("mod")
    await gateway.AddModerator(
        rs.AddModeratorRequest(room_id=room.room_id, user_id=moderator), **auth(host)
    )
    return Scene(
        gateway, room.room_id, post.post_id, invitation.invitation_id,
        host, co_host, invitee, banned, unique("out"), unique("admin"), moderator,
    )  # fmt: skip


async def check(call, outcome, took_effect) -> None:
    """`outcome` is OK, or (code, reason); `took_effect(reply)` says whether the call did what
    it is for (reply is None when refused): it must have exactly when it was allowed."""
    reply = None
    if outcome is OK:
        reply = await call
    else:
        await expect_error(call, *outcome)
    assert await took_effect(reply) == (outcome is OK)


async def room_of(scene: Scene) -> room_pb2.Room:
    """The room as an admin sees it (deleted ones too)."""
    return await scene.gateway.GetRoom(
        rs.GetRoomRequest(room_id=scene.room_id), **auth(scene.admin, "admin")
    )


async def on_stage(scene: Scene) -> set[str]:
    return {p.user_id for p in (await room_of(scene)).participants}


async def banned_users(scene: Scene) -> set[str]:
    reply = await scene.gateway.ListBannedUsers(
        rs.ListBannedUsersRequest(room_id=scene.room_id), **auth(scene.host)
    )
    return {b.user_id for b in reply.bans}


async def invitation_status(scene: Scene) -> int:
    invitation = await scene.gateway.GetInvitation(
        inv.GetInvitationRequest(invitation_id=scene.invitation_id), **auth(scene.host)
    )
    return invitation.status


def token_identity(token: str) -> str:
    """The LiveKit identity a credential was minted for."""
    return jwt.decode(token, options={"verify_signature": False})["sub"]


NOT_HOST = (DENIED, "NOT_ROOM_HOST")
NOT_MODERATOR = (DENIED, "NOT_ROOM_MODERATOR")
ADMIN_ONLY = (DENIED, "ADMIN_ONLY")
NOT_AUTHOR = (DENIED, "NOT_POST_AUTHOR")
NOT_INVITEE = (DENIED, "NOT_INVITEE")


# --- RoomService -------------------------------------------------------------------------------


async def test_create_room_any_user_and_the_creator_becomes_host(gateway):
    user = unique("anyone")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="mine"), **auth(user))
    assert room.host_user_id == user
    assert [(p.user_id, p.role) for p in room.participants] == [
        (user, room_pb2.PARTICIPANT_ROLE_HOST)
    ]


@pytest.mark.parametrize("who", ["host", "co_host", "outsider", "banned"])
async def test_get_room_any_user(scene, who):
    room = await scene.gateway.GetRoom(rs.GetRoomRequest(room_id=scene.room_id), **scene.opts(who))
    assert room.room_id == scene.room_id


@pytest.mark.parametrize("who", ["host", "outsider"])
async def test_batch_get_rooms_any_user(scene, who):
    reply = await scene.gateway.BatchGetRooms(
        rs.BatchGetRoomsRequest(room_ids=[scene.room_id, "missing-room"]), **scene.opts(who)
    )
    assert [r.room_id for r in reply.rooms] == [scene.room_id]


@pytest.mark.parametrize(
    ("who", "include_deleted", "outcome"),
    [
        ("outsider", False, OK),
        ("host", False, OK),
        ("admin", True, OK),
        ("outsider", True, ADMIN_ONLY),
        ("host", True, ADMIN_ONLY),
    ],
)
async def test_list_rooms_any_user_include_deleted_admin_only(scene, who, include_deleted, outcome):
    request = rs.ListRoomsRequest(host_user_id=scene.host, include_deleted=include_deleted)

    async def listed(reply) -> bool:
        return reply is not None and [r.room_id for r in reply.rooms] == [scene.room_id]

    await check(scene.gateway.ListRooms(request, **scene.opts(who)), outcome, listed)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("admin", OK), ("co_host", NOT_HOST), ("outsider", NOT_HOST),
     ("moderator", NOT_HOST)],
)  # fmt: skip
async def test_update_room_host_or_admin(scene, who, outcome):
    request = rs.UpdateRoomRequest(
        room=room_pb2.Room(room_id=scene.room_id, title="renamed"),
        update_mask=field_mask_pb2.FieldMask(paths=["title"]),
    )

    async def renamed(_) -> bool:
        return (await room_of(scene)).title == "renamed"

    await check(scene.gateway.UpdateRoom(request, **scene.opts(who)), outcome, renamed)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("admin", OK), ("co_host", NOT_HOST), ("outsider", NOT_HOST),
     ("moderator", NOT_HOST)],
)  # fmt: skip
async def test_delete_room_host_or_admin(scene, who, outcome):
    request = rs.DeleteRoomRequest(room_id=scene.room_id)

    async def deleted(_) -> bool:
        return (await room_of(scene)).deleted

    await check(scene.gateway.DeleteRoom(request, **scene.opts(who)), outcome, deleted)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("co_host", NOT_HOST), ("outsider", NOT_HOST), ("admin", NOT_HOST),
     ("moderator", NOT_HOST)],
)  # fmt: skip
async def test_stop_room_host_only(scene, who, outcome):
    request = rs.StopRoomRequest(room_id=scene.room_id)

    async def stopped(_) -> bool:
        room = await room_of(scene)
        return room.end_reason == room_pb2.END_REASON_STOPPED_BY_HOST

    await check(scene.gateway.StopRoom(request, **scene.opts(who)), outcome, stopped)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("admin", OK), ("host", ADMIN_ONLY), ("outsider", ADMIN_ONLY), ("moderator", ADMIN_ONLY)],
)
async def test_dismiss_room_admin_only(scene, who, outcome):
    request = rs.DismissRoomRequest(room_id=scene.room_id, reason="spam")

    async def dismissed(_) -> bool:
        return (await room_of(scene)).end_reason == room_pb2.END_REASON_DISMISSED

    await check(scene.gateway.DismissRoom(request, **scene.opts(who)), outcome, dismissed)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("moderator", OK), ("co_host", NOT_MODERATOR),
     ("outsider", NOT_MODERATOR), ("admin", NOT_MODERATOR)],
)  # fmt: skip
async def test_remove_participant_host_or_moderator(scene, who, outcome):
    request = rs.RemoveParticipantRequest(room_id=scene.room_id, user_id=scene.co_host)

    async def removed(_) -> bool:
        return scene.co_host not in await on_stage(scene)

    await check(scene.gateway.RemoveParticipant(request, **scene.opts(who)), outcome, removed)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        ("co_host", OK),
        ("outsider", (DENIED, "NOT_ON_STAGE")),
        ("host", (grpc.StatusCode.FAILED_PRECONDITION, "HOST_CANNOT_LEAVE")),
    ],
)
async def test_leave_room_co_host_only(scene, who, outcome):
    request = rs.LeaveRoomRequest(room_id=scene.room_id)
    before = await on_stage(scene)

    async def left(_) -> bool:
        return await on_stage(scene) == before - {scene.user(who)} != before

    await check(scene.gateway.LeaveRoom(request, **scene.opts(who)), outcome, left)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("admin", OK), ("moderator", OK), ("co_host", NOT_MODERATOR),
     ("outsider", NOT_MODERATOR)],
)  # fmt: skip
async def test_ban_user_host_moderator_or_admin(scene, who, outcome):
    troll = unique("troll")
    request = rs.BanUserRequest(room_id=scene.room_id, user_id=troll)

    async def banned(_) -> bool:
        return troll in await banned_users(scene)

    await check(scene.gateway.BanUser(request, **scene.opts(who)), outcome, banned)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("admin", OK), ("moderator", OK), ("co_host", NOT_MODERATOR),
     ("outsider", NOT_MODERATOR)],
)  # fmt: skip
async def test_unban_user_host_moderator_or_admin(scene, who, outcome):
    request = rs.UnbanUserRequest(room_id=scene.room_id, user_id=scene.banned)

    async def unbanned(_) -> bool:
        return scene.banned not in await banned_users(scene)

    await check(scene.gateway.UnbanUser(request, **scene.opts(who)), outcome, unbanned)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("admin", OK), ("moderator", OK), ("co_host", NOT_MODERATOR),
     ("outsider", NOT_MODERATOR)],
)  # fmt: skip
async def test_list_banned_users_host_moderator_or_admin(scene, who, outcome):
    request = rs.ListBannedUsersRequest(room_id=scene.room_id)

    async def listed(reply) -> bool:
        return reply is not None and [b.user_id for b in reply.bans] == [scene.banned]

    await check(scene.gateway.ListBannedUsers(request, **scene.opts(who)), outcome, listed)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("moderator", OK), ("co_host", NOT_MODERATOR), ("admin", NOT_MODERATOR),
     ("outsider", NOT_MODERATOR), ("banned", NOT_MODERATOR)],
)  # fmt: skip
async def test_mute_participant_host_or_moderator(scene, who, outcome):
    request = rs.MuteParticipantRequest(room_id=scene.room_id, user_id=scene.co_host, muted=True)

    async def muted(reply) -> bool:
        return reply is not None and reply.room_id == scene.room_id

    await check(scene.gateway.MuteParticipant(request, **scene.opts(who)), outcome, muted)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("moderator", OK), ("admin", OK), ("co_host", NOT_MODERATOR),
     ("outsider", NOT_MODERATOR), ("banned", NOT_MODERATOR)],
)  # fmt: skip
async def test_list_viewers_host_moderator_or_admin(scene, who, outcome):
    request = rs.ListViewersRequest(room_id=scene.room_id)

    async def listed(reply) -> bool:
        return reply is not None and list(reply.viewers) == []  # nobody is connected

    await check(scene.gateway.ListViewers(request, **scene.opts(who)), outcome, listed)


async def test_mute_participant_and_list_viewers_refuse_bad_input(scene):
    bad_mute = rs.MuteParticipantRequest(room_id="Not An Id", user_id="", sources=[0])
    await expect_error(
        scene.gateway.MuteParticipant(bad_mute, **scene.opts("host")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )
    bad_list = rs.ListViewersRequest(room_id=scene.room_id, page_token="forged")
    await expect_error(
        scene.gateway.ListViewers(bad_list, **scene.opts("host")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )


@pytest.mark.parametrize("who", ["outsider", "banned"])
async def test_watch_room_any_user(scene, who):
    call = scene.gateway.WatchRoom(rs.WatchRoomRequest(room_id=scene.room_id), **scene.opts(who))
    try:
        event = await call.read()
        assert event.kind == room_pb2.ROOM_EVENT_KIND_SNAPSHOT
        assert event.room.room_id == scene.room_id
    finally:
        call.cancel()


# --- PostService -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("co_host", NOT_HOST), ("outsider", NOT_HOST), ("admin", NOT_HOST)],
)
async def test_create_room_post_room_host_only(scene, who, outcome):
    request = ps.CreateRoomPostRequest(room_id=scene.room_id, text="again")

    async def posted(_) -> bool:
        reply = await scene.gateway.ListPostsByRoom(
            ps.ListPostsByRoomRequest(room_ids=[scene.room_id]), **auth(scene.host)
        )
        return [p.text for p in reply.posts] == ["again", "watch this"]

    await check(scene.gateway.CreateRoomPost(request, **scene.opts(who)), outcome, posted)


@pytest.mark.parametrize("who", ["outsider", "banned"])
async def test_get_post_any_user(scene, who):
    post = await scene.gateway.GetPost(ps.GetPostRequest(post_id=scene.post_id), **scene.opts(who))
    assert post.creator_id == scene.host


async def test_list_posts_any_user_reads_anyones_feed(scene):
    feed = await scene.gateway.ListPosts(
        ps.ListPostsRequest(target_type=post_pb2.TARGET_TYPE_USER, target_id=scene.host),
        **scene.opts("outsider"),
    )
    assert [p.post_id for p in feed.posts] == [scene.post_id]


async def test_list_posts_by_room_any_user(scene):
    reply = await scene.gateway.ListPostsByRoom(
        ps.ListPostsByRoomRequest(room_ids=[scene.room_id]), **scene.opts("outsider")
    )
    assert [p.post_id for p in reply.posts] == [scene.post_id]


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("co_host", NOT_AUTHOR), ("outsider", NOT_AUTHOR), ("admin", NOT_AUTHOR)],
)
async def test_update_post_author_only(scene, who, outcome):
    request = ps.UpdatePostRequest(
        post=post_pb2.Post(post_id=scene.post_id, text="edited"),
        update_mask=field_mask_pb2.FieldMask(paths=["text"]),
    )

    async def edited(_) -> bool:
        post = await scene.gateway.GetPost(
            ps.GetPostRequest(post_id=scene.post_id), **auth(scene.host)
        )
        return post.text == "edited"

    await check(scene.gateway.UpdatePost(request, **scene.opts(who)), outcome, edited)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("admin", OK), ("co_host", NOT_AUTHOR), ("outsider", NOT_AUTHOR)],
)
async def test_delete_post_author_or_admin(scene, who, outcome):
    request = ps.DeletePostRequest(post_id=scene.post_id)

    async def deleted(_) -> bool:
        post = await scene.gateway.GetPost(
            ps.GetPostRequest(post_id=scene.post_id), **auth(scene.admin, "admin")
        )
        return post.deleted

    await check(scene.gateway.DeletePost(request, **scene.opts(who)), outcome, deleted)


# --- InvitationService -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("co_host", NOT_HOST), ("outsider", NOT_HOST), ("admin", NOT_HOST),
     ("moderator", NOT_HOST)],
)  # fmt: skip
async def test_create_invitation_room_host_only(scene, who, outcome):
    guest = unique("guest")
    request = inv.CreateInvitationRequest(room_id=scene.room_id, user_id=guest)

    async def invited(_) -> bool:
        reply = await scene.gateway.ListMyInvitations(inv.ListMyInvitationsRequest(), **auth(guest))
        return [i.room_id for i in reply.invitations] == [scene.room_id]

    await check(scene.gateway.CreateInvitation(request, **scene.opts(who)), outcome, invited)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("invitee", OK), ("moderator", OK), ("co_host", NOT_INVITEE),
     ("outsider", NOT_INVITEE)],
)  # fmt: skip
async def test_get_invitation_inviter_invitee_or_moderator(scene, who, outcome):
    request = inv.GetInvitationRequest(invitation_id=scene.invitation_id)

    async def read(reply) -> bool:
        return reply is not None and reply.invitation_id == scene.invitation_id

    await check(scene.gateway.GetInvitation(request, **scene.opts(who)), outcome, read)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("moderator", OK), ("co_host", NOT_MODERATOR), ("invitee", NOT_MODERATOR),
     ("outsider", NOT_MODERATOR)],
)  # fmt: skip
async def test_list_room_invitations_room_host_or_moderator(scene, who, outcome):
    request = inv.ListRoomInvitationsRequest(room_id=scene.room_id)

    async def listed(reply) -> bool:
        return reply is not None and [i.invitation_id for i in reply.invitations] == [
            scene.invitation_id
        ]

    await check(scene.gateway.ListRoomInvitations(request, **scene.opts(who)), outcome, listed)


@pytest.mark.parametrize(("who", "sees_it"), [("invitee", True), ("outsider", False)])
async def test_list_my_invitations_the_caller_as_invitee(scene, who, sees_it):
    reply = await scene.gateway.ListMyInvitations(inv.ListMyInvitationsRequest(), **scene.opts(who))
    ids = {i.invitation_id for i in reply.invitations}
    assert (scene.invitation_id in ids) == sees_it
    assert all(i.user_id == scene.user(who) for i in reply.invitations)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        ("invitee", OK),
        ("host", (grpc.StatusCode.NOT_FOUND, "INVITATION_NOT_FOUND")),
        ("outsider", (grpc.StatusCode.NOT_FOUND, "INVITATION_NOT_FOUND")),
    ],
)
async def test_get_my_room_invitation_the_invitee(scene, who, outcome):
    request = inv.GetMyRoomInvitationRequest(room_id=scene.room_id)

    async def read(reply) -> bool:
        return reply is not None and reply.invitation_id == scene.invitation_id

    await check(scene.gateway.GetMyRoomInvitation(request, **scene.opts(who)), outcome, read)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("invitee", OK), ("host", NOT_INVITEE), ("outsider", NOT_INVITEE), ("admin", NOT_INVITEE)],
)
async def test_accept_invitation_invitee_only(scene, who, outcome):
    request = inv.AcceptInvitationRequest(invitation_id=scene.invitation_id)

    async def seated(_) -> bool:
        accepted = await invitation_status(scene) == invitation_pb2.INVITATION_STATUS_ACCEPTED
        return accepted and scene.invitee in await on_stage(scene)

    await check(scene.gateway.AcceptInvitation(request, **scene.opts(who)), outcome, seated)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("invitee", OK), ("host", NOT_INVITEE), ("outsider", NOT_INVITEE), ("admin", NOT_INVITEE)],
)
async def test_reject_invitation_invitee_only(scene, who, outcome):
    request = inv.RejectInvitationRequest(invitation_id=scene.invitation_id)

    async def rejected(_) -> bool:
        return await invitation_status(scene) == invitation_pb2.INVITATION_STATUS_REJECTED

    await check(scene.gateway.RejectInvitation(request, **scene.opts(who)), outcome, rejected)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("invitee", NOT_HOST), ("co_host", NOT_HOST), ("outsider", NOT_HOST),
     ("moderator", NOT_HOST)],
)  # fmt: skip
async def test_cancel_invitation_inviter_or_host(scene, who, outcome):
    request = inv.CancelInvitationRequest(invitation_id=scene.invitation_id)

    async def cancelled(_) -> bool:
        return await invitation_status(scene) == invitation_pb2.INVITATION_STATUS_CANCELLED

    await check(scene.gateway.CancelInvitation(request, **scene.opts(who)), outcome, cancelled)


async def test_watch_my_invitations_streams_only_the_callers(scene):
    gateway = scene.gateway
    guest = unique("guest")
    mine = gateway.WatchMyInvitations(inv.WatchMyInvitationsRequest(), **scene.opts("outsider"))
    theirs = gateway.WatchMyInvitations(inv.WatchMyInvitationsRequest(), **auth(guest))
    try:
        # Initial metadata arrives once each stream is subscribed.
        await asyncio.gather(mine.initial_metadata(), theirs.initial_metadata())
        created = await gateway.CreateInvitation(
            inv.CreateInvitationRequest(room_id=scene.room_id, user_id=guest), **auth(scene.host)
        )
        event = await asyncio.wait_for(theirs.read(), 5)
        assert event.invitation.invitation_id == created.invitation_id
        assert event.invitation.status == invitation_pb2.INVITATION_STATUS_PENDING
        nothing = asyncio.ensure_future(mine.read())
        done, _ = await asyncio.wait({nothing}, timeout=1)
        assert not done, "another user's invitation reached the outsider's stream"
    finally:
        mine.cancel()
        theirs.cancel()
    with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
        await nothing


# --- BroadcastService --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        ("host", OK),
        ("co_host", OK),
        ("invitee", (DENIED, "NOT_ON_STAGE")),
        ("outsider", (DENIED, "NOT_ON_STAGE")),
        ("banned", (DENIED, "USER_BANNED")),
    ],
)
async def test_get_broadcast_data_host_or_co_host(scene, who, outcome):
    request = bs.GetBroadcastDataRequest(room_id=scene.room_id)

    async def credentials(reply) -> bool:
        return reply is not None and token_identity(reply.co_hosts.co_host_token) == scene.user(who)

    await check(scene.gateway.GetBroadcastData(request, **scene.opts(who)), outcome, credentials)


@pytest.mark.parametrize("who", ["host", "co_host"])
async def test_get_broadcast_data_refused_once_the_room_ended(scene, who):
    await scene.gateway.StopRoom(rs.StopRoomRequest(room_id=scene.room_id), **auth(scene.host))
    request = bs.GetBroadcastDataRequest(room_id=scene.room_id)
    await expect_error(
        scene.gateway.GetBroadcastData(request, **scene.opts(who)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ROOM_ENDED",
    )


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("outsider", OK), ("host", OK), ("invitee", OK), ("banned", (DENIED, "USER_BANNED"))],
)
async def test_get_viewer_data_any_user_not_banned(scene, who, outcome):
    request = bs.GetViewerDataRequest(room_id=scene.room_id)

    async def credentials(reply) -> bool:
        return reply is not None and token_identity(reply.viewer_token) == scene.user(who)

    await check(scene.gateway.GetViewerData(request, **scene.opts(who)), outcome, credentials)


# --- Moderators and stage requests ------------------------------------------------------------

FAILED = grpc.StatusCode.FAILED_PRECONDITION


async def moderators(scene: Scene) -> list[str]:
    return list((await room_of(scene)).moderator_user_ids)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("moderator", NOT_HOST), ("co_host", NOT_HOST), ("outsider", NOT_HOST),
     ("admin", NOT_HOST), ("banned", NOT_HOST)],
)  # fmt: skip
async def test_add_moderator_host_only(scene, who, outcome):
    named = unique("mod")
    request = rs.AddModeratorRequest(room_id=scene.room_id, user_id=named)

    async def added(_) -> bool:
        return named in await moderators(scene)

    await check(scene.gateway.AddModerator(request, **scene.opts(who)), outcome, added)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("moderator", NOT_HOST), ("co_host", NOT_HOST), ("outsider", NOT_HOST),
     ("admin", NOT_HOST)],
)  # fmt: skip
async def test_remove_moderator_host_only(scene, who, outcome):
    request = rs.RemoveModeratorRequest(room_id=scene.room_id, user_id=scene.moderator)

    async def removed(_) -> bool:
        return scene.moderator not in await moderators(scene)

    await check(scene.gateway.RemoveModerator(request, **scene.opts(who)), outcome, removed)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        ("outsider", OK),
        ("moderator", OK),
        ("banned", (DENIED, "USER_BANNED")),
        ("co_host", (FAILED, "ALREADY_ON_STAGE")),
        ("host", (FAILED, "ALREADY_ON_STAGE")),
        ("invitee", (grpc.StatusCode.ALREADY_EXISTS, "INVITATION_PENDING")),
    ],
)
async def test_request_stage_any_user_not_banned_not_on_stage_without_a_pending_one(
    scene, who, outcome
):
    request = inv.RequestStageRequest(room_id=scene.room_id)

    async def requested(_) -> bool:
        reply = await scene.gateway.ListRoomInvitations(
            inv.ListRoomInvitationsRequest(
                room_id=scene.room_id, types=[invitation_pb2.INVITATION_TYPE_STAGE_REQUEST]
            ),
            **auth(scene.host),
        )
        return [i.user_id for i in reply.invitations] == [scene.user(who)]

    await check(scene.gateway.RequestStage(request, **scene.opts(who)), outcome, requested)


async def stage_request(scene: Scene) -> invitation_pb2.Invitation:
    """The outsider asks to go on stage."""
    return await scene.gateway.RequestStage(
        inv.RequestStageRequest(room_id=scene.room_id), **auth(scene.outsider)
    )


ANSWERERS = [
    ("host", OK), ("moderator", OK), ("outsider", NOT_MODERATOR), ("co_host", NOT_MODERATOR),
    ("invitee", NOT_MODERATOR), ("banned", NOT_MODERATOR), ("admin", NOT_MODERATOR),
]  # fmt: skip


@pytest.mark.parametrize(("who", "outcome"), ANSWERERS)
async def test_approve_stage_request_host_or_moderator(scene, who, outcome):
    request = await stage_request(scene)
    call = scene.gateway.ApproveStageRequest(
        inv.ApproveStageRequestRequest(invitation_id=request.invitation_id), **scene.opts(who)
    )

    async def seated(_) -> bool:
        return scene.outsider in await on_stage(scene)

    await check(call, outcome, seated)


@pytest.mark.parametrize(("who", "outcome"), ANSWERERS)
async def test_decline_stage_request_host_or_moderator(scene, who, outcome):
    request = await stage_request(scene)
    call = scene.gateway.DeclineStageRequest(
        inv.DeclineStageRequestRequest(invitation_id=request.invitation_id), **scene.opts(who)
    )

    async def declined(_) -> bool:
        got = await scene.gateway.GetInvitation(
            inv.GetInvitationRequest(invitation_id=request.invitation_id), **auth(scene.outsider)
        )
        return got.status == invitation_pb2.INVITATION_STATUS_REJECTED

    await check(call, outcome, declined)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("outsider", OK), ("host", OK), ("moderator", NOT_HOST), ("co_host", NOT_HOST),
     ("invitee", NOT_HOST)],
)  # fmt: skip
async def test_cancel_stage_request_requester_or_host(scene, who, outcome):
    request = await stage_request(scene)
    call = scene.gateway.CancelInvitation(
        inv.CancelInvitationRequest(invitation_id=request.invitation_id), **scene.opts(who)
    )

    async def cancelled(_) -> bool:
        got = await scene.gateway.GetInvitation(
            inv.GetInvitationRequest(invitation_id=request.invitation_id), **auth(scene.outsider)
        )
        return got.status == invitation_pb2.INVITATION_STATUS_CANCELLED

    await check(call, outcome, cancelled)


@pytest.mark.parametrize(
    ("who", "outcome"),
    [("host", OK), ("moderator", OK), ("co_host", NOT_MODERATOR), ("outsider", NOT_MODERATOR),
     ("banned", NOT_MODERATOR), ("admin", NOT_MODERATOR)],
)  # fmt: skip
async def test_watch_room_invitations_host_or_moderator(scene, who, outcome):
    call = scene.gateway.WatchRoomInvitations(
        inv.WatchRoomInvitationsRequest(room_id=scene.room_id), **scene.opts(who)
    )
    try:
        if outcome is not OK:
            await expect_error(call.read(), *outcome)
            return
        await call.initial_metadata()  # subscribed
        request = await stage_request(scene)
        event = await asyncio.wait_for(call.read(), timeout=5)
        assert event.kind == invitation_pb2.INVITATION_EVENT_KIND_CREATED
        assert event.invitation.invitation_id == request.invitation_id
    finally:
        call.cancel()


# --- Gateway aggregates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "role", "has_invitation"),
    [
        ("host", "ROOM_ROLE_HOST", False),
        ("co_host", "ROOM_ROLE_CO_HOST", False),
        ("invitee", "ROOM_ROLE_VIEWER", True),
        ("outsider", "ROOM_ROLE_VIEWER", False),
    ],
)
async def test_get_room_view_any_user_sees_their_role_and_invitation(
    scene, who, role, has_invitation
):
    view = await scene.gateway.GetRoomView(
        gw.GetRoomViewRequest(room_id=scene.room_id), **scene.opts(who)
    )
    assert view.room.room_id == scene.room_id
    assert view.post.post_id == scene.post_id
    assert view.my_role == gateway_pb2.RoomRole.Value(role)
    assert view.HasField("my_invitation") == has_invitation
    if has_invitation:
        assert view.my_invitation.invitation_id == scene.invitation_id


@pytest.mark.parametrize(("who", "roles"), [("outsider", []), ("admin", ["admin"])])
async def test_who_am_i_any_user(scene, who, roles):
    me = await scene.gateway.WhoAmI(gw.WhoAmIRequest(), **scene.opts(who))
    assert (me.user_id, list(me.roles)) == (scene.user(who), roles)

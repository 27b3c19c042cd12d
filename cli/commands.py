"""The commands: one function per `costream` command, (args, gateway, out) -> None."""

import argparse
from collections.abc import Callable
from typing import Any

from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_pb2
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.invitation.v1 import invitation_pb2
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.post.v1 import post_pb2
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from cli.gateway import Gateway, jwt_secret
from cli.rendering import (
    INVITATION_COLUMNS,
    ROOM_COLUMNS,
    VIEWER_COLUMNS,
    Output,
    credentials_text,
    enum_name,
    fields,
    invitation_status,
    invitation_text,
    post_text,
    posts_table,
    room_text,
    stream_settings_text,
    table,
    with_next,
)
from services.common.auth import ADMIN_ROLE, mint_user_token

STATUSES = {
    enum_name(v, room_pb2.RoomStatus, "ROOM_STATUS_"): v
    for v in room_pb2.RoomStatus.values()
    if v != room_pb2.ROOM_STATUS_UNSPECIFIED
}
# What `costream mute --source` accepts: LiveKit's source names.
TRACK_SOURCES = {
    enum_name(v, room_pb2.TrackSource, "TRACK_SOURCE_"): v
    for v in room_pb2.TrackSource.values()
    if v != room_pb2.TRACK_SOURCE_UNSPECIFIED
}
INVITATION_STATUSES = {
    enum_name(v, invitation_pb2.InvitationStatus, "INVITATION_STATUS_"): v
    for v in invitation_pb2.InvitationStatus.values()
    if v != invitation_pb2.INVITATION_STATUS_UNSPECIFIED
}


def cmd_token(args: argparse.Namespace, _gw: Gateway, out: Output) -> None:
    roles = [ADMIN_ROLE] if args.admin else []
    print(mint_user_token(jwt_secret(), args.user_id, roles, ttl=args.ttl))


def cmd_whoami(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    me = gateway.WhoAmI(gw.WhoAmIRequest())
    out.show(me, lambda: fields([("user", me.user_id), ("roles", ", ".join(me.roles) or "-")]))


def cmd_rooms_create(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    room_type = room_pb2.ROOM_TYPE_DIRECT_STREAMING if args.direct else room_pb2.ROOM_TYPE_CO_HOSTS
    room = gateway.CreateRoom(
        rs.CreateRoomRequest(
            room_id=args.room_id,
            title=args.title,
            description=args.description,
            live_chat_enabled=args.chat,
            co_host_user_ids=args.co_host,
            request_id=args.request_id,
            auto_record=args.record,
            type=room_type,
        )
    )
    out.show(room, lambda: room_text(room))
    if args.direct:
        # The encoder settings at once: what OBS needs to go live.
        data = gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room.room_id))
        out.show(data, lambda: "\n" + stream_settings_text(data.direct_streaming))


def cmd_rooms_reset_key(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    data = gateway.ResetStreamKey(bs.ResetStreamKeyRequest(room_id=args.room))
    out.show(data, lambda: stream_settings_text(data.direct_streaming))


def cmd_rooms_get(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    view = gateway.GetRoomView(gw.GetRoomViewRequest(room_id=args.room))

    def text() -> str:
        parts = [
            room_text(view.room),
            fields([("my role", enum_name(view.my_role, gateway_pb2.RoomRole, "ROOM_ROLE_"))]),
        ]
        if view.HasField("post"):
            parts.append(fields([("post", f"{view.post.post_id}: {view.post.text[:60]}")]))
        if view.HasField("my_invitation"):
            parts.append(
                fields(
                    [
                        (
                            "my invitation",
                            f"{view.my_invitation.invitation_id} "
                            f"({invitation_status(view.my_invitation)})",
                        )
                    ]
                )
            )
        return "\n".join(parts)

    out.show(view, text)


def cmd_rooms_list(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    page = gateway.ListRooms(
        rs.ListRoomsRequest(
            statuses=[STATUSES[s] for s in args.status],
            host_user_id=args.host,
            include_deleted=args.deleted,
            page_size=args.page_size,
            page_token=args.page_token,
        )
    )
    out.show(page, lambda: with_next(table(page.rooms, ROOM_COLUMNS), page.next_page_token))


def cmd_rooms_stop(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    room = gateway.StopRoom(rs.StopRoomRequest(room_id=args.room))
    out.show(room, lambda: room_text(room))


def cmd_rooms_delete(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    reply = gateway.DeleteRoom(rs.DeleteRoomRequest(room_id=args.room))
    out.show(reply, lambda: f"deleted {args.room}")


def cmd_rooms_dismiss(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    room = gateway.DismissRoom(rs.DismissRoomRequest(room_id=args.room, reason=args.reason))
    out.show(room, lambda: room_text(room))


def _post_request(args: argparse.Namespace) -> ps.CreateRoomPostRequest:
    target = post_pb2.TARGET_TYPE_COMMUNITY if args.community else post_pb2.TARGET_TYPE_USER
    return ps.CreateRoomPostRequest(
        room_id=args.room or "",
        text=args.text,
        title=args.post_title,
        target_type=target,
        target_id=args.community or "",
        hashtags=args.hashtag,
    )


def cmd_posts_create(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    if args.room:
        post = gateway.CreateRoomPost(_post_request(args))
        out.show(post, lambda: post_text(post))
        return
    reply = gateway.CreateLiveRoomPost(
        gw.CreateLiveRoomPostRequest(
            room=rs.CreateRoomRequest(
                title=args.title or args.text[:80],
                live_chat_enabled=args.chat,
                request_id=args.request_id,
            ),
            post=_post_request(args),
        )
    )
    out.show(reply, lambda: room_text(reply.room) + "\n" + post_text(reply.post))


def cmd_posts_feed(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    if args.live:
        live = gateway.ListLiveRoomPosts(
            gw.ListLiveRoomPostsRequest(page_size=args.page_size, page_token=args.page_token)
        )
        rooms = {item.room.room_id: item.room for item in live.items}
        out.show(
            live,
            lambda: with_next(
                posts_table([item.post for item in live.items], rooms), live.next_page_token
            ),
        )
        return
    target = post_pb2.TARGET_TYPE_COMMUNITY if args.community else post_pb2.TARGET_TYPE_USER
    page = gateway.ListPosts(
        ps.ListPostsRequest(
            target_type=target,
            target_id=args.community or args.user_feed or "",
            page_size=args.page_size,
            page_token=args.page_token,
        )
    )
    rooms: dict[str, room_pb2.Room] = {}
    room_ids = list(dict.fromkeys(p.room_id for p in page.posts))
    if room_ids and not out.as_json:
        found = gateway.BatchGetRooms(rs.BatchGetRoomsRequest(room_ids=room_ids))
        rooms = {r.room_id: r for r in found.rooms}
    out.show(page, lambda: with_next(posts_table(page.posts, rooms), page.next_page_token))


def cmd_invite(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    invitation = gateway.CreateInvitation(
        inv.CreateInvitationRequest(room_id=args.room, user_id=args.user_id)
    )
    out.show(invitation, lambda: invitation_text(invitation))


def cmd_invitations_list(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    statuses = [INVITATION_STATUSES[s] for s in args.status]
    if args.room:
        page = gateway.ListRoomInvitations(
            inv.ListRoomInvitationsRequest(
                room_id=args.room,
                statuses=statuses,
                page_size=args.page_size,
                page_token=args.page_token,
            )
        )
    else:
        page = gateway.ListMyInvitations(
            inv.ListMyInvitationsRequest(
                statuses=statuses, page_size=args.page_size, page_token=args.page_token
            )
        )
    out.show(
        page, lambda: with_next(table(page.invitations, INVITATION_COLUMNS), page.next_page_token)
    )


def cmd_stage_request(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    request = gateway.RequestStage(
        inv.RequestStageRequest(room_id=args.room, request_id=args.request_id)
    )
    out.show(request, lambda: invitation_text(request))


def cmd_mute(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    room = gateway.MuteParticipant(
        rs.MuteParticipantRequest(
            room_id=args.room,
            user_id=args.user_id,
            sources=[TRACK_SOURCES[s] for s in args.source],
            muted=not args.unmute,
        )
    )
    out.show(room, lambda: room_text(room))


def cmd_viewers(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    page = gateway.ListViewers(
        rs.ListViewersRequest(
            room_id=args.room, page_size=args.page_size, page_token=args.page_token
        )
    )
    out.show(page, lambda: with_next(table(page.viewers, VIEWER_COLUMNS), page.next_page_token))


def moderator_verb(rpc: str, request_type: Any) -> Callable[..., None]:
    def run(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
        room = getattr(gateway, rpc)(request_type(room_id=args.room, user_id=args.user_id))
        out.show(room, lambda: room_text(room))

    return run


def room_verb(rpc: str, request_type: Any) -> Callable[..., None]:
    def run(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
        room = getattr(gateway, rpc)(request_type(room_id=args.room))
        out.show(room, lambda: room_text(room))

    return run


def invitation_verb(rpc: str, request_type: Any) -> Callable[..., None]:
    def run(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
        invitation = getattr(gateway, rpc)(request_type(invitation_id=args.invitation_id))
        out.show(invitation, lambda: invitation_text(invitation))

    return run


def cmd_broadcast_data(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    data = gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=args.room))
    if data.HasField("direct_streaming"):
        out.show(data, lambda: stream_settings_text(data.direct_streaming))
        return
    c = data.co_hosts
    out.show(data, lambda: credentials_text(c.co_host_token, c.co_host_url, c.expire_time))


def cmd_viewer_data(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    data = gateway.GetViewerData(bs.GetViewerDataRequest(room_id=args.room))
    out.show(data, lambda: credentials_text(data.viewer_token, data.viewer_url, data.expire_time))

"""`costream`: the command-line client of the gateway (the only address it dials).

    costream token alice                       # a development token (dev secret)
    costream --user alice rooms create "Friday jam"
    costream --user bob invitations list
    costream demo                              # the whole main flow against `make run`

The gateway is COSTREAM_GATEWAY or --gateway (127.0.0.1:50051). The token is --token, or one
minted for --user with AUTH_JWT_SECRET (the development secret by default), or
COSTREAM_TOKEN. Errors print their code, reason and message, and exit with status 1.
"""

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_pb2
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.gateway.v1 import gateway_service_pb2_grpc as gw_grpc
from costream.invitation.v1 import invitation_pb2
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.post.v1 import post_pb2
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import json_format, message
from google.rpc import error_details_pb2, status_pb2

from services.common.auth import ADMIN_ROLE, mint_user_token
from services.common.config import DEV_AUTH_JWT_SECRET, LOCAL_LIVEKIT_URL
from tools.livekit_emulator.client import EmulatorClient, EmulatorError

DEFAULT_GATEWAY = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 10.0
DEMO_WAIT_SECONDS = 20.0


class CliError(Exception):
    """A failure to report in one line and exit 1."""


# --- Talking to the gateway -------------------------------------------------------------------


class Gateway:
    """GatewayService stub with the caller's token and a deadline on every call."""

    def __init__(self, address: str, token: str | None, timeout: float) -> None:
        self._channel = grpc.insecure_channel(address)
        self._stub = gw_grpc.GatewayServiceStub(self._channel)
        self._token = token
        self._timeout = timeout

    def as_user(self, token: str) -> "Gateway":
        other = Gateway.__new__(Gateway)
        other._channel, other._stub = self._channel, self._stub
        other._token, other._timeout = token, self._timeout
        return other

    def __getattr__(self, rpc: str) -> Callable[[message.Message], Any]:
        method = getattr(self._stub, rpc)
        token, timeout = self._token, self._timeout

        def call(request: message.Message) -> Any:
            if not token:
                raise CliError(
                    "no token: pass --user NAME (development) or --token, or set COSTREAM_TOKEN"
                )
            return method(request, timeout=timeout, metadata=[("authorization", f"Bearer {token}")])

        return call


def describe_rpc_error(error: grpc.RpcError) -> str:
    """`CODE REASON: message`, and the bad fields of an INVALID_ARGUMENT."""
    code = error.code().name  # type: ignore[attr-defined]
    text = error.details() or ""  # type: ignore[attr-defined]
    reason, fields = "", []
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    reason = info.reason
                elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    fields = [f"{v.field}: {v.description}" for v in bad.field_violations]
    if fields:  # the message only repeats them
        return "\n".join([f"{code} {reason}:", *(f"  {f}" for f in fields)])
    return f"{code} {reason}: {text}" if reason else f"{code}: {text}"


# --- Printing ---------------------------------------------------------------------------------


def _enum(value: int, enum: Any, prefix: str) -> str:
    try:
        return enum.Name(value).removeprefix(prefix).lower()
    except ValueError:
        return str(value)


def room_status(room: room_pb2.Room) -> str:
    return _enum(room.status, room_pb2.RoomStatus, "ROOM_STATUS_")


def _time(ts: Any) -> str:
    return ts.ToDatetime().strftime("%Y-%m-%d %H:%M:%S") if ts.seconds else ""


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return "(none)"
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in pairs if v not in ("", None))


def room_text(room: room_pb2.Room) -> str:
    co_hosts = [p.user_id for p in room.participants if p.role == room_pb2.PARTICIPANT_ROLE_CO_HOST]
    connected = [p.user_id for p in room.participants if p.connected]
    playbacks = [f"{p.url} ({p.duration.seconds} s)" for p in room.recorded_playbacks]
    return fields(
        [
            ("room", room.room_id),
            ("title", room.title),
            ("status", room_status(room) + (" (deleted)" if room.deleted else "")),
            ("host", room.host_user_id),
            ("co-hosts", ", ".join(co_hosts) or "-"),
            ("connected", ", ".join(connected)),
            (
                "viewers",
                f"{room.stats.viewer_count} now, {room.stats.peak_viewer_count} at peak"
                if room.stats.peak_viewer_count
                else "",
            ),
            ("chat", room.live_channel_id),
            (
                "end reason",
                _enum(room.end_reason, room_pb2.EndReason, "END_REASON_")
                if room.end_reason
                else "",
            ),
            ("recordings", ", ".join(playbacks)),
            ("created", _time(room.create_time)),
            ("live since", _time(room.live_time)),
            ("ended", _time(room.end_time)),
        ]
    )


def rooms_table(rooms: Sequence[room_pb2.Room]) -> str:
    rows = [
        [r.room_id, room_status(r), r.host_user_id, str(len(r.participants)), r.title[:40]]
        for r in rooms
    ]
    return table(["ROOM", "STATUS", "HOST", "ON STAGE", "TITLE"], rows)


def post_text(post: post_pb2.Post) -> str:
    return fields(
        [
            ("post", post.post_id),
            ("room", post.room_id),
            ("by", post.creator_id),
            (
                "in",
                f"{_enum(post.target_type, post_pb2.TargetType, 'TARGET_TYPE_')} {post.target_id}",
            ),
            ("title", post.title),
            ("text", post.text),
            ("hashtags", " ".join(f"#{h}" for h in post.hashtags)),
            ("created", _time(post.create_time)),
        ]
    )


def posts_table(posts: Sequence[post_pb2.Post], rooms: dict[str, room_pb2.Room]) -> str:
    rows = []
    for p in posts:
        room = rooms.get(p.room_id)
        rows.append(
            [p.post_id, p.room_id, room_status(room) if room else "", p.creator_id, p.text[:40]]
        )
    return table(["POST", "ROOM", "STATUS", "BY", "TEXT"], rows)


def invitation_status(invitation: invitation_pb2.Invitation) -> str:
    return _enum(invitation.status, invitation_pb2.InvitationStatus, "INVITATION_STATUS_")


def invitations_table(invitations: Sequence[invitation_pb2.Invitation]) -> str:
    rows = [
        [i.invitation_id, i.room_id, i.user_id, i.inviter_user_id, invitation_status(i)]
        for i in invitations
    ]
    return table(["INVITATION", "ROOM", "INVITEE", "INVITER", "STATUS"], rows)


def invitation_text(i: invitation_pb2.Invitation) -> str:
    return fields(
        [
            ("invitation", i.invitation_id),
            ("room", i.room_id),
            ("invitee", i.user_id),
            ("inviter", i.inviter_user_id),
            ("status", invitation_status(i)),
            ("expires", _time(i.expire_time)),
        ]
    )


def credentials_text(token: str, url: str, expire_time: Any) -> str:
    return fields([("url", url), ("token", token), ("expires", _time(expire_time) + " UTC")])


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def show(self, reply: message.Message, text: Callable[[], str]) -> None:
        if self.as_json:
            data = json_format.MessageToDict(reply, preserving_proto_field_name=True)
            print(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            print(text())


# --- Commands ---------------------------------------------------------------------------------

STATUSES = {
    _enum(v, room_pb2.RoomStatus, "ROOM_STATUS_"): v
    for v in room_pb2.RoomStatus.values()
    if v != room_pb2.ROOM_STATUS_UNSPECIFIED
}
INVITATION_STATUSES = {
    _enum(v, invitation_pb2.InvitationStatus, "INVITATION_STATUS_"): v
    for v in invitation_pb2.InvitationStatus.values()
    if v != invitation_pb2.INVITATION_STATUS_UNSPECIFIED
}


def cmd_token(args: argparse.Namespace, _gw: Gateway, out: Output) -> None:
    roles = [ADMIN_ROLE] if args.admin else []
    print(mint_user_token(_secret(), args.user_id, roles, ttl=args.ttl))


def cmd_whoami(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    me = gateway.WhoAmI(gw.WhoAmIRequest())
    out.show(me, lambda: fields([("user", me.user_id), ("roles", ", ".join(me.roles) or "-")]))


def cmd_rooms_create(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    room = gateway.CreateRoom(
        rs.CreateRoomRequest(
            room_id=args.room_id,
            title=args.title,
            description=args.description,
            live_chat_enabled=args.chat,
            co_host_user_ids=args.co_host,
            request_id=args.request_id,
        )
    )
    out.show(room, lambda: room_text(room))


def cmd_rooms_get(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    view = gateway.GetRoomView(gw.GetRoomViewRequest(room_id=args.room))

    def text() -> str:
        parts = [
            room_text(view.room),
            fields([("my role", _enum(view.my_role, gateway_pb2.RoomRole, "ROOM_ROLE_"))]),
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
    out.show(page, lambda: _with_next(rooms_table(page.rooms), page.next_page_token))


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
            lambda: _with_next(
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
    out.show(page, lambda: _with_next(posts_table(page.posts, rooms), page.next_page_token))


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
    out.show(page, lambda: _with_next(invitations_table(page.invitations), page.next_page_token))


def _invitation_verb(rpc: str, request_type: Any) -> Callable[..., None]:
    def run(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
        invitation = getattr(gateway, rpc)(request_type(invitation_id=args.invitation_id))
        out.show(invitation, lambda: invitation_text(invitation))

    return run


def cmd_broadcast_data(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    data = gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=args.room))
    c = data.co_hosts
    out.show(data, lambda: credentials_text(c.co_host_token, c.co_host_url, c.expire_time))


def cmd_viewer_data(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    data = gateway.GetViewerData(bs.GetViewerDataRequest(room_id=args.room))
    out.show(data, lambda: credentials_text(data.viewer_token, data.viewer_url, data.expire_time))


def _with_next(text: str, next_page_token: str) -> str:
    return text + (f"\n(more: --page-token {next_page_token})" if next_page_token else "")


# --- The demo ---------------------------------------------------------------------------------


def run_demo(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    secret = _secret()
    run = uuid.uuid4().hex[:6]
    host, bob, carol, dave, viewer = "alice", "bob", "carol", "dave", "erin"
    as_user = {
        u: gateway.as_user(mint_user_token(secret, u)) for u in (host, bob, carol, dave, viewer)
    }
    emulator = EmulatorClient(args.emulator)
    step = _Steps()

    step(f"{host} creates a live room and shares it in her feed (CreateLiveRoomPost)")
    created = as_user[host].CreateLiveRoomPost(
        gw.CreateLiveRoomPostRequest(
            room=rs.CreateRoomRequest(
                title="Friday night jam",
                description="Three friends, one stage",
                live_chat_enabled=True,
                request_id=f"demo-{run}",
            ),
            post=ps.CreateRoomPostRequest(
                text="Going live in five minutes, come and watch!",
                title="Friday night jam",
                target_type=post_pb2.TARGET_TYPE_USER,
                hashtags=["jam", "live"],
            ),
        )
    )
    room_id = created.room.room_id
    print(room_text(created.room))
    print(post_text(created.post))
    feed = as_user[viewer].ListPosts(
        ps.ListPostsRequest(target_type=post_pb2.TARGET_TYPE_USER, target_id=host, page_size=3)
    )
    shared = as_user[viewer].BatchGetRooms(
        rs.BatchGetRoomsRequest(room_ids=list(dict.fromkeys(p.room_id for p in feed.posts)))
    )
    print(f"\n{host}'s feed, as {viewer} sees it:")
    print(posts_table(feed.posts, {r.room_id: r for r in shared.rooms}))

    invitations = {}
    for invitee in (bob, carol, dave):
        step(f"{host} invites {invitee}")
        invitations[invitee] = as_user[host].CreateInvitation(
            inv.CreateInvitationRequest(
                room_id=room_id, user_id=invitee, request_id=f"{run}-{invitee}"
            )
        )
        print(invitation_text(invitations[invitee]))

    step(f"{bob} accepts, {carol} rejects, {host} cancels {dave}'s invitation")
    accepted = as_user[bob].AcceptInvitation(
        inv.AcceptInvitationRequest(invitation_id=invitations[bob].invitation_id)
    )
    rejected = as_user[carol].RejectInvitation(
        inv.RejectInvitationRequest(invitation_id=invitations[carol].invitation_id)
    )
    cancelled = as_user[host].CancelInvitation(
        inv.CancelInvitationRequest(invitation_id=invitations[dave].invitation_id)
    )
    print(invitations_table([accepted, rejected, cancelled]))
    room = as_user[host].GetRoom(rs.GetRoomRequest(room_id=room_id))
    print(fields([("on stage", ", ".join(p.user_id for p in room.participants))]))

    step(f"{host} and {bob} get broadcast credentials, {viewer} gets viewer credentials")
    for user in (host, bob):
        data = as_user[user].GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room_id))
        print(f"{user}: {data.co_hosts.co_host_url} token {data.co_hosts.co_host_token[:24]}...")
    watch = as_user[viewer].GetViewerData(bs.GetViewerDataRequest(room_id=room_id))
    print(f"{viewer}: {watch.viewer_url} token {watch.viewer_token[:24]}...")

    def wait_for(status: int, what: str) -> room_pb2.Room:
        return _wait_status(as_user[viewer], room_id, status, what, args.wait)

    step(f"{host} connects to LiveKit: the room goes live")
    emulator.post(
        "participants/join", {"room": room_id, "identity": host, "attributes": {"role": "host"}}
    )
    wait_for(room_pb2.ROOM_STATUS_LIVE, "live")
    emulator.post(
        "participants/join", {"room": room_id, "identity": bob, "attributes": {"role": "co_host"}}
    )
    emulator.post(
        "participants/join",
        {
            "room": room_id,
            "identity": viewer,
            "attributes": {"role": "viewer"},
            "permission": {"can_subscribe": True, "can_publish": False},
        },
    )
    print(f"{bob} and {viewer} joined too")

    step(f"{host}'s connection drops: the room waits for her to reconnect")
    emulator.post(
        "participants/leave",
        {"room": room_id, "identity": host, "aborted": True, "reason": "CONNECTION_TIMEOUT"},
    )
    wait_for(room_pb2.ROOM_STATUS_WAITING_RECONNECT, "waiting_reconnect")
    step(f"{host} is back: the room is live again")
    emulator.post(
        "participants/join", {"room": room_id, "identity": host, "attributes": {"role": "host"}}
    )
    wait_for(room_pb2.ROOM_STATUS_LIVE, "live")

    step(f"{host} stops the room")
    stopped = as_user[host].StopRoom(rs.StopRoomRequest(room_id=room_id))
    print(fields([("status", room_status(stopped))]))

    step("the recording is ready (LiveKit egress ended): the room is recorded")
    emulator.post(
        "egress/ended", {"room": room_id, "duration_seconds": 1800, "filename": f"{room_id}.mp4"}
    )
    recorded = wait_for(room_pb2.ROOM_STATUS_RECORDED, "recorded")
    print(room_text(recorded))
    print(f"\nDone: room {room_id} is recorded.")


class _Steps:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, title: str) -> None:
        self.n += 1
        print(f"\n== {self.n}. {title}", flush=True)


def _wait_status(
    gateway: Gateway, room_id: str, status: int, name: str, seconds: float
) -> room_pb2.Room:
    """Poll GetRoom until the room has `status`, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        room = gateway.GetRoom(rs.GetRoomRequest(room_id=room_id))
        if room.status == status:
            print(f"room is {name}", flush=True)
            return room
        if time.monotonic() > deadline:
            raise CliError(
                f"room {room_id} is still {room_status(room)} after {seconds:.0f} s "
                f"(waiting for {name})"
            )
        time.sleep(0.2)


# --- Arguments --------------------------------------------------------------------------------


def _secret() -> str:
    return os.environ.get("AUTH_JWT_SECRET") or DEV_AUTH_JWT_SECRET


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page-size", type=int, default=0)
    parser.add_argument("--page-token", default="")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="costream", description="The costream client: talks to the gateway only."
    )
    parser.add_argument(
        "--gateway",
        default=os.environ.get("COSTREAM_GATEWAY", DEFAULT_GATEWAY),
        help="gateway address (env COSTREAM_GATEWAY, default %(default)s)",
    )
    parser.add_argument("--token", help="a client JWT (env COSTREAM_TOKEN)")
    parser.add_argument(
        "--user", help="act as this user with a development token (AUTH_JWT_SECRET)"
    )
    parser.add_argument("--admin", action="store_true", help="with --user: add the admin role")
    parser.add_argument("--json", action="store_true", help="print replies as JSON")
    # --json also after the command: `costream rooms list --json`.
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per call")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    token = commands.add_parser("token", help="mint a development token")
    token.add_argument("user_id")
    token.add_argument("--admin", action="store_true", help="add the admin role")
    token.add_argument("--ttl", type=int, default=24 * 3600, help="seconds (default a day)")
    token.set_defaults(run=cmd_token, offline=True)

    commands.add_parser(
        "whoami", parents=[as_json], help="who the token says you are"
    ).set_defaults(run=cmd_whoami)

    rooms = commands.add_parser("rooms", help="create, get, list, stop rooms").add_subparsers(
        dest="rooms_command", required=True, metavar="ACTION"
    )
    create = rooms.add_parser("create", parents=[as_json], help="create a room (you are its host)")
    create.add_argument("title")
    create.add_argument("--description", default="")
    create.add_argument("--room-id", default="", help="client-chosen id")
    create.add_argument("--chat", action="store_true", help="enable live chat")
    create.add_argument("--co-host", action="append", default=[], metavar="USER")
    create.add_argument("--request-id", default="")
    create.set_defaults(run=cmd_rooms_create)
    get = rooms.add_parser("get", parents=[as_json], help="a room as you see it (GetRoomView)")
    get.add_argument("room")
    get.set_defaults(run=cmd_rooms_get)
    listing = rooms.add_parser("list", parents=[as_json], help="list rooms, newest first")
    listing.add_argument("--status", action="append", default=[], choices=sorted(STATUSES))
    listing.add_argument("--host", default="", metavar="USER")
    listing.add_argument("--deleted", action="store_true", help="include deleted (admin)")
    _paging(listing)
    listing.set_defaults(run=cmd_rooms_list)
    for verb, run, what in (
        ("stop", cmd_rooms_stop, "end your room"),
        ("delete", cmd_rooms_delete, "delete a room (host or admin)"),
        ("dismiss", cmd_rooms_dismiss, "force a room to end (admin)"),
    ):
        sub = rooms.add_parser(verb, parents=[as_json], help=what)
        sub.add_argument("room")
        if verb == "dismiss":
            sub.add_argument("--reason", default="")
        sub.set_defaults(run=run)

    posts = commands.add_parser("posts", help="create posts, read feeds").add_subparsers(
        dest="posts_command", required=True, metavar="ACTION"
    )
    pcreate = posts.add_parser(
        "create",
        parents=[as_json],
        help="share a room in a feed; without --room, create a new room with it "
        "(CreateLiveRoomPost)",
    )
    pcreate.add_argument("text")
    pcreate.add_argument("--room", help="an existing room of yours")
    pcreate.add_argument("--title", default="", help="the new room's title (default: the text)")
    pcreate.add_argument("--post-title", default="")
    pcreate.add_argument("--community", help="post in this community (default: your feed)")
    pcreate.add_argument("--hashtag", action="append", default=[])
    pcreate.add_argument("--chat", action="store_true", help="new room: enable live chat")
    pcreate.add_argument("--request-id", default="")
    pcreate.set_defaults(run=cmd_posts_create)
    feed = posts.add_parser("feed", parents=[as_json], help="a feed, newest first (default: yours)")
    which = feed.add_mutually_exclusive_group()
    which.add_argument("--user", dest="user_feed", metavar="USER", help="this user's feed")
    which.add_argument("--community")
    which.add_argument("--live", action="store_true", help="posts of rooms live now")
    _paging(feed)
    feed.set_defaults(run=cmd_posts_feed)

    invite = commands.add_parser("invite", parents=[as_json], help="invite a co-host to your room")
    invite.add_argument("room")
    invite.add_argument("user_id")
    invite.set_defaults(run=cmd_invite)

    invitations = commands.add_parser(
        "invitations", help="list and answer invitations"
    ).add_subparsers(dest="invitations_command", required=True, metavar="ACTION")
    ilist = invitations.add_parser(
        "list", parents=[as_json], help="yours (or --room: those you sent)"
    )
    ilist.add_argument("--room")
    ilist.add_argument("--status", action="append", default=[], choices=sorted(INVITATION_STATUSES))
    _paging(ilist)
    ilist.set_defaults(run=cmd_invitations_list)
    for verb, rpc, request_type in (
        ("accept", "AcceptInvitation", inv.AcceptInvitationRequest),
        ("reject", "RejectInvitation", inv.RejectInvitationRequest),
        ("cancel", "CancelInvitation", inv.CancelInvitationRequest),
    ):
        sub = invitations.add_parser(verb, parents=[as_json], help=f"{verb} an invitation")
        sub.add_argument("invitation_id")
        sub.set_defaults(run=_invitation_verb(rpc, request_type))

    bdata = commands.add_parser(
        "broadcast-data", parents=[as_json], help="LiveKit credentials to broadcast"
    )
    bdata.add_argument("room")
    bdata.set_defaults(run=cmd_broadcast_data)
    vdata = commands.add_parser(
        "viewer-data", parents=[as_json], help="LiveKit credentials to watch"
    )
    vdata.add_argument("room")
    vdata.set_defaults(run=cmd_viewer_data)

    demo = commands.add_parser(
        "demo", help="run the whole main flow against `make run`, printing each step"
    )
    demo.add_argument(
        "--emulator",
        default=os.environ.get("EMULATOR_URL", LOCAL_LIVEKIT_URL),
        help="LiveKit emulator URL (env EMULATOR_URL, default %(default)s)",
    )
    demo.add_argument(
        "--wait", type=float, default=DEMO_WAIT_SECONDS, help="seconds to wait for each status"
    )
    demo.set_defaults(run=run_demo)
    return parser


def _token(args: argparse.Namespace) -> str | None:
    if args.token:
        return args.token
    if args.user:
        return mint_user_token(_secret(), args.user, [ADMIN_ROLE] if args.admin else [])
    return os.environ.get("COSTREAM_TOKEN") or None


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    out = Output(args.json)
    gateway = Gateway(args.gateway, _token(args), args.timeout)
    try:
        args.run(args, gateway, out)
    except grpc.RpcError as error:
        print(f"costream: {describe_rpc_error(error)}", file=sys.stderr)
        if error.code() == grpc.StatusCode.UNAVAILABLE and not error.trailing_metadata():  # type: ignore[attr-defined]
            print(f"costream: is the gateway running at {args.gateway}?", file=sys.stderr)
        raise SystemExit(1) from None
    except (CliError, EmulatorError) as error:
        print(f"costream: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()

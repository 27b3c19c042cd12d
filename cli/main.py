"""`costream`: the command-line client of the gateway (the only address it dials).

    costream token alice                       # a development token (dev secret)
    costream --user alice rooms create "Friday jam"
    costream --user alice rooms create "OBS night" --direct   # prints OBS's Server, Stream Key
    costream --user bob invitations list
    costream --user erin stage request <room_id>    # ask to go on stage
    costream --user carol mute <room_id> bob --source microphone
    costream --user carol viewers <room_id>         # who watches now
    costream --user alice record start <room_id>    # record it (LiveKit Egress)
    costream demo                              # the whole main flow against `make run`

The gateway is COSTREAM_GATEWAY or --gateway (127.0.0.1:50051). The token is --token, or one
minted for --user with AUTH_JWT_SECRET (the development secret by default), or
COSTREAM_TOKEN. Errors print their code, reason and message, and exit with status 1.
"""

import argparse
import os
import sys
from collections.abc import Sequence

import grpc
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.room.v1 import room_service_pb2 as rs

from cli.commands import (
    INVITATION_STATUSES,
    STATUSES,
    TRACK_SOURCES,
    cmd_broadcast_data,
    cmd_invitations_list,
    cmd_invite,
    cmd_mute,
    cmd_posts_create,
    cmd_posts_feed,
    cmd_rooms_create,
    cmd_rooms_delete,
    cmd_rooms_dismiss,
    cmd_rooms_get,
    cmd_rooms_list,
    cmd_rooms_reset_key,
    cmd_rooms_stop,
    cmd_stage_request,
    cmd_token,
    cmd_viewer_data,
    cmd_viewers,
    cmd_whoami,
    invitation_verb,
    moderator_verb,
    room_verb,
)
from cli.demo import DEMO_WAIT_SECONDS, run_demo
from cli.gateway import (
    DEFAULT_GATEWAY,
    DEFAULT_TIMEOUT,
    CliError,
    Gateway,
    describe_rpc_error,
    jwt_secret,
)
from cli.rendering import Output
from services.common.auth import ADMIN_ROLE, mint_user_token
from services.common.config import LOCAL_LIVEKIT_URL
from tools.livekit_emulator.client import EmulatorError


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
    token.set_defaults(run=cmd_token)

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
    create.add_argument(
        "--record", action="store_true", help="record whenever the room is live (auto_record)"
    )
    create.add_argument(
        "--direct",
        action="store_true",
        help="direct streaming: you stream from OBS (prints its Server and Stream Key)",
    )
    create.set_defaults(run=cmd_rooms_create)
    reset_key = rooms.add_parser(
        "reset-key", parents=[as_json], help="a new stream key for your direct-streaming room"
    )
    reset_key.add_argument("room")
    reset_key.set_defaults(run=cmd_rooms_reset_key)
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
        sub.set_defaults(run=invitation_verb(rpc, request_type))

    stage = commands.add_parser(
        "stage", help="ask to go on stage; answer requests (host, moderators)"
    ).add_subparsers(dest="stage_command", required=True, metavar="ACTION")
    srequest = stage.add_parser("request", parents=[as_json], help="ask to go on a room's stage")
    srequest.add_argument("room")
    srequest.add_argument("--request-id", default="")
    srequest.set_defaults(run=cmd_stage_request)
    for verb, rpc, request_type in (
        ("approve", "ApproveStageRequest", inv.ApproveStageRequestRequest),
        ("decline", "DeclineStageRequest", inv.DeclineStageRequestRequest),
    ):
        sub = stage.add_parser(verb, parents=[as_json], help=f"{verb} a stage request")
        sub.add_argument("invitation_id")
        sub.set_defaults(run=invitation_verb(rpc, request_type))

    moderators = commands.add_parser(
        "moderators", help="name or withdraw your room's moderators"
    ).add_subparsers(dest="moderators_command", required=True, metavar="ACTION")
    for verb, rpc, request_type, what in (
        ("add", "AddModerator", rs.AddModeratorRequest, "name a moderator (at most 5)"),
        ("remove", "RemoveModerator", rs.RemoveModeratorRequest, "withdraw a moderator"),
    ):
        sub = moderators.add_parser(verb, parents=[as_json], help=what)
        sub.add_argument("room")
        sub.add_argument("user_id")
        sub.set_defaults(run=moderator_verb(rpc, request_type))

    mute = commands.add_parser(
        "mute", parents=[as_json], help="mute someone on stage (host, moderators)"
    )
    mute.add_argument("room")
    mute.add_argument("user_id")
    mute.add_argument(
        "--source", action="append", default=[], choices=sorted(TRACK_SOURCES),
        help="a source to mute (repeatable; default: all)",
    )  # fmt: skip
    mute.add_argument(
        "--unmute", action="store_true", help="unmute instead (only where LiveKit allows it)"
    )
    mute.set_defaults(run=cmd_mute)
    record = commands.add_parser(
        "record", help="record a live room through LiveKit Egress (host, moderators, admins)"
    ).add_subparsers(dest="verb", required=True)
    for verb, rpc, request_type, what in (
        ("start", "StartRecording", rs.StartRecordingRequest, "start recording"),
        ("stop", "StopRecording", rs.StopRecordingRequest, "stop recording"),
    ):
        sub = record.add_parser(verb, parents=[as_json], help=what)
        sub.add_argument("room")
        sub.set_defaults(run=room_verb(rpc, request_type))
    viewers = commands.add_parser(
        "viewers", parents=[as_json], help="who watches a room now (host, moderators, admins)"
    )
    viewers.add_argument("room")
    _paging(viewers)
    viewers.set_defaults(run=cmd_viewers)

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
        return mint_user_token(jwt_secret(), args.user, [ADMIN_ROLE] if args.admin else [])
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

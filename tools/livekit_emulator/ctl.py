"""Drive a running LiveKit emulator by hand.

    python -m tools.livekit_emulator.ctl join room-1 alice --name Alice --attr role=host
    python -m tools.livekit_emulator.ctl publish room-1 alice --type VIDEO --source CAMERA
    python -m tools.livekit_emulator.ctl leave room-1 alice --reason DUPLICATE_IDENTITY
    python -m tools.livekit_emulator.ctl finish room-1
    python -m tools.livekit_emulator.ctl egress-ended room-1 --duration 120
    python -m tools.livekit_emulator.ctl egress-ended --egress-id EG_x --status EGRESS_FAILED
    python -m tools.livekit_emulator.ctl egress-behaviour never_start --room room-1
    python -m tools.livekit_emulator.ctl ingress-connect --stream-key KEY
    python -m tools.livekit_emulator.ctl ingress-drop --ingress-id IN_x
    python -m tools.livekit_emulator.ctl loss 0.5 --event participant_left --seed 7
    python -m tools.livekit_emulator.ctl state

The emulator is found at --url or EMULATOR_URL (default: the emulator `make run` starts).
"""

import argparse
import json
import os
import sys
from typing import Any

from services.common.config import LOCAL_LIVEKIT_URL
from tools.livekit_emulator.client import EmulatorClient, EmulatorError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.livekit_emulator.ctl",
        description="Drive the LiveKit emulator's control API.",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("EMULATOR_URL", LOCAL_LIVEKIT_URL),
        help="emulator base URL (env EMULATOR_URL, default %(default)s)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    join = commands.add_parser("join", help="a participant joins (creates the room if missing)")
    join.add_argument("room")
    join.add_argument("identity")
    join.add_argument("--name", default="")
    join.add_argument("--metadata", default="")
    join.add_argument("--attr", action="append", default=[], metavar="KEY=VALUE")
    join.add_argument("--kind", default="STANDARD")

    leave = commands.add_parser("leave", help="a participant leaves")
    leave.add_argument("room")
    leave.add_argument("identity")
    leave.add_argument(
        "--reason",
        default="CLIENT_INITIATED",
        help="DisconnectReason, e.g. CLIENT_INITIATED, DUPLICATE_IDENTITY",
    )
    leave.add_argument(
        "--aborted",
        action="store_true",
        help="send participant_connection_aborted instead of participant_left",
    )

    publish = commands.add_parser("publish", help="a participant publishes a track")
    publish.add_argument("room")
    publish.add_argument("identity")
    publish.add_argument("--type", default="VIDEO", help="AUDIO or VIDEO")
    publish.add_argument(
        "--source", default="CAMERA", help="CAMERA, MICROPHONE, SCREEN_SHARE, SCREEN_SHARE_AUDIO"
    )
    publish.add_argument("--name", default="")

    unpublish = commands.add_parser("unpublish", help="a participant unpublishes a track")
    unpublish.add_argument("room")
    unpublish.add_argument("identity")
    unpublish.add_argument("track_sid")

    finish = commands.add_parser("finish", help="the room closes (participants leave first)")
    finish.add_argument("room")

    egress = commands.add_parser(
        "egress-ended",
        help="an egress the emulator runs ends now (--egress-id), or a bare egress_ended",
    )
    egress.add_argument("room", nargs="?", default="")
    egress.add_argument("--egress-id", default="")
    egress.add_argument("--error", default="")
    egress.add_argument("--filename", default="")
    egress.add_argument("--location", default="")
    egress.add_argument("--duration", type=float, default=None, help="seconds (bare: 60)")
    egress.add_argument("--size", type=int, default=None, help="bytes")
    egress.add_argument("--status", default="EGRESS_COMPLETE")

    behaviour = commands.add_parser(
        "egress-behaviour", help="what the next egress(es) of a room (or any room) do"
    )
    behaviour.add_argument("mode", help="complete, fail, fail_at_start or never_start")
    behaviour.add_argument("--room", default="", help="only in this room (default: any)")
    behaviour.add_argument("--error", default="", help="the error of fail / fail_at_start")
    behaviour.add_argument("--count", type=int, default=1, help="how many egresses; 0: all")

    for name, text in (
        ("ingress-connect", "an encoder connects to an ingress and publishes"),
        ("ingress-drop", "the encoder of an ingress disconnects"),
    ):
        encoder = commands.add_parser(name, help=text)
        encoder.add_argument("--stream-key", default="")
        encoder.add_argument("--ingress-id", default="")

    loss = commands.add_parser("loss", help="lose a share of webhooks on purpose (0 stops)")
    loss.add_argument("share", type=float, help="from 0 to 1")
    loss.add_argument(
        "--event", action="append", default=[], help="only this event name (repeatable)"
    )
    loss.add_argument("--room", default="", help="only in this room")
    loss.add_argument("--seed", type=int, default=None, help="repeat the same losses")

    commands.add_parser("state", help="rooms and participants, egresses, ingresses")
    commands.add_parser("calls", help="Twirp calls received (every service), per method")
    commands.add_parser("events", help="webhook events sent and their delivery")
    commands.add_parser(
        "reset", help="forget every room, egress, ingress, call, event and webhook loss"
    )
    return parser


def request_for(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None]:
    """(HTTP method, path, JSON body) of a command."""
    match args.command:
        case "join":
            attributes = dict(pair.split("=", 1) for pair in args.attr)
            return (
                "POST",
                "/emulator/participants/join",
                {
                    "room": args.room,
                    "identity": args.identity,
                    "name": args.name,
                    "metadata": args.metadata,
                    "attributes": attributes,
                    "kind": args.kind,
                },
            )
        case "leave":
            return (
                "POST",
                "/emulator/participants/leave",
                {
                    "room": args.room,
                    "identity": args.identity,
                    "reason": args.reason,
                    "aborted": args.aborted,
                },
            )
        case "publish":
            return (
                "POST",
                "/emulator/tracks/publish",
                {
                    "room": args.room,
                    "identity": args.identity,
                    "type": args.type,
                    "source": args.source,
                    "name": args.name,
                },
            )
        case "unpublish":
            return (
                "POST",
                "/emulator/tracks/unpublish",
                {
                    "room": args.room,
                    "identity": args.identity,
                    "track_sid": args.track_sid,
                },
            )
        case "finish":
            return "POST", "/emulator/rooms/finish", {"room": args.room}
        case "egress-ended":
            body = {
                "room": args.room,
                "egress_id": args.egress_id,
                "filename": args.filename,
                "location": args.location,
                "status": args.status,
                "error": args.error,
            }
            if args.duration is not None:
                body["duration_seconds"] = args.duration
            if args.size is not None:
                body["size"] = args.size
            return "POST", "/emulator/egress/ended", body
        case "egress-behaviour":
            return (
                "POST",
                "/emulator/egress/behaviour",
                {"mode": args.mode, "room": args.room, "error": args.error, "count": args.count},
            )
        case "ingress-connect" | "ingress-drop":
            path = "/emulator/ingress/" + args.command.removeprefix("ingress-")
            return "POST", path, {"stream_key": args.stream_key, "ingress_id": args.ingress_id}
        case "loss":
            return (
                "POST",
                "/emulator/webhooks/loss",
                {
                    "share": args.share,
                    "events": args.event or None,
                    "room": args.room or None,
                    "seed": args.seed,
                },
            )
        case "reset":
            return "POST", "/emulator/reset", {}
        case other:
            return "GET", f"/emulator/{other}", None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if any("=" not in pair for pair in getattr(args, "attr", [])):
        print("--attr takes KEY=VALUE", file=sys.stderr)
        return 2
    method, path, body = request_for(args)
    try:
        reply = EmulatorClient(args.url).request(method, path.removeprefix("/emulator/"), body)
    except EmulatorError as e:
        print(e, file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Replies as text for a terminal (tables and `key: value` blocks), or as JSON with --json."""

import json
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any

from costream.invitation.v1 import invitation_pb2
from costream.post.v1 import post_pb2
from costream.room.v1 import room_pb2
from google.protobuf import json_format, message

# A table column: its header and how a cell is read from a row's item.
Column = tuple[str, Callable[[Any], str]]


def enum_name(value: int, enum: Any, prefix: str) -> str:
    try:
        return enum.Name(value).removeprefix(prefix).lower()
    except ValueError:
        return str(value)


def room_status(room: room_pb2.Room) -> str:
    return enum_name(room.status, room_pb2.RoomStatus, "ROOM_STATUS_")


def invitation_status(invitation: invitation_pb2.Invitation) -> str:
    return enum_name(invitation.status, invitation_pb2.InvitationStatus, "INVITATION_STATUS_")


def _time(ts: Any) -> str:
    return ts.ToDatetime().strftime("%Y-%m-%d %H:%M:%S") if ts.seconds else ""


def table(items: Iterable[Any], columns: Sequence[Column]) -> str:
    headers = [header for header, _ in columns]
    rows = [[cell(item) for _, cell in columns] for item in items]
    if not rows:
        return "(none)"
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


ROOM_COLUMNS: Sequence[Column] = (
    ("ROOM", attrgetter("room_id")),
    ("STATUS", room_status),
    ("HOST", attrgetter("host_user_id")),
    ("ON STAGE", lambda r: str(len(r.participants))),
    ("TITLE", lambda r: r.title[:40]),
)
VIEWER_COLUMNS: Sequence[Column] = (
    ("VIEWER", attrgetter("user_id")),
    ("SINCE", lambda v: _time(v.join_time)),
)
INVITATION_COLUMNS: Sequence[Column] = (
    ("INVITATION", attrgetter("invitation_id")),
    ("ROOM", attrgetter("room_id")),
    ("INVITEE", attrgetter("user_id")),
    ("INVITER", attrgetter("inviter_user_id")),
    ("STATUS", invitation_status),
)


def posts_table(posts: Sequence[post_pb2.Post], rooms: dict[str, room_pb2.Room]) -> str:
    def status(post: post_pb2.Post) -> str:
        room = rooms.get(post.room_id)
        return room_status(room) if room else ""

    columns: Sequence[Column] = (
        ("POST", attrgetter("post_id")),
        ("ROOM", attrgetter("room_id")),
        ("STATUS", status),
        ("BY", attrgetter("creator_id")),
        ("TEXT", lambda p: p.text[:40]),
    )
    return table(posts, columns)


def with_next(text: str, next_page_token: str) -> str:
    return text + (f"\n(more: --page-token {next_page_token})" if next_page_token else "")


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in pairs if v not in ("", None))


def _recording(room: room_pb2.Room) -> str:
    status = ""
    if room.recording_status:
        status = enum_name(room.recording_status, room_pb2.RecordingStatus, "RECORDING_STATUS_")
    return " ".join(filter(None, [status, "(auto)" if room.auto_record else ""]))


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
            ("moderators", ", ".join(room.moderator_user_ids)),
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
                enum_name(room.end_reason, room_pb2.EndReason, "END_REASON_")
                if room.end_reason
                else "",
            ),
            ("recording", _recording(room)),
            ("live playback", room.live_playback_url),
            ("recordings", ", ".join(playbacks)),
            ("created", _time(room.create_time)),
            ("live since", _time(room.live_time)),
            ("ended", _time(room.end_time)),
        ]
    )


def post_text(post: post_pb2.Post) -> str:
    target = enum_name(post.target_type, post_pb2.TargetType, "TARGET_TYPE_")
    return fields(
        [
            ("post", post.post_id),
            ("room", post.room_id),
            ("by", post.creator_id),
            ("in", f"{target} {post.target_id}"),
            ("title", post.title),
            ("text", post.text),
            ("hashtags", " ".join(f"#{h}" for h in post.hashtags)),
            ("created", _time(post.create_time)),
        ]
    )


def invitation_text(i: invitation_pb2.Invitation) -> str:
    stage_request = i.type == invitation_pb2.INVITATION_TYPE_STAGE_REQUEST
    return fields(
        [
            ("stage request" if stage_request else "invitation", i.invitation_id),
            ("room", i.room_id),
            ("requester" if stage_request else "invitee", i.user_id),
            ("inviter", i.inviter_user_id),
            ("status", invitation_status(i)),
            ("answered by", i.responder_user_id),
            ("expires", _time(i.expire_time)),
        ]
    )


def credentials_text(token: str, url: str, expire_time: Any) -> str:
    return fields([("url", url), ("token", token), ("expires", _time(expire_time) + " UTC")])


def stream_settings_text(data: Any) -> str:
    """A direct-streaming room's encoder settings, as OBS names them (Settings → Stream)."""
    return fields(
        [
            ("server", data.rtmp_url),
            ("stream key", data.stream_key),
            ("WHIP URL", data.whip_url or "- (not offered)"),
        ]
    )


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def show(self, reply: message.Message, text: Callable[[], str]) -> None:
        if self.as_json:
            data = json_format.MessageToDict(reply, preserving_proto_field_name=True)
            print(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            print(text())

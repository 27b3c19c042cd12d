"""`costream demo`: the whole main flow against `make run`, step by step, to a room costream
recorded itself (auto_record: LiveKit Egress). It plays the LiveKit clients through the
emulator's control API; the emulator's egress records and finishes as LiveKit's does."""

import argparse
import time
import uuid
from collections.abc import Callable

from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.gateway.v1 import gateway_service_pb2 as gw
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.post.v1 import post_pb2
from costream.post.v1 import post_service_pb2 as ps
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from cli.gateway import CliError, Gateway, jwt_secret
from cli.rendering import (
    INVITATION_COLUMNS,
    Output,
    fields,
    invitation_text,
    post_text,
    posts_table,
    room_status,
    room_text,
    table,
)
from services.common.auth import mint_user_token
from tools.livekit_emulator.client import EmulatorClient

DEMO_WAIT_SECONDS = 20.0


def run_demo(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    secret = jwt_secret()
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
                auto_record=True,
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
    print(table([accepted, rejected, cancelled], INVITATION_COLUMNS))
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

    step(f"{host} connects to LiveKit: the room goes live and costream starts recording it")
    emulator.post(
        "participants/join", {"room": room_id, "identity": host, "attributes": {"role": "host"}}
    )
    wait_for(room_pb2.ROOM_STATUS_LIVE, "live")
    recording = _wait(
        as_user[viewer],
        room_id,
        lambda r: r.recording_status == room_pb2.RECORDING_STATUS_ACTIVE,
        "recording",
        args.wait,
    )
    print(fields([("live playback", recording.live_playback_url or "(no HLS)")]))
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

    step(f"{host} stops the room: its recording stops; once LiveKit finished it, it is recorded")
    stopped = as_user[host].StopRoom(rs.StopRoomRequest(room_id=room_id))
    print(fields([("status", room_status(stopped))]))
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
    return _wait(gateway, room_id, lambda room: room.status == status, name, seconds)


def _wait(
    gateway: Gateway,
    room_id: str,
    done: Callable[[room_pb2.Room], bool],
    name: str,
    seconds: float,
) -> room_pb2.Room:
    """Poll GetRoom until `done(room)`, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        room = gateway.GetRoom(rs.GetRoomRequest(room_id=room_id))
        if done(room):
            print(f"room is {name}", flush=True)
            return room
        if time.monotonic() > deadline:
            raise CliError(
                f"room {room_id} is still {room_status(room)} after {seconds:.0f} s "
                f"(waiting for {name})"
            )
        time.sleep(0.2)

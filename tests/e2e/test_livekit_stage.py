"""LiveKit follows the stage, through the gateway against the LiveKit emulator: a viewer
approved on stage becomes a co-host in the same LiveKit session, a muted co-host's track is
muted, a co-host taken off stage keeps watching with a viewer's permissions, a banned one is
put out, ListViewers agrees with the counts, and the LiveKit room's metadata shows the room."""

import asyncio
import json
import time
from typing import Any

import grpc
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.invitation.v1 import invitation_service_pb2 as inv
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import field_mask_pb2

from tests.e2e.flow import auth, expect_error
from tests.support import unique, webhooks_applied

PUBLISHER = {"can_subscribe": True, "can_publish": True, "can_publish_data": True}
VIEWER = {"can_subscribe": True, "can_publish": False}
CO_HOST_SOURCES = ["CAMERA", "MICROPHONE"]


async def livekit_room(emulator, room_id: str) -> dict[str, Any] | None:
    for room in (await emulator.state()).get("rooms", []):
        if room["room"]["name"] == room_id:
            return room
    return None


async def participant(emulator, room_id: str, identity: str) -> dict[str, Any] | None:
    room = await livekit_room(emulator, room_id)
    found = [p for p in (room or {}).get("participants", []) if p["identity"] == identity]
    return found[0] if found else None


async def eventually(check, seconds: float = 15.0) -> Any:
    """Poll `check` until it returns something truthy, within a bounded wait."""
    deadline = time.monotonic() + seconds
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds} s")
        await asyncio.sleep(0.05)


async def settled(emulator, database: str) -> None:
    """Every webhook LiveKit sent so far has reached the room."""
    await emulator.drain()
    await webhooks_applied(database)


async def live_room(gateway, emulator, host: str, *moderators: str, **fields) -> str:
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="Stage", **fields), **auth(host))
    for moderator in moderators:
        await gateway.AddModerator(
            rs.AddModeratorRequest(room_id=room.room_id, user_id=moderator), **auth(host)
        )
    await gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room.room_id), **auth(host))
    await emulator.join(room.room_id, host, permission=PUBLISHER, attributes={"role": "host"})
    return room.room_id


async def test_an_approved_viewer_becomes_a_co_host_in_the_same_livekit_session(
    gateway, emulator, e2e_database
):
    host, mod, vic = unique("host"), unique("mod"), unique("vic")
    room_id = await live_room(gateway, emulator, host, mod)
    await gateway.GetViewerData(bs.GetViewerDataRequest(room_id=room_id), **auth(vic))
    await emulator.join(room_id, vic, permission=VIEWER, attributes={"role": "viewer"})
    await settled(emulator, e2e_database)
    before = await participant(emulator, room_id, vic)
    viewers = await gateway.ListViewers(rs.ListViewersRequest(room_id=room_id), **auth(mod))
    assert [v.user_id for v in viewers.viewers] == [vic]

    request = await gateway.RequestStage(inv.RequestStageRequest(room_id=room_id), **auth(vic))
    await gateway.ApproveStageRequest(
        inv.ApproveStageRequestRequest(invitation_id=request.invitation_id), **auth(mod)
    )

    async def promoted() -> dict[str, Any] | None:
        now = await participant(emulator, room_id, vic)
        return now if now and now["attributes"].get("role") == "co_host" else None

    after = await eventually(promoted)
    assert after["sid"] == before["sid"]  # the same session: no reconnect
    assert after["permission"]["can_publish"] is True
    assert after["permission"]["can_publish_sources"] == CO_HOST_SOURCES
    # No longer a viewer, in the list and in the counts.
    viewers = await gateway.ListViewers(rs.ListViewersRequest(room_id=room_id), **auth(mod))
    room = await gateway.GetRoom(rs.GetRoomRequest(room_id=room_id), **auth(vic))
    assert list(viewers.viewers) == [] and room.stats.viewer_count == 0
    # The new co-host may publish from this session (the emulator refuses sources not allowed).
    await emulator.post("tracks/publish", room=room_id, identity=vic, source="CAMERA")


async def test_a_muted_co_hosts_track_is_muted_in_livekit_and_a_remote_unmute_is_refused(
    gateway, emulator, e2e_database
):
    host, mod, cole = unique("host"), unique("mod"), unique("cole")
    room_id = await live_room(gateway, emulator, host, mod, co_host_user_ids=[cole])
    await emulator.join(room_id, cole, permission=PUBLISHER, attributes={"role": "co_host"})
    camera = await emulator.post("tracks/publish", room=room_id, identity=cole, source="CAMERA")
    mic = await emulator.post(
        "tracks/publish", room=room_id, identity=cole, type="AUDIO", source="MICROPHONE"
    )
    await settled(emulator, e2e_database)

    room = await gateway.MuteParticipant(
        rs.MuteParticipantRequest(
            room_id=room_id, user_id=cole, sources=[room_pb2.TRACK_SOURCE_MICROPHONE], muted=True
        ),
        **auth(mod),
    )
    assert room.room_id == room_id

    async def mic_muted() -> dict[str, bool] | None:
        now = await participant(emulator, room_id, cole)
        tracks = {t["sid"]: t.get("muted", False) for t in (now or {}).get("tracks", [])}
        return tracks if tracks.get(mic["track"]["sid"]) else None

    tracks = await eventually(mic_muted)
    assert tracks == {mic["track"]["sid"]: True, camera["track"]["sid"]: False}
    await expect_error(
        gateway.MuteParticipant(
            rs.MuteParticipantRequest(room_id=room_id, user_id=cole, muted=False), **auth(host)
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "REMOTE_UNMUTE_DISABLED",
    )


async def test_a_removed_co_host_keeps_watching_with_viewer_permissions_a_banned_one_is_out(
    gateway, emulator, e2e_database
):
    host, cole, dora = unique("host"), unique("cole"), unique("dora")
    room_id = await live_room(gateway, emulator, host, co_host_user_ids=[cole, dora])
    for co_host in (cole, dora):
        await emulator.join(room_id, co_host, permission=PUBLISHER, attributes={"role": "co_host"})
        await emulator.post("tracks/publish", room=room_id, identity=co_host, source="CAMERA")
    await settled(emulator, e2e_database)
    before = await participant(emulator, room_id, cole)

    await gateway.RemoveParticipant(
        rs.RemoveParticipantRequest(room_id=room_id, user_id=cole), **auth(host)
    )
    await gateway.BanUser(rs.BanUserRequest(room_id=room_id, user_id=dora), **auth(host))

    async def demoted() -> dict[str, Any] | None:
        now = await participant(emulator, room_id, cole)
        return now if now and now["attributes"].get("role") == "viewer" else None

    after = await eventually(demoted)
    assert after["sid"] == before["sid"]  # still connected, the same session
    assert after["permission"].get("can_publish", False) is False
    assert after.get("tracks", []) == []  # LiveKit unpublished the camera
    await eventually(lambda: _absent(emulator, room_id, dora))
    # He watches now: listed among the viewers, counted as one.
    await settled(emulator, e2e_database)
    viewers = await gateway.ListViewers(rs.ListViewersRequest(room_id=room_id), **auth(host))
    room = await gateway.GetRoom(rs.GetRoomRequest(room_id=room_id), **auth(host))
    assert [v.user_id for v in viewers.viewers] == [cole]
    assert room.stats.viewer_count == 1
    assert await participant(emulator, room_id, cole) is not None  # not put out since


async def _absent(emulator, room_id: str, identity: str) -> bool:
    return await participant(emulator, room_id, identity) is None


async def test_list_viewers_matches_the_viewer_count_page_by_page(gateway, emulator, e2e_database):
    host = unique("host")
    room_id = await live_room(gateway, emulator, host)
    viewers = [unique(f"v{i}") for i in range(7)]
    for viewer in viewers:
        await emulator.join(room_id, viewer, permission=VIEWER)
    await emulator.leave(room_id, viewers[2])
    await settled(emulator, e2e_database)

    listed, token = [], ""
    while True:
        page = await gateway.ListViewers(
            rs.ListViewersRequest(room_id=room_id, page_size=2, page_token=token), **auth(host)
        )
        listed += [v.user_id for v in page.viewers]
        token = page.next_page_token
        if not token:
            break
    room = await gateway.GetRoom(rs.GetRoomRequest(room_id=room_id), **auth(host))
    assert sorted(listed) == sorted(v for v in viewers if v != viewers[2])
    assert len(listed) == room.stats.viewer_count == 6


async def test_livekit_room_metadata_shows_the_new_title_within_a_second(
    gateway, emulator, e2e_database
):
    host = unique("host")
    room_id = await live_room(gateway, emulator, host)
    await settled(emulator, e2e_database)  # live
    await gateway.UpdateRoom(
        rs.UpdateRoomRequest(
            room=room_pb2.Room(room_id=room_id, title="Friday jam"),
            update_mask=field_mask_pb2.FieldMask(paths=["title"]),
        ),
        **auth(host),
    )

    async def mirrored() -> dict[str, Any] | None:
        room = await livekit_room(emulator, room_id)
        metadata = json.loads(room["room"].get("metadata") or "{}") if room else {}
        return metadata if metadata.get("title") == "Friday jam" else None

    metadata = await eventually(mirrored, seconds=1.0)
    assert metadata["room_id"] == room_id and metadata["host_user_id"] == host
    # The host's join made the room live, and that shows too.
    assert metadata["status"] == "live"

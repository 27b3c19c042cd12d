"""Recording through LiveKit Egress, through the gateway against the emulator's Egress API (the
stack runs with RECORDING_HLS=true and EGRESS_START_TIMEOUT=3): an auto_record room going live
gets exactly one RoomComposite egress with the configured outputs, StartRecording twice starts
one, stopping the room stops it and makes the room recorded with that playback, an egress that
never starts fails after the timeout (auto_record tries once more), and a LiveKit outage while
starting or stopping delays the call without losing it."""

import contextlib
from collections.abc import AsyncIterator

import grpc
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from tests.e2e.flow import auth, expect_error, wait_status
from tests.e2e.test_livekit_stage import PUBLISHER, eventually
from tests.e2e.test_livekit_stage import live_room as joined_room
from tests.support import unique

PLAYBACK = "http://127.0.0.1:7880/recordings"


async def live_room(gateway, emulator, host: str, *moderators: str, **fields) -> str:
    """A room whose host joined LiveKit, once the room service saw it live."""
    room_id = await joined_room(gateway, emulator, host, *moderators, **fields)
    await wait_status(gateway, room_id, room_pb2.ROOM_STATUS_LIVE, host)
    return room_id


async def egresses(emulator, room_id: str) -> list[dict]:
    state = await emulator.state()
    return [e for e in state.get("egresses", []) if e.get("room_name") == room_id]


def status(egress: dict) -> str:
    """An egress's status as the emulator lists it (the zero value, STARTING, is left out)."""
    return egress.get("status", "EGRESS_STARTING")


async def room(gateway, room_id: str, user: str) -> room_pb2.Room:
    return await gateway.GetRoom(rs.GetRoomRequest(room_id=room_id), **auth(user))


async def recording_is(gateway, room_id: str, user: str, status: int, seconds: float = 15):
    async def check():
        r = await room(gateway, room_id, user)
        return r if r.recording_status == status else None

    return await eventually(check, seconds)


async def test_an_auto_record_room_going_live_is_recorded_once_with_the_configured_outputs(
    gateway, emulator
):
    host = unique("host")
    room_id = await live_room(gateway, emulator, host, auto_record=True)
    active = await recording_is(gateway, room_id, host, room_pb2.RECORDING_STATUS_ACTIVE)
    assert active.auto_record
    assert active.live_playback_url == f"{PLAYBACK}/{room_id}/1/live.m3u8"
    [egress] = await egresses(emulator, room_id)
    request = egress["room_composite"]
    assert request["layout"] == "grid"
    assert [f["filepath"] for f in request["file_outputs"]] == [f"recordings/{room_id}/1.mp4"]
    [segments] = request["segment_outputs"]
    assert segments["live_playlist_name"] == f"recordings/{room_id}/1/live.m3u8"

    stopped = await gateway.StopRoom(rs.StopRoomRequest(room_id=room_id), **auth(host))
    assert stopped.recording_status == room_pb2.RECORDING_STATUS_STOPPING

    async def recorded():
        r = await room(gateway, room_id, host)
        return r if r.status == room_pb2.ROOM_STATUS_RECORDED else None

    done = await eventually(recorded)
    [playback] = done.recorded_playbacks
    assert playback.url == f"{PLAYBACK}/{room_id}/1.mp4"
    assert playback.duration.seconds + playback.duration.nanos > 0
    assert done.recording_status == room_pb2.RECORDING_STATUS_UNSPECIFIED
    assert done.live_playback_url == ""
    assert [status(e) for e in await egresses(emulator, room_id)] == ["EGRESS_COMPLETE"]


async def test_start_recording_twice_starts_one_egress_and_stop_recording_stops_it(
    gateway, emulator
):
    host, mod, co = unique("host"), unique("mod"), unique("co")
    room_id = await live_room(gateway, emulator, host, mod)
    first = await gateway.StartRecording(rs.StartRecordingRequest(room_id=room_id), **auth(mod))
    again = await gateway.StartRecording(rs.StartRecordingRequest(room_id=room_id), **auth(host))
    assert first.recording_status == room_pb2.RECORDING_STATUS_STARTING
    assert again.recording_status in (
        room_pb2.RECORDING_STATUS_STARTING,
        room_pb2.RECORDING_STATUS_ACTIVE,
    )
    await recording_is(gateway, room_id, host, room_pb2.RECORDING_STATUS_ACTIVE)
    await gateway.StartRecording(rs.StartRecordingRequest(room_id=room_id), **auth(host))
    assert len(await egresses(emulator, room_id)) == 1

    await expect_error(
        gateway.StopRecording(rs.StopRecordingRequest(room_id=room_id), **auth(co)),
        grpc.StatusCode.PERMISSION_DENIED,
        "NOT_ROOM_MODERATOR",
    )
    stopping = await gateway.StopRecording(rs.StopRecordingRequest(room_id=room_id), **auth(mod))
    assert stopping.recording_status == room_pb2.RECORDING_STATUS_STOPPING
    done = await recording_is(gateway, room_id, host, room_pb2.RECORDING_STATUS_UNSPECIFIED)
    # A recording of a room that goes on: recorded once the room ends.
    assert [p.url for p in done.recorded_playbacks] == [f"{PLAYBACK}/{room_id}/1.mp4"]
    assert done.status == room_pb2.ROOM_STATUS_LIVE
    await expect_error(
        gateway.StopRecording(rs.StopRecordingRequest(room_id=room_id), **auth(host)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "RECORDING_NOT_ACTIVE",
    )
    ended = await gateway.StopRoom(rs.StopRoomRequest(room_id=room_id), **auth(host))
    assert ended.status == room_pb2.ROOM_STATUS_RECORDED


async def test_an_idle_room_is_not_recorded(gateway, emulator):
    host = unique("host")
    created = await gateway.CreateRoom(rs.CreateRoomRequest(title="Idle"), **auth(host))
    await expect_error(
        gateway.StartRecording(rs.StartRecordingRequest(room_id=created.room_id), **auth(host)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ROOM_NOT_LIVE",
    )
    assert await egresses(emulator, created.room_id) == []


async def test_an_egress_that_never_starts_fails_after_the_timeout_and_is_retried_once(
    gateway, emulator
):
    host = unique("host")
    room = await gateway.CreateRoom(rs.CreateRoomRequest(title="Stuck"), **auth(host))
    room_id = room.room_id
    await emulator.post("egress/behaviour", mode="never_start", room=room_id, count=2)
    await gateway.UpdateRoom(
        rs.UpdateRoomRequest(
            room=room_pb2.Room(room_id=room_id, auto_record=True),
            update_mask={"paths": ["auto_record"]},
        ),
        **auth(host),
    )
    await live_room_of(gateway, emulator, host, room_id)
    await wait_status(gateway, room_id, room_pb2.ROOM_STATUS_LIVE, host)
    failed = await recording_is(gateway, room_id, host, room_pb2.RECORDING_STATUS_FAILED, 30)
    assert failed.status == room_pb2.ROOM_STATUS_LIVE

    async def both_aborted():
        found = await egresses(emulator, room_id)
        return found if [status(e) for e in found] == ["EGRESS_ABORTED"] * 2 else None

    found = await eventually(both_aborted)
    paths = [e["room_composite"]["file_outputs"][0]["filepath"] for e in found]
    assert sorted(paths) == [f"recordings/{room_id}/1.mp4", f"recordings/{room_id}/2.mp4"]


async def live_room_of(gateway, emulator, host: str, room_id: str) -> None:
    await gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room_id), **auth(host))
    await emulator.join(room_id, host, permission=PUBLISHER, attributes={"role": "host"})


async def refused_during_outage(emulator, method: str) -> int:
    counts = (await emulator.calls())["counts"]
    return counts.get(method, {}).get("by_code", {}).get("outage", 0)


@contextlib.asynccontextmanager
async def outage(emulator, method: str) -> AsyncIterator[None]:
    """LiveKit down until `method` was refused at least once more (the call was tried)."""
    before = await refused_during_outage(emulator, method)
    await emulator.post("outage", down=True)
    try:
        yield

        async def tried() -> bool:
            return await refused_during_outage(emulator, method) > before

        await eventually(tried)
    finally:
        await emulator.post("outage", down=False)


async def test_a_livekit_outage_delays_the_start_and_the_stop_without_losing_them(
    gateway, emulator
):
    host = unique("host")
    room_id = await live_room(gateway, emulator, host)
    async with outage(emulator, "ListEgress"):
        started = await gateway.StartRecording(
            rs.StartRecordingRequest(room_id=room_id), **auth(host)
        )
        assert started.recording_status == room_pb2.RECORDING_STATUS_STARTING
    await recording_is(gateway, room_id, host, room_pb2.RECORDING_STATUS_ACTIVE, 30)
    assert len(await egresses(emulator, room_id)) == 1

    async with outage(emulator, "StopEgress"):
        stopping = await gateway.StopRecording(
            rs.StopRecordingRequest(room_id=room_id), **auth(host)
        )
        assert stopping.recording_status == room_pb2.RECORDING_STATUS_STOPPING
    done = await recording_is(gateway, room_id, host, room_pb2.RECORDING_STATUS_UNSPECIFIED, 30)
    assert len(done.recorded_playbacks) == 1
    assert [status(e) for e in await egresses(emulator, room_id)] == ["EGRESS_COMPLETE"]

"""BroadcastService through gRPC with the room service, PostgreSQL and the LiveKit emulator:
who gets which credentials, the LiveKit room created before the first broadcaster credential,
the internal LiveKit side effects, and a LiveKit outage."""

import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from costream.broadcast.v1 import broadcast_service_pb2, broadcast_service_pb2_grpc
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from livekit.api import TokenVerifier
from livekit.protocol import models

from services.common.config import DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET
from tests.conftest import RunningService
from tests.support import reason_of, service_metadata, unique, user_metadata, violated_fields
from tools.devstack import free_port

HOST_SOURCES = ["camera", "microphone", "screen_share", "screen_share_audio"]


@pytest.fixture(scope="module")
async def rooms(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


@pytest.fixture(scope="module")
async def broadcast(broadcast_service):
    async with grpc.aio.insecure_channel(broadcast_service.address) as channel:
        yield broadcast_service_pb2_grpc.BroadcastServiceStub(channel)


async def failure(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


async def create_room(rooms, host: str, **fields):
    fields.setdefault("title", "On air")
    return await rooms.CreateRoom(
        room_service_pb2.CreateRoomRequest(**fields), metadata=user_metadata(host)
    )


def broadcast_data(broadcast, room_id: str, user: str):
    return broadcast.GetBroadcastData(
        broadcast_service_pb2.GetBroadcastDataRequest(room_id=room_id),
        metadata=user_metadata(user),
    )


def viewer_data(broadcast, room_id: str, user: str):
    return broadcast.GetViewerData(
        broadcast_service_pb2.GetViewerDataRequest(room_id=room_id), metadata=user_metadata(user)
    )


def claims(token: str):
    return TokenVerifier(DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET).verify(token)


def livekit_calls(emulator, method: str, room_id: str) -> list[str]:
    return [r.code for r in emulator.calls.records if (r.method, r.room) == (method, room_id)]


async def test_host_gets_host_credentials_after_the_livekit_room_is_created(
    rooms, broadcast, livekit_emulator, make_settings
):
    host = unique("host")
    room = await create_room(rooms, host)
    data = await broadcast_data(broadcast, room.room_id, host)
    assert data.WhichOneof("data") == "co_hosts"
    c = claims(data.co_hosts.co_host_token)
    assert (c.identity, c.video.room, c.attributes) == (host, room.room_id, {"role": "host"})
    assert c.video.room_join and c.video.can_publish and c.video.can_subscribe
    assert c.video.can_publish_data
    assert c.video.can_publish_sources == HOST_SOURCES
    assert c.video.room_admin is None and c.video.room_create is None
    assert data.co_hosts.co_host_url == make_settings("broadcast").livekit_public_url
    expire = data.co_hosts.expire_time.ToDatetime(tzinfo=UTC)
    assert abs(expire - (datetime.now(UTC) + timedelta(seconds=900))) < timedelta(seconds=5)

    livekit_room = livekit_emulator.registry.get_room(room.room_id)
    assert livekit_room.departure_timeout > 180  # outlives the reconnect window
    assert livekit_room.empty_timeout > 900  # outlives the first token
    assert livekit_room.max_participants > 0
    assert host in livekit_room.metadata
    # Every credential asks LiveKit for the room (CreateRoom of a live room returns it), so a
    # room LiveKit lost is made again; the live one is the same session.
    sid = livekit_room.sid
    await broadcast_data(broadcast, room.room_id, host)
    assert livekit_calls(livekit_emulator, "CreateRoom", room.room_id) == ["ok", "ok"]
    assert livekit_emulator.registry.get_room(room.room_id).sid == sid


async def test_co_host_publishes_camera_and_microphone_until_taken_off_stage(rooms, broadcast):
    host, guest = unique("host"), unique("guest")
    room = await create_room(rooms, host, co_host_user_ids=[guest])
    c = claims((await broadcast_data(broadcast, room.room_id, guest)).co_hosts.co_host_token)
    assert (c.identity, c.attributes) == (guest, {"role": "co_host"})
    assert c.video.can_publish_sources == ["camera", "microphone"]
    await rooms.RemoveParticipant(
        room_service_pb2.RemoveParticipantRequest(room_id=room.room_id, user_id=guest),
        metadata=user_metadata(host),
    )
    e = await failure(broadcast_data(broadcast, room.room_id, guest))
    assert (e.code(), reason_of(e)) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_ON_STAGE")


@pytest.mark.parametrize("live_chat", [False, True])
async def test_viewers_watch_without_publishing(rooms, broadcast, livekit_emulator, live_chat):
    host, viewer = unique("host"), unique("viewer")
    room = await create_room(rooms, host, live_chat_enabled=live_chat)
    e = await failure(broadcast_data(broadcast, room.room_id, viewer))
    assert (e.code(), reason_of(e)) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_ON_STAGE")
    data = await viewer_data(broadcast, room.room_id, viewer)
    c = claims(data.viewer_token)
    assert (c.identity, c.video.room, c.attributes) == (viewer, room.room_id, {"role": "viewer"})
    assert c.video.room_join and c.video.can_subscribe
    assert c.video.can_publish is False
    assert c.video.can_publish_sources is None
    assert c.video.can_publish_data is live_chat
    assert data.viewer_url and data.HasField("expire_time")
    # Viewers do not open LiveKit rooms.
    assert livekit_calls(livekit_emulator, "CreateRoom", room.room_id) == []


async def test_banned_users_get_no_credentials_of_any_kind(rooms, broadcast):
    host, guest = unique("host"), unique("guest")
    room = await create_room(rooms, host, co_host_user_ids=[guest])
    await rooms.BanUser(
        room_service_pb2.BanUserRequest(room_id=room.room_id, user_id=guest),
        metadata=user_metadata(host),
    )
    for call in (broadcast_data, viewer_data):
        e = await failure(call(broadcast, room.room_id, guest))
        assert (e.code(), reason_of(e)) == (grpc.StatusCode.PERMISSION_DENIED, "USER_BANNED")


@pytest.mark.parametrize("how", ["stop", "delete"])
async def test_ended_and_deleted_rooms_give_no_credentials(rooms, broadcast, how):
    host = unique("host")
    room = await create_room(rooms, host)
    if how == "stop":
        await rooms.StopRoom(
            room_service_pb2.StopRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
        )
    else:
        await rooms.DeleteRoom(
            room_service_pb2.DeleteRoomRequest(room_id=room.room_id), metadata=user_metadata(host)
        )
    for call, user in ((broadcast_data, host), (viewer_data, unique("viewer"))):
        e = await failure(call(broadcast, room.room_id, user))
        assert (e.code(), reason_of(e)) == (grpc.StatusCode.FAILED_PRECONDITION, "ROOM_ENDED")


async def test_missing_room_bad_id_and_no_token(broadcast):
    e = await failure(broadcast_data(broadcast, unique("missing"), unique("u")))
    assert (e.code(), reason_of(e)) == (grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND")
    e = await failure(viewer_data(broadcast, "", unique("u")))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    e = await failure(
        broadcast.GetViewerData(broadcast_service_pb2.GetViewerDataRequest(room_id="r"))
    )
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_side_effect_rpcs_are_internal(broadcast):
    e = await failure(
        broadcast.EndLiveKitRoom(
            broadcast_service_pb2.EndLiveKitRoomRequest(room_id="r"),
            metadata=user_metadata(unique("u"), "admin"),
        )
    )
    assert (e.code(), reason_of(e)) == (grpc.StatusCode.PERMISSION_DENIED, "INTERNAL_ONLY")


async def test_end_livekit_room_disconnects_everyone_and_is_idempotent(
    rooms, broadcast, livekit_emulator
):
    host = unique("host")
    room = await create_room(rooms, host)
    await broadcast_data(broadcast, room.room_id, host)
    livekit_emulator.registry.join(room.room_id, host)
    request = broadcast_service_pb2.EndLiveKitRoomRequest(room_id=room.room_id)
    await broadcast.EndLiveKitRoom(request, metadata=service_metadata("room"))
    assert room.room_id not in [r.name for r in livekit_emulator.registry.list_rooms()]
    await broadcast.EndLiveKitRoom(request, metadata=service_metadata("room"))
    assert livekit_calls(livekit_emulator, "DeleteRoom", room.room_id) == ["ok", "not_found"]


async def test_remove_livekit_participant_is_idempotent(rooms, broadcast, livekit_emulator):
    host, guest = unique("host"), unique("guest")
    room = await create_room(rooms, host)
    await broadcast_data(broadcast, room.room_id, host)
    livekit_emulator.registry.join(room.room_id, guest)
    request = broadcast_service_pb2.RemoveLiveKitParticipantRequest(
        room_id=room.room_id, user_id=guest
    )
    for _ in range(2):
        await broadcast.RemoveLiveKitParticipant(request, metadata=service_metadata("room"))
    assert livekit_emulator.registry.list_participants(room.room_id) == []
    gone = broadcast_service_pb2.RemoveLiveKitParticipantRequest(
        room_id=unique("nowhere"), user_id=guest
    )
    await broadcast.RemoveLiveKitParticipant(gone, metadata=service_metadata("room"))


async def test_livekit_outage_is_unavailable_and_leaks_no_secret(
    rooms, make_settings, ports, room_service
):
    secret = "outage-livekit-secret-0123456789-abcdef"
    settings = make_settings(
        "broadcast",
        grpc_ports={**ports, "broadcast": free_port()},
        livekit_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        livekit_api_secret=secret,
        broadcast_http_port=free_port(),
    )
    from services.broadcast.app import build

    service = await RunningService(build(settings)).start()
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            stub = broadcast_service_pb2_grpc.BroadcastServiceStub(channel)
            host = unique("host")
            room = await create_room(rooms, host)
            errors = [
                await failure(broadcast_data(stub, room.room_id, host)),
                await failure(
                    stub.EndLiveKitRoom(
                        broadcast_service_pb2.EndLiveKitRoomRequest(room_id=room.room_id),
                        metadata=service_metadata("room"),
                    )
                ),
                await failure(
                    stub.GetLiveKitRoom(
                        broadcast_service_pb2.GetLiveKitRoomRequest(room_id=room.room_id),
                        metadata=service_metadata("room"),
                    )
                ),
            ]
    finally:
        await service.close()
    for e in errors:
        assert (e.code(), reason_of(e)) == (grpc.StatusCode.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE")
        assert secret not in (e.details() or "")
        assert secret not in str(e.trailing_metadata())


async def test_get_livekit_room_says_who_livekit_has_and_whether_the_session_is_ours(
    rooms, broadcast, livekit_emulator
):
    host = unique("host")
    room = await create_room(rooms, host)
    request = broadcast_service_pb2.GetLiveKitRoomRequest(room_id=room.room_id)
    nothing = await broadcast.GetLiveKitRoom(request, metadata=service_metadata("room"))
    assert nothing == broadcast_service_pb2.LiveKitRoomState(exists=False)

    await broadcast_data(broadcast, room.room_id, host)  # the LiveKit room is made
    registry = livekit_emulator.registry
    registry.join(room.room_id, host)
    viewer_permission = models.ParticipantPermission(can_subscribe=True, can_publish=False)
    viewer, _ = registry.join(room.room_id, "vic", permission=viewer_permission)
    registry.join(room.room_id, "recorder", kind=models.ParticipantInfo.Kind.EGRESS)
    state = await broadcast.GetLiveKitRoom(request, metadata=service_metadata("room"))
    [livekit_room] = registry.list_rooms([room.room_id])
    assert (state.exists, state.ours, state.room_sid) == (True, True, livekit_room.sid)
    assert state.create_time.seconds == livekit_room.creation_time
    assert sorted((p.identity, p.can_publish) for p in state.participants) == [
        (host, True),
        ("vic", False),
    ]  # people only: not the egress
    [seen] = [p for p in state.participants if p.identity == "vic"]
    assert (seen.sid, seen.join_time.seconds) == (viewer.sid, viewer.joined_at)

    # A LiveKit room someone else opened (a viewer token where LiveKit auto-creates rooms).
    other = await create_room(rooms, unique("host"))
    registry.join(other.room_id, "early")
    theirs = await broadcast.GetLiveKitRoom(
        broadcast_service_pb2.GetLiveKitRoomRequest(room_id=other.room_id),
        metadata=service_metadata("room"),
    )
    assert (theirs.exists, theirs.ours) == (True, False)

    e = await failure(broadcast.GetLiveKitRoom(request, metadata=user_metadata(host, "admin")))
    assert (e.code(), reason_of(e)) == (grpc.StatusCode.PERMISSION_DENIED, "INTERNAL_ONLY")


async def test_update_livekit_participant_promotes_and_demotes_in_place(
    rooms, broadcast, livekit_emulator
):
    host, vic = unique("host"), unique("vic")
    room = await create_room(rooms, host, live_chat_enabled=True)
    await broadcast_data(broadcast, room.room_id, host)
    registry = livekit_emulator.registry
    viewer_permission = models.ParticipantPermission(can_subscribe=True, can_publish=False)
    joined, _ = registry.join(
        room.room_id, vic, permission=viewer_permission, attributes={"role": "viewer"}
    )

    async def update(role: int) -> models.ParticipantInfo:
        await broadcast.UpdateLiveKitParticipant(
            broadcast_service_pb2.UpdateLiveKitParticipantRequest(
                room_id=room.room_id, user_id=vic, role=role, live_chat_enabled=True
            ),
            metadata=service_metadata("room"),
        )
        return registry.get_participant(room.room_id, vic)

    promoted = await update(room_pb2.PARTICIPANT_ROLE_CO_HOST)
    assert promoted.sid == joined.sid  # the same session: no reconnect
    assert dict(promoted.attributes) == {"role": "co_host"}
    assert promoted.permission.can_publish and promoted.permission.can_publish_data
    assert list(promoted.permission.can_publish_sources) == [
        models.TrackSource.CAMERA,
        models.TrackSource.MICROPHONE,
    ]
    registry.publish_track(room.room_id, vic)  # the camera, now allowed

    demoted = await update(room_pb2.PARTICIPANT_ROLE_UNSPECIFIED)
    assert demoted.sid == joined.sid
    assert dict(demoted.attributes) == {"role": "viewer"}
    assert not demoted.permission.can_publish
    assert demoted.permission.can_publish_data  # chat is on
    assert list(demoted.tracks) == []  # unpublished by LiveKit

    # Someone LiveKit does not have (any more) is done already.
    for room_id, user in ((room.room_id, unique("gone")), (unique("nowhere"), vic)):
        await broadcast.UpdateLiveKitParticipant(
            broadcast_service_pb2.UpdateLiveKitParticipantRequest(room_id=room_id, user_id=user),
            metadata=service_metadata("room"),
        )


async def test_mute_livekit_tracks_mutes_the_named_sources_of_the_user(
    rooms, broadcast, livekit_emulator
):
    host = unique("host")
    room = await create_room(rooms, host)
    await broadcast_data(broadcast, room.room_id, host)
    registry = livekit_emulator.registry
    registry.join(room.room_id, host)
    camera, _ = registry.publish_track(room.room_id, host)
    mic, _ = registry.publish_track(
        room.room_id, host, track_type=models.TrackType.AUDIO, source=models.TrackSource.MICROPHONE
    )

    def muted() -> dict[str, bool]:
        return {t.sid: t.muted for t in registry.get_participant(room.room_id, host).tracks}

    request = broadcast_service_pb2.MuteLiveKitTracksRequest(
        room_id=room.room_id, user_id=host, sources=[room_pb2.TRACK_SOURCE_MICROPHONE], muted=True
    )
    await broadcast.MuteLiveKitTracks(request, metadata=service_metadata("room"))
    assert muted() == {camera.sid: False, mic.sid: True}
    everything = broadcast_service_pb2.MuteLiveKitTracksRequest(
        room_id=room.room_id, user_id=host, muted=True
    )
    for _ in range(2):  # idempotent
        await broadcast.MuteLiveKitTracks(everything, metadata=service_metadata("room"))
    assert muted() == {camera.sid: True, mic.sid: True}
    # An unmute LiveKit refuses (remote unmute off) is dropped, not retried forever.
    everything.muted = False
    await broadcast.MuteLiveKitTracks(everything, metadata=service_metadata("room"))
    assert muted() == {camera.sid: True, mic.sid: True}
    nobody = broadcast_service_pb2.MuteLiveKitTracksRequest(
        room_id=room.room_id, user_id=unique("gone"), muted=True
    )
    await broadcast.MuteLiveKitTracks(nobody, metadata=service_metadata("room"))


async def test_update_livekit_room_metadata_mirrors_the_room_in_livekit(
    rooms, broadcast, livekit_emulator
):
    host = unique("host")
    room = await create_room(rooms, host, title="Before")
    await broadcast_data(broadcast, room.room_id, host)
    room.title = "After"
    await broadcast.UpdateLiveKitRoomMetadata(
        broadcast_service_pb2.UpdateLiveKitRoomMetadataRequest(room=room),
        metadata=service_metadata("room"),
    )
    [livekit_room] = livekit_emulator.registry.list_rooms([room.room_id])
    metadata = json.loads(livekit_room.metadata)
    assert (metadata["room_id"], metadata["title"], metadata["status"]) == (
        room.room_id,
        "After",
        "idle",
    )
    # A room LiveKit does not have gets its metadata when it is created.
    missing = room_pb2.Room(room_id=unique("nowhere"), host_user_id=host)
    await broadcast.UpdateLiveKitRoomMetadata(
        broadcast_service_pb2.UpdateLiveKitRoomMetadataRequest(room=missing),
        metadata=service_metadata("room"),
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.UpdateLiveKitParticipant(
            broadcast_service_pb2.UpdateLiveKitParticipantRequest(room_id="r1", user_id="u"),
            metadata=user_metadata("u", "admin"),
        ),
        lambda b: b.MuteLiveKitTracks(
            broadcast_service_pb2.MuteLiveKitTracksRequest(room_id="r1", user_id="u"),
            metadata=user_metadata("u", "admin"),
        ),
        lambda b: b.UpdateLiveKitRoomMetadata(
            broadcast_service_pb2.UpdateLiveKitRoomMetadataRequest(
                room=room_pb2.Room(room_id="r1")
            ),
            metadata=user_metadata("u", "admin"),
        ),
    ],
    ids=["UpdateLiveKitParticipant", "MuteLiveKitTracks", "UpdateLiveKitRoomMetadata"],
)
async def test_the_livekit_side_effects_are_internal_only(broadcast, call):
    e = await failure(call(broadcast))
    assert (e.code(), reason_of(e)) == (grpc.StatusCode.PERMISSION_DENIED, "INTERNAL_ONLY")


async def test_the_livekit_side_effects_refuse_bad_ids(broadcast):
    e = await failure(
        broadcast.MuteLiveKitTracks(
            broadcast_service_pb2.MuteLiveKitTracksRequest(room_id="Bad Id!", user_id=""),
            metadata=service_metadata("room"),
        )
    )
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(e) == {"room_id", "user_id"}

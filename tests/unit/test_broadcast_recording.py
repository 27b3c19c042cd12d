"""Recording through LiveKit Egress in the broadcast service (no I/O): the RoomComposite egress
a recording asks for, where its outputs go and how they are played back, and starting and
stopping against a fake LiveKit (a retried start starts none; a timed-out one is stopped
and not reused)."""

from datetime import timedelta

import pytest
from costream.room.v1 import room_pb2
from livekit.protocol import egress as egress_pb
from livekit.protocol.webhook import WebhookEvent

from services.broadcast import domain, handlers
from services.broadcast.recording import RecordingOutputs

ROOM = room_pb2.Room(room_id="r1", seat_template=room_pb2.SEAT_TEMPLATE_VIDEO_DYNAMIC_GRID_9)
FILES = RecordingOutputs(output="recordings/", playback_base_url="https://cdn.example/rec/")
S3 = RecordingOutputs(
    output="s3://media/live/",
    playback_base_url="https://cdn.example/",
    s3_access_key="AK",
    s3_secret="SK",
    s3_region="eu-west-1",
)


def test_a_recording_is_an_mp4_under_the_room_and_attempt():
    request = FILES.request(ROOM, "3")
    assert request.room_name == "r1"
    assert request.layout == "grid"
    [file] = request.file_outputs
    assert file.filepath == "recordings/r1/3.mp4"
    assert file.file_type == egress_pb.EncodedFileType.MP4
    assert not file.HasField("s3")
    assert list(request.segment_outputs) == []


@pytest.mark.parametrize(
    ("template", "layout"),
    [
        (room_pb2.SEAT_TEMPLATE_VIDEO_DYNAMIC_FLOAT_7, "speaker"),
        (room_pb2.SEAT_TEMPLATE_VIDEO_FIXED_FLOAT_7, "speaker"),
        (room_pb2.SEAT_TEMPLATE_VIDEO_FIXED_GRID_9, "grid"),
        (room_pb2.SEAT_TEMPLATE_VIDEO_LANDSCAPE_4, "grid"),
    ],
)
def test_the_layout_follows_the_seat_template(template, layout):
    room = room_pb2.Room(room_id="r1", seat_template=template)
    assert FILES.request(room, "1").layout == layout


def test_hls_adds_segments_with_a_live_playlist():
    outputs = RecordingOutputs(output="recordings/", hls=True, playback_base_url="https://cdn/")
    [segments] = outputs.request(ROOM, "1").segment_outputs
    assert segments.protocol == egress_pb.SegmentedFileProtocol.HLS_PROTOCOL
    assert segments.filename_prefix == "recordings/r1/1/segment"
    assert segments.playlist_name == "recordings/r1/1/index.m3u8"
    assert segments.live_playlist_name == "recordings/r1/1/live.m3u8"
    info = egress_pb.EgressInfo(room_composite=outputs.request(ROOM, "1"))
    assert outputs.live_playback_url(info) == "https://cdn/r1/1/live.m3u8"


def test_without_hls_there_is_no_live_playback():
    info = egress_pb.EgressInfo(room_composite=FILES.request(ROOM, "1"))
    assert FILES.live_playback_url(info) == ""


def test_s3_outputs_upload_to_the_bucket_under_its_prefix():
    [file] = S3.request(ROOM, "2").file_outputs
    assert file.filepath == "live/r1/2.mp4"
    assert file.s3.bucket == "media"
    assert (file.s3.access_key, file.s3.secret, file.s3.region) == ("AK", "SK", "eu-west-1")
    assert not file.s3.force_path_style


def test_an_s3_endpoint_uses_path_style():
    outputs = RecordingOutputs(output="s3://media/", s3_endpoint="http://minio:9000")
    [file] = outputs.request(ROOM, "1").file_outputs
    assert file.s3.endpoint == "http://minio:9000" and file.s3.force_path_style


@pytest.mark.parametrize(
    ("outputs", "filename", "location", "url"),
    [
        (FILES, "recordings/r1/3.mp4", "/recordings/r1/3.mp4", "https://cdn.example/rec/r1/3.mp4"),
        (S3, "live/r1/2.mp4", "https://media.s3.amazonaws.com/live/r1/2.mp4", "https://cdn.example/r1/2.mp4"),
        # Outside the prefix: someone else's egress, where egress says it is.
        (FILES, "elsewhere/x.mp4", "https://s3/elsewhere/x.mp4", "https://s3/elsewhere/x.mp4"),
        (FILES, "elsewhere/x.mp4", "", "elsewhere/x.mp4"),
    ],
)  # fmt: skip
def test_an_output_is_played_from_the_playback_base_url(outputs, filename, location, url):
    assert outputs.playback_url(filename, location) == url


def test_the_s3_secret_is_not_in_the_repr():
    assert "SK" not in repr(S3)


def test_an_egress_ended_webhook_carries_the_playback_url():
    info = egress_pb.EgressInfo(
        egress_id="EG_1",
        room_name="r1",
        status=egress_pb.EGRESS_COMPLETE,
        file_results=[egress_pb.FileInfo(filename="recordings/r1/3.mp4", duration=5 * 10**9)],
    )
    event = domain.to_room_event(
        WebhookEvent(id="E", event="egress_ended", egress_info=info), FILES
    )
    assert event.playback.url == "https://cdn.example/rec/r1/3.mp4"
    assert event.playback.duration.seconds == 5
    assert event.egress_status == "EGRESS_COMPLETE"


class FakeLiveKit:
    def __init__(self, *running: egress_pb.EgressInfo) -> None:
        self.running = list(running)
        self.started: list[egress_pb.RoomCompositeEgressRequest] = []
        self.stopped: list[str] = []

    async def running_egresses(self, room_id: str) -> list[egress_pb.EgressInfo]:
        return [info for info in self.running if info.room_name == room_id]

    async def start_room_composite_egress(self, request) -> egress_pb.EgressInfo:
        self.started.append(request)
        info = egress_pb.EgressInfo(
            egress_id=f"EG_NEW{len(self.started)}",
            room_name=request.room_name,
            status=egress_pb.EGRESS_STARTING,
            room_composite=request,
        )
        self.running.append(info)
        return info

    async def stop_egress(self, egress_id: str) -> None:
        self.stopped.append(egress_id)
        self.running = [info for info in self.running if info.egress_id != egress_id]


def broadcast(livekit: FakeLiveKit) -> handlers.Broadcast:
    tokens = domain.TokenMinter("key", "secret-" + "x" * 32, timedelta(minutes=15), "wss://lk")
    return handlers.Broadcast(
        None, livekit, tokens, token_ttl=900, reconnect_timeout=180, recordings=FILES
    )  # type: ignore[arg-type]


async def test_a_start_starts_one_egress_with_the_configured_outputs():
    livekit = FakeLiveKit()
    info = await handlers.start_livekit_egress(ROOM, "1", [], broadcast(livekit))
    assert info.egress_id == "EG_NEW1"
    assert [r.file_outputs[0].filepath for r in livekit.started] == ["recordings/r1/1.mp4"]


async def test_a_retried_start_returns_the_egress_running_already():
    livekit = FakeLiveKit()
    b = broadcast(livekit)
    first = await handlers.start_livekit_egress(ROOM, "1", [], b)
    again = await handlers.start_livekit_egress(ROOM, "1", [], b)
    assert again.egress_id == first.egress_id
    assert len(livekit.started) == 1


async def test_an_egress_to_stop_is_stopped_first_and_not_reused():
    stuck = egress_pb.EgressInfo(egress_id="EG_STUCK", room_name="r1")
    livekit = FakeLiveKit(stuck)
    info = await handlers.start_livekit_egress(ROOM, "2", ["EG_STUCK"], broadcast(livekit))
    assert livekit.stopped == ["EG_STUCK"]
    assert info.egress_id == "EG_NEW1"


async def test_an_other_rooms_egress_is_not_reused():
    livekit = FakeLiveKit(egress_pb.EgressInfo(egress_id="EG_OTHER", room_name="r2"))
    info = await handlers.start_livekit_egress(ROOM, "1", [], broadcast(livekit))
    assert info.egress_id == "EG_NEW1"


async def test_a_stop_stops_the_egress_named():
    livekit = FakeLiveKit(
        egress_pb.EgressInfo(egress_id="EG_1", room_name="r1"),
        egress_pb.EgressInfo(egress_id="EG_2", room_name="r1"),
    )
    await handlers.stop_livekit_egress("r1", "EG_1", broadcast(livekit))
    assert livekit.stopped == ["EG_1"]


async def test_a_stop_naming_none_stops_every_egress_of_the_room():
    livekit = FakeLiveKit(
        egress_pb.EgressInfo(egress_id="EG_1", room_name="r1"),
        egress_pb.EgressInfo(egress_id="EG_2", room_name="r1"),
        egress_pb.EgressInfo(egress_id="EG_3", room_name="r2"),
    )
    await handlers.stop_livekit_egress("r1", "", broadcast(livekit))
    assert livekit.stopped == ["EG_1", "EG_2"]

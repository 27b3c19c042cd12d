"""Recordings through LiveKit Egress (domain.md "Recording and live playback"): the egress a
room's recording asks for, where its outputs go, and their playback URLs. No I/O.

Each attempt writes under `<RECORDING_OUTPUT><room_id>/<recording_id>`: an MP4 file, and with
RECORDING_HLS an HLS playlist whose live variant is the room's `live_playback_url`. A stored
location becomes a playback URL by swapping the output prefix for PLAYBACK_BASE_URL."""

from dataclasses import dataclass, field

from costream.room.v1 import room_pb2
from livekit.protocol import egress as egress_pb

# The seat templates LiveKit's RoomComposite layouts show best: grids as a grid, the floating
# ones with the speaker large.
_LAYOUTS = {
    room_pb2.SEAT_TEMPLATE_VIDEO_DYNAMIC_FLOAT_7: "speaker",
    room_pb2.SEAT_TEMPLATE_VIDEO_FIXED_FLOAT_7: "speaker",
}
DEFAULT_LAYOUT = "grid"
SEGMENT_SECONDS = 4
S3_SCHEME = "s3://"


@dataclass(frozen=True)
class RecordingOutputs:
    """Where egress writes recordings (a file path prefix on the egress workers, or
    s3://bucket/prefix with the S3 settings) and the URL prefix they are played from."""

    output: str = "recordings/"
    hls: bool = False
    playback_base_url: str = "http://127.0.0.1:7880/recordings/"
    s3_access_key: str = ""
    s3_secret: str = field(default="", repr=False)
    s3_region: str = ""
    s3_endpoint: str = ""

    @property
    def _bucket_and_prefix(self) -> tuple[str | None, str]:
        """The S3 bucket (None for files) and the path prefix inside it."""
        if not self.output.startswith(S3_SCHEME):
            return None, self.output
        bucket, _, prefix = self.output.removeprefix(S3_SCHEME).partition("/")
        return bucket, prefix

    def _s3(self) -> egress_pb.S3Upload | None:
        bucket, _ = self._bucket_and_prefix
        if bucket is None:
            return None
        return egress_pb.S3Upload(
            access_key=self.s3_access_key,
            secret=self.s3_secret,
            region=self.s3_region,
            endpoint=self.s3_endpoint,
            bucket=bucket,
            force_path_style=bool(self.s3_endpoint),
        )

    def _path(self, room_id: str, recording_id: str) -> str:
        _, prefix = self._bucket_and_prefix
        return f"{prefix}{room_id}/{recording_id}"

    def request(
        self, room: room_pb2.Room, recording_id: str
    ) -> egress_pb.RoomCompositeEgressRequest:
        """The RoomComposite egress of one recording attempt."""
        path = self._path(room.room_id, recording_id)
        s3 = self._s3()
        request = egress_pb.RoomCompositeEgressRequest(
            room_name=room.room_id,
            layout=_LAYOUTS.get(room.seat_template, DEFAULT_LAYOUT),
            file_outputs=[
                egress_pb.EncodedFileOutput(
                    file_type=egress_pb.EncodedFileType.MP4, filepath=f"{path}.mp4", s3=s3
                )
            ],
        )
        if self.hls:
            request.segment_outputs.append(
                egress_pb.SegmentedFileOutput(
                    protocol=egress_pb.SegmentedFileProtocol.HLS_PROTOCOL,
                    filename_prefix=f"{path}/segment",
                    playlist_name=f"{path}/index.m3u8",
                    live_playlist_name=f"{path}/live.m3u8",
                    segment_duration=SEGMENT_SECONDS,
                    s3=s3,
                )
            )
        return request

    def playback_url(self, filename: str, location: str = "") -> str:
        """The URL an output is played from: its path (egress's `filename`: the file path, or
        the key in the bucket) under the output prefix, after PLAYBACK_BASE_URL. An output
        outside the prefix (an egress someone else started) keeps the location egress gave."""
        _, prefix = self._bucket_and_prefix
        if not filename.startswith(prefix):
            return location or filename
        return self.playback_base_url.rstrip("/") + "/" + filename.removeprefix(prefix).lstrip("/")

    def live_playback_url(self, info: egress_pb.EgressInfo) -> str:
        """The live HLS playlist an egress writes, from its request; empty when it writes
        none."""
        for output in info.room_composite.segment_outputs:
            if output.live_playlist_name:
                return self.playback_url(output.live_playlist_name)
        return ""


# Outputs as the defaults say (tests, and tools that read webhooks without settings).
DEFAULT_OUTPUTS = RecordingOutputs()

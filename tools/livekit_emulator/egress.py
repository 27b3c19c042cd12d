"""livekit.Egress: room-composite egress, run as livekit-server and the egress worker run it,
without media.

Each egress moves through the statuses of livekit/egress `pkg/pipeline/controller.go`, and each
change is the webhook livekit-server's IOInfoService.UpdateEgress sends for it:

    STARTING  egress_started  (CreateEgress; started_at is already set)
    ACTIVE    egress_updated  (the pipeline runs; file/segment started_at set)
    ENDING    egress_updated  (StopEgress, or the room closed: SendEOS)
    COMPLETE  egress_ended    (with file_results / segment_results)

StopEgress of a STARTING egress aborts it (ABORTED "Stop called before pipeline could start",
egress_ended only). What the next egress of a room does is played by `Behaviour`.
"""

import math
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from livekit.api.access_token import Claims
from livekit.protocol import egress as egress_pb
from livekit.protocol import models
from livekit.protocol.webhook import WebhookEvent

from tools.livekit_emulator import rooms
from tools.livekit_emulator.rooms import RoomRegistry
from tools.livekit_emulator.twirp import Emit, Methods, TwirpError, permission_denied

Status = egress_pb.EgressStatus

# livekit/protocol livekit_egress.go.
MSG_STOPPED_BEFORE_STARTED = "Stop called before pipeline could start"
END_REASON_API = "StopEgress API"
END_REASON_SRC_CLOSED = "Source closed"
END_REASON_FAILURE = "Failure"
DEFAULT_FAILURE = "pipeline failed (played by the LiveKit emulator)"

# What the next egress does: `complete` runs until stopped or its room closes; `fail` goes
# ACTIVE then FAILED; `fail_at_start` FAILED without ever being ACTIVE; `never_start` stays
# STARTING (a StopEgress aborts it).
MODES = ("complete", "fail", "fail_at_start", "never_start")

# Where finished files are said to be, and how fast they grow (3 Mbps video + 128 kbps audio,
# the egress defaults).
RECORDINGS_DIR = "/recordings"
BYTES_PER_SECOND = (3000 + 128) * 1000 // 8
# livekit/egress: HLS segments of 4 s by default.
DEFAULT_SEGMENT_SECONDS = 4

_ENDED = (
    Status.EGRESS_COMPLETE,
    Status.EGRESS_FAILED,
    Status.EGRESS_ABORTED,
    Status.EGRESS_LIMIT_REACHED,
)

log = structlog.get_logger("livekit_emulator.egress")


class EgressNotFound(rooms.NotFound):
    message = "egress does not exist"


class EgressNotActive(rooms.Conflict):
    message = "egress has ended"


@dataclass
class Behaviour:
    mode: str = "complete"
    error: str = ""
    # How many more egresses it applies to; 0: every one until it is changed or reset.
    remaining: int = 1

    def as_dict(self) -> dict:
        return {"mode": self.mode, "error": self.error, "remaining": self.remaining}


@dataclass
class _Egress:
    info: egress_pb.EgressInfo
    mode: str
    error: str
    segment_seconds: int


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


class EgressRegistry:
    """Egresses and the behaviours played for the next ones. No I/O: every change returns the
    webhook events it causes; `advance` is the step time takes on its own."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._egresses: dict[str, _Egress] = {}
        self._behaviours: dict[str, Behaviour] = {}  # by room name, "" for any room

    def reset(self) -> None:
        self._egresses.clear()
        self._behaviours.clear()

    def set_behaviour(self, room_name: str, mode: str, error: str = "", count: int = 1) -> None:
        if mode not in MODES:
            raise rooms.InvalidRequest(f"mode must be one of {', '.join(MODES)}")
        if count < 0:
            raise rooms.InvalidRequest("count must be 0 (every egress) or more")
        self._behaviours[room_name] = Behaviour(mode, error, count)

    def behaviours(self) -> dict[str, dict]:
        return {room: b.as_dict() for room, b in self._behaviours.items()}

    def start_room_composite(
        self, request: egress_pb.RoomCompositeEgressRequest, room: models.Room
    ) -> tuple[egress_pb.EgressInfo, list[WebhookEvent]]:
        """The egress as StartRoomCompositeEgress answers it (STARTING), and egress_started."""
        now = self._clock()
        info = egress_pb.EgressInfo(
            egress_id=rooms.new_sid(rooms.EGRESS_PREFIX),
            room_id=room.sid,
            room_name=room.name,
            source_type=egress_pb.EgressSourceType.EGRESS_SOURCE_TYPE_WEB,
            status=Status.EGRESS_STARTING,
            started_at=_ns(now),
            updated_at=_ns(now),
            room_composite=request,
        )
        segment_seconds = _add_outputs(info, request, now)
        behaviour = self._next_behaviour(room.name)
        egress = _Egress(info, behaviour.mode, behaviour.error, segment_seconds)
        self._egresses[info.egress_id] = egress
        return _copy(info), [self._event("egress_started", egress)]

    def advances(self, egress_id: str) -> bool:
        """Whether the egress takes a step of its own (see `advance`)."""
        egress = self._egresses.get(egress_id)
        if egress is None:
            return False
        status = egress.info.status
        if status == Status.EGRESS_STARTING:
            return egress.mode != "never_start"
        if status == Status.EGRESS_ACTIVE:
            return egress.mode == "fail"
        return status == Status.EGRESS_ENDING

    def advance(self, egress_id: str) -> list[WebhookEvent]:
        """The next step an egress takes by itself: STARTING → ACTIVE (or FAILED for
        fail_at_start), ACTIVE → FAILED for fail, ENDING → COMPLETE."""
        if not self.advances(egress_id):
            return []
        egress = self._egresses[egress_id]
        info = egress.info
        now = self._clock()
        if info.status == Status.EGRESS_STARTING and egress.mode != "fail_at_start":
            _update_status(info, Status.EGRESS_ACTIVE, now)
            for result in (*info.file_results, *info.segment_results):
                result.started_at = _ns(now)
            return [self._event("egress_updated", egress)]
        if info.status == Status.EGRESS_ENDING:
            return self._end(egress, Status.EGRESS_COMPLETE, "")
        return self._end(egress, Status.EGRESS_FAILED, egress.error or DEFAULT_FAILURE)

    def stop(self, egress_id: str) -> tuple[egress_pb.EgressInfo, list[WebhookEvent]]:
        """StopEgress: an ACTIVE egress goes ENDING (COMPLETE when it advances), a STARTING one
        is aborted, an ENDING one is answered as it is; an ended one raises EgressNotActive."""
        egress = self.get(egress_id)
        info = egress.info
        if info.status in _ENDED:
            raise EgressNotActive()
        events: list[WebhookEvent] = []
        if info.status == Status.EGRESS_STARTING:
            info.details = f"End reason: {END_REASON_API}"
            events = self._end(egress, Status.EGRESS_ABORTED, MSG_STOPPED_BEFORE_STARTED)
        elif info.status == Status.EGRESS_ACTIVE:
            events = self._ending(egress, END_REASON_API)
        return _copy(info), events

    def end(
        self,
        egress_id: str,
        status: int = Status.EGRESS_COMPLETE,
        *,
        error: str = "",
        duration_s: float | None = None,
        size: int | None = None,
        location: str = "",
    ) -> tuple[egress_pb.EgressInfo, list[WebhookEvent]]:
        """Ends a running egress now (the control API): COMPLETE goes through ENDING, as when
        its source closes; FAILED, ABORTED and LIMIT_REACHED end at once. `location` replaces
        the file result's."""
        egress = self.get(egress_id)
        if egress.info.status in _ENDED:
            raise EgressNotActive()
        if status not in _ENDED:
            raise rooms.InvalidRequest("status must be one that ends an egress")
        events: list[WebhookEvent] = []
        if status == Status.EGRESS_COMPLETE and egress.info.status != Status.EGRESS_ENDING:
            events = self._ending(egress, END_REASON_SRC_CLOSED)
        if status == Status.EGRESS_FAILED:
            error = error or DEFAULT_FAILURE
        elif status == Status.EGRESS_ABORTED:
            error = error or MSG_STOPPED_BEFORE_STARTED
        events += self._end(egress, status, error, duration_s=duration_s, size=size)
        if location:
            for result in egress.info.file_results:
                result.location = location
            events[-1].egress_info.CopyFrom(egress.info)
        return _copy(egress.info), events

    def room_closed(self, room_sid: str) -> list[WebhookEvent]:
        """The room's egresses see their source close (SendEOS): ACTIVE ones go ENDING, those
        that never started are aborted."""
        events: list[WebhookEvent] = []
        for egress in self._egresses.values():
            if egress.info.room_id != room_sid:
                continue
            if egress.info.status == Status.EGRESS_ACTIVE:
                events += self._ending(egress, END_REASON_SRC_CLOSED)
            elif egress.info.status == Status.EGRESS_STARTING:
                egress.info.details = f"End reason: {END_REASON_SRC_CLOSED}"
                events += self._end(egress, Status.EGRESS_ABORTED, MSG_STOPPED_BEFORE_STARTED)
        return events

    def running_in(self, room_sid: str) -> list[str]:
        return [
            egress_id
            for egress_id, egress in self._egresses.items()
            if egress.info.room_id == room_sid and egress.info.status not in _ENDED
        ]

    def knows(self, egress_id: str) -> bool:
        return egress_id in self._egresses

    def get(self, egress_id: str) -> _Egress:
        egress = self._egresses.get(egress_id)
        if egress is None:
            raise EgressNotFound()
        return egress

    def list_egress(
        self, room_name: str = "", egress_id: str = "", active: bool = False
    ) -> list[egress_pb.EgressInfo]:
        """ListEgress: by id alone when an id is given (not_found if unknown), else by room;
        `active` keeps STARTING, ACTIVE and ENDING."""
        if egress_id:
            return [_copy(self.get(egress_id).info)]
        return [
            _copy(e.info)
            for e in self._egresses.values()
            if (not room_name or e.info.room_name == room_name)
            and (not active or e.info.status not in _ENDED)
        ]

    def _next_behaviour(self, room_name: str) -> Behaviour:
        for key in (room_name, ""):
            behaviour = self._behaviours.get(key)
            if behaviour is None:
                continue
            if behaviour.remaining == 1:
                del self._behaviours[key]
            elif behaviour.remaining > 1:
                behaviour.remaining -= 1
            return behaviour
        return Behaviour()

    def _ending(self, egress: _Egress, reason: str) -> list[WebhookEvent]:
        egress.info.details = f"End reason: {reason}"
        _update_status(egress.info, Status.EGRESS_ENDING, self._clock())
        return [self._event("egress_updated", egress)]

    def _end(
        self,
        egress: _Egress,
        status: int,
        error: str,
        *,
        duration_s: float | None = None,
        size: int | None = None,
    ) -> list[WebhookEvent]:
        info = egress.info
        now = self._clock()
        _update_status(info, status, now)
        info.ended_at = _ns(now)
        if error:
            info.error = error
            # SetAborted: 412; SetFailed with a plain error: 500; SetLimitReached: 413.
            info.error_code = {Status.EGRESS_ABORTED: 412, Status.EGRESS_LIMIT_REACHED: 413}.get(
                status, 500
            )
            if not info.details:
                info.details = f"End reason: {END_REASON_FAILURE}"
        written = status in (Status.EGRESS_COMPLETE, Status.EGRESS_LIMIT_REACHED)
        for result in info.file_results:
            _finish_result(result, now, duration_s)
            if written:
                result.location = posixpath.join(RECORDINGS_DIR, result.filename)
                result.size = size if size is not None else _size(result.duration)
        for result in info.segment_results:
            _finish_result(result, now, duration_s)
            if written:
                result.playlist_location = posixpath.join(RECORDINGS_DIR, result.playlist_name)
                if result.live_playlist_name:
                    result.live_playlist_location = posixpath.join(
                        RECORDINGS_DIR, result.live_playlist_name
                    )
                result.size = size if size is not None else _size(result.duration)
                result.segment_count = max(
                    1, math.ceil(result.duration / _ns(egress.segment_seconds))
                )
        return [self._event("egress_ended", egress)]

    @staticmethod
    def _event(kind: str, egress: _Egress) -> WebhookEvent:
        # NotifyEgressEvent: the room carries only the egress' room sid and name.
        info = egress.info
        return WebhookEvent(
            event=kind,
            room=models.Room(sid=info.room_id, name=info.room_name),
            egress_info=_copy(info),
        )


def _update_status(info: egress_pb.EgressInfo, status: int, now: float) -> None:
    info.status = status
    info.updated_at = _ns(now)


def _finish_result(result, now: float, duration_s: float | None) -> None:
    ended_at = _ns(now)
    if duration_s is not None:
        result.started_at = ended_at - _ns(duration_s)
    elif not result.started_at:
        result.started_at = ended_at
    result.ended_at = ended_at
    result.duration = ended_at - result.started_at


def _size(duration_ns: int) -> int:
    return duration_ns * BYTES_PER_SECOND // 1_000_000_000


# --- outputs, named as livekit/egress pkg/config/output_file.go and output_segment.go name them


def _add_outputs(
    info: egress_pb.EgressInfo, request: egress_pb.RoomCompositeEgressRequest, now: float
) -> int:
    """The file and segment results of the requested outputs, their names expanded; returns the
    segment duration in seconds."""
    files = list(request.file_outputs)
    if request.HasField("file"):
        files.append(request.file)
    segments = list(request.segment_outputs)
    if request.HasField("segments"):
        segments.append(request.segments)
    if request.stream_outputs or request.image_outputs or request.HasField("stream"):
        raise TwirpError("unimplemented", "stream and image outputs are not emulated")
    if not files and not segments:
        raise TwirpError("invalid_argument", "request has missing or invalid field: output")
    if len(files) > 1:
        raise TwirpError(
            "invalid_argument", "request has missing or invalid field: multiple file outputs"
        )
    if len(segments) > 1:
        raise TwirpError(
            "invalid_argument",
            "request has missing or invalid field: multiple segmented file outputs",
        )
    replacements = _replacements(info, now)
    for output in files:
        extension = _file_extension(output.file_type, request.audio_only)
        info.file_results.append(
            egress_pb.FileInfo(filename=_file_path(output.filepath, extension, replacements, info))
        )
    segment_seconds = DEFAULT_SEGMENT_SECONDS
    for output in segments:
        segment_seconds = output.segment_duration or DEFAULT_SEGMENT_SECONDS
        info.segment_results.append(_segments_info(output, replacements, info))
    return segment_seconds


def _replacements(info: egress_pb.EgressInfo, now: float) -> dict[str, str]:
    moment = time.gmtime(now)
    return {
        "{room_name}": info.room_name,
        "{room_id}": info.room_id,
        "{time}": time.strftime("%Y-%m-%dT%H%M%S", moment),
        "{utc}": time.strftime("%Y%m%d%H%M%S", moment) + f"{int(now * 1000) % 1000:03d}",
    }


def _expand(template: str, replacements: dict[str, str]) -> str:
    for key, value in replacements.items():
        template = template.replace(key, value)
    return template


def _clean(path: str) -> str:
    """output_file.go clean: path.Clean, no leading ../, a trailing slash kept."""
    if not path:
        return ""
    trailing = path.endswith("/")
    path = posixpath.normpath(path)
    while path.startswith("../"):
        path = path[3:]
    if path in ("", ".", ".."):
        return ""
    return path + "/" if trailing and path != "/" else path


_KNOWN_EXTENSIONS = (".mp4", ".ogg", ".mp3", ".m3u8", ".ts", ".jpeg", ".png")


def _file_extension(file_type: int, audio_only: bool) -> str:
    if file_type == egress_pb.EncodedFileType.OGG:
        return ".ogg"
    if file_type == egress_pb.EncodedFileType.MP3:
        return ".mp3"
    if file_type == egress_pb.EncodedFileType.MP4:
        return ".mp4"
    # DEFAULT_FILETYPE: mp4, or ogg for audio only.
    return ".ogg" if audio_only else ".mp4"


def _without_known_extension(name: str) -> str:
    stem, extension = posixpath.splitext(name)
    return stem if extension in _KNOWN_EXTENSIONS else name


def _file_path(
    filepath: str, extension: str, replacements: dict[str, str], info: egress_pb.EgressInfo
) -> str:
    """updateFilepath: templates expanded; empty or a directory: `{room_name}-{time}`; the
    extension of the file type added (an other known one replaced)."""
    path = _expand(_clean(filepath), replacements)
    if not path or path.endswith("/"):
        return f"{path}{info.room_name}-{replacements['{time}']}{extension}"
    if path.endswith(extension):
        return path
    return _without_known_extension(path) + extension


def _segments_info(
    output: egress_pb.SegmentedFileOutput,
    replacements: dict[str, str],
    info: egress_pb.EgressInfo,
) -> egress_pb.SegmentsInfo:
    playlist = _expand(_clean(output.playlist_name), replacements)
    live = _expand(_clean(output.live_playlist_name), replacements)
    directory, name = posixpath.split(playlist)
    live_directory, live_name = posixpath.split(live)
    if live_directory and live_directory != directory:
        raise TwirpError(
            "invalid_argument",
            "request has missing or invalid field: "
            "live_playlist_name must be in same directory as playlist_name",
        )
    name = _without_known_extension(name)
    live_name = _without_known_extension(live_name)
    if not name:
        prefix = posixpath.basename(_expand(_clean(output.filename_prefix), replacements))
        name = prefix or f"{info.room_name}-{replacements['{time}']}"
    if name == live_name:
        raise TwirpError(
            "invalid_argument",
            "request has missing or invalid field: "
            "live_playlist_name cannot be identical to playlist_name",
        )
    result = egress_pb.SegmentsInfo(playlist_name=posixpath.join(directory, f"{name}.m3u8"))
    if live_name:
        result.live_playlist_name = posixpath.join(directory, f"{live_name}.m3u8")
    return result


def _copy(info: egress_pb.EgressInfo) -> egress_pb.EgressInfo:
    clone = egress_pb.EgressInfo()
    clone.CopyFrom(info)
    return clone


# --- the Twirp service ------------------------------------------------------------------------

Later = Callable[[float, Callable[[], None]], None]


def ensure_record(claims: Claims | None) -> None:
    """EnsureRecordPermission."""
    if claims is None or claims.video is None or not claims.video.room_record:
        raise permission_denied()


class EgressService:
    """livekit.Egress: StartRoomCompositeEgress, ListEgress, StopEgress; an egress's own
    steps (`EgressRegistry.advance`) are taken `step_s` apart through `later`."""

    def __init__(
        self,
        registry: EgressRegistry,
        room_registry: RoomRegistry,
        emit: Emit,
        later: Later,
        *,
        step_s: float = 0.5,
    ) -> None:
        self._registry = registry
        self._rooms = room_registry
        self._emit = emit
        self._later = later
        self._step_s = step_s
        not_emulated = self.not_implemented
        self.methods: Methods = {
            "StartRoomCompositeEgress": (
                egress_pb.RoomCompositeEgressRequest,
                self.start_room_composite_egress,
            ),
            "ListEgress": (egress_pb.ListEgressRequest, self.list_egress),
            "StopEgress": (egress_pb.StopEgressRequest, self.stop_egress),
            "StartEgress": (egress_pb.StartEgressRequest, not_emulated),
            "StartWebEgress": (egress_pb.WebEgressRequest, not_emulated),
            "StartParticipantEgress": (egress_pb.ParticipantEgressRequest, not_emulated),
            "StartTrackCompositeEgress": (egress_pb.TrackCompositeEgressRequest, not_emulated),
            "StartTrackEgress": (egress_pb.TrackEgressRequest, not_emulated),
            "UpdateLayout": (egress_pb.UpdateLayoutRequest, not_emulated),
            "UpdateStream": (egress_pb.UpdateStreamRequest, not_emulated),
        }

    def start_room_composite_egress(
        self, req: egress_pb.RoomCompositeEgressRequest, claims: Claims | None
    ) -> egress_pb.EgressInfo:
        ensure_record(claims)
        if not req.room_name:
            # The server skips the room lookup; the egress worker cannot build its room token.
            raise TwirpError(
                "invalid_argument", "request has missing or invalid field: token or api key/secret"
            )
        room = self._rooms.get_room(req.room_name)
        info, events = self._registry.start_room_composite(req, room)
        self._emit(events)
        self._advance_later(info.egress_id)
        log.info("egress_started", egress_id=info.egress_id, room=info.room_name)
        return info

    def list_egress(
        self, req: egress_pb.ListEgressRequest, claims: Claims | None
    ) -> egress_pb.ListEgressResponse:
        ensure_record(claims)
        items = self._registry.list_egress(req.room_name, req.egress_id, req.active)
        return egress_pb.ListEgressResponse(items=items)

    def stop_egress(
        self, req: egress_pb.StopEgressRequest, claims: Claims | None
    ) -> egress_pb.EgressInfo:
        ensure_record(claims)
        try:
            info, events = self._registry.stop(req.egress_id)
        except EgressNotActive as exc:
            status = Status.Name(self._registry.get(req.egress_id).info.status)
            raise TwirpError(
                "failed_precondition", f"egress with status {status} cannot be stopped"
            ) from exc
        self._emit(events)
        self._advance_later(info.egress_id)
        return info

    def not_implemented(self, req, claims: Claims | None):
        raise TwirpError("unimplemented", "not implemented by the LiveKit emulator")

    def end(self, egress_id: str, status: int, **results) -> egress_pb.EgressInfo:
        """The control API's end of a running egress, now."""
        info, events = self._registry.end(egress_id, status, **results)
        self._emit(events)
        return info

    def follow(self, events: list[WebhookEvent]) -> None:
        """A room that finishes closes the source of its egresses."""
        for event in events:
            if event.event != "room_finished":
                continue
            running = self._registry.running_in(event.room.sid)
            self._emit(self._registry.room_closed(event.room.sid))
            for egress_id in running:
                self._advance_later(egress_id)

    def _advance_later(self, egress_id: str) -> None:
        if self._registry.advances(egress_id):
            self._later(self._step_s, lambda: self._advance(egress_id))

    def _advance(self, egress_id: str) -> None:
        self._emit(self._registry.advance(egress_id))
        self._advance_later(egress_id)

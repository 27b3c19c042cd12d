import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecordingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORDING_STATUS_UNSPECIFIED: _ClassVar[RecordingStatus]
    RECORDING_STATUS_STARTING: _ClassVar[RecordingStatus]
    RECORDING_STATUS_ACTIVE: _ClassVar[RecordingStatus]
    RECORDING_STATUS_STOPPING: _ClassVar[RecordingStatus]
    RECORDING_STATUS_FAILED: _ClassVar[RecordingStatus]

class IngressStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INGRESS_STATUS_UNSPECIFIED: _ClassVar[IngressStatus]
    INGRESS_STATUS_READY: _ClassVar[IngressStatus]
    INGRESS_STATUS_PUBLISHING: _ClassVar[IngressStatus]
    INGRESS_STATUS_ENDED: _ClassVar[IngressStatus]

class RoomType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROOM_TYPE_UNSPECIFIED: _ClassVar[RoomType]
    ROOM_TYPE_CO_HOSTS: _ClassVar[RoomType]
    ROOM_TYPE_DIRECT_STREAMING: _ClassVar[RoomType]

class RoomStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROOM_STATUS_UNSPECIFIED: _ClassVar[RoomStatus]
    ROOM_STATUS_IDLE: _ClassVar[RoomStatus]
    ROOM_STATUS_LIVE: _ClassVar[RoomStatus]
    ROOM_STATUS_WAITING_RECONNECT: _ClassVar[RoomStatus]
    ROOM_STATUS_ENDED: _ClassVar[RoomStatus]
    ROOM_STATUS_RECORDED: _ClassVar[RoomStatus]

class SeatTemplate(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEAT_TEMPLATE_UNSPECIFIED: _ClassVar[SeatTemplate]
    SEAT_TEMPLATE_VIDEO_DYNAMIC_GRID_9: _ClassVar[SeatTemplate]
    SEAT_TEMPLATE_VIDEO_DYNAMIC_FLOAT_7: _ClassVar[SeatTemplate]
    SEAT_TEMPLATE_VIDEO_FIXED_GRID_9: _ClassVar[SeatTemplate]
    SEAT_TEMPLATE_VIDEO_FIXED_FLOAT_7: _ClassVar[SeatTemplate]
    SEAT_TEMPLATE_VIDEO_LANDSCAPE_4: _ClassVar[SeatTemplate]

class ParticipantRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARTICIPANT_ROLE_UNSPECIFIED: _ClassVar[ParticipantRole]
    PARTICIPANT_ROLE_HOST: _ClassVar[ParticipantRole]
    PARTICIPANT_ROLE_CO_HOST: _ClassVar[ParticipantRole]

class EndReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    END_REASON_UNSPECIFIED: _ClassVar[EndReason]
    END_REASON_STOPPED_BY_HOST: _ClassVar[EndReason]
    END_REASON_DISMISSED: _ClassVar[EndReason]
    END_REASON_RECONNECT_TIMEOUT: _ClassVar[EndReason]
    END_REASON_MAX_DURATION: _ClassVar[EndReason]
    END_REASON_LIVEKIT_ROOM_FINISHED: _ClassVar[EndReason]
    END_REASON_DELETED: _ClassVar[EndReason]

class TrackSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACK_SOURCE_UNSPECIFIED: _ClassVar[TrackSource]
    TRACK_SOURCE_CAMERA: _ClassVar[TrackSource]
    TRACK_SOURCE_MICROPHONE: _ClassVar[TrackSource]
    TRACK_SOURCE_SCREEN_SHARE: _ClassVar[TrackSource]
    TRACK_SOURCE_SCREEN_SHARE_AUDIO: _ClassVar[TrackSource]

class RoomEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROOM_EVENT_KIND_UNSPECIFIED: _ClassVar[RoomEventKind]
    ROOM_EVENT_KIND_SNAPSHOT: _ClassVar[RoomEventKind]
    ROOM_EVENT_KIND_UPDATED: _ClassVar[RoomEventKind]
    ROOM_EVENT_KIND_STATUS_CHANGED: _ClassVar[RoomEventKind]
    ROOM_EVENT_KIND_PARTICIPANTS_CHANGED: _ClassVar[RoomEventKind]
    ROOM_EVENT_KIND_STATS_CHANGED: _ClassVar[RoomEventKind]
    ROOM_EVENT_KIND_RECORDED: _ClassVar[RoomEventKind]
    ROOM_EVENT_KIND_DELETED: _ClassVar[RoomEventKind]
    ROOM_EVENT_KIND_KEEPALIVE: _ClassVar[RoomEventKind]
RECORDING_STATUS_UNSPECIFIED: RecordingStatus
RECORDING_STATUS_STARTING: RecordingStatus
RECORDING_STATUS_ACTIVE: RecordingStatus
RECORDING_STATUS_STOPPING: RecordingStatus
RECORDING_STATUS_FAILED: RecordingStatus
INGRESS_STATUS_UNSPECIFIED: IngressStatus
INGRESS_STATUS_READY: IngressStatus
INGRESS_STATUS_PUBLISHING: IngressStatus
INGRESS_STATUS_ENDED: IngressStatus
ROOM_TYPE_UNSPECIFIED: RoomType
ROOM_TYPE_CO_HOSTS: RoomType
ROOM_TYPE_DIRECT_STREAMING: RoomType
ROOM_STATUS_UNSPECIFIED: RoomStatus
ROOM_STATUS_IDLE: RoomStatus
ROOM_STATUS_LIVE: RoomStatus
ROOM_STATUS_WAITING_RECONNECT: RoomStatus
ROOM_STATUS_ENDED: RoomStatus
ROOM_STATUS_RECORDED: RoomStatus
SEAT_TEMPLATE_UNSPECIFIED: SeatTemplate
SEAT_TEMPLATE_VIDEO_DYNAMIC_GRID_9: SeatTemplate
SEAT_TEMPLATE_VIDEO_DYNAMIC_FLOAT_7: SeatTemplate
SEAT_TEMPLATE_VIDEO_FIXED_GRID_9: SeatTemplate
SEAT_TEMPLATE_VIDEO_FIXED_FLOAT_7: SeatTemplate
SEAT_TEMPLATE_VIDEO_LANDSCAPE_4: SeatTemplate
PARTICIPANT_ROLE_UNSPECIFIED: ParticipantRole
PARTICIPANT_ROLE_HOST: ParticipantRole
PARTICIPANT_ROLE_CO_HOST: ParticipantRole
END_REASON_UNSPECIFIED: EndReason
END_REASON_STOPPED_BY_HOST: EndReason
END_REASON_DISMISSED: EndReason
END_REASON_RECONNECT_TIMEOUT: EndReason
END_REASON_MAX_DURATION: EndReason
END_REASON_LIVEKIT_ROOM_FINISHED: EndReason
END_REASON_DELETED: EndReason
TRACK_SOURCE_UNSPECIFIED: TrackSource
TRACK_SOURCE_CAMERA: TrackSource
TRACK_SOURCE_MICROPHONE: TrackSource
TRACK_SOURCE_SCREEN_SHARE: TrackSource
TRACK_SOURCE_SCREEN_SHARE_AUDIO: TrackSource
ROOM_EVENT_KIND_UNSPECIFIED: RoomEventKind
ROOM_EVENT_KIND_SNAPSHOT: RoomEventKind
ROOM_EVENT_KIND_UPDATED: RoomEventKind
ROOM_EVENT_KIND_STATUS_CHANGED: RoomEventKind
ROOM_EVENT_KIND_PARTICIPANTS_CHANGED: RoomEventKind
ROOM_EVENT_KIND_STATS_CHANGED: RoomEventKind
ROOM_EVENT_KIND_RECORDED: RoomEventKind
ROOM_EVENT_KIND_DELETED: RoomEventKind
ROOM_EVENT_KIND_KEEPALIVE: RoomEventKind

class Room(_message.Message):
    __slots__ = ("room_id", "type", "status", "title", "description", "thumbnail_file_id", "metadata", "live_chat_enabled", "live_channel_id", "parent_room_id", "seat_template", "max_co_hosts", "participants", "host_user_id", "stats", "end_reason", "recorded_playbacks", "create_time", "update_time", "live_time", "end_time", "recorded_time", "deleted", "delete_time", "moderator_user_ids", "auto_record", "recording_status", "live_playback_url", "ingress_status")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    LIVE_CHAT_ENABLED_FIELD_NUMBER: _ClassVar[int]
    LIVE_CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    SEAT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    MAX_CO_HOSTS_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    HOST_USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    RECORDED_PLAYBACKS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    RECORDED_TIME_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    DELETE_TIME_FIELD_NUMBER: _ClassVar[int]
    MODERATOR_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    AUTO_RECORD_FIELD_NUMBER: _ClassVar[int]
    RECORDING_STATUS_FIELD_NUMBER: _ClassVar[int]
    LIVE_PLAYBACK_URL_FIELD_NUMBER: _ClassVar[int]
    INGRESS_STATUS_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    type: RoomType
    status: RoomStatus
    title: str
    description: str
    thumbnail_file_id: str
    metadata: _struct_pb2.Struct
    live_chat_enabled: bool
    live_channel_id: str
    parent_room_id: str
    seat_template: SeatTemplate
    max_co_hosts: int
    participants: _containers.RepeatedCompositeFieldContainer[Participant]
    host_user_id: str
    stats: RoomStats
    end_reason: EndReason
    recorded_playbacks: _containers.RepeatedCompositeFieldContainer[RecordedPlayback]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    live_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    recorded_time: _timestamp_pb2.Timestamp
    deleted: bool
    delete_time: _timestamp_pb2.Timestamp
    moderator_user_ids: _containers.RepeatedScalarFieldContainer[str]
    auto_record: bool
    recording_status: RecordingStatus
    live_playback_url: str
    ingress_status: IngressStatus
    def __init__(self, room_id: _Optional[str] = ..., type: _Optional[_Union[RoomType, str]] = ..., status: _Optional[_Union[RoomStatus, str]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., thumbnail_file_id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., live_chat_enabled: _Optional[bool] = ..., live_channel_id: _Optional[str] = ..., parent_room_id: _Optional[str] = ..., seat_template: _Optional[_Union[SeatTemplate, str]] = ..., max_co_hosts: _Optional[int] = ..., participants: _Optional[_Iterable[_Union[Participant, _Mapping]]] = ..., host_user_id: _Optional[str] = ..., stats: _Optional[_Union[RoomStats, _Mapping]] = ..., end_reason: _Optional[_Union[EndReason, str]] = ..., recorded_playbacks: _Optional[_Iterable[_Union[RecordedPlayback, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., live_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recorded_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deleted: _Optional[bool] = ..., delete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., moderator_user_ids: _Optional[_Iterable[str]] = ..., auto_record: _Optional[bool] = ..., recording_status: _Optional[_Union[RecordingStatus, str]] = ..., live_playback_url: _Optional[str] = ..., ingress_status: _Optional[_Union[IngressStatus, str]] = ...) -> None: ...

class Participant(_message.Message):
    __slots__ = ("user_id", "role", "join_time", "connected")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    JOIN_TIME_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    role: ParticipantRole
    join_time: _timestamp_pb2.Timestamp
    connected: bool
    def __init__(self, user_id: _Optional[str] = ..., role: _Optional[_Union[ParticipantRole, str]] = ..., join_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., connected: _Optional[bool] = ...) -> None: ...

class RoomStats(_message.Message):
    __slots__ = ("viewer_count", "publisher_count", "peak_viewer_count")
    VIEWER_COUNT_FIELD_NUMBER: _ClassVar[int]
    PUBLISHER_COUNT_FIELD_NUMBER: _ClassVar[int]
    PEAK_VIEWER_COUNT_FIELD_NUMBER: _ClassVar[int]
    viewer_count: int
    publisher_count: int
    peak_viewer_count: int
    def __init__(self, viewer_count: _Optional[int] = ..., publisher_count: _Optional[int] = ..., peak_viewer_count: _Optional[int] = ...) -> None: ...

class RecordedPlayback(_message.Message):
    __slots__ = ("url", "thumbnail_url", "duration")
    URL_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    url: str
    thumbnail_url: str
    duration: _duration_pb2.Duration
    def __init__(self, url: _Optional[str] = ..., thumbnail_url: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Viewer(_message.Message):
    __slots__ = ("user_id", "join_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    JOIN_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    join_time: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., join_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Ban(_message.Message):
    __slots__ = ("room_id", "user_id", "reason", "banned_by_user_id", "create_time", "expire_time")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BANNED_BY_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    reason: str
    banned_by_user_id: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ..., reason: _Optional[str] = ..., banned_by_user_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RoomEvent(_message.Message):
    __slots__ = ("room", "kind")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    room: Room
    kind: RoomEventKind
    def __init__(self, room: _Optional[_Union[Room, _Mapping]] = ..., kind: _Optional[_Union[RoomEventKind, str]] = ...) -> None: ...

class LiveKitEvent(_message.Message):
    __slots__ = ("event_id", "event", "create_time", "room_name", "room_sid", "participant_identity", "participant_sid", "disconnect_reason", "participant_can_publish", "track_sid", "egress_id", "egress_status", "playback", "live_playback_url", "participant_ingress", "ingress_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ROOM_NAME_FIELD_NUMBER: _ClassVar[int]
    ROOM_SID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_SID_FIELD_NUMBER: _ClassVar[int]
    DISCONNECT_REASON_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_CAN_PUBLISH_FIELD_NUMBER: _ClassVar[int]
    TRACK_SID_FIELD_NUMBER: _ClassVar[int]
    EGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    EGRESS_STATUS_FIELD_NUMBER: _ClassVar[int]
    PLAYBACK_FIELD_NUMBER: _ClassVar[int]
    LIVE_PLAYBACK_URL_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_INGRESS_FIELD_NUMBER: _ClassVar[int]
    INGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    event: str
    create_time: _timestamp_pb2.Timestamp
    room_name: str
    room_sid: str
    participant_identity: str
    participant_sid: str
    disconnect_reason: str
    participant_can_publish: bool
    track_sid: str
    egress_id: str
    egress_status: str
    playback: RecordedPlayback
    live_playback_url: str
    participant_ingress: bool
    ingress_id: str
    def __init__(self, event_id: _Optional[str] = ..., event: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., room_name: _Optional[str] = ..., room_sid: _Optional[str] = ..., participant_identity: _Optional[str] = ..., participant_sid: _Optional[str] = ..., disconnect_reason: _Optional[str] = ..., participant_can_publish: _Optional[bool] = ..., track_sid: _Optional[str] = ..., egress_id: _Optional[str] = ..., egress_status: _Optional[str] = ..., playback: _Optional[_Union[RecordedPlayback, _Mapping]] = ..., live_playback_url: _Optional[str] = ..., participant_ingress: _Optional[bool] = ..., ingress_id: _Optional[str] = ...) -> None: ...

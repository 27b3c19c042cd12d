import datetime

from costream.broadcast.v1 import broadcast_pb2 as _broadcast_pb2
from costream.room.v1 import room_pb2 as _room_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetBroadcastDataRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class ResetStreamKeyRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class StartLiveKitEgressRequest(_message.Message):
    __slots__ = ("room", "recording_id", "stop_egress_ids")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    RECORDING_ID_FIELD_NUMBER: _ClassVar[int]
    STOP_EGRESS_IDS_FIELD_NUMBER: _ClassVar[int]
    room: _room_pb2.Room
    recording_id: str
    stop_egress_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, room: _Optional[_Union[_room_pb2.Room, _Mapping]] = ..., recording_id: _Optional[str] = ..., stop_egress_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class StartLiveKitEgressResponse(_message.Message):
    __slots__ = ("egress_id", "egress_status", "live_playback_url")
    EGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    EGRESS_STATUS_FIELD_NUMBER: _ClassVar[int]
    LIVE_PLAYBACK_URL_FIELD_NUMBER: _ClassVar[int]
    egress_id: str
    egress_status: str
    live_playback_url: str
    def __init__(self, egress_id: _Optional[str] = ..., egress_status: _Optional[str] = ..., live_playback_url: _Optional[str] = ...) -> None: ...

class StopLiveKitEgressRequest(_message.Message):
    __slots__ = ("room_id", "egress_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    EGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    egress_id: str
    def __init__(self, room_id: _Optional[str] = ..., egress_id: _Optional[str] = ...) -> None: ...

class DeleteLiveKitIngressRequest(_message.Message):
    __slots__ = ("ingress_id",)
    INGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    ingress_id: str
    def __init__(self, ingress_id: _Optional[str] = ...) -> None: ...

class GetViewerDataRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class BatchGetViewerDataRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[ViewerDataRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[ViewerDataRequest, _Mapping]]] = ...) -> None: ...

class ViewerDataRequest(_message.Message):
    __slots__ = ("room_id", "user_token", "user_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_token: str
    user_id: str
    def __init__(self, room_id: _Optional[str] = ..., user_token: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class BatchGetViewerDataResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ViewerDataResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ViewerDataResult, _Mapping]]] = ...) -> None: ...

class ViewerDataResult(_message.Message):
    __slots__ = ("viewer_data", "error")
    VIEWER_DATA_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    viewer_data: _broadcast_pb2.ViewerData
    error: bytes
    def __init__(self, viewer_data: _Optional[_Union[_broadcast_pb2.ViewerData, _Mapping]] = ..., error: _Optional[bytes] = ...) -> None: ...

class EndLiveKitRoomRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class RemoveLiveKitParticipantRequest(_message.Message):
    __slots__ = ("room_id", "user_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class GetLiveKitRoomRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class LiveKitRoomState(_message.Message):
    __slots__ = ("exists", "room_sid", "ours", "create_time", "participants")
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    ROOM_SID_FIELD_NUMBER: _ClassVar[int]
    OURS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    room_sid: str
    ours: bool
    create_time: _timestamp_pb2.Timestamp
    participants: _containers.RepeatedCompositeFieldContainer[LiveKitParticipant]
    def __init__(self, exists: _Optional[bool] = ..., room_sid: _Optional[str] = ..., ours: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., participants: _Optional[_Iterable[_Union[LiveKitParticipant, _Mapping]]] = ...) -> None: ...

class LiveKitParticipant(_message.Message):
    __slots__ = ("sid", "identity", "can_publish", "join_time", "ingress")
    SID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    CAN_PUBLISH_FIELD_NUMBER: _ClassVar[int]
    JOIN_TIME_FIELD_NUMBER: _ClassVar[int]
    INGRESS_FIELD_NUMBER: _ClassVar[int]
    sid: str
    identity: str
    can_publish: bool
    join_time: _timestamp_pb2.Timestamp
    ingress: bool
    def __init__(self, sid: _Optional[str] = ..., identity: _Optional[str] = ..., can_publish: _Optional[bool] = ..., join_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ingress: _Optional[bool] = ...) -> None: ...

class UpdateLiveKitParticipantRequest(_message.Message):
    __slots__ = ("room_id", "user_id", "role", "live_chat_enabled")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    LIVE_CHAT_ENABLED_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    role: _room_pb2.ParticipantRole
    live_chat_enabled: bool
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ..., role: _Optional[_Union[_room_pb2.ParticipantRole, str]] = ..., live_chat_enabled: _Optional[bool] = ...) -> None: ...

class MuteLiveKitTracksRequest(_message.Message):
    __slots__ = ("room_id", "user_id", "sources", "muted")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    MUTED_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    sources: _containers.RepeatedScalarFieldContainer[_room_pb2.TrackSource]
    muted: bool
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ..., sources: _Optional[_Iterable[_Union[_room_pb2.TrackSource, str]]] = ..., muted: _Optional[bool] = ...) -> None: ...

class UpdateLiveKitRoomMetadataRequest(_message.Message):
    __slots__ = ("room",)
    ROOM_FIELD_NUMBER: _ClassVar[int]
    room: _room_pb2.Room
    def __init__(self, room: _Optional[_Union[_room_pb2.Room, _Mapping]] = ...) -> None: ...

import datetime

from costream.room.v1 import room_pb2 as _room_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateRoomRequest(_message.Message):
    __slots__ = ("room_id", "title", "description", "thumbnail_file_id", "metadata", "live_chat_enabled", "parent_room_id", "type", "seat_template", "co_host_user_ids", "request_id", "auto_record")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    LIVE_CHAT_ENABLED_FIELD_NUMBER: _ClassVar[int]
    PARENT_ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SEAT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CO_HOST_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AUTO_RECORD_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    title: str
    description: str
    thumbnail_file_id: str
    metadata: _struct_pb2.Struct
    live_chat_enabled: bool
    parent_room_id: str
    type: _room_pb2.RoomType
    seat_template: _room_pb2.SeatTemplate
    co_host_user_ids: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    auto_record: bool
    def __init__(self, room_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., thumbnail_file_id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., live_chat_enabled: _Optional[bool] = ..., parent_room_id: _Optional[str] = ..., type: _Optional[_Union[_room_pb2.RoomType, str]] = ..., seat_template: _Optional[_Union[_room_pb2.SeatTemplate, str]] = ..., co_host_user_ids: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ..., auto_record: _Optional[bool] = ...) -> None: ...

class GetRoomRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class BatchGetRoomsRequest(_message.Message):
    __slots__ = ("room_ids",)
    ROOM_IDS_FIELD_NUMBER: _ClassVar[int]
    room_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, room_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetRoomsResponse(_message.Message):
    __slots__ = ("rooms", "truncated")
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    rooms: _containers.RepeatedCompositeFieldContainer[_room_pb2.Room]
    truncated: bool
    def __init__(self, rooms: _Optional[_Iterable[_Union[_room_pb2.Room, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class ListRoomsRequest(_message.Message):
    __slots__ = ("statuses", "types", "host_user_id", "parent_room_id", "order_by", "include_deleted", "page_size", "page_token")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    HOST_USER_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DELETED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[_room_pb2.RoomStatus]
    types: _containers.RepeatedScalarFieldContainer[_room_pb2.RoomType]
    host_user_id: str
    parent_room_id: str
    order_by: str
    include_deleted: bool
    page_size: int
    page_token: str
    def __init__(self, statuses: _Optional[_Iterable[_Union[_room_pb2.RoomStatus, str]]] = ..., types: _Optional[_Iterable[_Union[_room_pb2.RoomType, str]]] = ..., host_user_id: _Optional[str] = ..., parent_room_id: _Optional[str] = ..., order_by: _Optional[str] = ..., include_deleted: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRoomsResponse(_message.Message):
    __slots__ = ("rooms", "next_page_token")
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    rooms: _containers.RepeatedCompositeFieldContainer[_room_pb2.Room]
    next_page_token: str
    def __init__(self, rooms: _Optional[_Iterable[_Union[_room_pb2.Room, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateRoomRequest(_message.Message):
    __slots__ = ("room", "update_mask")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    room: _room_pb2.Room
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, room: _Optional[_Union[_room_pb2.Room, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteRoomRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class StopRoomRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class DismissRoomRequest(_message.Message):
    __slots__ = ("room_id", "reason")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    reason: str
    def __init__(self, room_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RemoveParticipantRequest(_message.Message):
    __slots__ = ("room_id", "user_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class LeaveRoomRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class BanUserRequest(_message.Message):
    __slots__ = ("room_id", "user_id", "duration", "reason")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    duration: _duration_pb2.Duration
    reason: str
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class UnbanUserRequest(_message.Message):
    __slots__ = ("room_id", "user_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class ListBannedUsersRequest(_message.Message):
    __slots__ = ("room_id", "page_size", "page_token")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    page_size: int
    page_token: str
    def __init__(self, room_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBannedUsersResponse(_message.Message):
    __slots__ = ("bans", "next_page_token")
    BANS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    bans: _containers.RepeatedCompositeFieldContainer[_room_pb2.Ban]
    next_page_token: str
    def __init__(self, bans: _Optional[_Iterable[_Union[_room_pb2.Ban, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchRoomRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class AddModeratorRequest(_message.Message):
    __slots__ = ("room_id", "user_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class RemoveModeratorRequest(_message.Message):
    __slots__ = ("room_id", "user_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class MuteParticipantRequest(_message.Message):
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

class ListViewersRequest(_message.Message):
    __slots__ = ("room_id", "page_size", "page_token")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    page_size: int
    page_token: str
    def __init__(self, room_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListViewersResponse(_message.Message):
    __slots__ = ("viewers", "next_page_token")
    VIEWERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    viewers: _containers.RepeatedCompositeFieldContainer[_room_pb2.Viewer]
    next_page_token: str
    def __init__(self, viewers: _Optional[_Iterable[_Union[_room_pb2.Viewer, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StartRecordingRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class StopRecordingRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class AttachIngressRequest(_message.Message):
    __slots__ = ("room_id", "ingress_id", "replaces_ingress_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    INGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    REPLACES_INGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    ingress_id: str
    replaces_ingress_id: str
    def __init__(self, room_id: _Optional[str] = ..., ingress_id: _Optional[str] = ..., replaces_ingress_id: _Optional[str] = ...) -> None: ...

class AttachIngressResponse(_message.Message):
    __slots__ = ("ingress_id",)
    INGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    ingress_id: str
    def __init__(self, ingress_id: _Optional[str] = ...) -> None: ...

class AddCoHostRequest(_message.Message):
    __slots__ = ("room_id", "user_id", "invitation_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    invitation_id: str
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ..., invitation_id: _Optional[str] = ...) -> None: ...

class ApplyLiveKitEventRequest(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _room_pb2.LiveKitEvent
    def __init__(self, event: _Optional[_Union[_room_pb2.LiveKitEvent, _Mapping]] = ...) -> None: ...

class ApplyLiveKitEventResponse(_message.Message):
    __slots__ = ("applied",)
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    def __init__(self, applied: _Optional[bool] = ...) -> None: ...

class ApplyLiveKitEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_room_pb2.LiveKitEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[_room_pb2.LiveKitEvent, _Mapping]]] = ...) -> None: ...

class ApplyLiveKitEventsResponse(_message.Message):
    __slots__ = ("changed_rooms",)
    CHANGED_ROOMS_FIELD_NUMBER: _ClassVar[int]
    changed_rooms: int
    def __init__(self, changed_rooms: _Optional[int] = ...) -> None: ...

class GetRoomAccessRequest(_message.Message):
    __slots__ = ("room_id", "user_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class RoomAccess(_message.Message):
    __slots__ = ("room", "role", "banned", "ingress_id")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    BANNED_FIELD_NUMBER: _ClassVar[int]
    INGRESS_ID_FIELD_NUMBER: _ClassVar[int]
    room: _room_pb2.Room
    role: _room_pb2.ParticipantRole
    banned: bool
    ingress_id: str
    def __init__(self, room: _Optional[_Union[_room_pb2.Room, _Mapping]] = ..., role: _Optional[_Union[_room_pb2.ParticipantRole, str]] = ..., banned: _Optional[bool] = ..., ingress_id: _Optional[str] = ...) -> None: ...

class BatchGetRoomAccessRequest(_message.Message):
    __slots__ = ("room_id", "user_ids")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, room_id: _Optional[str] = ..., user_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetRoomAccessResponse(_message.Message):
    __slots__ = ("room", "users")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    room: _room_pb2.Room
    users: _containers.RepeatedCompositeFieldContainer[UserRoomAccess]
    def __init__(self, room: _Optional[_Union[_room_pb2.Room, _Mapping]] = ..., users: _Optional[_Iterable[_Union[UserRoomAccess, _Mapping]]] = ...) -> None: ...

class UserRoomAccess(_message.Message):
    __slots__ = ("user_id", "role", "banned", "error")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    BANNED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    role: _room_pb2.ParticipantRole
    banned: bool
    error: bytes
    def __init__(self, user_id: _Optional[str] = ..., role: _Optional[_Union[_room_pb2.ParticipantRole, str]] = ..., banned: _Optional[bool] = ..., error: _Optional[bytes] = ...) -> None: ...

class PurgeRoomRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

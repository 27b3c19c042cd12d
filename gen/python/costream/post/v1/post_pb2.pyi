import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PostDataType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POST_DATA_TYPE_UNSPECIFIED: _ClassVar[PostDataType]
    POST_DATA_TYPE_ROOM: _ClassVar[PostDataType]

class TargetType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TARGET_TYPE_UNSPECIFIED: _ClassVar[TargetType]
    TARGET_TYPE_USER: _ClassVar[TargetType]
    TARGET_TYPE_COMMUNITY: _ClassVar[TargetType]
POST_DATA_TYPE_UNSPECIFIED: PostDataType
POST_DATA_TYPE_ROOM: PostDataType
TARGET_TYPE_UNSPECIFIED: TargetType
TARGET_TYPE_USER: TargetType
TARGET_TYPE_COMMUNITY: TargetType

class Post(_message.Message):
    __slots__ = ("post_id", "data_type", "room_id", "text", "title", "target_type", "target_id", "metadata", "mention_user_ids", "hashtags", "creator_id", "create_time", "update_time", "deleted")
    POST_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    MENTION_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    HASHTAGS_FIELD_NUMBER: _ClassVar[int]
    CREATOR_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    post_id: str
    data_type: PostDataType
    room_id: str
    text: str
    title: str
    target_type: TargetType
    target_id: str
    metadata: _struct_pb2.Struct
    mention_user_ids: _containers.RepeatedScalarFieldContainer[str]
    hashtags: _containers.RepeatedScalarFieldContainer[str]
    creator_id: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    deleted: bool
    def __init__(self, post_id: _Optional[str] = ..., data_type: _Optional[_Union[PostDataType, str]] = ..., room_id: _Optional[str] = ..., text: _Optional[str] = ..., title: _Optional[str] = ..., target_type: _Optional[_Union[TargetType, str]] = ..., target_id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., mention_user_ids: _Optional[_Iterable[str]] = ..., hashtags: _Optional[_Iterable[str]] = ..., creator_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deleted: _Optional[bool] = ...) -> None: ...

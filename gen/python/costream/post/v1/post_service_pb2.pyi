from costream.post.v1 import post_pb2 as _post_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateRoomPostRequest(_message.Message):
    __slots__ = ("room_id", "text", "title", "target_type", "target_id", "metadata", "mention_user_ids", "hashtags", "request_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    MENTION_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    HASHTAGS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    text: str
    title: str
    target_type: _post_pb2.TargetType
    target_id: str
    metadata: _struct_pb2.Struct
    mention_user_ids: _containers.RepeatedScalarFieldContainer[str]
    hashtags: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, room_id: _Optional[str] = ..., text: _Optional[str] = ..., title: _Optional[str] = ..., target_type: _Optional[_Union[_post_pb2.TargetType, str]] = ..., target_id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., mention_user_ids: _Optional[_Iterable[str]] = ..., hashtags: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetPostRequest(_message.Message):
    __slots__ = ("post_id",)
    POST_ID_FIELD_NUMBER: _ClassVar[int]
    post_id: str
    def __init__(self, post_id: _Optional[str] = ...) -> None: ...

class ListPostsRequest(_message.Message):
    __slots__ = ("target_type", "target_id", "data_type", "page_size", "page_token")
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    target_type: _post_pb2.TargetType
    target_id: str
    data_type: _post_pb2.PostDataType
    page_size: int
    page_token: str
    def __init__(self, target_type: _Optional[_Union[_post_pb2.TargetType, str]] = ..., target_id: _Optional[str] = ..., data_type: _Optional[_Union[_post_pb2.PostDataType, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPostsResponse(_message.Message):
    __slots__ = ("posts", "next_page_token")
    POSTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    posts: _containers.RepeatedCompositeFieldContainer[_post_pb2.Post]
    next_page_token: str
    def __init__(self, posts: _Optional[_Iterable[_Union[_post_pb2.Post, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListPostsByRoomRequest(_message.Message):
    __slots__ = ("room_ids", "max_posts_per_room")
    ROOM_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_POSTS_PER_ROOM_FIELD_NUMBER: _ClassVar[int]
    room_ids: _containers.RepeatedScalarFieldContainer[str]
    max_posts_per_room: int
    def __init__(self, room_ids: _Optional[_Iterable[str]] = ..., max_posts_per_room: _Optional[int] = ...) -> None: ...

class ListPostsByRoomResponse(_message.Message):
    __slots__ = ("posts", "truncated")
    POSTS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    posts: _containers.RepeatedCompositeFieldContainer[_post_pb2.Post]
    truncated: bool
    def __init__(self, posts: _Optional[_Iterable[_Union[_post_pb2.Post, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class UpdatePostRequest(_message.Message):
    __slots__ = ("post", "update_mask")
    POST_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    post: _post_pb2.Post
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, post: _Optional[_Union[_post_pb2.Post, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeletePostRequest(_message.Message):
    __slots__ = ("post_id",)
    POST_ID_FIELD_NUMBER: _ClassVar[int]
    post_id: str
    def __init__(self, post_id: _Optional[str] = ...) -> None: ...

from costream.broadcast.v1 import broadcast_pb2 as _broadcast_pb2
from costream.broadcast.v1 import broadcast_service_pb2 as _broadcast_service_pb2
from costream.gateway.v1 import gateway_pb2 as _gateway_pb2
from costream.invitation.v1 import invitation_pb2 as _invitation_pb2
from costream.invitation.v1 import invitation_service_pb2 as _invitation_service_pb2
from costream.post.v1 import post_pb2 as _post_pb2
from costream.post.v1 import post_service_pb2 as _post_service_pb2
from costream.room.v1 import room_pb2 as _room_pb2
from costream.room.v1 import room_service_pb2 as _room_service_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateLiveRoomPostRequest(_message.Message):
    __slots__ = ("room", "post")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    POST_FIELD_NUMBER: _ClassVar[int]
    room: _room_service_pb2.CreateRoomRequest
    post: _post_service_pb2.CreateRoomPostRequest
    def __init__(self, room: _Optional[_Union[_room_service_pb2.CreateRoomRequest, _Mapping]] = ..., post: _Optional[_Union[_post_service_pb2.CreateRoomPostRequest, _Mapping]] = ...) -> None: ...

class CreateLiveRoomPostResponse(_message.Message):
    __slots__ = ("room", "post")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    POST_FIELD_NUMBER: _ClassVar[int]
    room: _room_pb2.Room
    post: _post_pb2.Post
    def __init__(self, room: _Optional[_Union[_room_pb2.Room, _Mapping]] = ..., post: _Optional[_Union[_post_pb2.Post, _Mapping]] = ...) -> None: ...

class GetRoomViewRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class ListLiveRoomPostsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLiveRoomPostsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[_gateway_pb2.LiveRoomPost]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[_gateway_pb2.LiveRoomPost, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("user_id", "roles")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ...) -> None: ...

from costream.invitation.v1 import invitation_pb2 as _invitation_pb2
from costream.post.v1 import post_pb2 as _post_pb2
from costream.room.v1 import room_pb2 as _room_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RoomRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROOM_ROLE_UNSPECIFIED: _ClassVar[RoomRole]
    ROOM_ROLE_HOST: _ClassVar[RoomRole]
    ROOM_ROLE_CO_HOST: _ClassVar[RoomRole]
    ROOM_ROLE_VIEWER: _ClassVar[RoomRole]
ROOM_ROLE_UNSPECIFIED: RoomRole
ROOM_ROLE_HOST: RoomRole
ROOM_ROLE_CO_HOST: RoomRole
ROOM_ROLE_VIEWER: RoomRole

class RoomView(_message.Message):
    __slots__ = ("room", "post", "my_role", "my_invitation")
    ROOM_FIELD_NUMBER: _ClassVar[int]
    POST_FIELD_NUMBER: _ClassVar[int]
    MY_ROLE_FIELD_NUMBER: _ClassVar[int]
    MY_INVITATION_FIELD_NUMBER: _ClassVar[int]
    room: _room_pb2.Room
    post: _post_pb2.Post
    my_role: RoomRole
    my_invitation: _invitation_pb2.Invitation
    def __init__(self, room: _Optional[_Union[_room_pb2.Room, _Mapping]] = ..., post: _Optional[_Union[_post_pb2.Post, _Mapping]] = ..., my_role: _Optional[_Union[RoomRole, str]] = ..., my_invitation: _Optional[_Union[_invitation_pb2.Invitation, _Mapping]] = ...) -> None: ...

class LiveRoomPost(_message.Message):
    __slots__ = ("post", "room")
    POST_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIELD_NUMBER: _ClassVar[int]
    post: _post_pb2.Post
    room: _room_pb2.Room
    def __init__(self, post: _Optional[_Union[_post_pb2.Post, _Mapping]] = ..., room: _Optional[_Union[_room_pb2.Room, _Mapping]] = ...) -> None: ...

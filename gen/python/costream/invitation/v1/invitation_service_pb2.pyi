from costream.invitation.v1 import invitation_pb2 as _invitation_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateInvitationRequest(_message.Message):
    __slots__ = ("room_id", "user_id", "request_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    request_id: str
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetInvitationRequest(_message.Message):
    __slots__ = ("invitation_id",)
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    def __init__(self, invitation_id: _Optional[str] = ...) -> None: ...

class ListRoomInvitationsRequest(_message.Message):
    __slots__ = ("room_id", "statuses", "page_size", "page_token", "types")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    statuses: _containers.RepeatedScalarFieldContainer[_invitation_pb2.InvitationStatus]
    page_size: int
    page_token: str
    types: _containers.RepeatedScalarFieldContainer[_invitation_pb2.InvitationType]
    def __init__(self, room_id: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[_invitation_pb2.InvitationStatus, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., types: _Optional[_Iterable[_Union[_invitation_pb2.InvitationType, str]]] = ...) -> None: ...

class ListRoomInvitationsResponse(_message.Message):
    __slots__ = ("invitations", "next_page_token")
    INVITATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    invitations: _containers.RepeatedCompositeFieldContainer[_invitation_pb2.Invitation]
    next_page_token: str
    def __init__(self, invitations: _Optional[_Iterable[_Union[_invitation_pb2.Invitation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListMyInvitationsRequest(_message.Message):
    __slots__ = ("statuses", "page_size", "page_token")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[_invitation_pb2.InvitationStatus]
    page_size: int
    page_token: str
    def __init__(self, statuses: _Optional[_Iterable[_Union[_invitation_pb2.InvitationStatus, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMyInvitationsResponse(_message.Message):
    __slots__ = ("invitations", "next_page_token")
    INVITATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    invitations: _containers.RepeatedCompositeFieldContainer[_invitation_pb2.Invitation]
    next_page_token: str
    def __init__(self, invitations: _Optional[_Iterable[_Union[_invitation_pb2.Invitation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetMyRoomInvitationRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class AcceptInvitationRequest(_message.Message):
    __slots__ = ("invitation_id",)
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    def __init__(self, invitation_id: _Optional[str] = ...) -> None: ...

class RejectInvitationRequest(_message.Message):
    __slots__ = ("invitation_id",)
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    def __init__(self, invitation_id: _Optional[str] = ...) -> None: ...

class CancelInvitationRequest(_message.Message):
    __slots__ = ("invitation_id",)
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    def __init__(self, invitation_id: _Optional[str] = ...) -> None: ...

class WatchMyInvitationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RequestStageRequest(_message.Message):
    __slots__ = ("room_id", "request_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    request_id: str
    def __init__(self, room_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ApproveStageRequestRequest(_message.Message):
    __slots__ = ("invitation_id",)
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    def __init__(self, invitation_id: _Optional[str] = ...) -> None: ...

class DeclineStageRequestRequest(_message.Message):
    __slots__ = ("invitation_id",)
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    def __init__(self, invitation_id: _Optional[str] = ...) -> None: ...

class WatchRoomInvitationsRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class CancelRoomInvitationsRequest(_message.Message):
    __slots__ = ("room_id", "user_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    user_id: str
    def __init__(self, room_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class CancelRoomInvitationsResponse(_message.Message):
    __slots__ = ("cancelled_count",)
    CANCELLED_COUNT_FIELD_NUMBER: _ClassVar[int]
    cancelled_count: int
    def __init__(self, cancelled_count: _Optional[int] = ...) -> None: ...

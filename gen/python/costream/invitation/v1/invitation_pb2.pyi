import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvitationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVITATION_TYPE_UNSPECIFIED: _ClassVar[InvitationType]
    INVITATION_TYPE_LIVESTREAM_CO_HOST: _ClassVar[InvitationType]
    INVITATION_TYPE_STAGE_REQUEST: _ClassVar[InvitationType]

class InvitationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVITATION_STATUS_UNSPECIFIED: _ClassVar[InvitationStatus]
    INVITATION_STATUS_PENDING: _ClassVar[InvitationStatus]
    INVITATION_STATUS_ACCEPTED: _ClassVar[InvitationStatus]
    INVITATION_STATUS_REJECTED: _ClassVar[InvitationStatus]
    INVITATION_STATUS_CANCELLED: _ClassVar[InvitationStatus]
    INVITATION_STATUS_EXPIRED: _ClassVar[InvitationStatus]

class InvitationEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVITATION_EVENT_KIND_UNSPECIFIED: _ClassVar[InvitationEventKind]
    INVITATION_EVENT_KIND_CREATED: _ClassVar[InvitationEventKind]
    INVITATION_EVENT_KIND_STATUS_CHANGED: _ClassVar[InvitationEventKind]
    INVITATION_EVENT_KIND_RESYNC: _ClassVar[InvitationEventKind]
    INVITATION_EVENT_KIND_KEEPALIVE: _ClassVar[InvitationEventKind]
INVITATION_TYPE_UNSPECIFIED: InvitationType
INVITATION_TYPE_LIVESTREAM_CO_HOST: InvitationType
INVITATION_TYPE_STAGE_REQUEST: InvitationType
INVITATION_STATUS_UNSPECIFIED: InvitationStatus
INVITATION_STATUS_PENDING: InvitationStatus
INVITATION_STATUS_ACCEPTED: InvitationStatus
INVITATION_STATUS_REJECTED: InvitationStatus
INVITATION_STATUS_CANCELLED: InvitationStatus
INVITATION_STATUS_EXPIRED: InvitationStatus
INVITATION_EVENT_KIND_UNSPECIFIED: InvitationEventKind
INVITATION_EVENT_KIND_CREATED: InvitationEventKind
INVITATION_EVENT_KIND_STATUS_CHANGED: InvitationEventKind
INVITATION_EVENT_KIND_RESYNC: InvitationEventKind
INVITATION_EVENT_KIND_KEEPALIVE: InvitationEventKind

class Invitation(_message.Message):
    __slots__ = ("invitation_id", "type", "room_id", "user_id", "inviter_user_id", "status", "create_time", "respond_time", "expire_time", "responder_user_id")
    INVITATION_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    INVITER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESPOND_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESPONDER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    invitation_id: str
    type: InvitationType
    room_id: str
    user_id: str
    inviter_user_id: str
    status: InvitationStatus
    create_time: _timestamp_pb2.Timestamp
    respond_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    responder_user_id: str
    def __init__(self, invitation_id: _Optional[str] = ..., type: _Optional[_Union[InvitationType, str]] = ..., room_id: _Optional[str] = ..., user_id: _Optional[str] = ..., inviter_user_id: _Optional[str] = ..., status: _Optional[_Union[InvitationStatus, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., respond_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., responder_user_id: _Optional[str] = ...) -> None: ...

class InvitationEvent(_message.Message):
    __slots__ = ("invitation", "kind")
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    invitation: Invitation
    kind: InvitationEventKind
    def __init__(self, invitation: _Optional[_Union[Invitation, _Mapping]] = ..., kind: _Optional[_Union[InvitationEventKind, str]] = ...) -> None: ...

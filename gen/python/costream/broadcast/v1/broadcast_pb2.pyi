import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BroadcastData(_message.Message):
    __slots__ = ("co_hosts", "direct_streaming")
    CO_HOSTS_FIELD_NUMBER: _ClassVar[int]
    DIRECT_STREAMING_FIELD_NUMBER: _ClassVar[int]
    co_hosts: CoHostsBroadcastData
    direct_streaming: DirectStreamingBroadcastData
    def __init__(self, co_hosts: _Optional[_Union[CoHostsBroadcastData, _Mapping]] = ..., direct_streaming: _Optional[_Union[DirectStreamingBroadcastData, _Mapping]] = ...) -> None: ...

class DirectStreamingBroadcastData(_message.Message):
    __slots__ = ("rtmp_url", "stream_key", "whip_url")
    RTMP_URL_FIELD_NUMBER: _ClassVar[int]
    STREAM_KEY_FIELD_NUMBER: _ClassVar[int]
    WHIP_URL_FIELD_NUMBER: _ClassVar[int]
    rtmp_url: str
    stream_key: str
    whip_url: str
    def __init__(self, rtmp_url: _Optional[str] = ..., stream_key: _Optional[str] = ..., whip_url: _Optional[str] = ...) -> None: ...

class CoHostsBroadcastData(_message.Message):
    __slots__ = ("co_host_token", "co_host_url", "expire_time")
    CO_HOST_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CO_HOST_URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    co_host_token: str
    co_host_url: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, co_host_token: _Optional[str] = ..., co_host_url: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ViewerData(_message.Message):
    __slots__ = ("viewer_token", "viewer_url", "expire_time")
    VIEWER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEWER_URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    viewer_token: str
    viewer_url: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, viewer_token: _Optional[str] = ..., viewer_url: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

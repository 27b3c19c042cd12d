"""Talking to the gateway: the stub with the caller's token, and its errors in one line."""

import os
from collections.abc import Callable
from typing import Any

import grpc
from costream.gateway.v1 import gateway_service_pb2_grpc as gw_grpc
from google.protobuf import message
from google.rpc import error_details_pb2

from services.common.config import DEV_AUTH_JWT_SECRET
from services.common.errors import peer_detail
from services.common.server import HEALTH_CHECKED_CHANNEL

DEFAULT_GATEWAY = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 10.0


class CliError(Exception):
    """A failure to report in one line and exit 1."""


def jwt_secret() -> str:
    """What development tokens are signed with."""
    return os.environ.get("AUTH_JWT_SECRET") or DEV_AUTH_JWT_SECRET


class Gateway:
    """GatewayService stub with the caller's token and a deadline on every call."""

    def __init__(self, address: str, token: str | None, timeout: float) -> None:
        self._channel = grpc.insecure_channel(address, options=[HEALTH_CHECKED_CHANNEL])
        self._stub = gw_grpc.GatewayServiceStub(self._channel)
        self._token = token
        self._timeout = timeout

    def as_user(self, token: str) -> "Gateway":
        other = Gateway.__new__(Gateway)
        other._channel, other._stub = self._channel, self._stub
        other._token, other._timeout = token, self._timeout
        return other

    def __getattr__(self, rpc: str) -> Callable[[message.Message], Any]:
        method = getattr(self._stub, rpc)
        token, timeout = self._token, self._timeout

        def call(request: message.Message) -> Any:
            if not token:
                raise CliError(
                    "no token: pass --user NAME (development) or --token, or set COSTREAM_TOKEN"
                )
            return method(request, timeout=timeout, metadata=[("authorization", f"Bearer {token}")])

        return call


def describe_rpc_error(error: grpc.RpcError) -> str:
    """`CODE REASON: message`, and the bad fields of an INVALID_ARGUMENT."""
    code = error.code().name  # type: ignore[attr-defined]
    text = error.details() or ""  # type: ignore[attr-defined]
    info = peer_detail(error, error_details_pb2.ErrorInfo)
    bad = peer_detail(error, error_details_pb2.BadRequest)
    reason = info.reason if info else ""
    fields = [f"{v.field}: {v.description}" for v in bad.field_violations] if bad else []
    if fields:  # the message only repeats them
        return "\n".join([f"{code} {reason}:", *(f"  {f}" for f in fields)])
    return f"{code} {reason}: {text}" if reason else f"{code}: {text}"

"""Helpers for tests: tokens, unique ids, and reading costream error details."""

import uuid

import grpc
from google.rpc import error_details_pb2, status_pb2

from services.common.auth import SERVICE_TOKEN_HEADER, ServiceTokenSource, mint_user_token
from services.common.config import DEV_AUTH_JWT_SECRET, DEV_INTERNAL_AUTH_SECRET


def user_metadata(user_id: str, *roles: str) -> list[tuple[str, str]]:
    token = mint_user_token(DEV_AUTH_JWT_SECRET, user_id, roles)
    return [("authorization", f"Bearer {token}")]


def service_metadata(service: str = "tests") -> list[tuple[str, str]]:
    token = ServiceTokenSource(DEV_INTERNAL_AUTH_SECRET, service).token()
    return [(SERVICE_TOKEN_HEADER, f"Bearer {token}")]


def unique(prefix: str = "u") -> str:
    """An id no other test uses, so tests share one database without cleaning up."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _status(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    raise AssertionError(f"no status details on {error.code()}: {error.details()}")


def reason_of(error: grpc.aio.AioRpcError) -> str:
    """The ErrorInfo reason of a costream error (and check its domain)."""
    for detail in _status(error).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            assert info.domain == "costream"
            return info.reason
    raise AssertionError("no ErrorInfo")


def violated_fields(error: grpc.aio.AioRpcError) -> set[str]:
    """The fields of the BadRequest field violations of an INVALID_ARGUMENT error."""
    for detail in _status(error).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return {v.field for v in bad.field_violations}
    raise AssertionError("no BadRequest")

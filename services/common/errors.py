"""Errors every service raises, and the one mapper from them to gRPC statuses (AIP-193)."""

from collections.abc import Iterable, Mapping
from typing import TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

DOMAIN = "costream"
# Error details travel in trailers, which gRPC caps at 16 KiB: what an error reports is
# bounded whatever the request was.
MAX_REPORTED_VIOLATIONS = 20
MAX_FIELD_CHARS = 100
MAX_DESCRIPTION_CHARS = 200
MAX_MESSAGE_CHARS = 1000
MAX_METADATA_VALUE_CHARS = 200


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


M = TypeVar("M", error_details_pb2.ErrorInfo, error_details_pb2.BadRequest)


class ServiceError(Exception):
    """An expected failure with a gRPC code, an ErrorInfo reason and, for bad input, field
    violations."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        violations: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = dict(metadata or {})
        self.violations = list(violations)


class InvalidArgument(ServiceError):
    """Bad input: the first MAX_REPORTED_VIOLATIONS field violations, clipped, and how many
    more there were."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: Iterable[tuple[str, str]], *, total: int | None = None) -> None:
        violations = list(violations)
        total = max(total or 0, len(violations))
        reported = [
            (clip(field, MAX_FIELD_CHARS), clip(description, MAX_DESCRIPTION_CHARS))
            for field, description in violations[:MAX_REPORTED_VIOLATIONS]
        ]
        if total > len(reported):
            reported.append(("request", f"and {total - len(reported)} more violations"))
        message = "; ".join(f"{field}: {description}" for field, description in reported)
        super().__init__("INVALID_FIELD", message or "invalid request", violations=reported)


class Unauthenticated(ServiceError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(ServiceError):
    code = grpc.StatusCode.PERMISSION_DENIED


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE

    def __init__(self, message: str = "a dependency is unavailable; retry") -> None:
        super().__init__("DEPENDENCY_UNAVAILABLE", message)


class DuplicateKey(Exception):
    """A repository found the row already there (a unique index caught it); `key` names the
    domain key, e.g. "room_id" or "request_id"."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate {key}")
        self.key = key


def to_status(error: ServiceError) -> grpc.Status:
    """The gRPC status for an error, with ErrorInfo and, for bad input, BadRequest details."""
    info = any_pb2.Any()
    metadata = {k: clip(v, MAX_METADATA_VALUE_CHARS) for k, v in error.metadata.items()}
    info.Pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=metadata))
    details = [info]
    if error.violations:
        bad_request = any_pb2.Any()
        bad_request.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                    for f, d in error.violations
                ]
            )
        )
        details.append(bad_request)
    return rpc_status.to_status(
        status_pb2.Status(
            code=error.code.value[0],
            message=clip(error.message, MAX_MESSAGE_CHARS),
            details=details,
        )
    )


def status_from_rpc_error(error: grpc.aio.AioRpcError) -> grpc.Status:
    """A peer's error status as it came, details included, to pass on unchanged."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return rpc_status.to_status(status_pb2.Status.FromString(value))
    return rpc_status.to_status(
        status_pb2.Status(code=error.code().value[0], message=error.details() or "")
    )


_CODES = {code.value[0]: code for code in grpc.StatusCode}


def rpc_error_from_status(status: status_pb2.Status) -> grpc.aio.AioRpcError:
    """The error a call to a peer raises when the peer fails it with this status: what a
    peer answers for each item of a batch reaches its caller as if asked alone."""
    return grpc.aio.AioRpcError(
        _CODES.get(status.code, grpc.StatusCode.UNKNOWN),
        grpc.aio.Metadata(),
        grpc.aio.Metadata(("grpc-status-details-bin", status.SerializeToString())),
        status.message,
    )


def peer_detail(error: grpc.RpcError, detail_type: type[M]) -> M | None:
    """The first detail of that type (ErrorInfo, BadRequest) a peer attached to its error, the
    error of a grpc.aio or a sync call."""
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(detail_type.DESCRIPTOR):
                    found = detail_type()
                    detail.Unpack(found)
                    return found
    return None

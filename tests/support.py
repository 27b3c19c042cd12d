"""Helpers for tests: tokens, unique ids, and reading costream error details."""

import asyncio
import time
import uuid

import asyncpg
import grpc
from google.rpc import error_details_pb2
from prometheus_client import REGISTRY

from services.common.auth import SERVICE_TOKEN_HEADER, ServiceTokenSource, mint_user_token
from services.common.config import DEV_AUTH_JWT_SECRET, DEV_INTERNAL_AUTH_SECRET
from services.common.errors import peer_detail


def user_metadata(user_id: str, *roles: str) -> list[tuple[str, str]]:
    token = mint_user_token(DEV_AUTH_JWT_SECRET, user_id, roles)
    return [("authorization", f"Bearer {token}")]


def service_metadata(service: str = "tests") -> list[tuple[str, str]]:
    token = ServiceTokenSource(DEV_INTERNAL_AUTH_SECRET, service).token()
    return [(SERVICE_TOKEN_HEADER, f"Bearer {token}")]


def unique(prefix: str = "u") -> str:
    """An id no other test uses, so tests share one database without cleaning up."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def reason_of(error: grpc.aio.AioRpcError) -> str:
    """The ErrorInfo reason of a costream error (and check its domain)."""
    info = peer_detail(error, error_details_pb2.ErrorInfo)
    assert info is not None, f"no ErrorInfo on {error.code()}: {error.details()}"
    assert info.domain == "costream"
    return info.reason


def violated_fields(error: grpc.aio.AioRpcError) -> set[str]:
    """The fields of the BadRequest field violations of an INVALID_ARGUMENT error."""
    bad = peer_detail(error, error_details_pb2.BadRequest)
    assert bad is not None, f"no BadRequest on {error.code()}: {error.details()}"
    return {v.field for v in bad.field_violations}


async def webhooks_applied(database_url: str, seconds: float = 10.0) -> None:
    """Wait until the broadcast service handed every webhook it accepted to the room service
    (nothing pending in its outbox). After the emulator's drain, the rooms are up to date."""
    connection = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + seconds
        query = "SELECT count(*) FROM broadcast.outbox WHERE delivered_time IS NULL"
        while await connection.fetchval(query):
            if time.monotonic() > deadline:
                raise AssertionError("accepted webhooks were not applied in time")
            await asyncio.sleep(0.02)
    finally:
        await connection.close()


def served(method: str, code: str | None = None) -> float:
    """How many calls this process's services answered for `method` (every code, or one);
    in-process services share one Prometheus registry (labelled by method)."""
    codes = [code] if code else [c.name for c in grpc.StatusCode]
    return sum(
        REGISTRY.get_sample_value("costream_rpc_total", {"method": method, "code": c}) or 0.0
        for c in codes
    )

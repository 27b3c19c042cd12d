"""Helpers for the end-to-end tests: callers, expected errors, waiting for a room status, the
and the services' Prometheus counters."""

import asyncio
import time
import urllib.request
from collections.abc import Awaitable
from typing import Any

import grpc
from costream.gateway.v1 import gateway_service_pb2_grpc
from costream.room.v1 import room_pb2, room_service_pb2
from prometheus_client.parser import text_string_to_metric_families

from tests.support import reason_of, user_metadata

Gateway = gateway_service_pb2_grpc.GatewayServiceStub
TIMEOUT = 10.0


def auth(user_id: str, *roles: str) -> dict[str, Any]:
    """Call options for a user: their token and a deadline."""
    return {"metadata": user_metadata(user_id, *roles), "timeout": TIMEOUT}


async def expect_error(call: Awaitable[Any], code: grpc.StatusCode, reason: str) -> None:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        assert error.code() == code, f"{error.code()} {error.details()}"
        assert reason_of(error) == reason
    else:
        raise AssertionError(f"expected {code.name} {reason}, the call succeeded")


async def wait_status(
    gateway: Gateway, room_id: str, status: int, user: str, seconds: float = 15.0
) -> room_pb2.Room:
    deadline = time.monotonic() + seconds
    while True:
        room = await gateway.GetRoom(room_service_pb2.GetRoomRequest(room_id=room_id), **auth(user))
        if room.status == status:
            return room
        if time.monotonic() > deadline:
            raise AssertionError(
                f"room {room_id} is {room_pb2.RoomStatus.Name(room.status)}, "
                f"expected {room_pb2.RoomStatus.Name(status)}"
            )
        await asyncio.sleep(0.1)


def _scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as reply:
        text = reply.read().decode()
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "costream_rpc":
            continue
        for sample in family.samples:
            if sample.name == "costream_rpc_total":
                method = sample.labels["method"]
                counts[method] = counts.get(method, 0.0) + sample.value
    return counts


async def rpc_counts(metrics_port: int) -> dict[str, float]:
    """costream_rpc_total of one service process, summed over codes, by method."""
    return await asyncio.to_thread(_scrape, f"http://127.0.0.1:{metrics_port}/metrics")

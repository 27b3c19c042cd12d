"""SIGTERM under load (32 callers through the gateway): health turns NOT_SERVING while the
service still answers, then new calls are refused with UNAVAILABLE and the calls in flight
finish. No caller ever sees anything but success or UNAVAILABLE, and the service comes back."""

import asyncio

import grpc
from costream.gateway.v1 import gateway_service_pb2_grpc
from costream.room.v1 import room_service_pb2 as rs
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.flow import auth
from tests.fault.conftest import Load, serving_again
from tests.support import unique

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def room_reads(gateway) -> tuple[str, Load]:
    await serving_again(gateway)
    host = unique("host")
    room = await gateway.CreateRoom(
        rs.CreateRoomRequest(title="busy"), wait_for_ready=True, **auth(host)
    )

    async def read(caller: int) -> None:
        await gateway.GetRoom(rs.GetRoomRequest(room_id=room.room_id), **auth(f"reader{caller}"))

    return room.room_id, Load(read)


async def test_a_gateway_drain_under_load_answers_only_success_or_unavailable(stack, gateway):
    room_id, load = await room_reads(gateway)
    async with grpc.aio.insecure_channel(stack.addr("gateway")) as channel:
        # A caller that does not watch health (one behind a load balancer that has not yet
        # moved away) is still served during the shutdown delay.
        unwatched = gateway_service_pb2_grpc.GatewayServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
        assert (await health.read()).status == SERVING
        async with load:
            await asyncio.sleep(0.5)
            stopping = asyncio.create_task(asyncio.to_thread(stack.stop_service, "gateway"))
            assert (await health.read()).status == NOT_SERVING
            served = await unwatched.GetRoom(rs.GetRoomRequest(room_id=room_id), **auth("late"))
            assert served.room_id == room_id
            await stopping
            await asyncio.to_thread(stack.start_service, "gateway")
            await asyncio.sleep(0.5)
    assert load.only("OK", "UNAVAILABLE"), load.codes
    assert load.codes["UNAVAILABLE"] > 0  # it was down a while, and said so


async def test_a_room_service_drain_under_load_answers_only_success_or_unavailable(stack, gateway):
    room_id, load = await room_reads(gateway)
    async with load:
        await asyncio.sleep(0.5)
        await asyncio.to_thread(stack.stop_service, "room")
        await asyncio.sleep(0.3)
        await asyncio.to_thread(stack.start_service, "room")
        await asyncio.sleep(0.5)
    assert load.only("OK", "UNAVAILABLE"), load.codes
    await serving_again(gateway)
    after = await gateway.GetRoom(rs.GetRoomRequest(room_id=room_id), **auth("reader"))
    assert after.room_id == room_id


async def test_a_watch_stream_ends_with_unavailable_when_its_service_drains(stack, gateway):
    room_id, _ = await room_reads(gateway)
    stream = gateway.WatchRoom(rs.WatchRoomRequest(room_id=room_id), **auth(unique("viewer")))
    await stream.read()  # the snapshot
    stopping = asyncio.create_task(asyncio.to_thread(stack.stop_service, "room"))
    try:
        try:
            await stream.read()
            raise AssertionError("the stream went on through the drain")
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error
    finally:
        await stopping
        await asyncio.to_thread(stack.start_service, "room")

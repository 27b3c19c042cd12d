"""SIGTERM: health goes NOT_SERVING first, in-flight calls finish, new ones are refused, and
the process exits cleanly."""

import asyncio
import os
import signal
import sys

import asyncpg
import grpc
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support import unique, user_metadata
from tools.devstack import free_port


async def _wait_serving(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for _ in range(300):
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(address)


async def test_sigterm_drains_in_flight_calls_after_health_turns_not_serving(database_url):
    port = free_port()
    env = {
        **os.environ,
        "COSTREAM_ENV": "test",
        "DATABASE_URL": database_url,
        "ROOM_PORT": str(port),
        "METRICS_PORT": "0",
        "SHUTDOWN_GRACE_SECONDS": "10",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.room", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    blocker = await asyncpg.connect(database_url)
    try:
        await _wait_serving(address)
        host = unique("host")
        async with grpc.aio.insecure_channel(address) as channel:
            rooms = room_service_pb2_grpc.RoomServiceStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            room = await rooms.CreateRoom(
                room_service_pb2.CreateRoomRequest(title="drain"), metadata=user_metadata(host)
            )
            watch = health.Watch(health_pb2.HealthCheckRequest())
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING

            # Hold the room's row lock so StopRoom is in flight when SIGTERM arrives.
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute(
                "SELECT 1 FROM room.rooms WHERE room_id = $1 FOR UPDATE", room.room_id
            )
            in_flight = asyncio.ensure_future(
                rooms.StopRoom(
                    room_service_pb2.StopRoomRequest(room_id=room.room_id),
                    metadata=user_metadata(host),
                    timeout=20,
                )
            )
            burst = [
                asyncio.ensure_future(
                    rooms.CreateRoom(
                        room_service_pb2.CreateRoomRequest(title=f"burst {i}"),
                        metadata=user_metadata(host),
                        timeout=20,
                    )
                )
                for i in range(50)
            ]
            await asyncio.sleep(0.5)
            process.send_signal(signal.SIGTERM)

            assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
            assert not in_flight.done()
            await tx.rollback()  # let the in-flight call through
            stopped = await in_flight
            assert stopped.status == room_pb2.ROOM_STATUS_ENDED

            results = await asyncio.gather(*burst, return_exceptions=True)
            for result in results:
                if isinstance(result, grpc.aio.AioRpcError):
                    assert result.code() == grpc.StatusCode.UNAVAILABLE, result
            created = [r for r in results if not isinstance(r, Exception)]

        assert await asyncio.wait_for(process.wait(), 15) == 0
        count = await blocker.fetchval(
            "SELECT count(*) FROM room.rooms WHERE host_user_id = $1 AND title LIKE 'burst %'",
            host,
        )
        assert count == len(created)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await blocker.close()

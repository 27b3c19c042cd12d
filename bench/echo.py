"""The baselines: a trivial grpc.aio service in a process of its own (`python -m bench.echo
PORT`). Echo answers every call with the bytes it was sent: driven by the same client code as
the gateway, it is the most calls a second this machine's gRPC stack carries, the ceiling every
scenario's throughput is a ratio of. Watch sends its request back, then every message
Publish is given: the floor of a fan-out to many streams, for watch_fanout."""

import asyncio
import signal
import sys
from collections.abc import AsyncIterator

import grpc

SERVICE = "bench.Echo"
ECHO_METHOD, WATCH_METHOD, PUBLISH_METHOD = (
    f"/{SERVICE}/{m}" for m in ("Echo", "Watch", "Publish")
)


async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


class Fanout:
    def __init__(self) -> None:
        self._watchers: set[asyncio.Queue[bytes]] = set()

    async def watch(
        self, request: bytes, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._watchers.add(queue)
        try:
            yield request
            while True:
                yield await queue.get()
        finally:
            self._watchers.discard(queue)

    async def publish(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        for queue in self._watchers:
            queue.put_nowait(request)
        return b""


async def serve(port: int) -> None:
    server = grpc.aio.server()
    fanout = Fanout()
    # No serializers: the handlers get and return the raw bytes.
    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Watch": grpc.unary_stream_rpc_method_handler(fanout.watch),
        "Publish": grpc.unary_unary_rpc_method_handler(fanout.publish),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(1)


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))

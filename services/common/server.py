"""Server bootstrap shared by every service: grpc.aio with one interceptor for request ids,
authentication and error mapping, the standard health service (NOT_SERVING while starting and
on SIGTERM), reflection, background loops, and a graceful drain on SIGTERM/SIGINT."""

import asyncio
import contextlib
import contextvars
import json
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common import auth, observability
from services.common.config import ConfigError, Settings, load_settings
from services.common.db import CONNECTION_ERRORS
from services.common.errors import (
    InvalidArgument,
    ServiceError,
    Unavailable,
    status_from_rpc_error,
    to_status,
)
from services.common.logging import configure_logging

log = structlog.get_logger()

REQUEST_ID_HEADER = "x-request-id"
# Trailer of a Create answered from an earlier call with the same request_id (AIP-155): the
# resource was not made by this call.
REPLAYED_HEADER = "x-costream-replayed"
_UNPARSEABLE = object()
# Explicit limits on every server and channel: a request or response past them is refused
# before anything reads it (4 MiB is gRPC's default receive limit; pages stay under 1 MiB).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
MAX_METADATA_BYTES = 16 * 1024
MESSAGE_LIMITS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_metadata_size", MAX_METADATA_BYTES),
]
# Peers ping every 30 s (keepalive_time_ms in peer_channel); a server left at gRPC's defaults
# (a ping at most every 5 min, none without a call) counts those as strikes and closes the
# connection with GOAWAY too_many_pings, failing the calls on it with UNAVAILABLE.
PEER_PINGS_ALLOWED = [
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
]
# Client-side health checking: a channel sends nothing to a server that reports NOT_SERVING
# (starting, or draining after SIGTERM) and fails fast with UNAVAILABLE instead, so no call is
# in flight when that server stops. Every costream channel, and clients should, use it.
HEALTH_CHECKED_CHANNEL = (
    "grpc.service_config",
    json.dumps(
        {"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}}
    ),
)

# When the current RPC must finish (time.monotonic()), so calls to peers inherit it.
request_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "request_deadline", default=None
)
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def _lenient(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """A request that does not parse (bad wire format, invalid UTF-8) becomes INVALID_ARGUMENT
    instead of the INTERNAL grpc would answer."""
    if deserialize is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception:
            return _UNPARSEABLE

    return parse


class CallContextInterceptor(grpc.aio.ServerInterceptor):
    """Every costream call: request id, deadline, authentication, errors mapped to statuses,
    metrics; and the drain: once `close()` is called, new calls are refused with UNAVAILABLE
    and open streams end with it, while unary calls in flight finish."""

    def __init__(
        self,
        verifier: auth.TokenVerifier,
        internal_methods: Iterable[str],
        service_methods: Iterable[str] = (),
    ) -> None:
        self._verifier = verifier
        self._internal = frozenset(internal_methods)
        self._services_too = frozenset(service_methods)
        self._closed = asyncio.Event()
        # Stream tasks waiting for their next response, and those the drain cancelled.
        self._waiting: set[asyncio.Task[Any]] = set()
        self._drained: set[asyncio.Task[Any]] = set()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def close(self) -> None:
        self._closed.set()
        # Streams waiting for their next response end now; one being sent ends after it.
        for task in self._waiting:
            self._drained.add(task)
            task.cancel()

    async def idle(self) -> None:
        """Until no unary call is in flight."""
        await self._idle.wait()

    def _enter(self) -> None:
        if self._closed.is_set():
            raise Unavailable("the server is shutting down; retry")
        self._in_flight += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        handler = await continuation(details)
        if handler is None or not details.method.startswith("/costream."):
            return handler
        method = details.method
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self.wrap_unary(handler.unary_unary, method),
                request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self.wrap_stream(handler.unary_stream, method),
                request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler

    # What every call of `method` ("/package.Service/Method") goes through, also when it
    # arrives over HTTP (services/gateway/web.py) with a context that speaks for the request.
    def wrap_unary(self, behavior, method: str):  # type: ignore[no-untyped-def]
        return self._unary(behavior, method, method.rsplit("/", 1)[1] in self._internal)

    def wrap_stream(self, behavior, method: str):  # type: ignore[no-untyped-def]
        return self._stream(behavior, method, method.rsplit("/", 1)[1] in self._internal)

    def _begin(self, request: Any, context: grpc.aio.ServicerContext, method: str, internal: bool):
        metadata = context.invocation_metadata() or ()
        rid = next((v for k, v in metadata if k == REQUEST_ID_HEADER), "") or uuid.uuid4().hex
        request_id.set(rid[:64])
        remaining = context.time_remaining()
        request_deadline.set(time.monotonic() + remaining if remaining is not None else None)
        structlog.contextvars.bind_contextvars(request_id=rid[:64], rpc=method.rsplit("/", 1)[1])
        if request is _UNPARSEABLE:
            raise InvalidArgument([("request", "not a valid message (strings must be UTF-8)")])
        name = method.rsplit("/", 1)[1]
        caller = self._verifier.authenticate(metadata, internal, name in self._services_too)
        auth.current_caller.set(caller)
        if caller.user_id:
            structlog.contextvars.bind_contextvars(user_id=caller.user_id)
        room_id = getattr(request, "room_id", "")
        if isinstance(room_id, str) and room_id:
            structlog.contextvars.bind_contextvars(room_id=room_id[:64])

    def _unary(self, behavior, method: str, internal: bool):  # type: ignore[no-untyped-def]
        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            entered = False
            try:
                self._enter()
                entered = True
                self._begin(request, context, method, internal)
                return await behavior(request, context)
            except Exception as error:
                if isinstance(error, grpc.aio.AbortError):
                    code = context.code() or grpc.StatusCode.UNKNOWN
                    raise
                status, code = _status_for(error)
                await context.abort_with_status(status)
            finally:
                if entered:
                    self._leave()
                _finish(method, code, started)

        return wrapped

    async def _until_closed(self, responses: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """A stream's responses until the drain closes it (then UNAVAILABLE: reconnect). The
        stream's own task waits for each response, and the drain cancels it while it waits:
        no task per response, which a fan-out to thousands of streams feels."""
        me = asyncio.current_task()
        assert me is not None
        try:
            while True:
                if self._closed.is_set():
                    raise Unavailable("the server is shutting down; reconnect")
                self._waiting.add(me)
                try:
                    response = await anext(responses)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if me in self._drained and me.uncancel() == 0:
                        raise Unavailable("the server is shutting down; reconnect") from None
                    raise
                finally:
                    self._waiting.discard(me)
                yield response
        finally:
            self._drained.discard(me)
            await responses.aclose()

    def _stream(self, behavior, method: str, internal: bool):  # type: ignore[no-untyped-def]
        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                if self._closed.is_set():
                    raise Unavailable("the server is shutting down; retry")
                self._begin(request, context, method, internal)
                async for response in self._until_closed(behavior(request, context)):
                    yield response
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception as error:
                if isinstance(error, grpc.aio.AbortError):
                    code = context.code() or grpc.StatusCode.UNKNOWN
                    raise
                status, code = _status_for(error)
                await context.abort_with_status(status)
            finally:
                _finish(method, code, started)

        return wrapped


def _status_for(error: Exception) -> tuple[grpc.Status, grpc.StatusCode]:
    """The one place an exception becomes a gRPC status."""
    if isinstance(error, CONNECTION_ERRORS):
        error = Unavailable("the database is unavailable; retry")
    if isinstance(error, grpc.aio.AioRpcError):
        if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            error = Unavailable(f"a peer service is unavailable ({error.code().name}); retry")
        else:
            return status_from_rpc_error(error), error.code()
    if isinstance(error, ServiceError):
        if error.code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE):
            log.warning(
                "rpc failed", code=error.code.name, reason=error.reason, error=error.message
            )
        return to_status(error), error.code
    log.exception("rpc failed unexpectedly", exc_info=error)
    internal = ServiceError("INTERNAL", "internal error")
    return to_status(internal), grpc.StatusCode.INTERNAL


def status_details(error: Exception) -> bytes:
    """The google.rpc.Status, serialized, that a call failing with `error` answers: for an item
    of a batch, which fails as it would have alone."""
    status, _ = _status_for(error)
    return next(v for k, v in status.trailing_metadata if k == "grpc-status-details-bin")


# A call slower than this is logged at INFO even when it succeeds.
SLOW_CALL_SECONDS = 0.5


def _finish(method: str, code: grpc.StatusCode, started: float) -> None:
    elapsed = time.perf_counter() - started
    observability.observe_rpc(method, code.name, elapsed)
    # Every call is counted and timed in the metrics; the log has the ones worth reading
    # (LOG_LEVEL=debug logs every call).
    if code is not grpc.StatusCode.OK or elapsed >= SLOW_CALL_SECONDS:
        log.info("rpc", code=code.name, ms=round(elapsed * 1000, 1))
    else:
        log.debug("rpc", code=code.name, ms=round(elapsed * 1000, 1))
    structlog.contextvars.unbind_contextvars("request_id", "rpc", "user_id", "room_id")


def mark_replayed(context: grpc.aio.ServicerContext, replayed: bool) -> None:
    """Tell the caller a Create was answered from an earlier call with its request_id."""
    if replayed:
        context.set_trailing_metadata(((REPLAYED_HEADER, "true"),))


# --- Calls to peer services -------------------------------------------------------------------


class _PeerMetadata:
    """Adds the service token, forwards the caller's token and request id, and bounds the
    call by the current request's deadline (headers a caller set itself are kept)."""

    def __init__(self, tokens: auth.ServiceTokenSource, default_timeout: float) -> None:
        self._tokens = tokens
        self._default_timeout = default_timeout

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        if auth.SERVICE_TOKEN_HEADER not in metadata:
            metadata[auth.SERVICE_TOKEN_HEADER] = f"Bearer {self._tokens.token()}"
        caller = auth.current_caller.get()
        if caller.token and auth.USER_TOKEN_HEADER not in metadata:
            metadata[auth.USER_TOKEN_HEADER] = f"Bearer {caller.token}"
        if request_id.get() and REQUEST_ID_HEADER not in metadata:
            metadata[REQUEST_ID_HEADER] = request_id.get()
        timeout = details.timeout if details.timeout is not None else self._default_timeout
        deadline = request_deadline.get()
        if deadline is not None:
            timeout = max(0.0, min(timeout, deadline - time.monotonic()))
        return grpc.aio.ClientCallDetails(
            details.method, timeout, metadata, details.credentials, details.wait_for_ready
        )


# grpc.aio files an interceptor under the first call type it matches: one object per type.
class _UnaryPeerMetadata(_PeerMetadata, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(self._details(client_call_details), request)


class _StreamPeerMetadata(_PeerMetadata, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(self._details(client_call_details), request)


def peer_channel(settings: Settings, peer: str) -> grpc.aio.Channel:
    """One long-lived channel to a peer service; reconnects by itself when the peer returns."""
    tokens = auth.ServiceTokenSource(settings.internal_auth_secret, settings.service)
    return grpc.aio.insecure_channel(
        settings.addr(peer),
        interceptors=[
            _UnaryPeerMetadata(tokens, settings.peer_timeout),
            _StreamPeerMetadata(tokens, settings.peer_timeout),
        ],
        options=[
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 2_000),
            # Connections of its own: gRPC otherwise shares a process's connections to one
            # address among its channels, and with them one channel's reconnect backoff (the
            # outbox relay's, refused by a peer not started yet, failed the gateway's calls at
            # once where every service runs in one process: the integration tests).
            ("grpc.use_local_subchannel_pool", 1),
            HEALTH_CHECKED_CHANNEL,
            *MESSAGE_LIMITS,
        ],
    )


# --- Serving ----------------------------------------------------------------------------------


@dataclass
class ServiceSpec:
    """What one service process serves and runs."""

    settings: Settings
    # (add_XServicer_to_server, servicer, full service name)
    servicers: list[tuple[Callable[[Any, grpc.aio.Server], None], Any, str]]
    internal_methods: frozenset[str] = frozenset()
    # Client RPCs a peer service may also call with its service token alone.
    service_methods: frozenset[str] = frozenset()
    # Runs after the port is bound, before health turns SERVING (open the pool, ...).
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Long-running loops (timers, outbox relays, listeners), cancelled at shutdown.
    loops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Runs after the drain (close the pool, channels, ...).
    shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # The same servicers over HTTP (the gateway's web port): started once the gRPC port is
    # bound, with the server's interceptor, so its calls are authenticated, mapped, counted
    # and drained alike. It binds its port when called and returns what serves on it until
    # the event is set.
    web: Callable[[CallContextInterceptor], Callable[[asyncio.Event], Awaitable[None]]] | None = (
        None
    )


async def serve(spec: ServiceSpec, stop: asyncio.Event) -> None:
    """Serve until `stop` is set, then drain: health NOT_SERVING first, loops cancelled,
    in-flight calls given the grace period, new ones refused."""
    settings = spec.settings
    calls = CallContextInterceptor(
        auth.TokenVerifier(settings), spec.internal_methods, spec.service_methods
    )
    server = grpc.aio.server(
        interceptors=[calls],
        options=[("grpc.so_reuseport", 0), *PEER_PINGS_ALLOWED, *MESSAGE_LIMITS],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [name for _, _, name in spec.servicers]
    for add, servicer, _ in spec.servicers:
        add(servicer, server)
    if settings.grpc_reflection:
        reflection.enable_server_reflection(
            [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    address = f"{settings.bind_host}:{settings.port}"
    if server.add_insecure_port(address) == 0:
        raise RuntimeError(f"cannot bind {address}")
    await server.start()
    observability.start_metrics_server(settings)
    log.info("listening", address=address)

    tasks: list[asyncio.Task[None]] = []
    web_stop = asyncio.Event()
    web: asyncio.Task[None] | None = None
    try:
        if spec.web is not None:
            web = asyncio.create_task(spec.web(calls)(web_stop))
        for step in spec.startup:
            await step()
        tasks = [asyncio.create_task(_supervised(run)) for run in spec.loops]
        for name in ["", *names]:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", services=names)
        await stop.wait()
    finally:
        # NOT_SERVING first, still serving while probes and clients move traffic away; then
        # new calls are refused (UNAVAILABLE, safe to retry elsewhere), streams end with it,
        # and calls in flight finish within the grace period before the server stops.
        log.info("draining", delay=settings.shutdown_delay, grace=settings.shutdown_grace)
        await health_servicer.enter_graceful_shutdown()
        await asyncio.sleep(settings.shutdown_delay)
        calls.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(calls.idle(), settings.shutdown_grace)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.stop(settings.shutdown_grace)
        if web is not None:
            web_stop.set()
            await web
        for step in spec.shutdown:
            await step()
        log.info("stopped")


async def _supervised(run: Callable[[], Awaitable[None]]) -> None:
    """Keep a background loop alive: log a crash and start it again."""
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop crashed; restarting", loop=getattr(run, "__name__", ""))
            await asyncio.sleep(1.0)


def run_service(service: str, build: Callable[[Settings], ServiceSpec]) -> None:
    """The `python -m services.<name>` entry point: settings, logging, serve until a signal."""
    try:
        settings = load_settings(service)
    except ConfigError as e:
        print(f"costream {service}: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(service, settings.log_format, settings.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(build(settings), stop)

    # uvloop: a faster event loop (libuv) for grpc.aio, asyncpg and aiohttp alike.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(main())

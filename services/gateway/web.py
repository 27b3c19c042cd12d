"""The gateway for browsers: the same GatewayService over HTTP/1.1 on GATEWAY_HTTP_PORT, in the
Connect protocol (JSON and binary) and gRPC-Web (binary, and text through GrpcWebText), through
connectrpc's ASGI application, plus the monitoring console's static files at /console/.

Nothing here implements an RPC: every method of the service descriptor calls the same
GatewayServicer method through the gRPC server's own interceptor (request id, deadline,
authentication, error mapping, metrics, drain), with a context that answers what the
interceptor and the servicer ask of a grpc.aio context."""

import asyncio
import base64
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from connectrpc.code import Code
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.request import RequestContext
from connectrpc.server import ConnectASGIApplication, Endpoint
from google.protobuf import descriptor, message_factory
from google.rpc import status_pb2
from hypercorn.asyncio import serve
from hypercorn.config import Config
from protobuf.wkt import Any as AnyDetail
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.config import Settings
from services.common.errors import InvalidArgument, to_status
from services.common.server import MAX_MESSAGE_BYTES, CallContextInterceptor

CONSOLE_DIR = Path(__file__).parent / "console"
# What a browser may send and read (Connect, gRPC-Web, costream's own headers).
ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "Connect-Protocol-Version",
    "Connect-Timeout-Ms",
    "Grpc-Timeout",
    "X-Grpc-Web",
    "X-User-Agent",
    "X-Request-Id",
]
EXPOSED_HEADERS = [
    "Grpc-Status",
    "Grpc-Message",
    "Grpc-Status-Details-Bin",
    "X-Costream-Replayed",
    "Trailer-X-Costream-Replayed",
]
_CODES = {code.value[0]: code for code in grpc.StatusCode}
_CONNECT_CODES = {code.name: code for code in Code} | {"CANCELLED": Code.CANCELED}


def connect_error(status: grpc.Status) -> ConnectError:
    """The Connect error of a gRPC status: the same code, message and details (ErrorInfo,
    BadRequest), as the gRPC port would answer them."""
    details = next(v for k, v in status.trailing_metadata if k == "grpc-status-details-bin")
    rich = status_pb2.Status.FromString(details)
    return ConnectError(
        _CONNECT_CODES[_CODES[rich.code].name],
        rich.message,
        [AnyDetail(type_url=d.type_url, value=d.value) for d in rich.details],
    )


class HttpCallContext:
    """What the interceptor and the servicer use of a grpc.aio.ServicerContext, for one HTTP
    call: its headers as metadata, its deadline, trailers, and abort with a status."""

    def __init__(self, ctx: RequestContext) -> None:
        self._ctx = ctx
        self._status: grpc.Status | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return tuple((k.lower(), v) for k, v in self._ctx.request_headers.allitems())

    def time_remaining(self) -> float | None:
        remaining = self._ctx.timeout_ms
        return None if remaining is None else max(0.0, remaining / 1000)

    async def send_initial_metadata(self, metadata: Any) -> None:
        """HTTP response headers go out with the first message."""

    def set_trailing_metadata(self, metadata: Any) -> None:
        for key, value in metadata:
            self._ctx.response_trailers[key] = value

    async def abort_with_status(self, status: grpc.Status) -> None:
        self._status = status
        raise grpc.aio.AbortError()

    def code(self) -> grpc.StatusCode | None:
        return self._status.code if self._status else None

    def error(self) -> ConnectError:
        assert self._status is not None
        return connect_error(self._status)


def _unary(wrapped: Callable[[Any, Any], Awaitable[Any]]):  # type: ignore[no-untyped-def]
    async def call(request: Any, ctx: RequestContext) -> Any:
        context = HttpCallContext(ctx)
        try:
            return await wrapped(request, context)
        except grpc.aio.AbortError:
            raise context.error() from None

    return call


def _server_stream(wrapped: Callable[[Any, Any], AsyncIterator[Any]]):  # type: ignore[no-untyped-def]
    async def call(request: Any, ctx: RequestContext) -> AsyncIterator[Any]:
        context = HttpCallContext(ctx)
        try:
            async for response in wrapped(request, context):
                yield response
        except grpc.aio.AbortError:
            raise context.error() from None

    return call


def endpoints(
    service: descriptor.ServiceDescriptor, servicer: Any, calls: CallContextInterceptor
) -> dict[str, Endpoint]:
    """One endpoint per method of the service, each calling the servicer's method of that
    name through the interceptor, as a gRPC call of it would."""
    found = {}
    for method in service.methods:
        if method.client_streaming:
            raise ValueError(f"{method.full_name}: client streams are not served over HTTP")
        path = f"/{service.full_name}/{method.name}"
        info = MethodInfo(
            name=method.name,
            service_name=service.full_name,
            input=message_factory.GetMessageClass(method.input_type),
            output=message_factory.GetMessageClass(method.output_type),
            idempotency_level=IdempotencyLevel.UNKNOWN,
            stream_type=StreamType.SERVER_STREAM if method.server_streaming else StreamType.UNARY,
        )
        behavior = getattr(servicer, method.name)
        if method.server_streaming:
            function = _server_stream(calls.wrap_stream(behavior, path))
            found[path] = Endpoint.server_stream(method=info, function=function)
        else:
            found[path] = Endpoint.unary(
                method=info, function=_unary(calls.wrap_unary(behavior, path))
            )
    return found


class _LenientCodec:
    """A request that does not parse is INVALID_ARGUMENT `INVALID_FIELD` on `request`, as on
    the gRPC port (server.py's _lenient), not the library's bare invalid_argument."""

    def __init__(self, codec: Any) -> None:
        self._codec = codec

    def name(self) -> str:
        return self._codec.name()

    def encode(self, message: Any) -> bytes:
        return self._codec.encode(message)

    def decode(self, data: bytes | bytearray, message_class: Any) -> Any:
        try:
            return self._codec.decode(data, message_class)
        except Exception:
            invalid = InvalidArgument([("request", "not a valid message (strings must be UTF-8)")])
            raise connect_error(to_status(invalid)) from None


class ServiceApplication(ConnectASGIApplication[Any]):
    """connectrpc's ASGI application for one service, built from its descriptor."""

    def __init__(
        self, service: descriptor.ServiceDescriptor, servicer: Any, calls: CallContextInterceptor
    ) -> None:
        self._path = f"/{service.full_name}"
        super().__init__(
            service=servicer,
            endpoints=lambda servicer: endpoints(service, servicer, calls),
            # The gRPC port's receive limit; compressed requests are not taken (no unbounded
            # inflation, and browsers do not compress requests).
            read_max_bytes=MAX_MESSAGE_BYTES,
            compressions=(),
            codecs=[
                _LenientCodec(google_protobuf_binary_codec()),
                _LenientCodec(google_protobuf_json_codec()),
            ],
        )

    @property
    def path(self) -> str:
        return self._path


class OriginGate:
    """A browser request from an origin not allowed is refused outright (403, no CORS
    headers); requests without Origin (curl, servers) pass."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self._app = app
        self._origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
            if origin is not None and origin.decode("latin-1") not in self._origins:
                await PlainTextResponse("origin not allowed", 403)(scope, receive, send)
                return
        await self._app(scope, receive, send)


GRPC_WEB_TEXT = b"application/grpc-web-text"


class GrpcWebText:
    """gRPC-Web's text mode (grpc-web's default for browsers, and the only way its clients
    stream): the binary protocol, base64 in both directions. The request is decoded and
    handed on as `application/grpc-web+proto` (its size bounded as the gRPC port bounds a
    message); each chunk of the answer is encoded as it is sent, so a streamed message reaches
    the client at once (grpc-web's decoder reads 4-character groups, padded ones included)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._app = app
        # Base64 of the largest message, its frame header and the trailers' room.
        self._max_text = (max_bytes + 1024) * 4 // 3

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope.get("headers", []) if scope["type"] == "http" else []
        content_type = next((v for k, v in headers if k == b"content-type"), b"")
        if not content_type.startswith(GRPC_WEB_TEXT):
            await self._app(scope, receive, send)
            return
        text = bytearray()
        while True:
            message = await receive()
            text += message.get("body", b"")
            if len(text) > self._max_text:
                await PlainTextResponse("request too large", 413)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        try:
            body = base64.b64decode(bytes(text), validate=True)
        except ValueError:
            await PlainTextResponse("request is not base64", 400)(scope, receive, send)
            return
        binary = b"application/grpc-web+proto"
        scope = {
            **scope,
            "headers": [(k, binary if k == b"content-type" else v) for k, v in headers],
        }
        delivered = False

        async def decoded() -> dict:
            nonlocal delivered
            if delivered:
                return await receive()  # the disconnect, when it comes
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def encoded(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [
                        (k, GRPC_WEB_TEXT + b"+proto" if k == b"content-type" else v)
                        for k, v in message.get("headers", [])
                    ],
                }
            elif message["type"] == "http.response.body":
                message = {**message, "body": base64.b64encode(message.get("body", b""))}
            await send(message)

        await self._app(scope, decoded, encoded)


class ConsoleFiles(StaticFiles):
    """The console, revalidated on every load (ETag / Last-Modified answer 304)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


async def _to_console(_: Any) -> Response:
    return RedirectResponse("/console/", status_code=308)


def application(
    settings: Settings,
    service: descriptor.ServiceDescriptor,
    servicer: Any,
    calls: CallContextInterceptor,
) -> ASGIApp:
    rpc = ServiceApplication(service, servicer, calls)
    return Starlette(
        routes=[
            Route("/", _to_console),
            Mount("/console", ConsoleFiles(directory=CONSOLE_DIR, html=True)),
            Mount(rpc.path, rpc),
        ],
        middleware=[
            Middleware(OriginGate, origins=settings.cors_allowed_origins),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_allowed_origins),
                allow_methods=["GET", "POST"],
                allow_headers=ALLOWED_HEADERS,
                expose_headers=EXPOSED_HEADERS,
                max_age=7200,
            ),
            Middleware(GrpcWebText),
        ],
    )


def web_port(
    settings: Settings, service: descriptor.ServiceDescriptor, servicer: Any
) -> Callable[[CallContextInterceptor], Callable[[asyncio.Event], Awaitable[None]]]:
    """ServiceSpec.web for the gateway: binds GATEWAY_HTTP_PORT at once (a taken port fails
    the start), then serves with hypercorn on the server's event loop until stopped."""

    def bind(calls: CallContextInterceptor) -> Callable[[asyncio.Event], Awaitable[None]]:
        app = application(settings, service, servicer, calls)
        sock = socket.create_server((settings.bind_host, settings.gateway_http_port))
        config = Config()
        config.bind = [f"fd://{sock.detach()}"]
        config.graceful_timeout = settings.shutdown_grace
        config.keep_alive_timeout = 75
        config.accesslog = None

        async def run(stop: asyncio.Event) -> None:
            await serve(app, config, shutdown_trigger=stop.wait, mode="asgi")

        return run

    return bind

"""Wiring of the gateway process: one long-lived channel per backend, no database."""

from costream.broadcast.v1 import broadcast_service_pb2_grpc
from costream.gateway.v1 import gateway_service_pb2, gateway_service_pb2_grpc
from costream.invitation.v1 import invitation_service_pb2_grpc
from costream.post.v1 import post_service_pb2_grpc
from costream.room.v1 import room_service_pb2_grpc

from services.common.config import Settings
from services.common.server import ServiceSpec, peer_channel
from services.gateway.domain import RateLimiter, StreamLimit
from services.gateway.handlers import Backends
from services.gateway.room_feeds import RoomFeeds
from services.gateway.servicer import SERVICE_NAME, GatewayServicer
from services.gateway.web import web_port

BACKENDS = ("room", "post", "invitation", "broadcast")


def build(settings: Settings) -> ServiceSpec:
    # peer_channel adds the service token, forwards the caller's token and request id, caps
    # each call by the caller's deadline, and reconnects by itself (backoff 0.2–2 s).
    channels = {name: peer_channel(settings, name) for name in BACKENDS}
    backends = Backends(
        rooms=room_service_pb2_grpc.RoomServiceStub(channels["room"]),
        posts=post_service_pb2_grpc.PostServiceStub(channels["post"]),
        invitations=invitation_service_pb2_grpc.InvitationServiceStub(channels["invitation"]),
        broadcast=broadcast_service_pb2_grpc.BroadcastServiceStub(channels["broadcast"]),
    )
    feeds = RoomFeeds(
        backends.rooms,
        size=settings.room_feeds,
        idle_seconds=settings.room_feed_idle_seconds,
        keepalive_seconds=settings.watch_keepalive_seconds,
    )
    servicer = GatewayServicer(
        backends,
        RateLimiter(settings.rate_limit_per_minute),
        StreamLimit(settings.max_streams_per_user),
        feeds,
    )

    async def close_channels() -> None:
        for channel in channels.values():
            await channel.close()

    return ServiceSpec(
        settings=settings,
        servicers=[
            (gateway_service_pb2_grpc.add_GatewayServiceServicer_to_server, servicer, SERVICE_NAME)
        ],
        loops=[feeds.sweep],
        shutdown=[feeds.close_all, close_channels],
        # The same servicer for browsers: Connect and gRPC-Web on GATEWAY_HTTP_PORT.
        web=web_port(
            settings, gateway_service_pb2.DESCRIPTOR.services_by_name["GatewayService"], servicer
        ),
    )

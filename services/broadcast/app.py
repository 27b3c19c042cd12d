"""Wiring of the broadcast service process: gRPC (credentials, LiveKit side effects) and the
LiveKit webhook endpoint over HTTP, started and stopped with it."""

from datetime import timedelta

from costream.broadcast.v1 import broadcast_service_pb2_grpc

from services.broadcast.domain import TokenMinter
from services.broadcast.handlers import Broadcast
from services.broadcast.livekit_client import LiveKitClient
from services.broadcast.servicer import INTERNAL_METHODS, SERVICE_NAME, BroadcastServicer
from services.broadcast.webhooks import WebhookServer
from services.common.config import LOCAL_LIVEKIT_URL, Settings
from services.common.server import ServiceSpec, peer_channel
from services.room.client import RoomClient


def build(settings: Settings) -> ServiceSpec:
    room_channel = peer_channel(settings, "room")
    livekit = LiveKitClient(
        settings.livekit_url or LOCAL_LIVEKIT_URL,
        settings.livekit_api_key,
        settings.livekit_api_secret,
        settings.peer_timeout,
    )
    broadcast = Broadcast(
        rooms=RoomClient(room_channel),
        livekit=livekit,
        tokens=TokenMinter(
            settings.livekit_api_key,
            settings.livekit_api_secret,
            timedelta(seconds=settings.token_ttl),
            settings.livekit_public_url,
        ),
        token_ttl=settings.token_ttl,
        reconnect_timeout=settings.reconnect_timeout,
    )
    webhooks = WebhookServer(settings, broadcast)
    return ServiceSpec(
        settings=settings,
        servicers=[
            (
                broadcast_service_pb2_grpc.add_BroadcastServiceServicer_to_server,
                BroadcastServicer(broadcast),
                SERVICE_NAME,
            )
        ],
        internal_methods=INTERNAL_METHODS,
        startup=[livekit.open, webhooks.start],
        shutdown=[webhooks.stop, livekit.close, room_channel.close],
    )

"""Wiring of the broadcast service process: gRPC (credentials, LiveKit side effects) and the
LiveKit webhook endpoint over HTTP, started and stopped with it."""

from datetime import timedelta

from costream.broadcast.v1 import broadcast_service_pb2_grpc

from services.broadcast.deliveries import outbox_deliveries
from services.broadcast.domain import TokenMinter
from services.broadcast.handlers import Broadcast
from services.broadcast.livekit_client import LiveKitClient
from services.broadcast.recording import RecordingOutputs
from services.broadcast.servicer import INTERNAL_METHODS, SERVICE_NAME, BroadcastServicer
from services.broadcast.webhooks import WebhookServer
from services.common.auth import TokenVerifier
from services.common.config import LOCAL_LIVEKIT_URL, Settings
from services.common.db import Database
from services.common.outbox import OutboxRelay
from services.common.server import ServiceSpec, peer_channel
from services.room.client import RoomClient

# Accepted webhooks are kept an hour after delivery (the room service keeps each event's id a
# week, for deduplication).
WEBHOOK_RETENTION = timedelta(hours=1)
# A webhook waits this long for others to join its batch (a surge is a few calls, not one
# per event).
WEBHOOK_LINGER = 0.02


def build(settings: Settings) -> ServiceSpec:
    database = Database(settings.database_url or "", settings.db_pool_max_size)
    room_channel = peer_channel(settings, "room")
    rooms = RoomClient(room_channel)
    livekit = LiveKitClient(
        settings.livekit_url or LOCAL_LIVEKIT_URL,
        settings.livekit_api_key,
        settings.livekit_api_secret,
        settings.peer_timeout,
    )
    recordings = RecordingOutputs(
        output=settings.recording_output,
        hls=settings.recording_hls,
        playback_base_url=settings.playback_base_url,
        s3_access_key=settings.recording_s3_access_key,
        s3_secret=settings.recording_s3_secret,
        s3_region=settings.recording_s3_region,
        s3_endpoint=settings.recording_s3_endpoint,
    )
    broadcast = Broadcast(
        rooms=rooms,
        livekit=livekit,
        tokens=TokenMinter(
            settings.livekit_api_key,
            settings.livekit_api_secret,
            timedelta(seconds=settings.token_ttl),
            settings.livekit_public_url,
        ),
        token_ttl=settings.token_ttl,
        reconnect_timeout=settings.reconnect_timeout,
        recordings=recordings,
        whip_url=settings.livekit_whip_url,
    )
    relay = OutboxRelay(
        database,
        "broadcast",
        outbox_deliveries(rooms),
        batch_size=1000,
        poll_seconds=0.5,
        retention=WEBHOOK_RETENTION,
        linger_seconds=WEBHOOK_LINGER,
    )
    webhooks = WebhookServer(settings, database, relay, recordings)
    return ServiceSpec(
        settings=settings,
        servicers=[
            (
                broadcast_service_pb2_grpc.add_BroadcastServiceServicer_to_server,
                BroadcastServicer(broadcast, TokenVerifier(settings)),
                SERVICE_NAME,
            )
        ],
        internal_methods=INTERNAL_METHODS,
        startup=[database.open, livekit.open, webhooks.start],
        loops=[relay.run],
        shutdown=[webhooks.stop, livekit.close, room_channel.close, database.close],
    )

"""Wiring of the room service process."""

from datetime import timedelta

from costream.broadcast.v1 import broadcast_service_pb2, broadcast_service_pb2_grpc
from costream.room.v1 import room_service_pb2_grpc

from services.common.config import Settings
from services.common.db import Database
from services.common.outbox import OutboxRelay
from services.common.pagination import PageTokens
from services.common.server import ServiceSpec, peer_channel
from services.room.cache import RoomCache
from services.room.deliveries import outbox_deliveries
from services.room.livekit.reconcile import run_reconciliation
from services.room.peers import Attachments
from services.room.repository import RoomUnitOfWork
from services.room.servicer import (
    INTERNAL_METHODS,
    SERVICE_METHODS,
    SERVICE_NAME,
    RoomServicer,
    room_to_proto,
)
from services.room.timers import TIMER_SECONDS, run_timers
from services.room.watch import RoomWatch


def build(settings: Settings, *, timer_seconds: float = TIMER_SECONDS) -> ServiceSpec:
    database = Database(settings.database_url or "", settings.db_pool_max_size)
    broadcast_channel = peer_channel(settings, "broadcast")
    invitation_channel = peer_channel(settings, "invitation")
    post_channel = peer_channel(settings, "post")
    cache = RoomCache()
    egress_start_timeout = timedelta(seconds=settings.egress_start_timeout)
    watch = RoomWatch(
        database, cache, room_to_proto, keepalive_seconds=settings.watch_keepalive_seconds
    )
    servicer = RoomServicer(
        database,
        cache,
        PageTokens(settings.internal_auth_secret),
        watch,
        Attachments(post_channel, invitation_channel),
        reconnect_timeout=timedelta(seconds=settings.reconnect_timeout),
        egress_start_timeout=egress_start_timeout,
        remote_unmute=settings.livekit_remote_unmute,
    )
    relay = OutboxRelay(
        database,
        "room",
        outbox_deliveries(
            database,
            broadcast_channel,
            invitation_channel,
            egress_start_timeout=egress_start_timeout,
        ),
    )

    async def room_timers() -> None:
        await run_timers(database, timedelta(seconds=settings.max_live_duration), timer_seconds)

    broadcast = broadcast_service_pb2_grpc.BroadcastServiceStub(broadcast_channel)

    async def livekit_room(room_id: str) -> broadcast_service_pb2.LiveKitRoomState:
        request = broadcast_service_pb2.GetLiveKitRoomRequest(room_id=room_id)
        return await broadcast.GetLiveKitRoom(request)

    async def reconciliation() -> None:
        await run_reconciliation(
            database,
            livekit_room,
            lambda: RoomUnitOfWork(database, cache),
            interval_seconds=settings.livekit_reconcile_seconds,
            per_second=settings.livekit_reconcile_per_second,
            reconnect_timeout=timedelta(seconds=settings.reconnect_timeout),
        )

    return ServiceSpec(
        settings=settings,
        servicers=[
            (room_service_pb2_grpc.add_RoomServiceServicer_to_server, servicer, SERVICE_NAME)
        ],
        internal_methods=INTERNAL_METHODS,
        service_methods=SERVICE_METHODS,
        startup=[database.open],
        loops=[watch.listen, relay.run, room_timers, reconciliation],
        shutdown=[
            database.close,
            broadcast_channel.close,
            invitation_channel.close,
            post_channel.close,
        ],
    )

"""Wiring of the invitation service process."""

import asyncio

from costream.invitation.v1 import invitation_service_pb2_grpc

from services.common.config import Settings
from services.common.db import Database
from services.common.pagination import PageTokens
from services.common.server import ServiceSpec, peer_channel
from services.invitation import handlers
from services.invitation.repository import InvitationUnitOfWork
from services.invitation.servicer import (
    INTERNAL_METHODS,
    SERVICE_NAME,
    InvitationServicer,
    invitation_to_proto,
)
from services.invitation.watch import InvitationWatch
from services.room.client import RoomClient

SWEEP_SECONDS = 5.0
SWEEP_BATCH = 500


def build(settings: Settings, *, sweep_seconds: float = SWEEP_SECONDS) -> ServiceSpec:
    database = Database(settings.database_url or "", settings.db_pool_max_size)
    room_channel = peer_channel(settings, "room")
    watch = InvitationWatch(
        database, invitation_to_proto, keepalive_seconds=settings.watch_keepalive_seconds
    )
    servicer = InvitationServicer(
        database,
        PageTokens(settings.internal_auth_secret),
        RoomClient(room_channel),
        watch,
        settings.invitation_ttl,
    )

    async def expire_pending_invitations() -> None:
        """Write down expiries (reads show them already), so the events go out and the
        one-pending index frees up; every replica may run it."""
        while True:
            uow = InvitationUnitOfWork(database)
            while len(await handlers.expire_pending_invitations(uow, SWEEP_BATCH)) == SWEEP_BATCH:
                pass
            await asyncio.sleep(sweep_seconds)

    return ServiceSpec(
        settings=settings,
        servicers=[
            (
                invitation_service_pb2_grpc.add_InvitationServiceServicer_to_server,
                servicer,
                SERVICE_NAME,
            )
        ],
        internal_methods=INTERNAL_METHODS,
        startup=[database.open],
        loops=[watch.listen, expire_pending_invitations],
        shutdown=[database.close, room_channel.close],
    )

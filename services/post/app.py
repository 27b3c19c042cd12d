"""Wiring of the post service process."""

from costream.post.v1 import post_service_pb2_grpc

from services.common.config import Settings
from services.common.db import Database
from services.common.pagination import PageTokens
from services.common.server import ServiceSpec, peer_channel
from services.post.servicer import INTERNAL_METHODS, SERVICE_METHODS, SERVICE_NAME, PostServicer
from services.room.client import RoomClient


def build(settings: Settings) -> ServiceSpec:
    database = Database(settings.database_url or "", settings.db_pool_max_size)
    room_channel = peer_channel(settings, "room")
    servicer = PostServicer(
        database, PageTokens(settings.internal_auth_secret), RoomClient(room_channel)
    )
    return ServiceSpec(
        settings=settings,
        servicers=[
            (post_service_pb2_grpc.add_PostServiceServicer_to_server, servicer, SERVICE_NAME)
        ],
        internal_methods=INTERNAL_METHODS,
        service_methods=SERVICE_METHODS,
        startup=[database.open],
        shutdown=[database.close, room_channel.close],
    )

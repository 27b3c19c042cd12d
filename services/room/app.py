"""Wiring of the room service process."""

from costream.room.v1 import room_service_pb2_grpc

from services.common.config import Settings
from services.common.db import Database
from services.common.pagination import PageTokens
from services.common.server import ServiceSpec
from services.room.servicer import INTERNAL_METHODS, SERVICE_NAME, RoomServicer


def build(settings: Settings) -> ServiceSpec:
    database = Database(settings.database_url or "", settings.db_pool_max_size)
    servicer = RoomServicer(database, PageTokens(settings.internal_auth_secret))
    return ServiceSpec(
        settings=settings,
        servicers=[
            (room_service_pb2_grpc.add_RoomServiceServicer_to_server, servicer, SERVICE_NAME)
        ],
        internal_methods=INTERNAL_METHODS,
        startup=[database.open],
        loops=[servicer.listen],
        shutdown=[database.close],
    )

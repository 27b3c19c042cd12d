"""BroadcastService over gRPC: proto in → validated ids → handler → proto out."""

from costream.broadcast.v1 import broadcast_pb2, broadcast_service_pb2, broadcast_service_pb2_grpc
from google.protobuf import empty_pb2

from services.broadcast import handlers
from services.common.auth import current_caller
from services.common.timestamps import to_timestamp
from services.common.validation import require_ids

SERVICE_NAME = broadcast_service_pb2.DESCRIPTOR.services_by_name["BroadcastService"].full_name
INTERNAL_METHODS = frozenset({"EndLiveKitRoom", "RemoveLiveKitParticipant", "GetLiveKitRoom"})


class BroadcastServicer(broadcast_service_pb2_grpc.BroadcastServiceServicer):
    def __init__(self, broadcast: handlers.Broadcast) -> None:
        self._b = broadcast

    async def GetBroadcastData(self, request, context):
        require_ids(room_id=request.room_id)
        creds = await handlers.get_broadcast_data(request.room_id, current_caller.get(), self._b)
        return broadcast_pb2.BroadcastData(
            co_hosts=broadcast_pb2.CoHostsBroadcastData(
                co_host_token=creds.token,
                co_host_url=creds.url,
                expire_time=to_timestamp(creds.expire_time),
            )
        )

    async def GetViewerData(self, request, context):
        require_ids(room_id=request.room_id)
        creds = await handlers.get_viewer_data(request.room_id, current_caller.get(), self._b)
        return broadcast_pb2.ViewerData(
            viewer_token=creds.token,
            viewer_url=creds.url,
            expire_time=to_timestamp(creds.expire_time),
        )

    async def EndLiveKitRoom(self, request, context):
        require_ids(room_id=request.room_id)
        await handlers.end_livekit_room(request.room_id, self._b)
        return empty_pb2.Empty()

    async def RemoveLiveKitParticipant(self, request, context):
        require_ids(room_id=request.room_id, user_id=request.user_id)
        await handlers.remove_livekit_participant(request.room_id, request.user_id, self._b)
        return empty_pb2.Empty()

    async def GetLiveKitRoom(self, request, context):
        require_ids(room_id=request.room_id)
        return await handlers.livekit_room_state(request.room_id, self._b)

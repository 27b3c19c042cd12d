"""BroadcastService over gRPC: proto in → validated ids → handler → proto out."""

import asyncio

from costream.broadcast.v1 import broadcast_pb2, broadcast_service_pb2, broadcast_service_pb2_grpc
from google.protobuf import empty_pb2
from livekit.protocol import egress as egress_pb

from services.broadcast import domain, handlers
from services.common.auth import TokenVerifier, current_caller, vouched_caller
from services.common.server import status_details
from services.common.timestamps import to_timestamp
from services.common.validation import Violations, require_ids

SERVICE_NAME = broadcast_service_pb2.DESCRIPTOR.services_by_name["BroadcastService"].full_name
INTERNAL_METHODS = frozenset(
    {
        "BatchGetViewerData",
        "EndLiveKitRoom",
        "RemoveLiveKitParticipant",
        "GetLiveKitRoom",
        "UpdateLiveKitParticipant",
        "MuteLiveKitTracks",
        "UpdateLiveKitRoomMetadata",
        "StartLiveKitEgress",
        "StopLiveKitEgress",
        "DeleteLiveKitIngress",
    }
)
# Egresses a start may be asked to stop first (one timed out per retry).
MAX_STOP_EGRESSES = 8
# A room's TrackSource values; more than twice as many sources is refused by count.
MAX_SOURCES = 8
MAX_VIEWER_BATCH = 1000


def viewer_data_to_proto(creds: domain.Credentials) -> broadcast_pb2.ViewerData:
    return broadcast_pb2.ViewerData(
        viewer_token=creds.token,
        viewer_url=creds.url,
        expire_time=to_timestamp(creds.expire_time),
    )


def stream_settings_to_proto(settings: domain.StreamSettings) -> broadcast_pb2.BroadcastData:
    return broadcast_pb2.BroadcastData(
        direct_streaming=broadcast_pb2.DirectStreamingBroadcastData(
            rtmp_url=settings.rtmp_url, stream_key=settings.stream_key, whip_url=settings.whip_url
        )
    )


class BroadcastServicer(broadcast_service_pb2_grpc.BroadcastServiceServicer):
    def __init__(self, broadcast: handlers.Broadcast, verifier: TokenVerifier) -> None:
        self._b = broadcast
        self._verifier = verifier

    async def GetBroadcastData(self, request, context):
        require_ids(room_id=request.room_id)
        creds = await handlers.get_broadcast_data(request.room_id, current_caller.get(), self._b)
        if isinstance(creds, domain.StreamSettings):
            return stream_settings_to_proto(creds)
        return broadcast_pb2.BroadcastData(
            co_hosts=broadcast_pb2.CoHostsBroadcastData(
                co_host_token=creds.token,
                co_host_url=creds.url,
                expire_time=to_timestamp(creds.expire_time),
            )
        )

    async def ResetStreamKey(self, request, context):
        require_ids(room_id=request.room_id)
        settings = await handlers.reset_stream_key(request.room_id, current_caller.get(), self._b)
        return stream_settings_to_proto(settings)

    async def DeleteLiveKitIngress(self, request, context):
        require_ids(ingress_id=request.ingress_id)
        await handlers.delete_livekit_ingress(request.ingress_id, self._b)
        return empty_pb2.Empty()

    async def GetViewerData(self, request, context):
        require_ids(room_id=request.room_id)
        creds = await handlers.get_viewer_data(request.room_id, current_caller.get(), self._b)
        return viewer_data_to_proto(creds)

    async def BatchGetViewerData(self, request, context):
        v = Violations()
        v.count("requests", request.requests, MAX_VIEWER_BATCH)
        v.raise_if_any()
        # All at once: their access checks go to the room service together.
        results = await asyncio.gather(*(self._one_viewer(r) for r in request.requests))
        return broadcast_service_pb2.BatchGetViewerDataResponse(results=results)

    async def _one_viewer(
        self, request: broadcast_service_pb2.ViewerDataRequest
    ) -> broadcast_service_pb2.ViewerDataResult:
        """GetViewerData of one viewer of a batch, failing as it fails alone: the caller first,
        then the room id, then the credentials. The caller is the user the gateway verified
        (its service token vouches); an older gateway's item carries the token, verified here."""
        service = current_caller.get().service
        try:
            if request.user_id or not request.user_token:
                caller = vouched_caller(request.user_id, service)
            else:
                caller = self._verifier.authenticate_passed_on(request.user_token, service)
            require_ids(room_id=request.room_id)
            creds = await handlers.get_viewer_data(request.room_id, caller, self._b)
        except Exception as error:
            return broadcast_service_pb2.ViewerDataResult(error=status_details(error))
        return broadcast_service_pb2.ViewerDataResult(viewer_data=viewer_data_to_proto(creds))

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

    async def UpdateLiveKitParticipant(self, request, context):
        require_ids(room_id=request.room_id, user_id=request.user_id)
        await handlers.update_livekit_participant(
            request.room_id,
            request.user_id,
            domain.role_of(request.role),
            request.live_chat_enabled,
            self._b,
        )
        return empty_pb2.Empty()

    async def MuteLiveKitTracks(self, request, context):
        v = Violations()
        v.room_id("room_id", request.room_id)
        v.identifier("user_id", request.user_id)
        v.count("sources", request.sources, MAX_SOURCES)
        v.raise_if_any()
        await handlers.mute_livekit_tracks(
            request.room_id, request.user_id, list(request.sources), request.muted, self._b
        )
        return empty_pb2.Empty()

    async def UpdateLiveKitRoomMetadata(self, request, context):
        require_ids(room_id=request.room.room_id)
        await handlers.update_livekit_room_metadata(request.room, self._b)
        return empty_pb2.Empty()

    async def StartLiveKitEgress(self, request, context):
        v = Violations()
        v.room_id("room.room_id", request.room.room_id)
        v.identifier("recording_id", request.recording_id)
        if v.count("stop_egress_ids", request.stop_egress_ids, MAX_STOP_EGRESSES):
            for i, egress_id in enumerate(request.stop_egress_ids):
                v.identifier(f"stop_egress_ids[{i}]", egress_id)
        v.raise_if_any()
        info = await handlers.start_livekit_egress(
            request.room, request.recording_id, list(request.stop_egress_ids), self._b
        )
        return broadcast_service_pb2.StartLiveKitEgressResponse(
            egress_id=info.egress_id,
            egress_status=egress_pb.EgressStatus.Name(info.status),
            live_playback_url=self._b.recordings.live_playback_url(info),
        )

    async def StopLiveKitEgress(self, request, context):
        v = Violations()
        v.room_id("room_id", request.room_id)
        v.identifier("egress_id", request.egress_id, required=False)
        v.raise_if_any()
        await handlers.stop_livekit_egress(request.room_id, request.egress_id, self._b)
        return empty_pb2.Empty()

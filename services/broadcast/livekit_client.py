"""The LiveKit server API through livekit-api's LiveKitAPI, over one aiohttp session per
process with a timeout on every call. A LiveKit that fails or does not answer is UNAVAILABLE
(DEPENDENCY_UNAVAILABLE, safe to retry); errors and logs never carry the key pair."""

from collections.abc import Awaitable
from typing import TypeVar

import aiohttp
import structlog
from livekit.api import LiveKitAPI, ServerError
from livekit.protocol import egress as egress_pb
from livekit.protocol import ingress as ingress_pb
from livekit.protocol import models
from livekit.protocol import room as livekit_room_pb

from services.common.errors import FailedPrecondition, Unavailable

log = structlog.get_logger()

_T = TypeVar("_T")
NOT_FOUND = "not_found"
FAILED_PRECONDITION = "failed_precondition"
INVALID_ARGUMENT = "invalid_argument"


class _Refused(Exception):
    """LiveKit refused a call for good (failed_precondition)."""


class LiveKitClient:
    """A client of LiveKit's server API (RoomService, Egress and Ingress, over Twirp)."""

    def __init__(self, url: str, api_key: str, api_secret: str, timeout: float) -> None:
        self._url = url
        self._api_key = api_key
        self._api_secret = api_secret
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._api: LiveKitAPI | None = None

    def __repr__(self) -> str:
        return f"LiveKitClient(url={self._url!r})"

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        # No region failover: that is for LiveKit Cloud; retries are the callers' (outbox).
        self._api = LiveKitAPI(
            self._url, self._api_key, self._api_secret, session=self._session, failover=False
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            self._api = None

    @property
    def _rooms(self):  # type: ignore[no-untyped-def]
        if self._api is None:
            raise Unavailable("the service is starting; retry")
        return self._api.room

    @property
    def _egress(self):  # type: ignore[no-untyped-def]
        if self._api is None:
            raise Unavailable("the service is starting; retry")
        return self._api.egress

    async def create_room(self, request: livekit_room_pb.CreateRoomRequest) -> models.Room:
        """Create the LiveKit room, or return it as it is when it exists."""
        room = await self._call("CreateRoom", self._rooms.create_room(request))
        assert room is not None
        return room

    async def update_room_metadata(self, room_id: str, metadata: str) -> None:
        """Set the room's metadata; a room LiveKit does not have is done already."""
        request = livekit_room_pb.UpdateRoomMetadataRequest(room=room_id, metadata=metadata)
        await self._call(
            "UpdateRoomMetadata", self._rooms.update_room_metadata(request), missing_ok=True
        )

    async def delete_room(self, room_id: str) -> None:
        """Disconnect everyone and close the room; a room that is not there is done already."""
        request = livekit_room_pb.DeleteRoomRequest(room=room_id)
        await self._call("DeleteRoom", self._rooms.delete_room(request), missing_ok=True)

    async def remove_participant(self, room_id: str, identity: str) -> None:
        """Disconnect one participant; one (or a room) that is not there is done already."""
        request = livekit_room_pb.RoomParticipantIdentity(room=room_id, identity=identity)
        await self._call(
            "RemoveParticipant", self._rooms.remove_participant(request), missing_ok=True
        )

    async def get_participant(self, room_id: str, identity: str) -> models.ParticipantInfo | None:
        """The participant of this identity connected now; None when LiveKit has none."""
        request = livekit_room_pb.RoomParticipantIdentity(room=room_id, identity=identity)
        return await self._call(
            "GetParticipant", self._rooms.get_participant(request), missing_ok=True
        )

    async def update_participant(
        self,
        room_id: str,
        identity: str,
        permission: models.ParticipantPermission,
        attributes: dict[str, str],
    ) -> None:
        """Replace a connected participant's permission and set attributes, in place; one
        (or a room) that is not there is done already."""
        request = livekit_room_pb.UpdateParticipantRequest(
            room=room_id, identity=identity, permission=permission, attributes=attributes
        )
        await self._call(
            "UpdateParticipant", self._rooms.update_participant(request), missing_ok=True
        )

    async def mute_published_track(
        self, room_id: str, identity: str, track_sid: str, muted: bool
    ) -> None:
        """Mute (or unmute) one published track; one that went meanwhile is done already. A
        remote unmute LiveKit does not allow (failed_precondition) is refused for good:
        retrying would not change it, so it is logged and dropped."""
        request = livekit_room_pb.MuteRoomTrackRequest(
            room=room_id, identity=identity, track_sid=track_sid, muted=muted
        )
        try:
            await self._call(
                "MutePublishedTrack",
                self._rooms.mute_published_track(request),
                missing_ok=True,
                refused_ok=True,
            )
        except _Refused:
            log.warning("livekit refused a remote unmute", room_id=room_id, identity=identity)

    async def get_room(self, room_id: str) -> models.Room | None:
        """The LiveKit room of this name, if LiveKit has one."""
        request = livekit_room_pb.ListRoomsRequest(names=[room_id])
        reply = await self._call("ListRooms", self._rooms.list_rooms(request))
        return next((room for room in reply.rooms if room.name == room_id), None) if reply else None

    async def list_participants(self, room_id: str) -> list[models.ParticipantInfo]:
        """Who is connected to the LiveKit room now; nobody when it is not there."""
        request = livekit_room_pb.ListParticipantsRequest(room=room_id)
        reply = await self._call(
            "ListParticipants", self._rooms.list_participants(request), missing_ok=True
        )
        return list(reply.participants) if reply else []

    async def start_room_composite_egress(
        self, request: egress_pb.RoomCompositeEgressRequest
    ) -> egress_pb.EgressInfo:
        """Start an egress; one LiveKit refuses for good (a bad request, a room it does not
        have) is FAILED_PRECONDITION, as retrying would not change it."""
        try:
            info = await self._call(
                "StartRoomCompositeEgress",
                self._egress.start_room_composite_egress(request),
                missing_ok=True,
                refused_ok=True,
            )
        except _Refused:
            info = None
        if info is None:
            raise FailedPrecondition("EGRESS_REFUSED", "LiveKit refused to start the recording")
        return info

    async def running_egresses(self, room_id: str) -> list[egress_pb.EgressInfo]:
        """The room's egresses that have not ended."""
        request = egress_pb.ListEgressRequest(room_name=room_id, active=True)
        reply = await self._call("ListEgress", self._egress.list_egress(request))
        return list(reply.items) if reply else []

    async def stop_egress(self, egress_id: str) -> None:
        """Stop an egress; one that ended already (or that LiveKit does not know) is done."""
        request = egress_pb.StopEgressRequest(egress_id=egress_id)
        try:
            await self._call(
                "StopEgress", self._egress.stop_egress(request), missing_ok=True, refused_ok=True
            )
        except _Refused:
            pass

    @property
    def _ingresses(self):  # type: ignore[no-untyped-def]
        if self._api is None:
            raise Unavailable("the service is starting; retry")
        return self._api.ingress

    async def create_ingress(
        self, request: ingress_pb.CreateIngressRequest
    ) -> ingress_pb.IngressInfo:
        """A new ingress (its stream key is a secret: never logged)."""
        info = await self._call("CreateIngress", self._ingresses.create_ingress(request))
        assert info is not None
        return info

    async def get_ingress(self, ingress_id: str) -> ingress_pb.IngressInfo | None:
        """The ingress of this id, if LiveKit has it."""
        request = ingress_pb.ListIngressRequest(ingress_id=ingress_id)
        reply = await self._call(
            "ListIngress", self._ingresses.list_ingress(request), missing_ok=True
        )
        items = reply.items if reply else []
        return next((info for info in items if info.ingress_id == ingress_id), None)

    async def delete_ingress(self, ingress_id: str) -> None:
        """Delete an ingress (its stream key stops working); one that is not there is done
        already."""
        request = ingress_pb.DeleteIngressRequest(ingress_id=ingress_id)
        await self._call("DeleteIngress", self._ingresses.delete_ingress(request), missing_ok=True)

    async def _call(
        self,
        method: str,
        call: Awaitable[_T],
        *,
        missing_ok: bool = False,
        refused_ok: bool = False,
    ) -> _T | None:
        try:
            return await call
        except ServerError as e:
            if missing_ok and e.code == NOT_FOUND:
                return None
            if refused_ok and e.code in (FAILED_PRECONDITION, INVALID_ARGUMENT):
                raise _Refused() from None
            # Only the code and status: LiveKit's message is not ours to pass on.
            log.warning("livekit call failed", method=method, code=e.code, status=e.status)
            message = f"LiveKit {method} failed ({e.code}, HTTP {e.status}); retry"
            raise Unavailable(message) from None
        except (aiohttp.ClientError, TimeoutError) as e:
            log.warning("livekit unreachable", method=method, error=type(e).__name__)
            raise Unavailable(f"LiveKit is unreachable ({type(e).__name__}); retry") from None

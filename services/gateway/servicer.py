"""GatewayService: every client RPC of room, post, invitation and broadcast under the same name
and messages, forwarded to its backend with the caller's token, plus the aggregates.

The shared interceptor has verified the client token before any of this runs. Each call then
spends one unit of the caller's rate limit; admin-only requests are refused here, before any
backend sees them."""

from collections.abc import AsyncIterator, Awaitable
from contextlib import aclosing
from typing import Any

import grpc
from costream.gateway.v1 import gateway_service_pb2, gateway_service_pb2_grpc
from costream.room.v1 import room_pb2, room_service_pb2

from services.common.auth import Caller, current_caller
from services.gateway import handlers
from services.gateway.domain import RateLimiter, StreamLimit
from services.gateway.handlers import MAYBE_DONE, Backends, LiveFeed, ViewerCredentials
from services.gateway.room_feeds import RoomFeeds

SERVICE_NAME = gateway_service_pb2.DESCRIPTOR.services_by_name["GatewayService"].full_name
# Backend streams are capped by the client's deadline (peer_channel); without one, a day.
STREAM_SECONDS = 24 * 3600.0


class GatewayServicer(gateway_service_pb2_grpc.GatewayServiceServicer):
    def __init__(
        self, backends: Backends, limiter: RateLimiter, streams: StreamLimit, feeds: RoomFeeds
    ) -> None:
        self._b = backends
        self._limiter = limiter
        self._streams = streams
        self._feeds = feeds
        self._viewers = ViewerCredentials(backends.broadcast)
        self._live_feed = LiveFeed(backends)

    def _admit(self) -> Caller:
        caller = current_caller.get()
        self._limiter.take(caller.require_user())
        return caller

    async def _watch(
        self, rpc: Any, request: Any, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        """Proxy a backend stream, within the caller's allowance of open streams. The client
        gets its initial metadata once the backend sent its own (the invitation service sends
        it once subscribed, so nothing committed after is missed); the backend call is
        cancelled when the client goes away."""
        caller = self._admit()
        with self._streams.hold(caller.require_user()):
            async for message in self._proxy(rpc, request, context):
                yield message

    async def _proxy(
        self, rpc: Any, request: Any, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        call = rpc(request, timeout=STREAM_SECONDS)
        try:
            await call.initial_metadata()
            await context.send_initial_metadata(())
            async for message in call:
                yield message
        finally:
            call.cancel()

    async def _write(self, room_id: str, call: Awaitable[Any]) -> Any:
        """A write of the room: one that failed without saying whether it was done leaves
        the room's feed unsure of its version."""
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            if error.code() in MAYBE_DONE:
                self._feeds.unsure(room_id)
            raise

    async def _room_write(self, room_id: str, call: Awaitable[room_pb2.Room]) -> room_pb2.Room:
        """A write that answers the room: the room's feed learns of it before the writer."""
        room = await self._write(room_id, call)
        self._feeds.wrote(room)
        return room

    async def _room_changed(self, room_id: str) -> None:
        """A write that answers no room changed it: a feed of the room learns the version
        from the backend, before the writer is answered."""
        if not self._feeds.holds(room_id):
            return
        try:
            room = await self._b.rooms.GetRoom(room_service_pb2.GetRoomRequest(room_id=room_id))
        except grpc.aio.AioRpcError:
            self._feeds.unsure(room_id)
            return
        self._feeds.wrote(room)

    # --- Rooms ---

    async def CreateRoom(self, request, context):
        self._admit()
        return await self._b.rooms.CreateRoom(request)

    async def GetRoom(self, request, context):
        self._admit()
        room = self._feeds.room(request.room_id)
        if room is None:
            room = await self._b.rooms.GetRoom(request)
            self._feeds.read(request.room_id)
        return room

    async def BatchGetRooms(self, request, context):
        self._admit()
        return await self._b.rooms.BatchGetRooms(request)

    async def ListRooms(self, request, context):
        caller = self._admit()
        if request.include_deleted:
            caller.require_admin()
        return await self._b.rooms.ListRooms(request)

    async def UpdateRoom(self, request, context):
        self._admit()
        return await self._room_write(request.room.room_id, self._b.rooms.UpdateRoom(request))

    async def DeleteRoom(self, request, context):
        self._admit()
        reply = await self._write(request.room_id, self._b.rooms.DeleteRoom(request))
        await self._room_changed(request.room_id)
        return reply

    async def StopRoom(self, request, context):
        self._admit()
        return await self._room_write(request.room_id, self._b.rooms.StopRoom(request))

    async def DismissRoom(self, request, context):
        self._admit().require_admin()
        return await self._room_write(request.room_id, self._b.rooms.DismissRoom(request))

    async def RemoveParticipant(self, request, context):
        self._admit()
        return await self._room_write(request.room_id, self._b.rooms.RemoveParticipant(request))

    async def LeaveRoom(self, request, context):
        self._admit()
        return await self._room_write(request.room_id, self._b.rooms.LeaveRoom(request))

    async def BanUser(self, request, context):
        self._admit()
        return await self._room_write(request.room_id, self._b.rooms.BanUser(request))

    async def UnbanUser(self, request, context):
        self._admit()
        return await self._room_write(request.room_id, self._b.rooms.UnbanUser(request))

    async def ListBannedUsers(self, request, context):
        self._admit()
        return await self._b.rooms.ListBannedUsers(request)

    async def WatchRoom(self, request, context):
        """Through the room's feed, shared with every watcher and reader of the room on this
        replica; a stream of its own when no feed can be had."""
        caller = self._admit()
        with self._streams.hold(caller.require_user()):
            events = self._feeds.watch(
                request.room_id, subscribed=lambda: context.send_initial_metadata(())
            )
            if events is None:
                events = self._proxy(self._b.rooms.WatchRoom, request, context)
            async with aclosing(events):
                async for event in events:
                    yield event

    async def AddModerator(self, request, context):
        self._admit()
        return await self._room_write(request.room_id, self._b.rooms.AddModerator(request))

    async def RemoveModerator(self, request, context):
        self._admit()
        return await self._room_write(request.room_id, self._b.rooms.RemoveModerator(request))

    async def MuteParticipant(self, request, context):
        self._admit()
        return await self._room_write(request.room_id, self._b.rooms.MuteParticipant(request))

    async def StartRecording(self, request, context):
        self._admit()
        return await self._room_write(request.room_id, self._b.rooms.StartRecording(request))

    async def StopRecording(self, request, context):
        self._admit()
        return await self._room_write(request.room_id, self._b.rooms.StopRecording(request))

    async def ListViewers(self, request, context):
        self._admit()
        return await self._b.rooms.ListViewers(request)

    # --- Posts ---

    async def CreateRoomPost(self, request, context):
        self._admit()
        return await self._b.posts.CreateRoomPost(request)

    async def GetPost(self, request, context):
        self._admit()
        return await self._b.posts.GetPost(request)

    async def ListPosts(self, request, context):
        self._admit()
        return await self._b.posts.ListPosts(request)

    async def ListPostsByRoom(self, request, context):
        self._admit()
        return await self._b.posts.ListPostsByRoom(request)

    async def UpdatePost(self, request, context):
        self._admit()
        return await self._b.posts.UpdatePost(request)

    async def DeletePost(self, request, context):
        self._admit()
        return await self._b.posts.DeletePost(request)

    # --- Invitations ---

    async def CreateInvitation(self, request, context):
        self._admit()
        return await self._b.invitations.CreateInvitation(request)

    async def GetInvitation(self, request, context):
        self._admit()
        return await self._b.invitations.GetInvitation(request)

    async def ListRoomInvitations(self, request, context):
        self._admit()
        return await self._b.invitations.ListRoomInvitations(request)

    async def ListMyInvitations(self, request, context):
        self._admit()
        return await self._b.invitations.ListMyInvitations(request)

    async def GetMyRoomInvitation(self, request, context):
        self._admit()
        return await self._b.invitations.GetMyRoomInvitation(request)

    async def AcceptInvitation(self, request, context):
        self._admit()
        invitation = await self._b.invitations.AcceptInvitation(request)
        await self._room_changed(invitation.room_id)  # a co-host seated
        return invitation

    async def RejectInvitation(self, request, context):
        self._admit()
        return await self._b.invitations.RejectInvitation(request)

    async def CancelInvitation(self, request, context):
        self._admit()
        return await self._b.invitations.CancelInvitation(request)

    async def WatchMyInvitations(self, request, context):
        async for event in self._watch(self._b.invitations.WatchMyInvitations, request, context):
            yield event

    async def RequestStage(self, request, context):
        self._admit()
        return await self._b.invitations.RequestStage(request)

    async def ApproveStageRequest(self, request, context):
        self._admit()
        invitation = await self._b.invitations.ApproveStageRequest(request)
        await self._room_changed(invitation.room_id)  # a co-host seated
        return invitation

    async def DeclineStageRequest(self, request, context):
        self._admit()
        return await self._b.invitations.DeclineStageRequest(request)

    async def WatchRoomInvitations(self, request, context):
        watch = self._b.invitations.WatchRoomInvitations
        async for event in self._watch(watch, request, context):
            yield event

    # --- Broadcast credentials ---

    async def GetBroadcastData(self, request, context):
        self._admit()
        data = await self._b.broadcast.GetBroadcastData(request)
        if data.HasField("direct_streaming"):
            # The host's first call gives the room its ingress (ingress_status).
            await self._room_changed(request.room_id)
        return data

    async def ResetStreamKey(self, request, context):
        self._admit()
        data = await self._write(request.room_id, self._b.broadcast.ResetStreamKey(request))
        await self._room_changed(request.room_id)
        return data

    async def GetViewerData(self, request, context):
        caller = self._admit()
        return await self._viewers.get(request.room_id, caller)

    # --- Aggregates ---

    async def CreateLiveRoomPost(self, request, context):
        caller = self._admit()
        return await handlers.create_live_room_post(request, caller, self._b)

    async def GetRoomView(self, request, context):
        caller = self._admit()
        return await handlers.get_room_view(request.room_id, caller, self._b, self._feeds)

    async def ListLiveRoomPosts(self, request, context):
        self._admit()
        return await self._live_feed.get(request)

    async def WhoAmI(self, request, context):
        caller = self._admit()
        return gateway_service_pb2.WhoAmIResponse(
            user_id=caller.user_id, roles=sorted(caller.roles)
        )

"""InvitationService over gRPC: proto in → validated command → handler → proto out.

Lists are newest first (keyset on create_time, invitation_id) and filter on the status a
reader sees, so an unswept invitation past its deadline is listed as expired, not pending.

WatchMyInvitations streams the changes of every invitation the caller is party to (as invitee
or as inviter), each as written by the committed transaction, from every replica (Postgres
LISTEN/NOTIFY). The server sends its initial metadata once the stream is subscribed, so a
client that awaits it misses nothing committed after that. A stream that may have missed
changes (it fell 100 events behind, or the replica lost its LISTEN connection) is sent a
RESYNC event: read the current state again with ListMyInvitations.

WatchRoomInvitations streams every invitation and stage request of one room the same way, for
its host and moderators (checked when the stream opens), with the same RESYNC policy (read
again with ListRoomInvitations).
"""

from datetime import datetime
from typing import Any

from costream.invitation.v1 import (
    invitation_pb2,
    invitation_service_pb2,
    invitation_service_pb2_grpc,
)

from services.common.auth import current_caller
from services.common.db import Database
from services.common.enums import EnumMap
from services.common.pagination import Page, PageTokens
from services.common.server import mark_replayed
from services.common.timestamps import to_timestamp, utcnow
from services.common.validation import Violations, require_ids
from services.invitation import domain, handlers
from services.invitation.repository import InvitationUnitOfWork
from services.invitation.watch import InvitationWatch

SERVICE_NAME = invitation_service_pb2.DESCRIPTOR.services_by_name["InvitationService"].full_name
INTERNAL_METHODS = frozenset({"CancelRoomInvitations"})

STATUS = EnumMap(domain.InvitationStatus, invitation_pb2.InvitationStatus, "INVITATION_STATUS_")
TYPE = EnumMap(domain.InvitationType, invitation_pb2.InvitationType, "INVITATION_TYPE_")


def invitation_to_proto(
    invitation: domain.Invitation, now: datetime | None = None
) -> invitation_pb2.Invitation:
    """The invitation as a reader sees it now: expired from the moment its deadline passed."""
    now = now or utcnow()
    return invitation_pb2.Invitation(
        invitation_id=invitation.invitation_id,
        type=TYPE.to_proto(invitation.type),
        room_id=invitation.room_id,
        user_id=invitation.user_id,
        inviter_user_id=invitation.inviter_user_id,
        responder_user_id=invitation.responder_user_id,
        status=STATUS.to_proto(invitation.status_at(now)),
        create_time=to_timestamp(invitation.create_time),
        respond_time=to_timestamp(invitation.respond_time),
        expire_time=to_timestamp(invitation.expire_time),
    )


class InvitationServicer(invitation_service_pb2_grpc.InvitationServiceServicer):
    def __init__(
        self,
        database: Database,
        page_tokens: PageTokens,
        rooms: handlers.Rooms,
        watch: InvitationWatch,
        invitation_ttl: int,
    ) -> None:
        self._database = database
        self._pages = page_tokens
        self._rooms = rooms
        self._watch = watch
        self._ttl = invitation_ttl

    def _uow(self) -> InvitationUnitOfWork:
        return InvitationUnitOfWork(self._database)

    def _list(
        self, request: Any, filters: dict[str, Any], *, by_type: bool = False
    ) -> handlers.ListInvitations:
        v = Violations()
        statuses = STATUS.read_set(v, "statuses", request.statuses)
        types = TYPE.read_set(v, "types", request.types) if by_type else []
        if by_type:
            filters = {**filters, "types": types}
        page = self._pages.request(
            v, request.page_size, request.page_token, {**filters, "statuses": statuses}
        )
        return handlers.ListInvitations(statuses, page, tuple(types))

    def _page(
        self, page: Page[domain.Invitation], cmd: handlers.ListInvitations
    ) -> tuple[list[invitation_pb2.Invitation], str]:
        now = utcnow()
        return self._pages.respond(page, cmd.page, lambda i: invitation_to_proto(i, now))

    async def CreateInvitation(self, request, context):
        v = Violations()
        v.room_id("room_id", request.room_id)
        v.identifier("user_id", request.user_id)
        v.text("request_id", request.request_id, max_len=domain.MAX_REQUEST_ID)
        v.raise_if_any()
        invitation, replayed = await handlers.create_invitation(
            handlers.CreateInvitation(request.room_id, request.user_id, request.request_id),
            current_caller.get(),
            self._uow(),
            self._rooms,
            self._ttl,
        )
        mark_replayed(context, replayed)
        return invitation_to_proto(invitation)

    async def GetInvitation(self, request, context):
        require_ids(invitation_id=request.invitation_id)
        invitation = await handlers.get_invitation(
            request.invitation_id, current_caller.get(), self._uow(), self._rooms
        )
        return invitation_to_proto(invitation)

    async def ListRoomInvitations(self, request, context):
        require_ids(room_id=request.room_id)
        cmd = self._list(request, {"room": request.room_id}, by_type=True)
        page = await handlers.list_room_invitations(
            request.room_id, cmd, current_caller.get(), self._uow(), self._rooms
        )
        invitations, token = self._page(page, cmd)
        return invitation_service_pb2.ListRoomInvitationsResponse(
            invitations=invitations, next_page_token=token
        )

    async def ListMyInvitations(self, request, context):
        caller = current_caller.get()
        cmd = self._list(request, {"invitee": caller.require_user()})
        page = await handlers.list_my_invitations(cmd, caller, self._uow())
        invitations, token = self._page(page, cmd)
        return invitation_service_pb2.ListMyInvitationsResponse(
            invitations=invitations, next_page_token=token
        )

    async def GetMyRoomInvitation(self, request, context):
        require_ids(room_id=request.room_id)
        invitation = await handlers.get_my_room_invitation(
            request.room_id, current_caller.get(), self._uow()
        )
        return invitation_to_proto(invitation)

    async def AcceptInvitation(self, request, context):
        require_ids(invitation_id=request.invitation_id)
        invitation = await handlers.accept_invitation(
            request.invitation_id, current_caller.get(), self._uow(), self._rooms
        )
        return invitation_to_proto(invitation)

    async def RejectInvitation(self, request, context):
        require_ids(invitation_id=request.invitation_id)
        invitation = await handlers.reject_invitation(
            request.invitation_id, current_caller.get(), self._uow()
        )
        return invitation_to_proto(invitation)

    async def CancelInvitation(self, request, context):
        require_ids(invitation_id=request.invitation_id)
        invitation = await handlers.cancel_invitation(
            request.invitation_id, current_caller.get(), self._uow(), self._rooms
        )
        return invitation_to_proto(invitation)

    async def RequestStage(self, request, context):
        v = Violations()
        v.room_id("room_id", request.room_id)
        v.text("request_id", request.request_id, max_len=domain.MAX_REQUEST_ID)
        v.raise_if_any()
        request_, replayed = await handlers.request_stage(
            handlers.RequestStage(request.room_id, request.request_id),
            current_caller.get(),
            self._uow(),
            self._rooms,
            self._ttl,
        )
        mark_replayed(context, replayed)
        return invitation_to_proto(request_)

    async def ApproveStageRequest(self, request, context):
        require_ids(invitation_id=request.invitation_id)
        invitation = await handlers.approve_stage_request(
            request.invitation_id, current_caller.get(), self._uow(), self._rooms
        )
        return invitation_to_proto(invitation)

    async def DeclineStageRequest(self, request, context):
        require_ids(invitation_id=request.invitation_id)
        invitation = await handlers.decline_stage_request(
            request.invitation_id, current_caller.get(), self._uow(), self._rooms
        )
        return invitation_to_proto(invitation)

    async def WatchRoomInvitations(self, request, context):
        require_ids(room_id=request.room_id)
        await handlers.require_room_watcher(request.room_id, current_caller.get(), self._rooms)
        subscribed = lambda: context.send_initial_metadata(())  # noqa: E731
        async for event in self._watch.stream_room(request.room_id, subscribed):
            yield event

    async def CancelRoomInvitations(self, request, context):
        require_ids(room_id=request.room_id)
        if request.user_id:
            require_ids(user_id=request.user_id)
        count = await handlers.cancel_room_invitations(
            request.room_id, request.user_id, self._uow()
        )
        return invitation_service_pb2.CancelRoomInvitationsResponse(cancelled_count=count)

    async def WatchMyInvitations(self, request, context):
        user = current_caller.get().require_user()
        # Initial metadata once subscribed: a client that awaits it misses nothing after.
        async for event in self._watch.stream(user, lambda: context.send_initial_metadata(())):
            yield event

"""InvitationService over gRPC: proto in → validated command → handler → proto out.

Lists are newest first (keyset on create_time, invitation_id) and filter on the status a
reader sees, so an unswept invitation past its deadline is listed as expired, not pending.

WatchMyInvitations streams the changes of every invitation the caller is party to (as invitee
or as inviter), each as written by the committed transaction, from every replica (Postgres
LISTEN/NOTIFY). The server sends its initial metadata once the stream is subscribed, so a
client that awaits it misses nothing committed after that. A watcher that falls more than
100 events behind gets UNAVAILABLE and should reconnect and read the current state with
ListMyInvitations.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import structlog
from costream.invitation.v1 import (
    invitation_pb2,
    invitation_service_pb2,
    invitation_service_pb2_grpc,
)

from services.common import observability
from services.common.auth import current_caller
from services.common.db import Database, listen
from services.common.errors import Unavailable
from services.common.pagination import PageTokens, page_size
from services.common.timestamps import to_timestamp
from services.common.validation import Violations
from services.invitation import domain, handlers
from services.invitation.repository import (
    INVITATION_EVENTS_CHANNEL,
    InvitationUnitOfWork,
    invitation_from_json,
)

log = structlog.get_logger()

SERVICE_NAME = invitation_service_pb2.DESCRIPTOR.services_by_name["InvitationService"].full_name
INTERNAL_METHODS = frozenset({"CancelRoomInvitations"})
WATCH_QUEUE_SIZE = 100

# Domain enums ↔ proto enums, by name.
STATUS = {
    s: invitation_pb2.InvitationStatus.Value(f"INVITATION_STATUS_{s.name}")
    for s in domain.InvitationStatus
}
STATUS_FROM_PROTO = {v: k for k, v in STATUS.items()}
TYPE = {
    t: invitation_pb2.InvitationType.Value(f"INVITATION_TYPE_{t.name}")
    for t in domain.InvitationType
}
EVENT_KIND = {
    handlers.CREATED: invitation_pb2.INVITATION_EVENT_KIND_CREATED,
    handlers.STATUS_CHANGED: invitation_pb2.INVITATION_EVENT_KIND_STATUS_CHANGED,
}


def invitation_to_proto(
    invitation: domain.Invitation, now: datetime | None = None
) -> invitation_pb2.Invitation:
    """The invitation as a reader sees it now: expired from the moment its deadline passed."""
    now = now or datetime.now(UTC)
    return invitation_pb2.Invitation(
        invitation_id=invitation.invitation_id,
        type=TYPE[invitation.type],
        room_id=invitation.room_id,
        user_id=invitation.user_id,
        inviter_user_id=invitation.inviter_user_id,
        status=STATUS[invitation.status_at(now)],
        create_time=to_timestamp(invitation.create_time),
        respond_time=to_timestamp(invitation.respond_time),
        expire_time=to_timestamp(invitation.expire_time),
    )


def _one_id(field: str, value: str) -> str:
    v = Violations()
    v.identifier(field, value)
    v.raise_if_any()
    return value


class _Watcher:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, domain.Invitation]] = asyncio.Queue(
            maxsize=WATCH_QUEUE_SIZE
        )
        self.fell_behind = False

    def put(self, kind: str, invitation: domain.Invitation) -> None:
        if self.queue.full():
            self.fell_behind = True
        else:
            self.queue.put_nowait((kind, invitation))


class InvitationServicer(invitation_service_pb2_grpc.InvitationServiceServicer):
    def __init__(
        self,
        database: Database,
        page_tokens: PageTokens,
        rooms: handlers.Rooms,
        invitation_ttl: int,
    ) -> None:
        self._database = database
        self._tokens = page_tokens
        self._rooms = rooms
        self._ttl = invitation_ttl
        self._watchers: dict[str, set[_Watcher]] = {}

    def _uow(self) -> InvitationUnitOfWork:
        return InvitationUnitOfWork(self._database)

    def _page(self, request: Any, filters: dict[str, Any]) -> tuple[handlers.Page, dict[str, Any]]:
        v = Violations()
        statuses = v.enums("statuses", request.statuses, invitation_pb2.InvitationStatus)
        if request.page_size < 0:
            v.add("page_size", "must not be negative")
        v.raise_if_any()
        filters = {**filters, "statuses": statuses}
        page = handlers.Page(
            statuses=[STATUS_FROM_PROTO[s] for s in statuses],
            after=self._tokens.decode_after(request.page_token, filters),
            page_size=page_size(request.page_size),
        )
        return page, filters

    def _next_token(
        self, rows: list[domain.Invitation], more: bool, filters: dict[str, Any]
    ) -> str:
        if not more:
            return ""
        last = rows[-1]
        return self._tokens.encode_after(filters, last.create_time, last.invitation_id)

    async def CreateInvitation(self, request, context):
        v = Violations()
        v.identifier("room_id", request.room_id)
        v.identifier("user_id", request.user_id)
        v.text("request_id", request.request_id, max_len=domain.MAX_REQUEST_ID)
        v.raise_if_any()
        invitation = await handlers.create_invitation(
            handlers.CreateInvitation(request.room_id, request.user_id, request.request_id),
            current_caller.get(),
            self._uow(),
            self._rooms,
            self._ttl,
        )
        return invitation_to_proto(invitation)

    async def GetInvitation(self, request, context):
        invitation_id = _one_id("invitation_id", request.invitation_id)
        invitation = await handlers.get_invitation(invitation_id, current_caller.get(), self._uow())
        return invitation_to_proto(invitation)

    async def ListRoomInvitations(self, request, context):
        room_id = _one_id("room_id", request.room_id)
        page, filters = self._page(request, {"room": room_id})
        rows, more = await handlers.list_room_invitations(
            room_id, page, current_caller.get(), self._uow(), self._rooms
        )
        now = datetime.now(UTC)
        return invitation_service_pb2.ListRoomInvitationsResponse(
            invitations=[invitation_to_proto(r, now) for r in rows],
            next_page_token=self._next_token(rows, more, filters),
        )

    async def ListMyInvitations(self, request, context):
        caller = current_caller.get()
        page, filters = self._page(request, {"invitee": caller.require_user()})
        rows, more = await handlers.list_my_invitations(page, caller, self._uow())
        now = datetime.now(UTC)
        return invitation_service_pb2.ListMyInvitationsResponse(
            invitations=[invitation_to_proto(r, now) for r in rows],
            next_page_token=self._next_token(rows, more, filters),
        )

    async def GetMyRoomInvitation(self, request, context):
        room_id = _one_id("room_id", request.room_id)
        invitation = await handlers.get_my_room_invitation(
            room_id, current_caller.get(), self._uow()
        )
        return invitation_to_proto(invitation)

    async def AcceptInvitation(self, request, context):
        invitation_id = _one_id("invitation_id", request.invitation_id)
        invitation = await handlers.accept_invitation(
            invitation_id, current_caller.get(), self._uow(), self._rooms
        )
        return invitation_to_proto(invitation)

    async def RejectInvitation(self, request, context):
        invitation_id = _one_id("invitation_id", request.invitation_id)
        invitation = await handlers.reject_invitation(
            invitation_id, current_caller.get(), self._uow()
        )
        return invitation_to_proto(invitation)

    async def CancelInvitation(self, request, context):
        invitation_id = _one_id("invitation_id", request.invitation_id)
        invitation = await handlers.cancel_invitation(
            invitation_id, current_caller.get(), self._uow(), self._rooms
        )
        return invitation_to_proto(invitation)

    async def CancelRoomInvitations(self, request, context):
        room_id = _one_id("room_id", request.room_id)
        count = await handlers.cancel_room_invitations(room_id, self._uow())
        return invitation_service_pb2.CancelRoomInvitationsResponse(cancelled_count=count)

    # --- WatchMyInvitations: every replica LISTENs and fans changes out to its own streams ---

    async def WatchMyInvitations(
        self, request, context
    ) -> AsyncIterator[invitation_pb2.InvitationEvent]:
        user = current_caller.get().require_user()
        watcher = _Watcher()
        self._watchers.setdefault(user, set()).add(watcher)
        observability.WATCHERS.labels("invitations").inc()
        try:
            await context.send_initial_metadata(())
            while True:
                kind, invitation = await watcher.queue.get()
                yield invitation_pb2.InvitationEvent(
                    invitation=invitation_to_proto(invitation),
                    kind=EVENT_KIND.get(kind, invitation_pb2.INVITATION_EVENT_KIND_UNSPECIFIED),
                )
                if watcher.fell_behind and watcher.queue.empty():
                    raise Unavailable("this stream fell behind; reconnect and list invitations")
        finally:
            observability.WATCHERS.labels("invitations").dec()
            watchers = self._watchers.get(user, set())
            watchers.discard(watcher)
            if not watchers:
                self._watchers.pop(user, None)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
            invitation = invitation_from_json(event["invitation"])
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable invitation event", payload=payload[:200])
            return
        for user in {invitation.user_id, invitation.inviter_user_id}:
            for watcher in self._watchers.get(user, ()):
                watcher.put(event["kind"], invitation)

    async def listen(self) -> None:
        """Forward committed invitation changes to this replica's WatchMyInvitations streams."""
        await listen(self._database, INVITATION_EVENTS_CHANNEL, self._on_notify)

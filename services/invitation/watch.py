"""WatchMyInvitations and WatchRoomInvitations on one replica: every committed change to an
invitation or stage request (a NOTIFY on invitation_events carrying it, sent by
services.invitation.side_effects) goes to the streams of its invitee (or requester) and its
inviter through one WatchHub, and to the streams of its room through another (user ids and
room ids are different namespaces)."""

from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
from costream.invitation.v1 import invitation_pb2

from services.common.db import Database, listen
from services.common.watch import WatchHub
from services.invitation.domain import ChangeKind, Invitation
from services.invitation.side_effects import INVITATION_EVENTS_CHANNEL, read_notice

log = structlog.get_logger()

EVENT_KIND = {
    ChangeKind.CREATED: invitation_pb2.INVITATION_EVENT_KIND_CREATED,
    ChangeKind.STATUS_CHANGED: invitation_pb2.INVITATION_EVENT_KIND_STATUS_CHANGED,
}


class InvitationWatch:
    def __init__(
        self,
        database: Database,
        to_proto: Callable[[Invitation], invitation_pb2.Invitation],
        *,
        keepalive_seconds: float,
    ) -> None:
        self._database = database
        self._to_proto = to_proto
        self._hub: WatchHub[invitation_pb2.InvitationEvent] = WatchHub(
            "invitations", keepalive_seconds=keepalive_seconds
        )
        self._room_hub: WatchHub[invitation_pb2.InvitationEvent] = WatchHub(
            "room_invitations", keepalive_seconds=keepalive_seconds
        )

    async def listen(self) -> None:
        """Follow committed changes; after a lost LISTEN connection, every stream resyncs."""
        await listen(self._database, INVITATION_EVENTS_CHANNEL, self._on_notify, self._resync)

    def _resync(self) -> None:
        self._hub.resync()
        self._room_hub.resync()

    def stream_room(
        self, room_id: str, subscribed: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[invitation_pb2.InvitationEvent]:
        """Changes to every invitation and stage request of the room from the moment of
        subscribing, when `subscribed()` runs."""
        return self._room_hub.stream(
            [room_id],
            resync=_resync,
            keepalive=_keepalive,
            start_with_resync=False,
            subscribed=subscribed,
        )

    def stream(
        self, user_id: str, subscribed: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[invitation_pb2.InvitationEvent]:
        """Changes to the user's invitations (as invitee or inviter) from the moment of
        subscribing, when `subscribed()` runs."""
        return self._hub.stream(
            [user_id],
            resync=_resync,
            keepalive=_keepalive,
            start_with_resync=False,
            subscribed=subscribed,
        )

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            kind, invitation = read_notice(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable invitation event", payload=payload[:200])
            return
        parties = {invitation.user_id, invitation.inviter_user_id} - {""}
        room_watched = self._room_hub.watched(invitation.room_id)
        if not room_watched and not any(self._hub.watched(user) for user in parties):
            return
        event = invitation_pb2.InvitationEvent(
            invitation=self._to_proto(invitation), kind=EVENT_KIND[kind]
        )
        for user in parties:
            self._hub.publish(user, event)
        if room_watched:
            self._room_hub.publish(invitation.room_id, event)


def _keepalive() -> invitation_pb2.InvitationEvent:
    return invitation_pb2.InvitationEvent(kind=invitation_pb2.INVITATION_EVENT_KIND_KEEPALIVE)


async def _resync() -> list[invitation_pb2.InvitationEvent]:
    """The client reads the current state itself (ListMyInvitations, ListRoomInvitations)."""
    return [invitation_pb2.InvitationEvent(kind=invitation_pb2.INVITATION_EVENT_KIND_RESYNC)]

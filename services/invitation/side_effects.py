"""What happens to invitations means elsewhere: each change, as committed, is told to every
replica's WatchMyInvitations streams (a NOTIFY on invitation_events carrying the invitation)."""

import json
from collections.abc import Sequence
from datetime import datetime

from services.common.events import DomainEvent, Notification, SideEffects
from services.invitation.domain import (
    ChangeKind,
    Invitation,
    InvitationChanged,
    InvitationStatus,
    InvitationType,
)

INVITATION_EVENTS_CHANNEL = "invitation_events"


def side_effects(events: Sequence[DomainEvent]) -> SideEffects:
    effects = SideEffects()
    for event in events:
        if isinstance(event, InvitationChanged):
            payload = json.dumps(
                {"kind": event.kind.value, "invitation": to_json(event.invitation)}
            )
            effects.notifications.append(Notification(INVITATION_EVENTS_CHANNEL, payload))
    return effects


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_json(invitation: Invitation) -> dict:
    return {
        "invitation_id": invitation.invitation_id,
        "type": invitation.type.value,
        "room_id": invitation.room_id,
        "user_id": invitation.user_id,
        "inviter_user_id": invitation.inviter_user_id,
        "status": invitation.status.value,
        "create_time": _time(invitation.create_time),
        "expire_time": _time(invitation.expire_time),
        "respond_time": _time(invitation.respond_time),
        "responder_user_id": invitation.responder_user_id,
    }


def from_json(data: dict) -> Invitation:
    respond_time = data["respond_time"]
    return Invitation(
        invitation_id=data["invitation_id"],
        room_id=data["room_id"],
        user_id=data["user_id"],
        inviter_user_id=data["inviter_user_id"],
        status=InvitationStatus(data["status"]),
        create_time=datetime.fromisoformat(data["create_time"]),
        expire_time=datetime.fromisoformat(data["expire_time"]),
        respond_time=datetime.fromisoformat(respond_time) if respond_time else None,
        type=InvitationType(data["type"]),
        responder_user_id=data.get("responder_user_id", ""),
    )


def read_notice(payload: str) -> tuple[ChangeKind, Invitation]:
    """A NOTIFY payload written by side_effects; ValueError/KeyError/TypeError if unreadable."""
    notice = json.loads(payload)
    return ChangeKind(notice["kind"]), from_json(notice["invitation"])

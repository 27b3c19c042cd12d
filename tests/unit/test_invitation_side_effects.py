"""What invitation changes mean elsewhere: one NOTIFY on invitation_events per changed
invitation, carrying the invitation exactly as WatchMyInvitations streams read it back."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.common.events import DomainEvent
from services.invitation.domain import (
    ChangeKind,
    Invitation,
    InvitationChanged,
    InvitationStatus,
    InvitationType,
)
from services.invitation.side_effects import (
    from_json,
    read_notice,
    side_effects,
    to_json,
)

NOW = datetime(2025, 1, 1, 12, 0, 0, 123_456, tzinfo=UTC)


def created(invitation_id: str = "i1") -> Invitation:
    return Invitation.create(invitation_id, "r1", "guest", "host", now=NOW, ttl_seconds=600)


def test_a_new_invitation_is_one_created_notice_on_invitation_events():
    invitation = created()
    effects = side_effects(invitation.events)
    assert effects.outbox == []
    assert len(effects.notifications) == 1
    notification = effects.notifications[0]
    assert notification.channel == "invitation_events"
    assert json.loads(notification.payload) == {
        "kind": "created",
        "invitation": {
            "invitation_id": "i1",
            "type": "livestream_co_host",
            "room_id": "r1",
            "user_id": "guest",
            "inviter_user_id": "host",
            "status": "pending",
            "create_time": "2025-01-01T12:00:00.123456+00:00",
            "expire_time": "2025-01-01T12:10:00.123456+00:00",
            "respond_time": None,
            "responder_user_id": "",
        },
    }


def test_a_resolved_invitation_is_a_status_changed_notice_with_its_respond_time():
    invitation = created()
    invitation.events.clear()
    invitation.accept(NOW + timedelta(seconds=5), "guest")
    (notification,) = side_effects(invitation.events).notifications
    notice = json.loads(notification.payload)
    assert notice["kind"] == "status_changed"
    assert notice["invitation"]["status"] == "accepted"
    assert notice["invitation"]["respond_time"] == "2025-01-01T12:00:05.123456+00:00"


def test_each_changed_invitation_is_its_own_notice_in_order():
    first, second = created("i1"), created("i2")
    second.events.clear()
    second.cancel(NOW, "host")
    events = [*first.events, *second.events]
    notices = [read_notice(n.payload) for n in side_effects(events).notifications]
    assert [(kind, i.invitation_id, i.status) for kind, i in notices] == [
        (ChangeKind.CREATED, "i1", InvitationStatus.PENDING),
        (ChangeKind.STATUS_CHANGED, "i2", InvitationStatus.CANCELLED),
    ]


def test_events_that_are_not_invitation_changes_notify_nothing():
    class Other(DomainEvent):
        pass

    effects = side_effects([Other()])
    assert effects.notifications == [] and effects.outbox == []
    assert side_effects([]).notifications == []


@pytest.mark.parametrize("respond_time", [None, NOW + timedelta(minutes=3)])
def test_a_notice_reads_back_as_the_invitation_and_kind_that_were_sent(respond_time):
    invitation = Invitation(
        invitation_id="i7",
        room_id="r2",
        user_id="cole",
        inviter_user_id="hana",
        status=InvitationStatus.REJECTED if respond_time else InvitationStatus.PENDING,
        create_time=NOW,
        expire_time=NOW + timedelta(minutes=10),
        respond_time=respond_time,
    )
    event = InvitationChanged(invitation, ChangeKind.STATUS_CHANGED)
    (notification,) = side_effects([event]).notifications
    kind, read = read_notice(notification.payload)
    assert kind is ChangeKind.STATUS_CHANGED
    assert read == invitation
    assert read.type is InvitationType.LIVESTREAM_CO_HOST
    assert read.respond_time == respond_time
    assert read.events == []


def test_to_json_and_from_json_round_trip_times_with_their_offset():
    offset = timezone(timedelta(hours=5, minutes=30))
    invitation = Invitation(
        invitation_id="i8",
        room_id="r3",
        user_id="u",
        inviter_user_id="h",
        status=InvitationStatus.EXPIRED,
        create_time=datetime(2025, 6, 1, 9, 0, 0, 1, tzinfo=offset),
        expire_time=datetime(2025, 6, 1, 9, 10, tzinfo=offset),
    )
    data = to_json(invitation)
    assert data["create_time"] == "2025-06-01T09:00:00.000001+05:30"
    assert data["status"] == "expired"
    read = from_json(json.loads(json.dumps(data)))
    assert read == invitation
    assert read.create_time.utcoffset() == timedelta(hours=5, minutes=30)


def _notice_with(**changes: str) -> str:
    """A notice of a new invitation with some fields of the invitation replaced."""
    notice = json.loads(side_effects(created().events).notifications[0].payload)
    notice["invitation"].update(changes)
    return json.dumps(notice)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("not json", ValueError),
        ('{"kind": "created"}', KeyError),
        ('{"kind": "renamed", "invitation": {}}', ValueError),
        ('{"kind": "created", "invitation": []}', TypeError),
        (_notice_with(type="bogus"), ValueError),
        (_notice_with(status="bogus"), ValueError),
        (_notice_with(create_time="yesterday"), ValueError),
    ],
    ids=["not-json", "no-invitation", "unknown-kind", "not-an-object", "type", "status", "time"],
)
def test_an_unreadable_notice_raises_what_the_watch_catches(payload, error):
    with pytest.raises(error):
        read_notice(payload)

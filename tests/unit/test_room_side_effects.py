"""What the room's domain events mean elsewhere (services.room.side_effects): the outbox
messages with their payloads, and the one notification per room and transaction."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.common.events import OutboxMessage
from services.room.domain import (
    ChangeKind,
    EndReason,
    MuteRequested,
    ParticipantRefused,
    RecordingRequested,
    RecordingStopRequested,
    Room,
    RoomChanged,
    RoomEnded,
    RoomStatus,
    TakenOffStage,
    TrackSource,
    UserBanned,
)
from services.room.side_effects import (
    CANCEL_ROOM_INVITATIONS,
    CANCEL_USER_INVITATIONS,
    END_LIVEKIT_ROOM,
    MUTE_LIVEKIT_TRACKS,
    REMOVE_LIVEKIT_PARTICIPANT,
    ROOM_EVENTS_CHANNEL,
    START_RECORDING,
    STOP_RECORDING,
    SYNC_LIVEKIT_PARTICIPANT,
    SYNC_LIVEKIT_ROOM_METADATA,
    side_effects,
)

NOW = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)


def notices(events) -> list[tuple[str, dict]]:
    """The notifications as (channel, decoded payload)."""
    return [(n.channel, json.loads(n.payload)) for n in side_effects(events).notifications]


def test_no_events_mean_no_side_effects():
    effects = side_effects([])
    assert effects.outbox == [] and effects.notifications == []


def test_a_room_ending_ends_its_livekit_room_and_cancels_its_invitations():
    effects = side_effects([RoomEnded("r1", EndReason.STOPPED_BY_HOST)])
    assert effects.outbox == [
        OutboxMessage(END_LIVEKIT_ROOM, {"room_id": "r1"}),
        OutboxMessage(CANCEL_ROOM_INVITATIONS, {"room_id": "r1"}),
    ]
    assert effects.notifications == []


def test_a_co_host_taken_off_stage_is_demoted_in_livekit_not_removed():
    effects = side_effects([TakenOffStage("r1", "cole", NOW)])
    assert effects.outbox == [
        OutboxMessage(SYNC_LIVEKIT_PARTICIPANT, {"room_id": "r1", "user_id": "cole"})
    ]


def test_a_user_seated_on_stage_is_promoted_in_livekit():
    r = Room("r1", "host", RoomStatus.LIVE, max_co_hosts=8)
    r.seat_co_host("vic")
    effects = side_effects(r.events)
    assert effects.outbox == [
        OutboxMessage(SYNC_LIVEKIT_PARTICIPANT, {"room_id": "r1", "user_id": "vic"})
    ]


def test_a_promotion_and_a_demotion_of_one_transaction_ask_for_one_sync():
    # The delivery reads the user's place when it runs: one is enough, and it cannot be wrong.
    r = Room("r1", "host", RoomStatus.LIVE, max_co_hosts=8)
    r.seat_co_host("vic")
    r.take_off_stage("vic", NOW)
    r.seat_co_host("vic")
    assert [m.kind for m in side_effects(r.events).outbox] == [SYNC_LIVEKIT_PARTICIPANT]


def test_a_mute_asks_livekit_to_mute_the_named_sources():
    events = [
        MuteRequested("r1", "cole", (TrackSource.CAMERA, TrackSource.MICROPHONE), True),
        MuteRequested("r1", "hana", (), False),
    ]
    assert side_effects(events).outbox == [
        OutboxMessage(
            MUTE_LIVEKIT_TRACKS,
            {
                "room_id": "r1",
                "user_id": "cole",
                "sources": ["camera", "microphone"],
                "muted": True,
            },
        ),
        OutboxMessage(
            MUTE_LIVEKIT_TRACKS, {"room_id": "r1", "user_id": "hana", "sources": [], "muted": False}
        ),
    ]
    assert side_effects(events).notifications == []


def test_a_recording_attempt_asks_livekit_for_its_egress_after_stopping_the_named_ones():
    events = [RecordingRequested("r1", "1"), RecordingRequested("r2", "2", ("EG_STUCK",))]
    assert side_effects(events).outbox == [
        OutboxMessage(
            START_RECORDING, {"room_id": "r1", "recording_id": "1", "stop_egress_ids": []}
        ),
        OutboxMessage(
            START_RECORDING, {"room_id": "r2", "recording_id": "2", "stop_egress_ids": ["EG_STUCK"]}
        ),
    ]


def test_a_stop_names_the_egress_or_none_for_whichever_runs():
    events = [RecordingStopRequested("r1", "EG_1"), RecordingStopRequested("r2", None)]
    assert side_effects(events).outbox == [
        OutboxMessage(STOP_RECORDING, {"room_id": "r1", "egress_id": "EG_1"}),
        OutboxMessage(STOP_RECORDING, {"room_id": "r2", "egress_id": ""}),
    ]


@pytest.mark.parametrize(
    "kind",
    [ChangeKind.UPDATED, ChangeKind.STATUS_CHANGED, ChangeKind.RECORDED, ChangeKind.DELETED],
)
def test_changes_livekits_room_metadata_shows_ask_for_a_metadata_sync(kind):
    assert side_effects([RoomChanged("r1", kind)]).outbox == [
        OutboxMessage(SYNC_LIVEKIT_ROOM_METADATA, {"room_id": "r1"})
    ]


@pytest.mark.parametrize(
    "kind", [ChangeKind.STATS_CHANGED, ChangeKind.PARTICIPANTS_CHANGED, ChangeKind.BANS_CHANGED]
)
def test_changes_the_metadata_does_not_show_ask_for_no_sync(kind):
    assert side_effects([RoomChanged("r1", kind)]).outbox == []


def test_a_burst_of_changes_of_a_room_in_one_transaction_is_one_metadata_sync_per_room():
    events = [
        RoomChanged("r1", ChangeKind.UPDATED),
        RoomChanged("r2", ChangeKind.UPDATED),
        RoomChanged("r1", ChangeKind.STATUS_CHANGED),
        RoomChanged("r1", ChangeKind.UPDATED),
    ]
    assert side_effects(events).outbox == [
        OutboxMessage(SYNC_LIVEKIT_ROOM_METADATA, {"room_id": "r1"}),
        OutboxMessage(SYNC_LIVEKIT_ROOM_METADATA, {"room_id": "r2"}),
    ]


def test_a_room_that_ends_gets_no_metadata_sync_its_livekit_room_is_deleted():
    r = Room("r1", "host", RoomStatus.LIVE, max_co_hosts=8)
    r.end(EndReason.STOPPED_BY_HOST, NOW)
    kinds = [m.kind for m in side_effects(r.events).outbox]
    assert kinds == [END_LIVEKIT_ROOM, CANCEL_ROOM_INVITATIONS]


def test_a_refused_participant_is_removed_from_livekit_since_that_moment():
    effects = side_effects([ParticipantRefused("r1", "vic", NOW)])
    assert effects.outbox == [
        OutboxMessage(
            REMOVE_LIVEKIT_PARTICIPANT,
            {"room_id": "r1", "user_id": "vic", "since": NOW.isoformat()},
        )
    ]


def test_a_ban_in_an_open_room_removes_the_user_from_livekit_and_cancels_their_invitations():
    effects = side_effects([UserBanned("r1", "vic", NOW, room_open=True)])
    assert effects.outbox == [
        OutboxMessage(
            REMOVE_LIVEKIT_PARTICIPANT,
            {"room_id": "r1", "user_id": "vic", "since": NOW.isoformat()},
        ),
        OutboxMessage(CANCEL_USER_INVITATIONS, {"room_id": "r1", "user_id": "vic"}),
    ]


def test_a_ban_in_an_ended_room_only_cancels_the_users_invitations():
    effects = side_effects([UserBanned("r1", "vic", NOW, room_open=False)])
    assert effects.outbox == [
        OutboxMessage(CANCEL_USER_INVITATIONS, {"room_id": "r1", "user_id": "vic"})
    ]


def test_banning_a_co_host_asks_livekit_for_one_removal():
    r = Room("r1", "host", RoomStatus.LIVE, max_co_hosts=8, co_host_ids=["cole"])
    r.ban("cole", NOW)
    effects = side_effects(r.events)
    assert [m.kind for m in effects.outbox] == [REMOVE_LIVEKIT_PARTICIPANT, CANCEL_USER_INVITATIONS]
    assert notices(r.events) == [
        (ROOM_EVENTS_CHANNEL, {"room_id": "r1", "kind": "participants_changed"})
    ]


def test_a_change_notifies_the_rooms_watchers_with_its_kind():
    effects = side_effects([RoomChanged("r1", ChangeKind.STATS_CHANGED)])
    assert effects.outbox == []
    assert [n.channel for n in effects.notifications] == ["room_events"]
    assert notices([RoomChanged("r1", ChangeKind.STATS_CHANGED)]) == [
        ("room_events", {"room_id": "r1", "kind": "stats_changed"})
    ]


@pytest.mark.parametrize("kind", list(ChangeKind))
def test_every_change_kind_reaches_the_watchers_as_its_value(kind):
    assert notices([RoomChanged("r1", kind)]) == [
        (ROOM_EVENTS_CHANNEL, {"room_id": "r1", "kind": kind.value})
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (ChangeKind.UPDATED, ChangeKind.STATUS_CHANGED),
        (ChangeKind.STATUS_CHANGED, ChangeKind.UPDATED),
        (ChangeKind.STATS_CHANGED, ChangeKind.PARTICIPANTS_CHANGED),
        (ChangeKind.PARTICIPANTS_CHANGED, ChangeKind.STATS_CHANGED),
        (ChangeKind.RECORDED, ChangeKind.DELETED),
        (ChangeKind.DELETED, ChangeKind.RECORDED),
    ],
)
def test_changes_of_one_transaction_coalesce_into_the_most_telling_in_either_order(first, second):
    most_telling = max(first, second, key=lambda k: k.rank)
    events = [RoomChanged("r1", first), RoomChanged("r1", second)]
    assert notices(events) == [(ROOM_EVENTS_CHANNEL, {"room_id": "r1", "kind": most_telling.value})]


def test_the_same_change_twice_is_one_notification():
    events = [RoomChanged("r1", ChangeKind.UPDATED)] * 3
    assert len(side_effects(events).notifications) == 1


def test_each_room_changed_in_a_transaction_gets_its_own_notification():
    events = [
        RoomChanged("r1", ChangeKind.UPDATED),
        RoomChanged("r2", ChangeKind.STATS_CHANGED),
        RoomChanged("r1", ChangeKind.STATUS_CHANGED),
        RoomChanged("r2", ChangeKind.UPDATED),
    ]
    assert notices(events) == [
        (ROOM_EVENTS_CHANNEL, {"room_id": "r1", "kind": "status_changed"}),
        (ROOM_EVENTS_CHANNEL, {"room_id": "r2", "kind": "stats_changed"}),
    ]


def test_a_room_ended_with_a_recording_waiting_notifies_recorded_once_with_its_outbox():
    r = Room("r1", "host", RoomStatus.LIVE, max_co_hosts=8, recording_pending=True)
    r.end(EndReason.MAX_DURATION, NOW)
    effects = side_effects(r.events)
    assert effects.outbox == [
        OutboxMessage(END_LIVEKIT_ROOM, {"room_id": "r1"}),
        OutboxMessage(CANCEL_ROOM_INVITATIONS, {"room_id": "r1"}),
    ]
    assert notices(r.events) == [(ROOM_EVENTS_CHANNEL, {"room_id": "r1", "kind": "recorded"})]


def test_deleting_an_open_room_ends_it_and_notifies_deleted():
    r = Room("r1", "host", RoomStatus.IDLE, max_co_hosts=8)
    r.delete(NOW)
    effects = side_effects(r.events)
    assert [m.kind for m in effects.outbox] == [END_LIVEKIT_ROOM, CANCEL_ROOM_INVITATIONS]
    assert notices(r.events) == [(ROOM_EVENTS_CHANNEL, {"room_id": "r1", "kind": "deleted"})]


def test_the_same_delivery_asked_twice_is_sent_once():
    later = NOW + timedelta(seconds=1)
    events = [
        RoomEnded("r1", EndReason.DELETED),
        RoomEnded("r1", EndReason.DELETED),
        TakenOffStage("r1", "cole", NOW),
        TakenOffStage("r1", "cole", later),
        ParticipantRefused("r1", "cole", NOW),
        ParticipantRefused("r1", "cole", later),
    ]
    assert side_effects(events).outbox == [
        OutboxMessage(END_LIVEKIT_ROOM, {"room_id": "r1"}),
        OutboxMessage(CANCEL_ROOM_INVITATIONS, {"room_id": "r1"}),
        OutboxMessage(SYNC_LIVEKIT_PARTICIPANT, {"room_id": "r1", "user_id": "cole"}),
        OutboxMessage(
            REMOVE_LIVEKIT_PARTICIPANT,
            {"room_id": "r1", "user_id": "cole", "since": NOW.isoformat()},
        ),
        OutboxMessage(
            REMOVE_LIVEKIT_PARTICIPANT,
            {"room_id": "r1", "user_id": "cole", "since": later.isoformat()},
        ),
    ]

"""Direct-streaming rooms (LiveKit Ingress) without I/O: the room's ingress rules (attach,
replace, retire), its status from ingress events in any order, the ingress participant as the
host's presence (only the host's, only in a direct-streaming room), reconciliation keeping it,
and the broadcast service's view of webhooks and ingresses."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from costream.broadcast.v1.broadcast_service_pb2 import LiveKitRoomState
from costream.room.v1 import room_pb2
from livekit.protocol import ingress as ingress_pb
from livekit.protocol import models
from livekit.protocol.webhook import WebhookEvent

from services.broadcast import domain as broadcast
from services.common.errors import FailedPrecondition, PermissionDenied
from services.room.client import RoomAccess
from services.room.domain import (
    EndReason,
    IngressRetired,
    IngressStatus,
    Room,
    RoomStatus,
    RoomType,
)
from services.room.livekit.reconcile import lost_events
from services.room.side_effects import DELETE_LIVEKIT_INGRESS, side_effects
from tests.unit.test_livekit_events import (
    CO_HOST,
    HOST,
    ROOM,
    Store,
    apply,
    joined,
    left,
    lk,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def direct(status: RoomStatus = RoomStatus.IDLE, **fields: object) -> Room:
    fields.setdefault("type", RoomType.DIRECT_STREAMING)
    return Room(room_id=ROOM, host_user_id=HOST, status=status, max_co_hosts=8, **fields)  # type: ignore[arg-type]


def with_ingress(ingress_id: str = "IN_1", **fields: object) -> Room:
    room = direct(**fields)
    room.attach_ingress(ingress_id, None)
    room.events.clear()
    return room


# --- the room's ingress -------------------------------------------------------------------


def test_a_direct_streaming_room_keeps_the_first_ingress_attached():
    room = direct()
    assert room.attach_ingress("IN_1", None) == "IN_1"
    assert (room.ingress_id, room.ingress_status) == ("IN_1", IngressStatus.READY)
    room.events.clear()
    # Made at the same time by another call: the room keeps its own, and nothing changes.
    assert room.attach_ingress("IN_2", None) == "IN_1"
    # A retry of the first attach changes nothing either.
    assert room.attach_ingress("IN_1", None) == "IN_1"
    assert room.events == []


def test_replacing_the_current_ingress_retires_it_and_a_second_replacement_of_it_keeps_the_first():
    room = with_ingress("IN_1")
    assert room.attach_ingress("IN_2", "IN_1") == "IN_2"
    assert (room.ingress_id, room.ingress_status) == ("IN_2", IngressStatus.READY)
    assert IngressRetired(ROOM, "IN_1") in room.events
    room.events.clear()
    # A reset at the same moment also replacing IN_1: IN_2 is kept, the caller drops its own.
    assert room.attach_ingress("IN_3", "IN_1") == "IN_2"
    assert room.events == []


def test_an_ingress_is_refused_by_a_co_hosts_room_and_an_ended_room():
    with pytest.raises(FailedPrecondition) as refused:
        direct(type=RoomType.CO_HOSTS).attach_ingress("IN_1", None)
    assert refused.value.reason == "WRONG_ROOM_TYPE"
    with pytest.raises(FailedPrecondition) as ended:
        direct(RoomStatus.ENDED).attach_ingress("IN_1", None)
    assert ended.value.reason == "ROOM_ENDED"


def test_every_way_a_room_ends_retires_its_ingress_once():
    room = with_ingress("IN_1", status=RoomStatus.LIVE)
    room.end(EndReason.DISMISSED, T0)
    assert room.ingress_status is IngressStatus.ENDED
    retired = [e for e in room.events if isinstance(e, IngressRetired)]
    assert retired == [IngressRetired(ROOM, "IN_1")]
    effects = side_effects(room.events)
    deletes = [m.payload for m in effects.outbox if m.kind == DELETE_LIVEKIT_INGRESS]
    assert deletes == [{"room_id": ROOM, "ingress_id": "IN_1"}]


def test_deleting_a_room_retires_its_ingress_and_a_room_without_one_retires_nothing():
    room = with_ingress("IN_1")
    room.delete(T0)
    assert [e for e in room.events if isinstance(e, IngressRetired)] == [
        IngressRetired(ROOM, "IN_1")
    ]
    plain = direct()
    plain.delete(T0)
    assert not [e for e in plain.events if isinstance(e, IngressRetired)]
    assert plain.ingress_status is None


def test_a_room_with_an_ingress_cannot_be_purged():
    with pytest.raises(FailedPrecondition) as refused:
        with_ingress("IN_1").purge()
    assert refused.value.reason == "ROOM_IN_USE"


# --- ingress status, in any order -----------------------------------------------------------


def test_ingress_events_move_the_status_of_the_current_ingress_only():
    room = with_ingress("IN_1")
    assert room.ingress_event("IN_1", True, T0) is True
    assert room.ingress_status is IngressStatus.PUBLISHING
    assert room.ingress_event("IN_OLD", False, T0 + timedelta(seconds=5)) is False
    assert room.ingress_status is IngressStatus.PUBLISHING
    assert room.ingress_event("IN_1", False, T0 + timedelta(seconds=5)) is True
    assert room.ingress_status is IngressStatus.READY


def test_an_ingress_started_from_before_the_latest_ingress_ended_changes_nothing():
    room = with_ingress("IN_1")
    room.ingress_event("IN_1", False, T0 + timedelta(seconds=10))
    assert room.ingress_event("IN_1", True, T0 + timedelta(seconds=3)) is False
    assert room.ingress_status is IngressStatus.READY


def test_ingress_events_after_the_end_change_nothing():
    room = with_ingress("IN_1", status=RoomStatus.LIVE)
    room.end(EndReason.STOPPED_BY_HOST, T0)
    assert room.ingress_event("IN_1", True, T0 + timedelta(seconds=1)) is False
    assert room.ingress_status is IngressStatus.ENDED


# (ingress started?, seconds): an encoder connecting, dropping, reconnecting, with a tie.
SESSIONS = [(True, 1), (False, 4), (True, 6), (False, 6), (True, 9)]


@pytest.mark.parametrize("count", range(1, len(SESSIONS) + 1))
def test_ingress_status_ends_the_same_whatever_order_the_events_arrive_in(count):
    events = SESSIONS[:count]
    outcomes = set()
    for order in itertools.permutations(events):
        room = with_ingress("IN_1")
        for started, second in order:
            room.ingress_event("IN_1", started, T0 + timedelta(seconds=second))
        outcomes.add(room.ingress_status)
    # The latest event wins; of two at the same time, the end.
    latest_started, _ = max(events, key=lambda e: (e[1], not e[0]))
    expected = IngressStatus.PUBLISHING if latest_started else IngressStatus.READY
    assert outcomes == {expected}


# --- the ingress participant as the host --------------------------------------------------


def ingress_joined(who: str, sid: str, seconds: int, **fields: object) -> room_pb2.LiveKitEvent:
    return joined(
        who, sid, seconds, participant_ingress=True, participant_can_publish=True, **fields
    )


def ingress_left(who: str, sid: str, seconds: int, **fields: object) -> room_pb2.LiveKitEvent:
    return left(who, sid, seconds, participant_ingress=True, **fields)


def store_with(room: Room) -> Store:
    store = Store()
    store.rooms[ROOM] = room
    return store


async def test_the_hosts_ingress_makes_a_direct_streaming_room_live_and_its_leave_waits_for_it():
    store = store_with(with_ingress("IN_1"))
    await apply(store, lk("room_started", 0))
    await apply(store, ingress_joined(HOST, "PA_IN", 1))
    assert store.rooms[ROOM].status is RoomStatus.LIVE
    assert store.counts(ROOM) == (0, 1)
    await apply(store, ingress_left(HOST, "PA_IN", 5))
    room = store.rooms[ROOM]
    assert room.status is RoomStatus.WAITING_RECONNECT
    assert room.reconnect_deadline is not None
    # The encoder reconnects: a new ingress participant.
    await apply(store, ingress_joined(HOST, "PA_IN2", 8))
    assert store.rooms[ROOM].status is RoomStatus.LIVE


async def test_an_ingress_participant_not_the_host_or_in_a_co_hosts_room_changes_nothing():
    store = store_with(with_ingress("IN_1"))
    await apply(store, lk("room_started", 0))
    assert await apply(store, ingress_joined(CO_HOST, "PA_X", 1)) is False
    assert store.rooms[ROOM].status is RoomStatus.IDLE
    assert store.counts(ROOM) == (0, 0)

    co_hosts = store_with(direct(type=RoomType.CO_HOSTS))
    await apply(co_hosts, lk("room_started", 0))
    assert await apply(co_hosts, ingress_joined(HOST, "PA_IN", 1)) is False
    assert co_hosts.rooms[ROOM].status is RoomStatus.IDLE
    assert co_hosts.counts(ROOM) == (0, 0)


async def test_ingress_webhooks_move_the_rooms_ingress_status_and_are_deduplicated():
    store = store_with(with_ingress("IN_1"))
    started = lk("ingress_started", 3, ingress_id="IN_1", room_sid="")
    assert await apply(store, started) is True
    assert store.rooms[ROOM].ingress_status is IngressStatus.PUBLISHING
    ended = lk("ingress_ended", 7, ingress_id="IN_1", room_sid="")
    assert await apply(store, ended) is True
    assert await apply(store, started) is False  # a duplicate
    late = lk("ingress_started", 5, ingress_id="IN_1", room_sid="")
    assert await apply(store, late) is False  # from before the end: changes nothing
    assert store.rooms[ROOM].ingress_status is IngressStatus.READY
    assert store.rooms[ROOM].status is RoomStatus.IDLE  # presence is the participant's


def test_reconciliation_keeps_the_hosts_ingress_and_ignores_any_other():
    room = with_ingress("IN_1", livekit_room_sid="RM_1")
    state = LiveKitRoomState(exists=True, room_sid="RM_1", ours=True)
    state.participants.add(sid="PA_IN", identity=HOST, can_publish=True, ingress=True)
    state.participants.add(sid="PA_X", identity="stranger", can_publish=True, ingress=True)
    asked = T0 + timedelta(minutes=1)
    events = lost_events(room, {}, state, asked)
    assert [(e.participant_sid, e.participant_ingress) for e in events] == [("PA_IN", True)]
    co_hosts = direct(type=RoomType.CO_HOSTS, livekit_room_sid="RM_1")
    assert lost_events(co_hosts, {}, state, asked) == []


# --- the broadcast service ----------------------------------------------------------------


def test_an_ingress_participants_webhook_reaches_the_room_service_marked():
    event = WebhookEvent(
        id="EV_1",
        event="participant_joined",
        created_at=1_700_000_000,
        room=models.Room(
            name=ROOM,
            sid="RM_1",
            metadata=broadcast.room_metadata(room_pb2.Room(room_id=ROOM, host_user_id=HOST)),
        ),
        participant=models.ParticipantInfo(
            sid="PA_IN", identity=HOST, kind=models.ParticipantInfo.INGRESS
        ),
    )
    out = broadcast.to_room_event(event)
    assert out is not None
    assert (out.participant_identity, out.participant_ingress) == (HOST, True)


@pytest.mark.parametrize(
    ("kind", "field"), [("ingress_started", "started_at"), ("ingress_ended", "ended_at")]
)
def test_an_ingress_webhook_names_its_room_and_ingress_at_its_own_time_without_the_key(kind, field):
    at_ns = 1_700_000_000_123_456_789
    info = ingress_pb.IngressInfo(
        ingress_id="IN_1",
        stream_key="very-secret-key",
        url="rtmp://ingress/x",
        room_name=ROOM,
        state=ingress_pb.IngressState(**{field: at_ns}),  # type: ignore[arg-type]
    )
    # LiveKit names the room in `room` too, without its metadata.
    webhook = WebhookEvent(
        id="EV_9",
        event=kind,
        created_at=1_700_000_000,
        ingress_info=info,
        room=models.Room(name=ROOM),
    )
    out = broadcast.to_room_event(webhook)
    assert out is not None
    assert (out.event, out.room_name, out.ingress_id) == (kind, ROOM, "IN_1")
    assert out.create_time.ToNanoseconds() == at_ns
    assert b"very-secret-key" not in out.SerializeToString()


def test_livekit_room_state_marks_ingresses_and_leaves_out_egresses():
    room = models.Room(name=ROOM, sid="RM_1")
    people = [
        models.ParticipantInfo(sid="PA_1", identity=CO_HOST),
        models.ParticipantInfo(sid="PA_IN", identity=HOST, kind=models.ParticipantInfo.INGRESS),
        models.ParticipantInfo(sid="EG_1", identity="eg", kind=models.ParticipantInfo.EGRESS),
    ]
    state = broadcast.livekit_room_state(room, people)
    assert [(p.sid, p.ingress) for p in state.participants] == [("PA_1", False), ("PA_IN", True)]


def test_the_ingress_joins_the_rooms_livekit_room_as_its_host():
    room = room_pb2.Room(room_id=ROOM, host_user_id=HOST, type=room_pb2.ROOM_TYPE_DIRECT_STREAMING)
    request = broadcast.create_ingress_request(room)
    assert request.input_type == ingress_pb.RTMP_INPUT
    assert (request.room_name, request.name, request.participant_identity) == (ROOM, ROOM, HOST)
    assert request.participant_metadata == '{"role":"host"}'
    # The LiveKit room waits for an encoder started long after the settings were given.
    livekit_room = broadcast.create_room_request(room, token_ttl=900, reconnect_timeout=180)
    assert livekit_room.empty_timeout == broadcast.DIRECT_STREAMING_EMPTY_TIMEOUT


def test_stream_settings_never_show_the_key_in_their_repr():
    settings = broadcast.StreamSettings("rtmp://x/live", "very-secret-key", "")
    assert "very-secret-key" not in repr(settings)


def access(room_type: int, role: str | None, user: str = HOST, **fields: object) -> RoomAccess:
    room = room_pb2.Room(room_id=ROOM, host_user_id=HOST, type=room_type)  # type: ignore[arg-type]
    return RoomAccess(room_id=ROOM, host_user_id=HOST, role=role, user_id=user, room=room, **fields)  # type: ignore[arg-type]


def test_only_the_host_of_a_direct_streaming_room_streams_directly():
    direct_room = room_pb2.ROOM_TYPE_DIRECT_STREAMING
    assert broadcast.streams_directly(access(direct_room, "host"), broadcast.Role.HOST)
    assert not broadcast.streams_directly(
        access(direct_room, "co_host", CO_HOST), broadcast.Role.CO_HOST
    )
    assert not broadcast.streams_directly(
        access(room_pb2.ROOM_TYPE_CO_HOSTS, "host"), broadcast.Role.HOST
    )


def test_a_stream_key_is_the_hosts_of_an_open_direct_streaming_room_only():
    direct_room = room_pb2.ROOM_TYPE_DIRECT_STREAMING
    broadcast.check_stream_host(access(direct_room, "host"), HOST)
    with pytest.raises(PermissionDenied) as not_host:
        broadcast.check_stream_host(access(direct_room, "co_host", CO_HOST), CO_HOST)
    assert not_host.value.reason == "NOT_ROOM_HOST"
    with pytest.raises(FailedPrecondition) as wrong:
        broadcast.check_stream_host(access(room_pb2.ROOM_TYPE_CO_HOSTS, "host"), HOST)
    assert wrong.value.reason == "WRONG_ROOM_TYPE"
    with pytest.raises(FailedPrecondition) as ended:
        broadcast.check_stream_host(access(direct_room, "host", ended=True), HOST)
    assert ended.value.reason == "ROOM_ENDED"

"""LiveKit events applied to a room, without I/O: the rules, worked examples, and a property
test: any delivery LiveKit allows (duplicates, reordering within a session, late events of
older sessions) ends in the same status and live counts as the events in LiveKit's order, and
those match what LiveKit did. The use case runs against an in-memory unit of work that
behaves as services.room.repository does; tests/integration/test_livekit_events_db.py runs
the same property against PostgreSQL."""

import copy
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from costream.room.v1 import room_pb2
from google.protobuf import duration_pb2, timestamp_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.room.domain import (
    EGRESS_RANK,
    EndReason,
    Recording,
    RecordingStatus,
    Room,
    RoomStatus,
)
from services.room.livekit.events import (
    Presence,
    Session,
    apply_livekit_event,
    apply_livekit_events,
    classify_session,
    completed_recording,
    event_time,
    follow_host,
    host_presence,
)
from services.room.livekit.repository import Connection
from services.room.side_effects import SYNC_LIVEKIT_ROOM_METADATA, side_effects

ROOM = "room-x"
HOST = "hana"
CO_HOST = "cole"
VIEWERS = ("vic", "val")
STAGE = frozenset({HOST, CO_HOST})
PEOPLE = (HOST, CO_HOST, *VIEWERS)
RECONNECT = timedelta(seconds=180)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- the rules ------------------------------------------------------------------------------


def test_first_session_is_adopted_and_later_room_started_replaces_it():
    assert classify_session(None, None, "RM_1", "participant_joined", at(5)) is Session.ADOPT
    assert classify_session("RM_1", at(0), "RM_1", "participant_left", at(9)) is Session.CURRENT
    assert classify_session("RM_1", at(0), "RM_2", "room_started", at(9)) is Session.REPLACE


def test_events_from_before_the_session_began_are_stale_and_unknown_later_ones_wait():
    assert classify_session("RM_2", at(10), "RM_1", "room_started", at(3)) is Session.STALE
    assert classify_session("RM_2", at(10), "RM_1", "participant_joined", at(3)) is Session.STALE
    assert classify_session("RM_1", at(0), "RM_2", "participant_joined", at(9)) is Session.PARK


def test_host_presence_follows_connected_sids_and_the_latest_departure():
    assert host_presence(0, []) is Presence.NOT_SEEN
    assert host_presence(1, [(at(1), "CLIENT_INITIATED")]) is Presence.PRESENT
    assert host_presence(0, [(at(1), "CLIENT_INITIATED")]) is Presence.GONE
    # Replaced by a new connection of the same identity, whose join has not arrived yet.
    assert host_presence(0, [(at(1), "CLIENT_INITIATED"), (at(2), "DUPLICATE_IDENTITY")]) is (
        Presence.PRESENT
    )
    # The replacement joined and left too: gone, also when both left in the same second.
    assert host_presence(0, [(at(2), "DUPLICATE_IDENTITY"), (at(3), "CLIENT_INITIATED")]) is (
        Presence.GONE
    )
    assert host_presence(0, [(at(2), "DUPLICATE_IDENTITY"), (at(2), "CLIENT_INITIATED")]) is (
        Presence.GONE
    )


def room(status: RoomStatus = RoomStatus.IDLE, **fields: object) -> Room:
    return Room(room_id=ROOM, host_user_id=HOST, status=status, max_co_hosts=8, **fields)  # type: ignore[arg-type]


def test_status_follows_the_host():
    r = room()
    assert follow_host(r, Presence.NOT_SEEN, at(1), RECONNECT) is False
    assert r.status is RoomStatus.IDLE
    assert follow_host(r, Presence.PRESENT, at(2), RECONNECT) is True
    assert (r.status, r.live_time) == (RoomStatus.LIVE, at(2))
    assert follow_host(r, Presence.GONE, at(3), RECONNECT) is True
    assert (r.status, r.reconnect_deadline) == (RoomStatus.WAITING_RECONNECT, at(3) + RECONNECT)
    assert follow_host(r, Presence.PRESENT, at(4), RECONNECT) is True
    assert (r.status, r.live_time, r.reconnect_deadline) == (RoomStatus.LIVE, at(2), None)


def test_a_departure_before_its_join_still_means_the_host_was_live():
    r = room()
    assert follow_host(r, Presence.GONE, at(1), RECONNECT) is True
    assert r.status is RoomStatus.WAITING_RECONNECT
    assert r.live_time == at(1)


def test_ended_rooms_do_not_follow_the_host():
    r = room(RoomStatus.ENDED)
    assert follow_host(r, Presence.PRESENT, at(1), RECONNECT) is False
    assert r.status is RoomStatus.ENDED


# --- an in-memory unit of work ------------------------------------------------------------------


@dataclass
class Store:
    rooms: dict[str, Room] = field(default_factory=dict)
    events: dict[str, dict] = field(default_factory=dict)
    session_times: dict[str, datetime | None] = field(default_factory=dict)
    connections: dict[tuple[str, str], dict] = field(default_factory=dict)
    departures: dict[tuple[str, str], dict] = field(default_factory=dict)
    playbacks: dict[tuple[str, str], dict] = field(default_factory=dict)
    egresses: dict[str, str] = field(default_factory=dict)
    peaks: dict[str, int] = field(default_factory=dict)
    # (room_id, user_id) -> when the ban lapses; None for a ban until unbanned.
    bans: dict[tuple[str, str], datetime | None] = field(default_factory=dict)
    update_times: dict[str, datetime] = field(default_factory=dict)
    outbox: list[tuple[str, dict]] = field(default_factory=list)
    # The rooms whose LiveKit metadata was asked to follow them (kept apart from `outbox`).
    metadata_syncs: list[str] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)
    # room_id -> due within this many seconds (a suspected gap)
    reconcile_soon: dict[str, float] = field(default_factory=dict)

    def counts(self, room_id: str) -> tuple[int, int]:
        """(viewers, publishers): distinct identities, as the room view counts them."""
        rows = [c for (r, _), c in self.connections.items() if r == room_id]
        viewers = {c["identity"] for c in rows if not c["can_publish"]}
        publishers = {c["identity"] for c in rows if c["can_publish"]}
        return len(viewers), len(publishers)


class FakeRooms:
    """services.room.repository.RoomRepository over a Store: the rooms a transaction read for
    update are locked, and only a locked room may be saved (or a concurrent change is lost)."""

    def __init__(self, store: Store, seen: list[Room]) -> None:
        self._s = store
        self._seen = seen
        self._locked: set[str] = set()

    async def get(self, room_id: str, *, for_update: bool = False) -> Room | None:
        found = self._s.rooms.get(room_id)
        if found is None:
            return None
        if for_update:
            self._locked.add(room_id)
        room = copy.deepcopy(found)
        self._seen.append(room)
        return room

    async def is_banned(self, room_id: str, user_id: str, now: datetime) -> bool:
        if (room_id, user_id) not in self._s.bans:
            return False
        expire_time = self._s.bans[(room_id, user_id)]
        return expire_time is None or expire_time > now

    async def save(self, room: Room, now: datetime) -> None:
        assert room.room_id in self._locked, "saved a room without its lock"
        saved = copy.deepcopy(room)
        saved.events = []
        self._s.rooms[room.room_id] = saved
        self._s.update_times[room.room_id] = now


class FakeLiveKit:
    """services.room.repository.LiveKitRepository over a Store."""

    def __init__(self, store: Store) -> None:
        self._s = store

    async def record_event(self, event_id, room_id, event, room_sid, now) -> bool:
        if event_id in self._s.events:
            return False
        self._s.events[event_id] = {
            "room_id": room_id,
            "event": event,
            "room_sid": room_sid,
            "receive_time": now,
            "state": "done",
        }
        return True

    async def park(self, event_id, payload) -> None:
        self._s.events[event_id].update(state="parked", payload=payload)

    async def reconcile_soon(self, room_id, seconds=0.0) -> None:
        self._s.reconcile_soon[room_id] = min(seconds, self._s.reconcile_soon.get(room_id, seconds))

    async def take_parked(self, room_id, room_sid) -> list[tuple[bytes, datetime]]:
        taken = []
        for row in self._s.events.values():
            if (row["room_id"], row["room_sid"], row["state"]) == (room_id, room_sid, "parked"):
                row["state"] = "done"
                taken.append((row["payload"], row["receive_time"]))
        return taken

    async def session_time(self, room_id):
        return self._s.session_times.get(room_id)

    async def set_session_time(self, room_id, since) -> None:
        self._s.session_times[room_id] = since

    async def connect(self, room_id, participant_sid, identity, room_sid, can_publish, now):
        key = (room_id, participant_sid)
        if key in self._s.departures:
            return False
        row = self._s.connections.get(key)
        if row is None:
            self._s.connections[key] = {
                "identity": identity,
                "room_sid": room_sid,
                "can_publish": can_publish,
                "join_time": now,
            }
            return True
        if can_publish and not row["can_publish"]:
            row["can_publish"] = True
            return True
        return False

    async def disconnect(self, room_id, participant_sid, identity, room_sid, reason, leave_time):
        self._s.departures.setdefault(
            (room_id, participant_sid),
            {"identity": identity, "room_sid": room_sid, "reason": reason, "time": leave_time},
        )
        return await self.drop_connection(room_id, participant_sid)

    async def drop_connection(self, room_id, participant_sid) -> bool:
        return self._s.connections.pop((room_id, participant_sid), None) is not None

    async def drop_connections(self, room_id) -> bool:
        gone = [key for key in self._s.connections if key[0] == room_id]
        for key in gone:
            del self._s.connections[key]
        return bool(gone)

    async def connections(self, room_id, room_sid):
        return {
            sid: Connection(row["identity"], row["can_publish"], row["join_time"])
            for (r, sid), row in self._s.connections.items()
            if r == room_id and row["room_sid"] == room_sid
        }

    async def presence(self, room_id, identity, room_sid):
        connected = sum(
            1
            for (r, _), row in self._s.connections.items()
            if r == room_id and (row["identity"], row["room_sid"]) == (identity, room_sid)
        )
        departures = [
            (row["time"], row["reason"])
            for (r, _), row in self._s.departures.items()
            if r == room_id and (row["identity"], row["room_sid"]) == (identity, room_sid)
        ]
        return connected, departures

    async def update_peak(self, room_id) -> None:
        viewers, _ = self._s.counts(room_id)
        self._s.peaks[room_id] = max(self._s.peaks.get(room_id, 0), viewers)

    async def egress_seen(self, room_id, egress_id, status):
        known = self._s.egresses.get(egress_id)
        if known is None or EGRESS_RANK.get(status, -1) > EGRESS_RANK.get(known, -1):
            self._s.egresses[egress_id] = status
        return self._s.egresses[egress_id], known is None

    async def add_recording(self, room_id, recording, now):
        if (room_id, recording.egress_id) in self._s.playbacks:
            return False
        self._s.playbacks[(room_id, recording.egress_id)] = {
            "url": recording.url,
            "thumbnail_url": recording.thumbnail_url,
            "duration_ms": recording.duration_ms,
            "create_time": now,
        }
        return True


class FakeUnitOfWork:
    """Rolls the store back unless committed, and turns the events of what it loaded into side
    effects at commit, like services.common.unit_of_work.UnitOfWork."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._seen: list[Room] = []
        self.rooms = FakeRooms(store, self._seen)
        self.livekit = FakeLiveKit(store)

    def read(self) -> "FakeUnitOfWork":
        return self

    async def __aenter__(self) -> "FakeUnitOfWork":
        self._saved = copy.deepcopy(self._store.__dict__)
        self._committed = False
        self._seen.clear()
        return self

    async def commit(self) -> None:
        events = [e for room in self._seen for e in room.events]
        for room in self._seen:
            room.events.clear()
        effects = side_effects(events)
        for m in effects.outbox:
            if m.kind == SYNC_LIVEKIT_ROOM_METADATA:
                self._store.metadata_syncs.append(str(m.payload["room_id"]))
            else:
                self._store.outbox.append((m.kind, dict(m.payload)))
        for n in effects.notifications:
            notice = json.loads(n.payload)
            self._store.notices.append((notice["room_id"], notice["kind"]))
        self._committed = True

    async def __aexit__(self, *exc_info: object) -> None:
        if not self._committed:
            self._store.__dict__.update(self._saved)


def new_store() -> Store:
    store = Store()
    store.rooms[ROOM] = room(co_host_ids=[CO_HOST])
    return store


async def apply(store: Store, event: room_pb2.LiveKitEvent, now: datetime = T0) -> bool:
    return await apply_livekit_event(
        event,
        FakeUnitOfWork(store),  # type: ignore[arg-type]
        reconnect_timeout=RECONNECT,
        now=now,
    )


# --- LiveKit, simulated ---------------------------------------------------------------------


class LiveKitSimulator:
    """What a LiveKit server sends about one room, in its order, and where it leaves things."""

    def __init__(self) -> None:
        self.events: list[room_pb2.LiveKitEvent] = []
        self.windows: list[int] = []  # the session each event belongs to (its lane)
        self.clock = 1_767_225_600
        self.session = ""
        self.session_index = -1
        self.connected: dict[str, str] = {}
        self.host_seen = False
        self.finished = False
        self.recorded = False
        self._ids = 0

    def _id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}_{self._ids}"

    def _emit(self, event: str, **fields: object) -> None:
        self.clock += 1
        self.events.append(
            room_pb2.LiveKitEvent(
                event_id=self._id("EV"),
                event=event,
                create_time=timestamp_pb2.Timestamp(seconds=self.clock),
                room_name=ROOM,
                room_sid=self.session,
                **fields,  # type: ignore[arg-type]
            )
        )
        self.windows.append(self.session_index)

    def _left(self, who: str, reason: str, event: str = "participant_left") -> None:
        sid = self.connected.pop(who)
        self._emit(
            event,
            participant_identity=who,
            participant_sid=sid,
            participant_can_publish=who in STAGE,
            disconnect_reason=reason,
        )

    def start_session(self) -> None:
        """A LiveKit room: the first, or a new one after the last vanished without a word."""
        self.session_index += 1
        self.session = self._id("RM")
        self.connected = {}
        self._emit("room_started")

    def join(self, who: str) -> None:
        if who in self.connected:  # the same identity again: LiveKit drops the old connection
            self._left(who, "DUPLICATE_IDENTITY")
        sid = self._id("PA")
        self.connected[who] = sid
        self.host_seen = self.host_seen or who == HOST
        self._emit(
            "participant_joined",
            participant_identity=who,
            participant_sid=sid,
            participant_can_publish=who in STAGE,
        )

    def leave(self, who: str) -> None:
        if who in self.connected:
            self._left(who, "CLIENT_INITIATED")

    def abort(self, who: str) -> None:
        if who in self.connected:
            self._left(who, "JOIN_FAILURE", "participant_connection_aborted")

    def publish(self, who: str) -> None:
        if who in self.connected and who in STAGE:
            self._emit(
                "track_published",
                participant_identity=who,
                participant_sid=self.connected[who],
                track_sid=self._id("TR"),
            )

    def finish(self) -> None:
        for who in list(self.connected):
            self._left(who, "ROOM_CLOSED")
        self._emit("room_finished")
        self.finished = True

    def record(self) -> None:
        self._emit(
            "egress_ended",
            egress_id=self._id("EG"),
            egress_status="EGRESS_COMPLETE",
            playback=room_pb2.RecordedPlayback(
                url="s3://recordings/room-x.mp4", duration=duration_pb2.Duration(seconds=60)
            ),
        )
        self.recorded = True

    def outcome(self) -> tuple:
        """(status, end_reason, viewers, publishers, recordings) as LiveKit left the room."""
        recordings = 1 if self.recorded else 0
        if self.finished:
            status = RoomStatus.RECORDED if self.recorded else RoomStatus.ENDED
            return status, EndReason.LIVEKIT_ROOM_FINISHED, 0, 0, recordings
        if HOST in self.connected:
            status = RoomStatus.LIVE
        elif self.host_seen:
            status = RoomStatus.WAITING_RECONNECT
        else:
            status = RoomStatus.IDLE
        viewers = len([w for w in self.connected if w not in STAGE])
        publishers = len([w for w in self.connected if w in STAGE])
        return status, None, viewers, publishers, recordings


ACTIONS = st.tuples(st.sampled_from(["join", "leave", "abort", "publish"]), st.sampled_from(PEOPLE))


@st.composite
def livekit_runs(draw: st.DrawFn) -> LiveKitSimulator:
    """One to three LiveKit sessions of a room, each a few joins, leaves and reconnects; maybe
    a room_finished at the end and a recording."""
    sim = LiveKitSimulator()
    for _ in range(draw(st.integers(1, 3))):
        sim.start_session()
        for action, who in draw(st.lists(ACTIONS, max_size=12)):
            getattr(sim, action)(who)
    if draw(st.booleans()):
        sim.finish()
    if draw(st.booleans()):
        sim.record()
    return sim


def delivery(sim: LiveKitSimulator, rnd: random.Random) -> list[room_pb2.LiveKitEvent]:
    """An order LiveKit may deliver: sessions in order with their events shuffled; some events
    late, into a later session; recordings anywhere (their own lane); some delivered twice."""
    last = sim.session_index
    keyed = []
    for event, window in zip(sim.events, sim.windows, strict=True):
        if event.event == "egress_ended":
            window = rnd.randint(0, last)
        elif event.event != "room_started" and window < last and rnd.random() < 0.2:
            window = rnd.randint(window + 1, last)
        keyed.append((window, rnd.random(), event))
    order = [event for _, _, event in sorted(keyed, key=lambda k: k[:2])]
    for _ in range(rnd.randint(0, 3)):
        if order:
            i = rnd.randrange(len(order))
            order.insert(rnd.randint(i + 1, len(order)), order[i])
    return order


def outcome(store: Store) -> tuple:
    r = store.rooms[ROOM]
    return (r.status, r.end_reason, *store.counts(ROOM), len(store.playbacks))


async def run(events: list[room_pb2.LiveKitEvent]) -> Store:
    store = new_store()
    for event in events:
        await apply(store, event)
    return store


async def run_in_batches(events: list[room_pb2.LiveKitEvent], rnd: random.Random) -> Store:
    """As the broadcast outbox hands them on: a few at a time (ApplyLiveKitEvents)."""
    store = new_store()
    while events:
        size = rnd.randint(1, 8)
        batch, events = events[:size], events[size:]
        await apply_livekit_events(
            batch,
            FakeUnitOfWork(store),
            reconnect_timeout=RECONNECT,
            now=T0,  # type: ignore[arg-type]
        )
    return store


# Examples: 400 (tests/conftest.py's profile), fewer under `make mutation`.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sim=livekit_runs(), rnd=st.randoms(use_true_random=False))
async def test_any_delivery_order_ends_as_livekit_left_the_room(sim, rnd):
    in_order = outcome(await run(sim.events))
    assert in_order == sim.outcome()
    shuffled = delivery(sim, rnd)
    one_by_one = await run(shuffled)
    assert outcome(one_by_one) == in_order
    # In batches, the same, and the same peak as one by one (the peak depends on the order).
    batched = await run_in_batches(shuffled, rnd)
    assert outcome(batched) == in_order
    assert batched.peaks.get(ROOM, 0) == one_by_one.peaks.get(ROOM, 0)


# --- worked examples --------------------------------------------------------------------------


async def walk(sim: LiveKitSimulator) -> tuple[Store, list[RoomStatus]]:
    store = new_store()
    seen = []
    for event in sim.events:
        await apply(store, event)
        seen.append(store.rooms[ROOM].status)
    return store, seen


async def test_host_walks_the_room_through_live_waiting_and_back():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.join("vic")
    sim.leave(HOST)
    sim.join(HOST)
    store, seen = await walk(sim)
    assert seen == [
        RoomStatus.IDLE,
        RoomStatus.LIVE,
        RoomStatus.LIVE,
        RoomStatus.WAITING_RECONNECT,
        RoomStatus.LIVE,
    ]
    r = store.rooms[ROOM]
    assert r.livekit_room_sid == sim.session
    assert r.reconnect_deadline is None
    assert store.counts(ROOM) == (1, 1)
    assert store.peaks[ROOM] == 1
    # The LiveKit room's metadata follows each move of the status, not the viewers.
    assert store.metadata_syncs == [ROOM, ROOM, ROOM]
    # Watchers hear of each move and of the viewer; the session's start shows them nothing.
    assert store.notices == [
        (ROOM, "status_changed"),
        (ROOM, "stats_changed"),
        (ROOM, "status_changed"),
        (ROOM, "status_changed"),
    ]
    assert store.outbox == []


async def test_reconnect_from_a_new_connection_never_leaves_live():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.join(HOST)  # DUPLICATE_IDENTITY departure, then the new join
    sim.join(HOST)
    _, seen = await walk(sim)
    assert seen[1:] == [RoomStatus.LIVE] * 5


async def test_reconnect_departure_arriving_first_keeps_the_room_live():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.join(HOST)
    started, joined, duplicate_left, rejoined = sim.events
    store = new_store()
    for event in (started, duplicate_left, joined):
        await apply(store, event)
        assert store.rooms[ROOM].status is not RoomStatus.WAITING_RECONNECT
    assert store.rooms[ROOM].status is RoomStatus.LIVE
    await apply(store, rejoined)
    assert store.rooms[ROOM].status is RoomStatus.LIVE
    assert store.counts(ROOM) == (0, 1)


async def test_a_duplicate_event_changes_nothing():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join("vic")
    store = new_store()
    assert await apply(store, sim.events[0]) is True
    assert await apply(store, sim.events[1]) is True
    before = copy.deepcopy(store.__dict__)
    assert await apply(store, sim.events[1]) is False
    assert store.__dict__ == before


async def test_a_leave_before_its_join_counts_nobody():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join("vic")
    sim.leave("vic")
    store = new_store()
    for event in (sim.events[0], sim.events[2], sim.events[1]):
        await apply(store, event)
    assert store.counts(ROOM) == (0, 0)


async def test_events_of_an_older_session_change_nothing():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.join("val")
    sim.leave("val")
    old_left = sim.events.pop()
    sim.windows.pop()
    sim.start_session()
    sim.join("vic")
    store = new_store()
    for event in sim.events:
        await apply(store, event)
    before = (copy.deepcopy(store.rooms), store.counts(ROOM))
    assert await apply(store, old_left) is False
    assert (store.rooms, store.counts(ROOM)) == before
    r = store.rooms[ROOM]
    # The host was live in the older session; in this one it has not come back.
    assert r.status is RoomStatus.WAITING_RECONNECT
    assert r.livekit_room_sid == sim.session
    assert store.counts(ROOM) == (1, 0)


async def test_a_late_host_event_of_an_older_session_still_tells_the_host_was_live():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    old_started, old_join = sim.events
    sim.start_session()
    store = new_store()
    await apply(store, old_started)
    await apply(store, sim.events[2])
    assert store.rooms[ROOM].status is RoomStatus.IDLE
    assert await apply(store, old_join) is True
    # As in LiveKit's order: live in the old session, not back in the new one.
    assert store.rooms[ROOM].status is RoomStatus.WAITING_RECONNECT
    assert store.counts(ROOM) == (0, 0)


async def test_events_of_a_session_that_has_not_started_wait_for_its_room_started():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.start_session()
    sim.join(HOST)
    first_started, second_started, host_joined = sim.events
    store = new_store()
    await apply(store, first_started)
    assert await apply(store, host_joined) is False
    assert store.rooms[ROOM].status is RoomStatus.IDLE
    assert await apply(store, second_started) is True
    assert store.rooms[ROOM].status is RoomStatus.LIVE
    assert store.rooms[ROOM].livekit_room_sid == sim.session


async def test_room_finished_ends_the_room_once_with_its_side_effects():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.join("vic")
    sim.finish()
    store, seen = await walk(sim)
    assert seen[-1] is RoomStatus.ENDED
    r = store.rooms[ROOM]
    assert r.end_reason is EndReason.LIVEKIT_ROOM_FINISHED
    assert store.counts(ROOM) == (0, 0)
    assert store.outbox == [
        ("livekit.end_room", {"room_id": ROOM}),
        ("invitations.cancel_for_room", {"room_id": ROOM}),
    ]
    assert store.notices[-1] == (ROOM, "status_changed")


async def test_late_joins_after_the_end_count_for_nothing():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join("vic")
    joined = sim.events[1]
    sim.finish()
    store = new_store()
    for event in sim.events:
        if event is not joined:
            await apply(store, event)
    assert await apply(store, joined) is False
    assert store.counts(ROOM) == (0, 0)
    assert store.rooms[ROOM].status is RoomStatus.ENDED


@pytest.mark.parametrize("recording_first", [True, False])
async def test_a_recording_makes_an_ended_room_recorded_whenever_it_arrives(recording_first):
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.finish()
    sim.record()
    events = sim.events[-1:] + sim.events[:-1] if recording_first else sim.events
    store = new_store()
    for event in events:
        await apply(store, event)
    r = store.rooms[ROOM]
    assert r.status is RoomStatus.RECORDED
    assert r.recorded_time is not None
    assert len(store.playbacks) == 1
    assert r.recording_pending is False


async def test_a_failed_egress_records_nothing():
    store = new_store()
    event = room_pb2.LiveKitEvent(
        event_id="EV_f", event="egress_ended", room_name=ROOM, egress_id="EG_f",
        egress_status="EGRESS_FAILED",
    )  # fmt: skip
    assert await apply(store, event) is False
    assert store.playbacks == {}


async def test_events_of_rooms_that_are_not_ours_are_remembered_and_ignored():
    store = new_store()
    event = room_pb2.LiveKitEvent(event_id="EV_o", event="room_started", room_name="other")
    assert await apply(store, event) is False
    assert "EV_o" in store.events


async def test_host_publishing_before_its_join_arrives_makes_the_room_live():
    sim = LiveKitSimulator()
    sim.start_session()
    sim.join(HOST)
    sim.publish(HOST)
    started, _, published = sim.events
    store = new_store()
    await apply(store, started)
    await apply(store, published)
    assert store.rooms[ROOM].status is RoomStatus.LIVE
    assert store.counts(ROOM) == (0, 1)


# --- edges, one event at a time -------------------------------------------------------------

_ids = iter(range(1_000_000))


def lk(kind: str, seconds: int | None = None, **fields: object) -> room_pb2.LiveKitEvent:
    """One LiveKit event of ROOM, created `seconds` after T0 (no create_time when None)."""
    fields.setdefault("room_sid", "RM_1")
    event = room_pb2.LiveKitEvent(
        event_id=f"EV_{next(_ids)}",
        event=kind,
        room_name=ROOM,
        **fields,  # type: ignore[arg-type]
    )
    if seconds is not None:
        event.create_time.FromDatetime(at(seconds))
    return event


def joined(who: str, sid: str, seconds: int, **fields: object) -> room_pb2.LiveKitEvent:
    fields.setdefault("participant_can_publish", who in STAGE)
    return lk(
        "participant_joined", seconds, participant_identity=who, participant_sid=sid, **fields
    )


def left(who: str, sid: str, seconds: int, **fields: object) -> room_pb2.LiveKitEvent:
    fields.setdefault("disconnect_reason", "CLIENT_INITIATED")
    return lk("participant_left", seconds, participant_identity=who, participant_sid=sid, **fields)


def egress_ended(egress_id: str = "EG_1", seconds: int = 50, **fields: object):
    fields.setdefault("egress_status", "EGRESS_COMPLETE")
    fields.setdefault(
        "playback",
        room_pb2.RecordedPlayback(
            url="s3://rec/r.mp4",
            thumbnail_url="s3://rec/r.jpg",
            duration=duration_pb2.Duration(seconds=61, nanos=250_000_000),
        ),
    )
    return lk("egress_ended", seconds, egress_id=egress_id, **fields)


def test_a_room_started_in_the_second_the_current_session_began_replaces_it():
    # Rooms of one name never overlap: a later session's start is never before this one's.
    assert classify_session("RM_1", at(5), "RM_2", "room_started", at(5)) is Session.REPLACE
    assert classify_session("RM_1", at(5), "RM_2", "room_started", at(4)) is Session.STALE
    assert classify_session("RM_1", at(5), "RM_2", "participant_joined", at(5)) is Session.PARK


def test_without_a_known_session_start_nothing_is_stale():
    assert classify_session("RM_1", None, "RM_2", "room_started", at(0)) is Session.REPLACE
    assert classify_session("RM_1", None, "RM_2", "participant_left", at(0)) is Session.PARK


def test_an_event_without_a_session_belongs_to_the_current_one_even_before_any():
    assert classify_session(None, None, "", "participant_joined", at(1)) is Session.CURRENT
    assert classify_session("RM_1", at(0), "", "participant_joined", at(1)) is Session.CURRENT


def test_a_room_waiting_for_its_host_who_is_still_gone_keeps_its_deadline():
    r = room(RoomStatus.WAITING_RECONNECT, live_time=at(0), reconnect_deadline=at(100))
    assert follow_host(r, Presence.GONE, at(50), RECONNECT) is False
    assert (r.status, r.reconnect_deadline) == (RoomStatus.WAITING_RECONNECT, at(100))
    assert r.events == []


def test_a_live_room_whose_host_is_gone_waits_for_them():
    r = room(RoomStatus.LIVE, live_time=at(0))
    assert follow_host(r, Presence.GONE, at(50), RECONNECT) is True
    assert (r.status, r.live_time) == (RoomStatus.WAITING_RECONNECT, at(0))
    assert r.reconnect_deadline == at(50) + RECONNECT


def test_a_completed_egress_with_a_file_is_a_recording_with_its_playback():
    assert completed_recording(egress_ended("EG_9")) == Recording(
        egress_id="EG_9", url="s3://rec/r.mp4", thumbnail_url="s3://rec/r.jpg", duration_ms=61_250
    )


@pytest.mark.parametrize(
    "event",
    [
        egress_ended(egress_status="EGRESS_FAILED"),
        egress_ended(egress_status="EGRESS_ABORTED"),
        egress_ended(egress_id=""),
        egress_ended(playback=room_pb2.RecordedPlayback(thumbnail_url="s3://rec/r.jpg")),
        lk(
            "egress_started",
            egress_id="EG_1",
            egress_status="EGRESS_COMPLETE",
            playback=room_pb2.RecordedPlayback(url="s3://rec/r.mp4"),
        ),
    ],
    ids=["failed", "aborted", "no-egress-id", "no-file", "not-an-end"],
)
def test_an_egress_that_did_not_complete_with_a_file_is_no_recording(event):
    assert completed_recording(event) is None


def test_an_event_without_a_create_time_counts_as_from_the_epoch():
    assert event_time(lk("room_started")) == datetime(1970, 1, 1, tzinfo=UTC)
    assert event_time(lk("room_started", 7)) == at(7)


async def test_an_applied_event_is_remembered_with_its_kind_session_and_receipt():
    store = new_store()
    event = lk("room_started", 0)
    assert await apply(store, event, now=at(3)) is True
    assert store.events[event.event_id] == {
        "room_id": ROOM,
        "event": "room_started",
        "room_sid": "RM_1",
        "receive_time": at(3),
        "state": "done",
    }


async def test_the_room_changes_at_the_time_it_is_applied_not_when_livekit_sent_it():
    store = new_store()
    await apply(store, lk("room_started", 0), now=at(30))
    await apply(store, joined(HOST, "PA_h", 1), now=at(31))
    r = store.rooms[ROOM]
    assert (r.status, r.live_time) == (RoomStatus.LIVE, at(31))
    assert store.update_times[ROOM] == at(31)
    assert store.connections[(ROOM, "PA_h")]["join_time"] == at(31)


@pytest.mark.parametrize("kind", ["participant_joined", "track_published", "participant_left"])
async def test_a_participant_event_without_a_participant_sid_changes_nothing(kind):
    store = new_store()
    await apply(store, lk("room_started", 0))
    before = copy.deepcopy((store.rooms, store.connections, store.departures))
    event = lk(kind, 1, participant_identity=HOST, participant_can_publish=True)
    assert await apply(store, event) is False
    assert (store.rooms, store.connections, store.departures) == before
    assert store.rooms[ROOM].status is RoomStatus.IDLE


async def test_a_join_without_a_session_id_counts_in_the_current_session():
    store = new_store()
    await apply(store, lk("room_started", 0))
    assert await apply(store, joined(HOST, "PA_h", 1, room_sid="")) is True
    assert store.connections[(ROOM, "PA_h")]["room_sid"] == "RM_1"
    assert store.rooms[ROOM].status is RoomStatus.LIVE


async def test_a_host_seen_before_any_session_makes_the_room_live():
    store = new_store()
    assert await apply(store, joined(HOST, "PA_h", 4, room_sid="")) is True
    r = store.rooms[ROOM]
    assert (r.status, r.livekit_room_sid) == (RoomStatus.LIVE, None)
    assert store.connections[(ROOM, "PA_h")]["room_sid"] == ""
    assert store.session_times[ROOM] == at(4)


async def test_the_session_begins_at_its_earliest_event_whatever_arrives_first():
    store = new_store()
    await apply(store, joined("vic", "PA_v", 5))
    assert store.session_times[ROOM] == at(5)
    # Its room_started, late: it changes only when the session began.
    assert await apply(store, lk("room_started", 1)) is True
    assert store.session_times[ROOM] == at(1)
    assert await apply(store, left("vic", "PA_v", 9)) is True
    assert store.session_times[ROOM] == at(1)
    # Another session's event from before it began is stale; one from after waits for its own.
    stale, later = (
        joined("val", "PA_0", 0, room_sid="RM_0"),
        joined("val", "PA_2", 3, room_sid="RM_2"),
    )
    assert await apply(store, stale) is False
    assert await apply(store, later) is False
    assert store.events[stale.event_id]["state"] == "done"
    assert store.events[later.event_id]["state"] == "parked"


async def test_an_event_of_the_current_session_that_changes_nothing_is_not_applied():
    store = new_store()
    await apply(store, lk("room_started", 0))
    notices = len(store.notices)
    assert await apply(store, left("vic", "PA_never", 3)) is False
    assert len(store.notices) == notices


async def test_a_later_session_empties_the_counts_of_the_one_it_replaces():
    store = new_store()
    await apply(store, lk("room_started", 0))
    await apply(store, joined("vic", "PA_v", 1))
    await apply(store, joined("val", "PA_w", 2))
    assert store.counts(ROOM) == (2, 0)
    store.notices.clear()
    assert await apply(store, lk("room_started", 10, room_sid="RM_2")) is True
    assert store.counts(ROOM) == (0, 0)
    assert store.rooms[ROOM].livekit_room_sid == "RM_2"
    assert store.session_times[ROOM] == at(10)
    assert store.notices == [(ROOM, "stats_changed")]
    assert store.peaks[ROOM] == 2


async def test_events_waiting_for_their_session_apply_in_livekit_order_when_it_starts():
    store = new_store()
    await apply(store, lk("room_started", 0))
    waiting = [
        left(HOST, "PA_h1", 13, room_sid="RM_2"),
        joined("vic", "PA_v", 12, room_sid="RM_2"),
        joined(HOST, "PA_h1", 11, room_sid="RM_2"),
    ]
    for event in waiting:
        assert await apply(store, event) is False
    assert [row["state"] for row in store.events.values()] == ["done", *["parked"] * 3]
    assert await apply(store, lk("room_started", 10, room_sid="RM_2")) is True
    assert all(row["state"] == "done" for row in store.events.values())
    r = store.rooms[ROOM]
    assert (r.status, r.livekit_room_sid, r.live_time) == (RoomStatus.WAITING_RECONNECT, "RM_2", T0)
    assert store.counts(ROOM) == (1, 0)


async def test_a_late_host_event_of_an_older_session_makes_the_room_live_at_that_moment():
    store = new_store()
    await apply(store, lk("room_started", 10, room_sid="RM_2"))
    assert await apply(store, joined(HOST, "PA_h", 3, room_sid="RM_1"), now=at(40)) is True
    r = store.rooms[ROOM]
    assert (r.status, r.live_time) == (RoomStatus.WAITING_RECONNECT, at(40))
    assert r.reconnect_deadline == at(40) + RECONNECT


async def test_a_late_viewer_event_of_an_older_session_changes_nothing():
    store = new_store()
    await apply(store, lk("room_started", 10, room_sid="RM_2"))
    assert await apply(store, joined("vic", "PA_v", 3, room_sid="RM_1")) is False
    assert store.rooms[ROOM].status is RoomStatus.IDLE


async def test_a_host_reconnecting_after_leaving_once_stays_live_while_the_new_join_is_late():
    store = new_store()
    for event in (
        lk("room_started", 0),
        joined(HOST, "PA_h1", 1),
        left(HOST, "PA_h1", 2),
        joined(HOST, "PA_h2", 3),
        # A third connection replaced the second; its join has not arrived.
        left(HOST, "PA_h2", 4, disconnect_reason="DUPLICATE_IDENTITY"),
    ):
        await apply(store, event)
    assert store.rooms[ROOM].status is RoomStatus.LIVE
    assert store.counts(ROOM) == (0, 0)


async def test_a_departure_is_remembered_with_its_time_and_an_unknown_reason_when_none():
    store = new_store()
    await apply(store, lk("room_started", 0))
    await apply(store, joined("vic", "PA_v", 1))
    await apply(store, left("vic", "PA_v", 6, disconnect_reason=""))
    assert store.departures[(ROOM, "PA_v")] == {
        "identity": "vic",
        "room_sid": "RM_1",
        "reason": "UNKNOWN_REASON",
        "time": at(6),
    }


async def test_a_banned_user_joining_is_put_out_of_livekit_again():
    store = new_store()
    store.bans[(ROOM, "vic")] = None
    await apply(store, lk("room_started", 0))
    assert await apply(store, joined("vic", "PA_v", 1), now=at(7)) is True
    assert store.outbox == [
        (
            "livekit.remove_participant",
            {"room_id": ROOM, "user_id": "vic", "since": at(7).isoformat()},
        )
    ]
    # Counted until LiveKit reports the removal.
    assert store.counts(ROOM) == (1, 0)


async def test_a_timed_ban_puts_the_user_out_until_it_lapses_and_not_after():
    store = new_store()
    store.bans[(ROOM, "vic")] = at(60)
    await apply(store, lk("room_started", 0))
    await apply(store, joined("vic", "PA_v1", 1), now=at(59))
    assert [kind for kind, _ in store.outbox] == ["livekit.remove_participant"]
    await apply(store, left("vic", "PA_v1", 2))
    await apply(store, joined("vic", "PA_v2", 3), now=at(60))
    assert len(store.outbox) == 1
    assert store.counts(ROOM) == (1, 0)


async def test_a_ban_in_another_room_or_of_another_user_does_not_put_anyone_out():
    store = new_store()
    store.bans[("other-room", "vic")] = None
    store.bans[(ROOM, "val")] = None
    await apply(store, lk("room_started", 0))
    await apply(store, joined("vic", "PA_v", 1))
    assert store.outbox == []


async def test_a_viewer_publishing_is_put_out_and_co_hosts_and_viewers_are_kept():
    store = new_store()
    await apply(store, lk("room_started", 0))
    await apply(store, joined("vic", "PA_v", 1))
    await apply(store, joined(CO_HOST, "PA_c", 2))
    publish = lk("track_published", 3, participant_identity=CO_HOST, participant_sid="PA_c")
    await apply(store, publish)
    assert store.outbox == []
    published = lk("track_published", 4, participant_identity="vic", participant_sid="PA_v")
    assert await apply(store, published, now=at(9)) is True
    assert store.outbox == [
        (
            "livekit.remove_participant",
            {"room_id": ROOM, "user_id": "vic", "since": at(9).isoformat()},
        )
    ]
    assert store.counts(ROOM) == (0, 2)


async def test_room_finished_without_the_leaves_still_empties_the_counts():
    store = new_store()
    await apply(store, lk("room_started", 0))
    await apply(store, joined(HOST, "PA_h", 1))
    await apply(store, joined("vic", "PA_v", 2))
    store.notices.clear()
    assert await apply(store, lk("room_finished", 9), now=at(20)) is True
    r = store.rooms[ROOM]
    assert (r.status, r.end_reason, r.end_time) == (
        RoomStatus.ENDED,
        EndReason.LIVEKIT_ROOM_FINISHED,
        at(20),
    )
    assert store.counts(ROOM) == (0, 0)
    assert store.notices == [(ROOM, "status_changed")]
    assert sorted(kind for kind, _ in store.outbox) == [
        "invitations.cancel_for_room",
        "livekit.end_room",
    ]


async def live_with_viewers(store: Store) -> None:
    for event in (
        lk("room_started", 0),
        joined(HOST, "PA_h", 1),
        joined("vic", "PA_v", 2),
        joined("val", "PA_w", 3),
    ):
        await apply(store, event)
    assert store.counts(ROOM) == (2, 1)


def end_by_costream(store: Store, reason: EndReason) -> None:
    """The room ends outside LiveKit (StopRoom, DismissRoom, a timer, DeleteRoom)."""
    r = store.rooms[ROOM]
    if reason is EndReason.DELETED:
        r.delete(at(30))
    else:
        r.end(reason, at(30))
    r.events.clear()


ENDS_BY_COSTREAM = [r for r in EndReason if r is not EndReason.LIVEKIT_ROOM_FINISHED]


@pytest.mark.parametrize("reason", ENDS_BY_COSTREAM)
async def test_after_the_room_ends_livekits_leaves_empty_the_counts_one_by_one(reason):
    store = new_store()
    await live_with_viewers(store)
    end_by_costream(store, reason)
    store.notices.clear()
    assert await apply(store, left("vic", "PA_v", 31)) is True
    assert store.counts(ROOM) == (1, 1)
    assert store.notices == [(ROOM, "stats_changed")]
    assert (
        await apply(
            store,
            lk(
                "participant_connection_aborted",
                32,
                participant_identity=HOST,
                participant_sid="PA_h",
            ),
        )
        is True
    )
    assert store.counts(ROOM) == (1, 0)
    # A leave of nobody still counted changes nothing, and nobody is told.
    assert await apply(store, left("cole", "PA_c", 33)) is False
    assert len(store.notices) == 2
    r = store.rooms[ROOM]
    assert (r.status, r.end_reason, r.end_time) == (RoomStatus.ENDED, reason, at(30))
    assert store.outbox == []


@pytest.mark.parametrize("reason", ENDS_BY_COSTREAM)
async def test_after_the_room_ends_room_finished_empties_the_counts_and_keeps_the_reason(reason):
    store = new_store()
    await live_with_viewers(store)
    end_by_costream(store, reason)
    store.notices.clear()
    assert await apply(store, lk("room_finished", 31)) is True
    assert store.counts(ROOM) == (0, 0)
    assert store.notices == [(ROOM, "stats_changed")]
    r = store.rooms[ROOM]
    assert (r.status, r.end_reason, r.end_time) == (RoomStatus.ENDED, reason, at(30))
    assert store.outbox == []
    assert await apply(store, lk("room_finished", 32)) is False
    assert store.notices == [(ROOM, "stats_changed")]


@pytest.mark.parametrize("reason", ENDS_BY_COSTREAM)
async def test_after_the_room_ends_joins_and_new_sessions_count_for_nothing(reason):
    store = new_store()
    await live_with_viewers(store)
    end_by_costream(store, reason)
    assert await apply(store, joined("cole", "PA_c", 31)) is False
    assert await apply(store, lk("room_started", 40, room_sid="RM_2")) is False
    assert await apply(store, joined(HOST, "PA_h2", 41, room_sid="RM_2")) is False
    assert store.counts(ROOM) == (2, 1)
    r = store.rooms[ROOM]
    assert (r.status, r.livekit_room_sid) == (RoomStatus.ENDED, "RM_1")
    assert store.outbox == []


async def test_a_recording_is_kept_with_its_playback_and_when_it_arrived():
    store = new_store()
    assert await apply(store, egress_ended("EG_1"), now=at(70)) is True
    assert store.playbacks == {
        (ROOM, "EG_1"): {
            "url": "s3://rec/r.mp4",
            "thumbnail_url": "s3://rec/r.jpg",
            "duration_ms": 61_250,
            "create_time": at(70),
        }
    }
    r = store.rooms[ROOM]
    assert r.status is RoomStatus.IDLE and r.recording_pending
    assert store.notices == [(ROOM, "updated")]


async def test_another_recording_of_a_recorded_room_is_applied_and_the_same_one_is_not():
    store = new_store()
    await apply(store, lk("room_started", 0))
    await apply(store, lk("room_finished", 5), now=at(5))
    await apply(store, egress_ended("EG_1"), now=at(6))
    r = store.rooms[ROOM]
    assert (r.status, r.recorded_time) == (RoomStatus.RECORDED, at(6))
    store.notices.clear()
    assert await apply(store, egress_ended("EG_2"), now=at(7)) is True
    assert set(store.playbacks) == {(ROOM, "EG_1"), (ROOM, "EG_2")}
    assert store.notices == [(ROOM, "updated")]
    assert store.rooms[ROOM].recorded_time == at(6)
    # LiveKit's retry of the same egress under a new event id.
    assert await apply(store, egress_ended("EG_2"), now=at(8)) is False
    assert len(store.playbacks) == 2
    assert store.notices == [(ROOM, "updated")]


async def test_an_egress_of_another_room_is_not_ours():
    store = new_store()
    event = egress_ended("EG_1")
    event.room_name = "other"
    assert await apply(store, event) is False
    assert store.playbacks == {}


async def test_an_event_without_a_room_name_is_remembered_and_ignored():
    store = new_store()
    event = egress_ended("EG_1")
    event.room_name = ""
    assert await apply(store, event) is False
    assert store.playbacks == {} and event.event_id in store.events


async def test_other_livekit_events_change_nothing():
    store = new_store()
    await apply(store, lk("room_started", 0))
    unpublished = lk("track_unpublished", 1, participant_identity=HOST, participant_sid="PA_h")
    assert await apply(store, unpublished) is False
    assert store.connections == {}


async def test_the_host_moving_the_room_is_logged_with_its_new_status():
    store = new_store()
    await apply(store, lk("room_started", 0))
    with structlog.testing.capture_logs() as logs:
        await apply(store, joined("vic", "PA_v", 1))
        await apply(store, joined(HOST, "PA_h", 2))
    assert logs == [
        {
            "event": "room status follows LiveKit",
            "log_level": "info",
            "room_id": ROOM,
            "status": "live",
        }
    ]


async def test_waiting_events_count_a_viewer_although_a_later_one_changes_nothing():
    store = new_store()
    await apply(store, lk("room_started", 0))
    await apply(store, joined("vic", "PA_v", 11, room_sid="RM_2"))
    await apply(store, left("val", "PA_never", 12, room_sid="RM_2"))
    store.notices.clear()
    assert await apply(store, lk("room_started", 10, room_sid="RM_2")) is True
    assert store.counts(ROOM) == (1, 0)
    assert store.peaks[ROOM] == 1
    assert store.notices == [(ROOM, "stats_changed")]


# --- egress events move the room's recording ---------------------------------------------


def recording_store() -> Store:
    """A live room whose host started recording (its egress not known yet)."""
    store = new_store()
    store.rooms[ROOM] = room(RoomStatus.LIVE, co_host_ids=[CO_HOST])
    store.rooms[ROOM].start_recording(HOST, False)
    store.rooms[ROOM].events.clear()
    return store


async def apply_egress(store: Store, egress_id: str, kind: str, status: str, **fields) -> bool:
    event = lk(kind, 10, egress_id=egress_id, egress_status=status, **fields)
    changed = await apply_livekit_events(
        [event],
        FakeUnitOfWork(store),  # type: ignore[arg-type]
        reconnect_timeout=RECONNECT,
        egress_start_timeout=timedelta(seconds=45),
        now=T0,
    )
    return changed > 0


async def test_the_first_event_of_the_egress_asked_for_names_it_with_its_start_deadline():
    store = recording_store()
    assert await apply_egress(store, "EG_1", "egress_started", "EGRESS_STARTING")
    recording = store.rooms[ROOM].recording
    assert (recording.egress_id, recording.egress_status) == ("EG_1", "EGRESS_STARTING")
    assert recording.deadline == T0 + timedelta(seconds=45)
    assert store.egresses == {"EG_1": "EGRESS_STARTING"}


async def test_active_makes_the_recording_active_with_its_live_playback():
    store = recording_store()
    url = "https://cdn/r/1/live.m3u8"
    await apply_egress(store, "EG_1", "egress_updated", "EGRESS_ACTIVE", live_playback_url=url)
    recording = store.rooms[ROOM].recording
    assert recording.status is RecordingStatus.ACTIVE
    assert recording.live_playback_url == url


async def test_an_egress_seen_before_is_not_taken_for_the_attempt():
    store = recording_store()
    store.egresses["EG_OLD"] = "EGRESS_ACTIVE"
    await apply_egress(store, "EG_OLD", "egress_updated", "EGRESS_ACTIVE")
    assert store.rooms[ROOM].recording.egress_id is None


async def test_an_egress_status_arriving_late_leaves_the_furthest_one():
    store = recording_store()
    await apply_egress(store, "EG_1", "egress_updated", "EGRESS_ACTIVE")
    await apply_egress(store, "EG_1", "egress_started", "EGRESS_STARTING")
    assert store.egresses == {"EG_1": "EGRESS_ACTIVE"}
    assert store.rooms[ROOM].recording.status is RecordingStatus.ACTIVE


@pytest.mark.parametrize(
    "fields", [{"egress_id": "", "egress_status": "EGRESS_ACTIVE"}, {"egress_status": "NEW"}]
)
async def test_an_egress_event_without_an_id_or_a_known_status_changes_nothing(fields):
    store = recording_store()
    fields.setdefault("egress_id", "EG_1")
    event = lk("egress_updated", 10, **fields)
    assert await apply(store, event) is False
    assert store.egresses == {}
    assert store.rooms[ROOM].recording.egress_id is None

"""Room timers against PostgreSQL: waitingReconnect runs out by itself, a live room ends after
MAX_LIVE_DURATION, a recording that came first makes a stopped room recorded, and replicas
running the timers at once end each room once, with the side effects of every end."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.protobuf import duration_pb2, timestamp_pb2

from services.common.auth import Caller
from services.common.db import Database
from services.room import handlers
from services.room.domain import EndReason, RoomStatus, RoomType, SeatTemplate
from services.room.livekit.events import apply_livekit_event
from services.room.repository import RoomUnitOfWork
from services.room.timers import end_overdue_rooms
from tests.conftest import RunningService
from tests.support import service_metadata, unique, user_metadata
from tools.devstack import free_port

MAX_LIVE = timedelta(hours=4)
RECONNECT = timedelta(seconds=180)


def event(room_id: str, kind: str, session: str, **fields) -> room_pb2.LiveKitEvent:
    created = timestamp_pb2.Timestamp()
    created.GetCurrentTime()
    return room_pb2.LiveKitEvent(
        event_id=unique("EV"),
        event=kind,
        create_time=created,
        room_name=room_id,
        room_sid=session,
        **fields,
    )


def host_event(room_id: str, kind: str, session: str, host: str, sid: str, **fields):
    return event(
        room_id,
        kind,
        session,
        participant_identity=host,
        participant_sid=sid,
        participant_can_publish=True,
        **fields,
    )


async def test_waiting_for_the_host_ends_by_itself_when_the_reconnect_window_runs_out(
    make_settings, ports
):
    from services.room.app import build

    settings = make_settings("room", grpc_ports={**ports, "room": free_port()}, reconnect_timeout=1)
    service = await RunningService(build(settings, timer_seconds=0.2)).start()
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            stub = room_service_pb2_grpc.RoomServiceStub(channel)
            host = unique("host")
            room = await stub.CreateRoom(
                room_service_pb2.CreateRoomRequest(title="t"), metadata=user_metadata(host)
            )
            session, sid = unique("RM"), unique("PA")
            for e in (
                event(room.room_id, "room_started", session),
                host_event(room.room_id, "participant_joined", session, host, sid),
                host_event(
                    room.room_id, "participant_left", session, host, sid,
                    disconnect_reason="CLIENT_INITIATED",
                ),
            ):  # fmt: skip
                await stub.ApplyLiveKitEvent(
                    room_service_pb2.ApplyLiveKitEventRequest(event=e),
                    metadata=service_metadata("broadcast"),
                )
            request = room_service_pb2.GetRoomRequest(room_id=room.room_id)
            got = await stub.GetRoom(request, metadata=user_metadata(host))
            assert got.status == room_pb2.ROOM_STATUS_WAITING_RECONNECT
            for _ in range(50):
                got = await stub.GetRoom(request, metadata=user_metadata(host))
                if got.status == room_pb2.ROOM_STATUS_ENDED:
                    break
                await asyncio.sleep(0.1)
            assert got.status == room_pb2.ROOM_STATUS_ENDED
            assert got.end_reason == room_pb2.END_REASON_RECONNECT_TIMEOUT
    finally:
        await service.close()


# --- the timer functions on a database of their own, with a clock ------------------------------


@pytest.fixture(scope="module")
async def database(make_database):
    db = Database(await make_database())
    await db.open()
    yield db
    await db.close()


async def new_room(database: Database, host: str) -> str:
    room_id = unique("tm")
    await handlers.create_room(
        handlers.CreateRoom(
            room_id=room_id, title="t", description="", thumbnail_file_id="", metadata={},
            live_chat_enabled=False, parent_room_id="", type=RoomType.CO_HOSTS,
            seat_template=SeatTemplate.VIDEO_DYNAMIC_GRID_9, co_host_user_ids=[], request_id="",
        ),
        Caller(user_id=host),
        RoomUnitOfWork(database),
    )  # fmt: skip
    return room_id


async def live_room(database: Database, now: datetime) -> tuple[str, str, str, str]:
    """A room whose host joined LiveKit at `now`: (room_id, host, session, participant sid)."""
    host, session, sid = unique("host"), unique("RM"), unique("PA")
    room_id = await new_room(database, host)
    for e in (
        event(room_id, "room_started", session),
        host_event(room_id, "participant_joined", session, host, sid),
    ):
        await apply_livekit_event(e, RoomUnitOfWork(database), reconnect_timeout=RECONNECT, now=now)
    return room_id, host, session, sid


async def status_of(database: Database, room_id: str) -> tuple[RoomStatus, EndReason | None]:
    view = await handlers.get_room(room_id, RoomUnitOfWork(database))
    return view.status, view.end_reason


async def outbox_kinds(database: Database, room_id: str) -> Counter:
    rows = await database.pool.fetch(
        "SELECT kind FROM room.outbox WHERE payload->>'room_id' = $1", room_id
    )
    return Counter(row["kind"] for row in rows)


async def test_a_live_room_ends_when_max_live_duration_has_passed(database):
    t = datetime.now(UTC)
    room_id, *_ = await live_room(database, t)
    await end_overdue_rooms(
        database, max_live_duration=MAX_LIVE, now=t + MAX_LIVE - timedelta(seconds=1)
    )
    assert await status_of(database, room_id) == (RoomStatus.LIVE, None)
    await end_overdue_rooms(database, max_live_duration=MAX_LIVE, now=t + MAX_LIVE)
    assert await status_of(database, room_id) == (RoomStatus.ENDED, EndReason.MAX_DURATION)
    # (going live asked for the LiveKit room's metadata to show it; the end asks for none)
    assert await outbox_kinds(database, room_id) == Counter(
        {"livekit.end_room": 1, "invitations.cancel_for_room": 1, "livekit.sync_room_metadata": 1}
    )


async def test_waiting_reconnect_ends_at_its_deadline_and_not_before(database):
    t = datetime.now(UTC)
    room_id, host, session, sid = await live_room(database, t)
    left = host_event(
        room_id, "participant_left", session, host, sid, disconnect_reason="CLIENT_INITIATED"
    )
    await apply_livekit_event(left, RoomUnitOfWork(database), reconnect_timeout=RECONNECT, now=t)
    await end_overdue_rooms(database, max_live_duration=MAX_LIVE, now=t + RECONNECT / 2)
    assert await status_of(database, room_id) == (RoomStatus.WAITING_RECONNECT, None)
    await end_overdue_rooms(database, max_live_duration=MAX_LIVE, now=t + RECONNECT)
    assert await status_of(database, room_id) == (RoomStatus.ENDED, EndReason.RECONNECT_TIMEOUT)


async def test_replicas_running_the_timers_at_once_end_each_room_once(database):
    t = datetime.now(UTC)
    room_ids = [(await live_room(database, t))[0] for _ in range(12)]
    later = t + MAX_LIVE + timedelta(minutes=1)
    await asyncio.gather(
        *(
            end_overdue_rooms(database, max_live_duration=MAX_LIVE, now=later, limit=3)
            for _ in range(6)
        )
    )
    while await end_overdue_rooms(database, max_live_duration=MAX_LIVE, now=later):
        pass
    for room_id in room_ids:
        assert await status_of(database, room_id) == (RoomStatus.ENDED, EndReason.MAX_DURATION)
        assert (await outbox_kinds(database, room_id))["livekit.end_room"] == 1


async def test_a_recording_that_came_before_stop_room_makes_the_room_recorded_at_once(database):
    t = datetime.now(UTC)
    room_id, host, session, _ = await live_room(database, t)
    egress = event(
        room_id,
        "egress_ended",
        session,
        egress_id=unique("EG"),
        egress_status="EGRESS_COMPLETE",
        playback=room_pb2.RecordedPlayback(
            url="s3://r/a.mp4", duration=duration_pb2.Duration(seconds=5)
        ),
    )
    assert await apply_livekit_event(egress, RoomUnitOfWork(database), reconnect_timeout=RECONNECT)
    assert await status_of(database, room_id) == (RoomStatus.LIVE, None)
    await handlers.stop_room(room_id, Caller(user_id=host), RoomUnitOfWork(database))
    assert await status_of(database, room_id) == (RoomStatus.RECORDED, EndReason.STOPPED_BY_HOST)
    view = await handlers.get_room(room_id, RoomUnitOfWork(database))
    assert view.status == RoomStatus.RECORDED
    assert view.recorded_time is not None
    assert [r.url for r in view.recordings] == ["s3://r/a.mp4"]

"""MuteParticipant, ListViewers and the LiveKit mirror of the stage, through the room service's
gRPC API on the real database: what each writes to the outbox, what each refuses (writing
nothing), and ListViewers from the same connections as stats.viewer_count."""

import json

import asyncpg
import grpc
import pytest
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.protobuf import field_mask_pb2

from tests.integration.test_room_service import (
    add_co_host,
    admin,
    apply_events,
    create,
    failure,
    get,
    joined,
    left,
)
from tests.support import reason_of, unique, user_metadata, violated_fields

CAMERA, MICROPHONE = room_pb2.TRACK_SOURCE_CAMERA, room_pb2.TRACK_SOURCE_MICROPHONE


@pytest.fixture(scope="module")
async def stub(room_service):
    async with grpc.aio.insecure_channel(room_service.address) as channel:
        yield room_service_pb2_grpc.RoomServiceStub(channel)


@pytest.fixture(scope="module")
async def db(database_url):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def outbox(db, room_id: str) -> list[tuple[str, dict]]:
    """The room's outbox rows (delivered or not), oldest first."""
    rows = await db.fetch(
        "SELECT kind, payload FROM room.outbox WHERE payload->>'room_id' = $1 ORDER BY id",
        room_id,
    )
    return [(row["kind"], json.loads(row["payload"])) for row in rows]


async def written(db, room_id: str) -> tuple:
    """Everything a refused call must leave as it was."""
    return (
        await outbox(db, room_id),
        await db.fetchval("SELECT update_time FROM room.rooms WHERE room_id = $1", room_id),
        await db.fetch(
            "SELECT user_id, role FROM room.participants WHERE room_id = $1 ORDER BY 1", room_id
        ),
    )


async def on_stage(stub, host: str) -> tuple[str, str, str]:
    """A room with a co-host and a moderator: (room_id, co_host, moderator)."""
    co_host, moderator = unique("co"), unique("mod")
    room = await create(stub, host, co_host_user_ids=[co_host])
    await stub.AddModerator(
        room_service_pb2.AddModeratorRequest(room_id=room.room_id, user_id=moderator),
        metadata=user_metadata(host),
    )
    return room.room_id, co_host, moderator


def mute(stub, room_id: str, user_id: str, by, sources=(), muted: bool = True):  # type: ignore[no-untyped-def]
    metadata = user_metadata(by) if isinstance(by, str) else by
    return stub.MuteParticipant(
        room_service_pb2.MuteParticipantRequest(
            room_id=room_id, user_id=user_id, sources=list(sources), muted=muted
        ),
        metadata=metadata,
    )


# --- MuteParticipant -----------------------------------------------------------------------


async def test_the_host_mutes_a_co_hosts_sources_through_the_outbox(stub, db):
    host = unique("host")
    room_id, co_host, _ = await on_stage(stub, host)
    room = await mute(stub, room_id, co_host, host, [MICROPHONE, CAMERA, MICROPHONE])
    assert room.room_id == room_id
    assert (await outbox(db, room_id))[-1] == (
        "livekit.mute_tracks",
        {
            "room_id": room_id,
            "user_id": co_host,
            "sources": ["camera", "microphone"],
            "muted": True,
        },
    )


async def test_a_moderator_mutes_the_host_with_every_source(stub, db):
    host = unique("host")
    room_id, _, moderator = await on_stage(stub, host)
    await mute(stub, room_id, host, moderator)
    assert (await outbox(db, room_id))[-1] == (
        "livekit.mute_tracks",
        {"room_id": room_id, "user_id": host, "sources": [], "muted": True},
    )


@pytest.mark.parametrize(
    ("case", "code", "reason"),
    [
        ("no token", grpc.StatusCode.UNAUTHENTICATED, "MISSING_CREDENTIALS"),
        ("a co-host", grpc.StatusCode.PERMISSION_DENIED, "NOT_ROOM_MODERATOR"),
        ("a viewer", grpc.StatusCode.PERMISSION_DENIED, "NOT_ROOM_MODERATOR"),
        ("an admin", grpc.StatusCode.PERMISSION_DENIED, "NOT_ROOM_MODERATOR"),
        ("a banned moderator", grpc.StatusCode.PERMISSION_DENIED, "NOT_ROOM_MODERATOR"),
        ("an unmute", grpc.StatusCode.FAILED_PRECONDITION, "REMOTE_UNMUTE_DISABLED"),
        ("a viewer muted", grpc.StatusCode.FAILED_PRECONDITION, "NOT_ON_STAGE"),
        ("an ended room", grpc.StatusCode.FAILED_PRECONDITION, "ROOM_ENDED"),
        ("a missing room", grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND"),
        ("the host themselves", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD"),
    ],
)
async def test_mute_participant_refuses_and_writes_nothing(stub, db, case, code, reason):
    host = unique("host")
    room_id, co_host, moderator = await on_stage(stub, host)
    target, by, muted = co_host, user_metadata(host), True
    if case == "no token":
        by = ()
    elif case == "a co-host":
        by = user_metadata(co_host)
    elif case == "a viewer":
        by = user_metadata(unique("viewer"))
    elif case == "an admin":
        by = admin()
    elif case == "a banned moderator":
        await stub.BanUser(
            room_service_pb2.BanUserRequest(room_id=room_id, user_id=moderator),
            metadata=user_metadata(host),
        )
        by = user_metadata(moderator)
    elif case == "an unmute":
        muted = False
    elif case == "a viewer muted":
        target = unique("viewer")
    elif case == "an ended room":
        await stub.StopRoom(
            room_service_pb2.StopRoomRequest(room_id=room_id), metadata=user_metadata(host)
        )
    elif case == "a missing room":
        room_id = unique("missing")
    elif case == "the host themselves":
        target = host
    before = await written(db, room_id)
    error = await failure(mute(stub, room_id, target, by, muted=muted))
    assert (error.code(), reason_of(error)) == (code, reason)
    assert await written(db, room_id) == before


async def test_mute_participant_names_every_bad_field_and_writes_nothing(stub, db):
    host = unique("host")
    room_id, co_host, _ = await on_stage(stub, host)
    before = await written(db, room_id)
    error = await failure(mute(stub, "Not An Id", "", host, [CAMERA, 0, 99]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == {"room_id", "user_id", "sources[1]", "sources[2]"}
    error = await failure(mute(stub, room_id, co_host, host, [CAMERA] * 9))
    assert violated_fields(error) == {"sources"}
    assert await written(db, room_id) == before


# --- Promotion and demotion in place ---------------------------------------------------------


async def test_a_seat_promotes_and_stepping_off_demotes_in_livekit_a_ban_removes(stub, db):
    host, vic, cole, dora = unique("host"), unique("vic"), unique("cole"), unique("dora")
    room_id = (await create(stub, host)).room_id
    await apply_events(
        stub,
        [
            joined(room_id, host, "PA_h", at=1_800_000_000, publisher=True),
            joined(room_id, vic, "PA_v", at=1_800_000_001),
        ],
    )
    await add_co_host(stub, room_id, vic)
    # Seated while watching: a publisher in the counts at once, and LiveKit is told.
    assert (await get(stub, room_id)).stats.viewer_count == 0
    await stub.RemoveParticipant(
        room_service_pb2.RemoveParticipantRequest(room_id=room_id, user_id=vic),
        metadata=user_metadata(host),
    )
    assert (await get(stub, room_id)).stats.viewer_count == 1  # watching again
    await add_co_host(stub, room_id, cole)
    await stub.LeaveRoom(
        room_service_pb2.LeaveRoomRequest(room_id=room_id), metadata=user_metadata(cole)
    )
    await add_co_host(stub, room_id, dora)
    await stub.BanUser(
        room_service_pb2.BanUserRequest(room_id=room_id, user_id=dora),
        metadata=user_metadata(host),
    )
    kinds = [
        (kind, payload["user_id"])
        for kind, payload in await outbox(db, room_id)
        if kind.startswith("livekit.") and "user_id" in payload
    ]
    assert kinds == [
        ("livekit.sync_participant", vic),
        ("livekit.sync_participant", vic),
        ("livekit.sync_participant", cole),
        ("livekit.sync_participant", cole),
        ("livekit.sync_participant", dora),
        ("livekit.remove_participant", dora),  # a ban puts them out, no demotion first
    ]


# --- LiveKit room metadata -------------------------------------------------------------------


async def test_changes_the_livekit_metadata_shows_ask_for_its_sync_and_others_do_not(stub, db):
    host = unique("host")
    room_id = (await create(stub, host)).room_id
    syncs = "livekit.sync_room_metadata"
    await stub.UpdateRoom(
        room_service_pb2.UpdateRoomRequest(
            room=room_pb2.Room(room_id=room_id, title="New title"),
            update_mask=field_mask_pb2.FieldMask(paths=["title"]),
        ),
        metadata=user_metadata(host),
    )
    assert [k for k, _ in await outbox(db, room_id)].count(syncs) == 1
    await apply_events(stub, [joined(room_id, unique("v"), "PA_v", at=1_800_000_000)])
    assert [k for k, _ in await outbox(db, room_id)].count(syncs) == 1  # a viewer: no
    await apply_events(stub, [joined(room_id, host, "PA_h", at=1_800_000_001, publisher=True)])
    assert [k for k, _ in await outbox(db, room_id)].count(syncs) == 2  # live
    await stub.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room_id), metadata=user_metadata(host)
    )
    kinds = [k for k, _ in await outbox(db, room_id)]
    assert kinds.count(syncs) == 2  # ended: its LiveKit room is deleted instead
    assert "livekit.end_room" in kinds


# --- ListViewers ------------------------------------------------------------------------------


def list_viewers(stub, room_id: str, by, **fields):  # type: ignore[no-untyped-def]
    metadata = user_metadata(by) if isinstance(by, str) else by
    return stub.ListViewers(
        room_service_pb2.ListViewersRequest(room_id=room_id, **fields), metadata=metadata
    )


async def all_viewers(stub, room_id: str, by, page_size: int) -> list[str]:  # type: ignore[no-untyped-def]
    seen, token = [], ""
    while True:
        reply = await list_viewers(stub, room_id, by, page_size=page_size, page_token=token)
        seen += [v.user_id for v in reply.viewers]
        token = reply.next_page_token
        if not token:
            return seen


async def test_list_viewers_is_who_viewer_count_counts_earliest_first_in_pages(stub):
    host = unique("host")
    room_id, co_host, moderator = await on_stage(stub, host)
    viewers = [joined(room_id, f"v{i:02d}", f"PA_{i}", at=1_800_000_010 + i) for i in range(12)]
    await apply_events(
        stub,
        [
            joined(room_id, host, "PA_h", at=1_800_000_000, publisher=True),
            joined(room_id, co_host, "PA_c", at=1_800_000_001, publisher=True),
            *viewers,
            # v00 opens a second connection later: one viewer, since the first.
            joined(room_id, "v00", "PA_0b", at=1_800_000_100),
            left(viewers[3], at=1_800_000_200),
        ],
    )
    room = await get(stub, room_id)
    expected = [f"v{i:02d}" for i in range(12) if i != 3]
    assert room.stats.viewer_count == len(expected) == 11
    for by in (host, moderator, admin()):
        assert await all_viewers(stub, room_id, by, page_size=5) == expected
    first = await list_viewers(stub, room_id, host, page_size=2)
    assert first.viewers[0].HasField("join_time")  # when the room learnt of the connection
    assert first.next_page_token


async def test_list_viewers_of_an_ended_room_is_empty_as_its_counts(stub):
    host = unique("host")
    room_id = (await create(stub, host)).room_id
    await apply_events(stub, [joined(room_id, unique("v"), "PA_v", at=1_800_000_000)])
    assert len((await list_viewers(stub, room_id, host)).viewers) == 1
    await stub.StopRoom(
        room_service_pb2.StopRoomRequest(room_id=room_id), metadata=user_metadata(host)
    )
    assert (await get(stub, room_id)).stats.viewer_count == 0
    assert list((await list_viewers(stub, room_id, host)).viewers) == []


@pytest.mark.parametrize(
    ("case", "code", "reason"),
    [
        ("no token", grpc.StatusCode.UNAUTHENTICATED, "MISSING_CREDENTIALS"),
        ("a co-host", grpc.StatusCode.PERMISSION_DENIED, "NOT_ROOM_MODERATOR"),
        ("a viewer", grpc.StatusCode.PERMISSION_DENIED, "NOT_ROOM_MODERATOR"),
        ("a banned moderator", grpc.StatusCode.PERMISSION_DENIED, "NOT_ROOM_MODERATOR"),
        ("a missing room", grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND"),
    ],
)
async def test_list_viewers_refuses(stub, db, case, code, reason):
    host = unique("host")
    room_id, co_host, moderator = await on_stage(stub, host)
    by = user_metadata(host)
    if case == "no token":
        by = ()
    elif case == "a co-host":
        by = user_metadata(co_host)
    elif case == "a viewer":
        by = user_metadata(unique("viewer"))
    elif case == "a banned moderator":
        await stub.BanUser(
            room_service_pb2.BanUserRequest(room_id=room_id, user_id=moderator),
            metadata=user_metadata(host),
        )
        by = user_metadata(moderator)
    elif case == "a missing room":
        room_id = unique("missing")
    before = await written(db, room_id)
    error = await failure(list_viewers(stub, room_id, by))
    assert (error.code(), reason_of(error)) == (code, reason)
    assert await written(db, room_id) == before


async def test_list_viewers_refuses_bad_input(stub):
    host = unique("host")
    room_id = (await create(stub, host)).room_id
    error = await failure(list_viewers(stub, "Not An Id", host))
    assert (error.code(), violated_fields(error)) == (grpc.StatusCode.INVALID_ARGUMENT, {"room_id"})
    error = await failure(list_viewers(stub, room_id, host, page_size=-1))
    assert violated_fields(error) == {"page_size"}
    error = await failure(list_viewers(stub, room_id, host, page_token="forged"))
    assert violated_fields(error) == {"page_token"}
    other = (await create(stub, host)).room_id
    await apply_events(
        stub, [joined(other, f"v{i}", f"PA_{i}", at=1_800_000_000 + i) for i in range(3)]
    )
    token = (await list_viewers(stub, other, host, page_size=1)).next_page_token
    error = await failure(list_viewers(stub, room_id, host, page_token=token))
    assert violated_fields(error) == {"page_token"}  # made for another room

"""Broadcaster credentials against fake peers (no I/O): the LiveKit room is asked for every
time and marked ours, and a ban or removal that lands while the token is made wins."""

from datetime import timedelta

import pytest
from costream.room.v1 import room_pb2
from livekit.protocol import models

from services.broadcast import domain, handlers
from services.common.auth import Caller
from services.common.errors import PermissionDenied
from services.room.client import RoomAccess


class FakeRooms:
    def __init__(self, *answers: RoomAccess) -> None:
        self.answers = list(answers)

    async def access(self, room_id: str, user_id: str) -> RoomAccess:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class FakeLiveKit:
    def __init__(self, metadata: str | None = None) -> None:
        self.metadata = metadata
        self.calls: list[str] = []

    async def create_room(self, request) -> models.Room:
        self.calls.append("CreateRoom")
        if self.metadata is None:
            self.metadata = request.metadata
        return models.Room(name=request.name, sid="RM_1", metadata=self.metadata)

    async def update_room_metadata(self, room_id: str, metadata: str) -> None:
        self.calls.append("UpdateRoomMetadata")
        self.metadata = metadata


def broadcast(rooms: FakeRooms, livekit: FakeLiveKit) -> handlers.Broadcast:
    tokens = domain.TokenMinter("key", "secret-" + "x" * 32, timedelta(minutes=15), "wss://lk")
    return handlers.Broadcast(rooms, livekit, tokens, token_ttl=900, reconnect_timeout=180)


ON_STAGE = RoomAccess(
    room_id="r1",
    host_user_id="host",
    role="co_host",
    user_id="co",
    room=room_pb2.Room(room_id="r1", host_user_id="host", title="Jam"),
)


async def test_every_credential_asks_livekit_for_the_room():
    livekit = FakeLiveKit()
    b = broadcast(FakeRooms(ON_STAGE), livekit)
    for _ in range(2):
        await handlers.get_broadcast_data("r1", Caller(user_id="co"), b)
    assert livekit.calls == ["CreateRoom", "CreateRoom"]


async def test_a_livekit_room_someone_else_opened_is_marked_ours():
    livekit = FakeLiveKit(metadata="")  # auto-created by a viewer's join
    await handlers.get_broadcast_data(
        "r1", Caller(user_id="co"), broadcast(FakeRooms(ON_STAGE), livekit)
    )
    assert livekit.calls == ["CreateRoom", "UpdateRoomMetadata"]
    assert domain.is_ours(models.Room(name="r1", metadata=livekit.metadata))
    assert livekit.metadata == domain.room_metadata(ON_STAGE.room)


@pytest.mark.parametrize(
    "after",
    [
        RoomAccess(room_id="r1", host_user_id="host", role="co_host", banned=True, user_id="co"),
        RoomAccess(room_id="r1", host_user_id="host", role=None, user_id="co"),
    ],
    ids=["banned meanwhile", "taken off stage meanwhile"],
)
async def test_a_ban_or_removal_while_the_token_is_made_wins(after):
    b = broadcast(FakeRooms(ON_STAGE, after), FakeLiveKit())
    with pytest.raises(PermissionDenied):
        await handlers.get_broadcast_data("r1", Caller(user_id="co"), b)

"""Reliable side effects: the room outbox reaches LiveKit (through the broadcast service) and
the invitation service. A LiveKit outage delays DeleteRoom but never loses it, restarts in
between lose nothing, it takes effect once, and the LiveKit secret shows up nowhere.

Each test runs a stack of its own (database, ports, LiveKit emulator): an outbox relay takes
any due row of its database, so the shared services' relays must not meet these rows."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
import grpc
from costream.broadcast.v1 import broadcast_service_pb2, broadcast_service_pb2_grpc
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc

from services.common.config import SERVICES, Settings
from services.common.db import Database
from tests.conftest import RunningService
from tests.integration.test_livekit_webhooks import EmulatorControl
from tests.support import unique, user_metadata
from tools.devstack import free_port
from tools.livekit_emulator import EmulatorSettings, LiveKitEmulator

KEY = "isolated-key"
SECRET = "isolated-livekit-secret-0123456789-zyxwvu"


class Stack:
    """Room, broadcast and invitation services, in-process, with their own database and
    LiveKit emulator; the services restart without losing anything but their memory."""

    def __init__(self, make_settings: Callable[..., Settings], database_url: str) -> None:
        self.ports = {name: free_port() for name in SERVICES}
        http_port = free_port()
        self.emulator = LiveKitEmulator(
            EmulatorSettings(
                api_key=KEY,
                api_secret=SECRET,
                port=free_port(),
                webhook_urls=(f"http://127.0.0.1:{http_port}/livekit/webhook",),
                webhook_retry_backoff_s=0.1,
            )
        )
        self.database_url = database_url
        self.database = Database(database_url)
        self.services: list[RunningService] = []
        self._settings = lambda service: make_settings(
            service,
            database_url=database_url,
            grpc_ports=self.ports,
            service_addrs={name: f"127.0.0.1:{port}" for name, port in self.ports.items()},
            livekit_url=f"http://127.0.0.1:{self.emulator.settings.port}",
            livekit_api_key=KEY,
            livekit_api_secret=SECRET,
            broadcast_http_port=http_port,
        )

    async def start_services(self) -> None:
        from services.broadcast.app import build as build_broadcast
        from services.invitation.app import build as build_invitation
        from services.room.app import build as build_room

        self.services = [
            await RunningService(build_room(self._settings("room"))).start(),
            await RunningService(build_broadcast(self._settings("broadcast"))).start(),
            await RunningService(
                build_invitation(self._settings("invitation"), sweep_seconds=3600)
            ).start(),
        ]

    async def stop_services(self) -> None:
        for service in self.services:
            await service.close()
        self.services = []

    def channel(self, service: str) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(f"127.0.0.1:{self.ports[service]}")

    async def outbox(self, room_id: str) -> dict[str, dict]:
        rows = await self.database.pool.fetch(
            """SELECT kind, attempts, last_error, delivered_time FROM room.outbox
               WHERE payload->>'room_id' = $1""",
            room_id,
        )
        return {row["kind"]: dict(row) for row in rows}

    def livekit_calls(self, method: str, room_id: str) -> list[str]:
        return [
            r.code for r in self.emulator.calls.records if (r.method, r.room) == (method, room_id)
        ]


@asynccontextmanager
async def stack_of_its_own(make_settings, make_database) -> AsyncIterator[Stack]:  # type: ignore[no-untyped-def]
    stack = Stack(make_settings, await make_database())
    await stack.emulator.start()
    await stack.database.open()
    try:
        await stack.start_services()
        yield stack
    finally:
        await stack.stop_services()
        await stack.emulator.stop()
        await stack.database.close()


async def eventually(check, within: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


async def go_live(stack: Stack, control: EmulatorControl, host: str, **fields) -> tuple:  # type: ignore[no-untyped-def]
    """A room whose host took credentials and connected to LiveKit; (room id, the
    credentials)."""
    async with stack.channel("room") as rooms_channel, stack.channel("broadcast") as channel:
        room = await room_service_pb2_grpc.RoomServiceStub(rooms_channel).CreateRoom(
            room_service_pb2.CreateRoomRequest(title="t", **fields), metadata=user_metadata(host)
        )
        credentials = await broadcast_service_pb2_grpc.BroadcastServiceStub(
            channel
        ).GetBroadcastData(
            broadcast_service_pb2.GetBroadcastDataRequest(room_id=room.room_id),
            metadata=user_metadata(host),
        )
    await control.join(room.room_id, host)
    await control.settle()
    return room.room_id, credentials


async def test_livekit_down_while_the_host_stops_delays_delete_room_but_loses_nothing(
    make_settings, make_database, capfd, caplog
):
    async with (
        stack_of_its_own(make_settings, make_database) as stack,
        aiohttp.ClientSession() as http,
    ):
        control = EmulatorControl(http, stack.emulator.url, stack.database_url)
        host = unique("host")
        room_id, credentials = await go_live(stack, control, host)

        async def get() -> room_pb2.Room:
            async with stack.channel("room") as channel:
                return await room_service_pb2_grpc.RoomServiceStub(channel).GetRoom(
                    room_service_pb2.GetRoomRequest(room_id=room_id), metadata=user_metadata(host)
                )

        assert (await get()).status == room_pb2.ROOM_STATUS_LIVE

        await stack.emulator.stop()  # LiveKit is down (its rooms are kept for when it is back)
        async with stack.channel("room") as channel:
            started = time.monotonic()
            stopped = await room_service_pb2_grpc.RoomServiceStub(channel).StopRoom(
                room_service_pb2.StopRoomRequest(room_id=room_id), metadata=user_metadata(host)
            )
            assert time.monotonic() - started < 1.0
        assert stopped.status == room_pb2.ROOM_STATUS_ENDED

        async def delete_failed() -> bool:
            row = (await stack.outbox(room_id)).get("livekit.end_room")
            return bool(row and row["attempts"] >= 1 and row["delivered_time"] is None)

        assert await eventually(delete_failed)

        # Every service restarts while LiveKit is still down; then LiveKit is back.
        await stack.stop_services()
        await stack.start_services()
        await stack.emulator.start()

        async def delivered() -> bool:
            rows = await stack.outbox(room_id)
            return all(row["delivered_time"] for row in rows.values())

        assert await eventually(delivered)
        rows = await stack.outbox(room_id)
        # (the room going live asked for its LiveKit metadata to show it: delivered too)
        assert set(rows) == {
            "livekit.end_room",
            "invitations.cancel_for_room",
            "livekit.sync_room_metadata",
        }
        assert rows["livekit.end_room"]["attempts"] >= 1
        assert stack.livekit_calls("DeleteRoom", room_id).count("ok") == 1
        assert room_id not in [r.name for r in stack.emulator.registry.list_rooms()]

        # LiveKit's own goodbye (participant_left, room_finished) comes back and changes
        # nothing but the counts of the ended room.
        await control.settle()
        ended = await get()
        assert ended.status == room_pb2.ROOM_STATUS_ENDED
        assert ended.end_reason == room_pb2.END_REASON_STOPPED_BY_HOST
        assert ended.stats.publisher_count == 0
        errors = [row["last_error"] for row in rows.values()]

    captured = capfd.readouterr()
    everything = "\n".join([captured.out, captured.err, caplog.text, *errors, str(credentials)])
    assert "livekit unreachable" in everything  # the outage was logged ...
    assert SECRET not in everything  # ... without the secret


async def test_removing_a_co_host_demotes_them_in_livekit_without_disconnecting(
    make_settings, make_database
):
    async with (
        stack_of_its_own(make_settings, make_database) as stack,
        aiohttp.ClientSession() as http,
    ):
        control = EmulatorControl(http, stack.emulator.url, stack.database_url)
        host, guest = unique("host"), unique("guest")
        room_id, _ = await go_live(stack, control, host, co_host_user_ids=[guest])
        await control.join(room_id, guest)
        await control.settle()
        sid = stack.emulator.registry.get_participant(room_id, guest).sid
        async with stack.channel("room") as channel:
            rooms = room_service_pb2_grpc.RoomServiceStub(channel)
            await rooms.RemoveParticipant(
                room_service_pb2.RemoveParticipantRequest(room_id=room_id, user_id=guest),
                metadata=user_metadata(host),
            )

            async def guest_watches() -> bool:
                now = stack.emulator.registry.get_participant(room_id, guest)
                return now.attributes.get("role") == "viewer"

            assert await eventually(guest_watches, within=5)
            now = stack.emulator.registry.get_participant(room_id, guest)
            assert now.sid == sid and not now.permission.can_publish
            assert stack.livekit_calls("UpdateParticipant", room_id) == ["ok"]
            assert stack.livekit_calls("RemoveParticipant", room_id) == []
            await control.settle()
            got = await rooms.GetRoom(
                room_service_pb2.GetRoomRequest(room_id=room_id), metadata=user_metadata(host)
            )
        assert got.status == room_pb2.ROOM_STATUS_LIVE
        assert (got.stats.publisher_count, got.stats.viewer_count) == (1, 1)
        assert [p.user_id for p in got.participants] == [host]

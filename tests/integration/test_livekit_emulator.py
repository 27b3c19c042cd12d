"""The LiveKit emulator, driven by the real livekit-api client and its control API, with its
webhooks received and verified by livekit-api's WebhookReceiver."""

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from livekit.api import (
    AccessToken,
    LiveKitAPI,
    ServerError,
    TokenVerifier,
    VideoGrants,
    WebhookReceiver,
)
from livekit.protocol import egress as egress_pb
from livekit.protocol import ingress as ingress_pb
from livekit.protocol import models
from livekit.protocol import room as room_pb
from livekit.protocol.egress import EgressStatus
from livekit.protocol.webhook import WebhookEvent

from tools.livekit_emulator import EmulatorSettings, LiveKitEmulator
from tools.livekit_emulator.client import AsyncEmulatorClient

API_KEY = "test-api-key"
API_SECRET = "test-api-secret-0123456789-abcdefghij"
WAIT_S = 5.0


@dataclass
class Delivery:
    event: WebhookEvent
    body: str
    authorization: str
    content_type: str


@dataclass
class WebhookInbox:
    """A small webhook endpoint that accepts only what WebhookReceiver verifies."""

    receiver: WebhookReceiver
    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    failures_to_answer: int = 0
    attempts: int = 0
    # When set, each request waits for it to open: a receiver that holds requests.
    gate: asyncio.Event | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        async with self._changed:
            self.attempts += 1
            self._changed.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        if self.failures_to_answer > 0:
            self.failures_to_answer -= 1
            return web.Response(status=503)
        body = await request.text()
        authorization = request.headers.get("Authorization", "")
        try:
            event = self.receiver.receive(body, authorization)
        except Exception as exc:
            self.rejected.append(str(exc))
            return web.Response(status=401)
        async with self._changed:
            self.deliveries.append(
                Delivery(event, body, authorization, request.headers.get("Content-Type", ""))
            )
            self._changed.notify_all()
        return web.Response(status=200)

    async def wait_for(self, kind: str, room: str, identity: str = "") -> Delivery:
        def match() -> Delivery | None:
            for delivery in self.deliveries:
                event = delivery.event
                if (
                    event.event == kind
                    and event.room.name == room
                    and (not identity or event.participant.identity == identity)
                ):
                    return delivery
            return None

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(match), WAIT_S)
        return match()

    async def wait_for_attempts(self, count: int) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.attempts >= count), WAIT_S)

    async def wait_for_count(self, match: Callable[[WebhookEvent], bool], count: int) -> list:
        """The first `count` events that match, in the order they arrived."""

        def matching() -> list[WebhookEvent]:
            return [d.event for d in self.deliveries if match(d.event)]

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(matching()) >= count), WAIT_S)
        return matching()[:count]

    def kinds_for(self, room: str) -> list[str]:
        return [d.event.event for d in self.deliveries if d.event.room.name == room]


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    return runner, sock.getsockname()[1]


@pytest.fixture
async def inbox() -> AsyncIterator[WebhookInbox]:
    inbox = WebhookInbox(WebhookReceiver(TokenVerifier(API_KEY, API_SECRET)))
    app = web.Application()
    app.router.add_post("/livekit/webhook", inbox.handle)
    runner, port = await _serve(app)
    inbox.url = f"http://127.0.0.1:{port}/livekit/webhook"
    yield inbox
    await runner.cleanup()


@pytest.fixture
def settings_changes() -> dict[str, Any]:
    """EmulatorSettings fields a test sets otherwise, by parametrizing this fixture."""
    return {}


@pytest.fixture
async def emulator(
    inbox: WebhookInbox, settings_changes: dict[str, Any]
) -> AsyncIterator[LiveKitEmulator]:
    settings = EmulatorSettings(
        api_key=API_KEY,
        api_secret=API_SECRET,
        port=0,
        webhook_urls=(inbox.url,),
        idle_check_interval_s=0.05,
        webhook_retry_backoff_s=0.05,
        egress_step_s=0.05,
        **settings_changes,
    )
    async with LiveKitEmulator(settings) as emulator:
        yield emulator


@pytest.fixture
async def lkapi(emulator: LiveKitEmulator) -> AsyncIterator[LiveKitAPI]:
    client = LiveKitAPI(emulator.url, API_KEY, API_SECRET)
    yield client
    await client.aclose()


Control = Callable[..., Any]


@pytest.fixture
async def control(emulator: LiveKitEmulator) -> AsyncIterator[Control]:
    """Calls the emulator's control API the way a test or `ctl` does."""
    async with aiohttp.ClientSession() as session:

        async def call(path: str, **body: Any) -> dict[str, Any]:
            method = "GET" if path in ("state", "calls", "events") else "POST"
            async with session.request(
                method, f"{emulator.url}/emulator/{path}", json=body if method == "POST" else None
            ) as response:
                assert response.status == 200, await response.text()
                return await response.json()

        yield call


def token_with(grants: VideoGrants, secret: str = API_SECRET) -> str:
    return AccessToken(API_KEY, secret).with_grants(grants).to_jwt()


async def delivery_states(control: Control, url: str) -> list[tuple[str, str, str]]:
    """(room, event name, delivery state at `url`) of each event the emulator recorded."""
    events = (await control("events"))["events"]
    return [(e["room"], e["event"], e["deliveries"][url]) for e in events]


# --- rooms -----------------------------------------------------------------------------------


async def test_create_room_returns_a_new_room_with_its_settings_and_sends_room_started(
    lkapi: LiveKitAPI, inbox: WebhookInbox
) -> None:
    room = await lkapi.room.create_room(
        room_pb.CreateRoomRequest(
            name="stage-1",
            empty_timeout=120,
            departure_timeout=30,
            max_participants=5,
            metadata='{"title":"hello"}',
        )
    )

    assert room.sid.startswith("RM_") and len(room.sid) == 15
    assert (room.name, room.empty_timeout, room.departure_timeout, room.max_participants) == (
        "stage-1",
        120,
        30,
        5,
    )
    assert room.metadata == '{"title":"hello"}'
    started = await inbox.wait_for("room_started", "stage-1")
    assert started.event.room.sid == room.sid


async def test_create_room_for_an_existing_name_returns_the_existing_room_unchanged(
    lkapi: LiveKitAPI, inbox: WebhookInbox
) -> None:
    first = await lkapi.room.create_room(
        room_pb.CreateRoomRequest(name="stage-1", max_participants=5)
    )
    again = await lkapi.room.create_room(
        room_pb.CreateRoomRequest(name="stage-1", max_participants=9, metadata="other")
    )

    assert again.sid == first.sid
    assert (again.max_participants, again.metadata) == (5, "")
    await inbox.wait_for("room_started", "stage-1")
    assert inbox.kinds_for("stage-1") == ["room_started"]


async def test_list_rooms_returns_all_rooms_or_only_the_named_ones(lkapi: LiveKitAPI) -> None:
    for name in ("a", "b", "c"):
        await lkapi.room.create_room(room_pb.CreateRoomRequest(name=name))

    every = await lkapi.room.list_rooms(room_pb.ListRoomsRequest())
    named = await lkapi.room.list_rooms(room_pb.ListRoomsRequest(names=["b", "missing"]))

    assert sorted(r.name for r in every.rooms) == ["a", "b", "c"]
    assert [r.name for r in named.rooms] == ["b"]


async def test_delete_room_disconnects_participants_with_room_deleted_then_finishes_the_room(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    room = await lkapi.room.create_room(room_pb.CreateRoomRequest(name="stage-1"))
    await control("participants/join", room="stage-1", identity="host")

    await lkapi.room.delete_room(room_pb.DeleteRoomRequest(room="stage-1"))

    finished = await inbox.wait_for("room_finished", "stage-1")
    left = await inbox.wait_for("participant_left", "stage-1", "host")
    assert finished.event.room.sid == room.sid
    assert left.event.participant.disconnect_reason == models.DisconnectReason.ROOM_DELETED
    assert left.event.participant.state == models.ParticipantInfo.State.DISCONNECTED
    assert inbox.kinds_for("stage-1") == [
        "room_started",
        "participant_joined",
        "participant_left",
        "room_finished",
    ]
    assert (await lkapi.room.list_rooms(room_pb.ListRoomsRequest())).rooms == []


async def test_delete_of_a_missing_room_answers_not_found(lkapi: LiveKitAPI) -> None:
    with pytest.raises(ServerError) as raised:
        await lkapi.room.delete_room(room_pb.DeleteRoomRequest(room="never-created"))

    assert (raised.value.code, raised.value.status) == ("not_found", 404)
    assert raised.value.message == "requested room does not exist"


async def test_calls_count_a_repeated_delete_room_as_received_twice_and_effective_once(
    lkapi: LiveKitAPI, control: Control
) -> None:
    await lkapi.room.create_room(room_pb.CreateRoomRequest(name="stage-1"))
    await lkapi.room.delete_room(room_pb.DeleteRoomRequest(room="stage-1"))
    with pytest.raises(ServerError):
        await lkapi.room.delete_room(room_pb.DeleteRoomRequest(room="stage-1"))

    calls = await control("calls")

    assert calls["counts"]["DeleteRoom"] == {
        "received": 2,
        "ok": 1,
        "by_code": {"ok": 1, "not_found": 1},
    }


async def test_update_room_metadata_changes_it_and_answers_not_found_for_a_missing_room(
    lkapi: LiveKitAPI,
) -> None:
    await lkapi.room.create_room(room_pb.CreateRoomRequest(name="stage-1"))

    room = await lkapi.room.update_room_metadata(
        room_pb.UpdateRoomMetadataRequest(room="stage-1", metadata="v2")
    )
    with pytest.raises(ServerError) as raised:
        await lkapi.room.update_room_metadata(
            room_pb.UpdateRoomMetadataRequest(room="missing", metadata="v2")
        )

    assert room.metadata == "v2"
    [listed] = (await lkapi.room.list_rooms(room_pb.ListRoomsRequest(names=["stage-1"]))).rooms
    assert listed.metadata == "v2"  # what a client SDK's room.metadata shows
    assert (raised.value.code, raised.value.status) == ("not_found", 404)


async def test_room_closes_after_its_departure_timeout_once_the_last_participant_left(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await lkapi.room.create_room(room_pb.CreateRoomRequest(name="stage-1", departure_timeout=1))
    await control("participants/join", room="stage-1", identity="host")
    await control("participants/leave", room="stage-1", identity="host")

    await inbox.wait_for("room_finished", "stage-1")

    assert (await lkapi.room.list_rooms(room_pb.ListRoomsRequest())).rooms == []


# --- participants ----------------------------------------------------------------------------


async def test_join_of_a_missing_room_creates_it_and_sends_room_started_then_participant_joined(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    joined = await control(
        "participants/join",
        room="stage-1",
        identity="host",
        name="Host",
        attributes={"role": "host"},
    )

    delivery = await inbox.wait_for("participant_joined", "stage-1", "host")
    assert inbox.kinds_for("stage-1") == ["room_started", "participant_joined"]
    participant = delivery.event.participant
    assert participant.sid == joined["participant"]["sid"] and participant.sid.startswith("PA_")
    assert participant.state == models.ParticipantInfo.State.ACTIVE
    assert participant.joined_at > 0 and participant.attributes["role"] == "host"
    assert delivery.event.room.sid == joined["room"]["sid"]


async def test_list_and_get_participant_return_the_joined_participant(
    lkapi: LiveKitAPI, control: Control
) -> None:
    await control("participants/join", room="stage-1", identity="host", name="Host")

    listed = await lkapi.room.list_participants(room_pb.ListParticipantsRequest(room="stage-1"))
    got = await lkapi.room.get_participant(
        room_pb.RoomParticipantIdentity(room="stage-1", identity="host")
    )

    assert [p.identity for p in listed.participants] == ["host"]
    assert (got.identity, got.name, got.sid) == ("host", "Host", listed.participants[0].sid)


async def test_list_participants_of_a_missing_room_is_empty_as_on_the_real_server(
    lkapi: LiveKitAPI,
) -> None:
    listed = await lkapi.room.list_participants(room_pb.ListParticipantsRequest(room="missing"))

    assert list(listed.participants) == []


@pytest.mark.parametrize("room", ["stage-1", "missing-room"])
async def test_participant_methods_answer_not_found_for_a_missing_participant(
    lkapi: LiveKitAPI, room: str
) -> None:
    await lkapi.room.create_room(room_pb.CreateRoomRequest(name="stage-1"))
    identity = room_pb.RoomParticipantIdentity(room=room, identity="nobody")
    calls = [
        lkapi.room.get_participant(identity),
        lkapi.room.remove_participant(identity),
        lkapi.room.update_participant(
            room_pb.UpdateParticipantRequest(room=room, identity="nobody", metadata="x")
        ),
        lkapi.room.mute_published_track(
            room_pb.MuteRoomTrackRequest(room=room, identity="nobody", track_sid="TR_x", muted=True)
        ),
    ]

    for call in calls:
        with pytest.raises(ServerError) as raised:
            await call
        assert (raised.value.code, raised.value.status) == ("not_found", 404)
        assert raised.value.message == "participant does not exist"


async def test_remove_participant_sends_participant_left_with_participant_removed(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="co-host")

    await lkapi.room.remove_participant(
        room_pb.RoomParticipantIdentity(room="stage-1", identity="co-host")
    )

    left = await inbox.wait_for("participant_left", "stage-1", "co-host")
    assert left.event.participant.disconnect_reason == models.DisconnectReason.PARTICIPANT_REMOVED
    listed = await lkapi.room.list_participants(room_pb.ListParticipantsRequest(room="stage-1"))
    assert list(listed.participants) == []


async def test_update_participant_sets_metadata_and_permission_and_merges_attributes(
    lkapi: LiveKitAPI, control: Control
) -> None:
    await control(
        "participants/join",
        room="stage-1",
        identity="co-host",
        metadata="m1",
        attributes={"role": "co_host", "seat": "2"},
    )

    updated = await lkapi.room.update_participant(
        room_pb.UpdateParticipantRequest(
            room="stage-1",
            identity="co-host",
            metadata="m2",
            attributes={"seat": "", "mic": "on"},
            permission=models.ParticipantPermission(can_subscribe=True, can_publish=False),
        )
    )

    assert updated.metadata == "m2"
    assert dict(updated.attributes) == {"role": "co_host", "mic": "on"}
    assert (updated.permission.can_publish, updated.permission.can_subscribe) == (False, True)


async def test_mute_published_track_mutes_it_and_refuses_a_remote_unmute(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    track = (
        await control(
            "tracks/publish", room="stage-1", identity="host", type="AUDIO", source="MICROPHONE"
        )
    )["track"]
    published = await inbox.wait_for("track_published", "stage-1", "host")

    muted = await lkapi.room.mute_published_track(
        room_pb.MuteRoomTrackRequest(
            room="stage-1", identity="host", track_sid=track["sid"], muted=True
        )
    )
    with pytest.raises(ServerError) as raised:
        await lkapi.room.mute_published_track(
            room_pb.MuteRoomTrackRequest(
                room="stage-1", identity="host", track_sid=track["sid"], muted=False
            )
        )

    assert published.event.track.sid == track["sid"]
    assert published.event.track.source == models.TrackSource.MICROPHONE
    assert muted.track.sid == track["sid"] and muted.track.muted
    assert (raised.value.code, raised.value.status) == ("failed_precondition", 412)


async def test_update_participant_replaces_the_permission_and_unpublishes_what_it_no_longer_allows(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="co-host")
    camera = (await control("tracks/publish", room="stage-1", identity="co-host"))["track"]
    screen = (
        await control("tracks/publish", room="stage-1", identity="co-host", source="SCREEN_SHARE")
    )["track"]
    sid = (await control("state"))["rooms"][0]["participants"][0]["sid"]

    # Camera and microphone only: the screen share goes, the camera stays.
    updated = await lkapi.room.update_participant(
        room_pb.UpdateParticipantRequest(
            room="stage-1",
            identity="co-host",
            permission=models.ParticipantPermission(
                can_subscribe=True,
                can_publish=True,
                can_publish_sources=[models.TrackSource.CAMERA, models.TrackSource.MICROPHONE],
            ),
        )
    )
    gone = await inbox.wait_for("track_unpublished", "stage-1", "co-host")
    assert gone.event.track.sid == screen["sid"]
    assert [t.sid for t in updated.tracks] == [camera["sid"]]
    assert not updated.permission.can_publish_data  # replaced, not merged

    # A viewer's permission: nothing may be published any more.
    await lkapi.room.update_participant(
        room_pb.UpdateParticipantRequest(
            room="stage-1",
            identity="co-host",
            permission=models.ParticipantPermission(can_subscribe=True, can_publish=False),
            attributes={"role": "viewer"},
        )
    )
    await inbox.wait_for_attempts(6)  # started, joined, two published, two unpublished
    [participant] = (await control("state"))["rooms"][0]["participants"]
    assert participant["sid"] == sid  # the same session, not a reconnect
    assert participant.get("tracks", []) == []
    assert participant["attributes"] == {"role": "viewer"}
    assert participant["permission"] == {"can_subscribe": True}
    assert inbox.kinds_for("stage-1").count("track_unpublished") == 2
    # LiveKit sends no webhook for a permission or attribute change.
    assert set(inbox.kinds_for("stage-1")) == {
        "room_started", "participant_joined", "track_published", "track_unpublished"
    }  # fmt: skip


async def test_a_participant_cannot_publish_a_source_its_permission_does_not_allow(
    emulator: LiveKitEmulator, control: Control
) -> None:
    await control(
        "participants/join",
        room="stage-1",
        identity="viewer",
        permission={"can_subscribe": True, "can_publish": False},
    )
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{emulator.url}/emulator/tracks/publish",
            json={"room": "stage-1", "identity": "viewer"},
        ) as response,
    ):
        assert response.status == 409
    [participant] = (await control("state"))["rooms"][0]["participants"]
    assert participant.get("tracks", []) == []


@pytest.mark.parametrize("settings_changes", [{"enable_remote_unmute": True}])
async def test_mute_published_track_unmutes_when_remote_unmute_is_enabled(
    lkapi: LiveKitAPI, control: Control
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    track = (await control("tracks/publish", room="stage-1", identity="host"))["track"]
    request = room_pb.MuteRoomTrackRequest(room="stage-1", identity="host", track_sid=track["sid"])

    request.muted = True
    await lkapi.room.mute_published_track(request)
    [muted] = (await control("state"))["rooms"][0]["participants"][0]["tracks"]
    request.muted = False
    unmuted = await lkapi.room.mute_published_track(request)

    assert muted["muted"] is True
    assert not unmuted.track.muted
    [track_now] = (await control("state"))["rooms"][0]["participants"][0]["tracks"]
    assert track_now.get("muted", False) is False


async def test_leave_with_duplicate_identity_reason_and_aborted_connection_are_reported(
    control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    await control("participants/join", room="stage-1", identity="guest")

    await control(
        "participants/leave", room="stage-1", identity="host", reason="DUPLICATE_IDENTITY"
    )
    await control("participants/leave", room="stage-1", identity="guest", aborted=True)

    left = await inbox.wait_for("participant_left", "stage-1", "host")
    aborted = await inbox.wait_for("participant_connection_aborted", "stage-1", "guest")
    assert left.event.participant.disconnect_reason == models.DisconnectReason.DUPLICATE_IDENTITY
    assert aborted.event.participant.identity == "guest"


async def test_rejoining_with_the_same_identity_replaces_the_old_session(
    control: Control, inbox: WebhookInbox
) -> None:
    first = await control("participants/join", room="stage-1", identity="host")
    second = await control("participants/join", room="stage-1", identity="host")

    left = await inbox.wait_for("participant_left", "stage-1", "host")

    assert left.event.participant.sid == first["participant"]["sid"]
    assert left.event.participant.disconnect_reason == models.DisconnectReason.DUPLICATE_IDENTITY
    assert second["participant"]["sid"] != first["participant"]["sid"]
    state = await control("state")
    assert [p["sid"] for p in state["rooms"][0]["participants"]] == [second["participant"]["sid"]]


async def test_finish_room_takes_participants_off_then_sends_room_finished(
    control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")

    await control("rooms/finish", room="stage-1")

    await inbox.wait_for("room_finished", "stage-1")
    assert inbox.kinds_for("stage-1")[-2:] == ["participant_left", "room_finished"]
    assert (await control("state"))["rooms"] == []


async def test_egress_ended_carries_a_completed_file_result_for_the_room_session(
    control: Control, inbox: WebhookInbox
) -> None:
    joined = await control("participants/join", room="stage-1", identity="host")
    await control("rooms/finish", room="stage-1")

    await control(
        "egress/ended",
        room="stage-1",
        filename="stage-1.mp4",
        location="https://cdn.example/stage-1.mp4",
        duration_seconds=90,
    )

    delivery = await inbox.wait_for("egress_ended", "stage-1")
    info = delivery.event.egress_info
    assert info.egress_id.startswith("EG_") and info.status == EgressStatus.EGRESS_COMPLETE
    assert info.room_id == joined["room"]["sid"] == delivery.event.room.sid
    assert [(f.filename, f.location, f.duration) for f in info.file_results] == [
        ("stage-1.mp4", "https://cdn.example/stage-1.mp4", 90_000_000_000)
    ]


async def test_reset_forgets_rooms_and_calls(lkapi: LiveKitAPI, control: Control) -> None:
    await lkapi.room.create_room(room_pb.CreateRoomRequest(name="stage-1"))

    await control("reset")

    assert (await lkapi.room.list_rooms(room_pb.ListRoomsRequest())).rooms == []
    assert list((await control("calls"))["counts"]) == ["ListRooms"]


# --- authentication --------------------------------------------------------------------------


async def test_a_token_signed_with_the_wrong_secret_is_refused_with_401(
    emulator: LiveKitEmulator,
) -> None:
    async with LiveKitAPI(emulator.url, API_KEY, "another-secret-0123456789-abcdefghij") as client:
        with pytest.raises(ServerError) as raised:
            await client.room.list_rooms(room_pb.ListRoomsRequest())

    # The real middleware answers in plain text, so the client cannot read a Twirp code.
    assert raised.value.status == 401
    assert raised.value.code == "unknown"


async def test_a_token_without_the_method_grant_is_refused_as_unauthenticated(
    emulator: LiveKitEmulator,
) -> None:
    token = token_with(VideoGrants(room_list=True))
    async with LiveKitAPI.with_token(token, emulator.url) as client:
        await client.room.list_rooms(room_pb.ListRoomsRequest())
        with pytest.raises(ServerError) as raised:
            await client.room.create_room(room_pb.CreateRoomRequest(name="stage-1"))

    assert (raised.value.code, raised.value.status) == ("unauthenticated", 401)
    assert raised.value.message == "permissions denied"


async def test_a_room_admin_token_works_only_for_its_own_room(
    emulator: LiveKitEmulator, control: Control
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    await control("participants/join", room="stage-2", identity="host")
    token = token_with(VideoGrants(room_admin=True, room="stage-1"))

    async with LiveKitAPI.with_token(token, emulator.url) as client:
        own = await client.room.list_participants(room_pb.ListParticipantsRequest(room="stage-1"))
        with pytest.raises(ServerError) as raised:
            await client.room.list_participants(room_pb.ListParticipantsRequest(room="stage-2"))

    assert [p.identity for p in own.participants] == ["host"]
    assert (raised.value.code, raised.value.message) == ("unauthenticated", "permissions denied")


# --- webhooks --------------------------------------------------------------------------------


async def test_webhooks_are_signed_for_webhook_receiver_with_a_unique_id_and_timestamp(
    control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")

    joined = await inbox.wait_for("participant_joined", "stage-1", "host")
    started = await inbox.wait_for("room_started", "stage-1")

    assert inbox.rejected == []
    assert joined.content_type == "application/webhook+json"
    assert not joined.authorization.startswith("Bearer ")
    claims = TokenVerifier(API_KEY, API_SECRET).verify(joined.authorization)
    assert claims.sha256
    assert joined.event.id.startswith("EV_") and joined.event.id != started.event.id
    assert joined.event.created_at > 0


async def test_a_tampered_webhook_body_fails_verification(
    control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    delivery = await inbox.wait_for("participant_joined", "stage-1", "host")
    tampered = delivery.body.replace('"host"', '"intruder"')
    receiver = WebhookReceiver(TokenVerifier(API_KEY, API_SECRET))

    assert tampered != delivery.body
    # livekit-api's WebhookReceiver raises a bare Exception; the message says which check.
    with pytest.raises(Exception, match=r"^hash mismatch$"):
        receiver.receive(tampered, delivery.authorization)


async def test_a_webhook_is_retried_until_the_receiver_accepts_it(
    control: Control, inbox: WebhookInbox
) -> None:
    inbox.failures_to_answer = 2

    await control("participants/join", room="stage-1", identity="host")

    await inbox.wait_for("participant_joined", "stage-1", "host")
    assert inbox.kinds_for("stage-1") == ["room_started", "participant_joined"]
    assert inbox.attempts == 4


# --- webhooks dropped and lost ---------------------------------------------------------------


async def hold_room_started(control: Control, inbox: WebhookInbox, room: str) -> None:
    """A host joins `room` and the receiver holds its room_started, so that the lane's next
    event (participant_joined) waits behind it until `inbox.gate` is set."""
    inbox.gate = asyncio.Event()
    await control("participants/join", room=room, identity="host")
    await inbox.wait_for_attempts(1)


@pytest.mark.parametrize("settings_changes", [{"webhook_max_depth": 3}])
async def test_an_event_arriving_when_its_lane_has_max_depth_waiting_is_dropped_not_sent(
    control: Control, inbox: WebhookInbox
) -> None:
    await hold_room_started(control, inbox, "stage-1")

    with structlog.testing.capture_logs() as logs:
        for _ in range(3):  # the 2nd makes 3 waiting; the 3rd finds the lane full
            await control("tracks/publish", room="stage-1", identity="host")
        await control("participants/join", room="stage-2", identity="guest")  # its own lane
    inbox.gate.set()
    drained = await control("webhooks/drain", timeout_seconds=WAIT_S)

    assert drained == {"drained": True}
    assert inbox.kinds_for("stage-1") == [
        "room_started",
        "participant_joined",
        "track_published",
        "track_published",
    ]
    assert inbox.kinds_for("stage-2") == ["room_started", "participant_joined"]
    assert inbox.attempts == 6
    assert await delivery_states(control, inbox.url) == [
        ("stage-1", "room_started", "delivered"),
        ("stage-1", "participant_joined", "delivered"),
        ("stage-1", "track_published", "delivered"),
        ("stage-1", "track_published", "delivered"),
        ("stage-1", "track_published", "dropped"),
        ("stage-2", "room_started", "delivered"),
        ("stage-2", "participant_joined", "delivered"),
    ]
    dropped = [entry for entry in logs if entry["event"] == "webhook_dropped"]
    assert [(d["reason"], d["event_name"]) for d in dropped] == [("depth", "track_published")]


@pytest.mark.parametrize("settings_changes", [{"webhook_max_age_s": 0.2}])
async def test_an_event_that_waited_longer_than_max_age_is_dropped_when_its_turn_comes(
    control: Control, inbox: WebhookInbox
) -> None:
    await hold_room_started(control, inbox, "stage-1")

    with structlog.testing.capture_logs() as logs:
        await asyncio.sleep(0.4)
        inbox.gate.set()
        await control("webhooks/drain", timeout_seconds=WAIT_S)
    await control("tracks/publish", room="stage-1", identity="host")
    drained = await control("webhooks/drain", timeout_seconds=WAIT_S)

    assert drained == {"drained": True}
    assert inbox.kinds_for("stage-1") == ["room_started", "track_published"]
    assert await delivery_states(control, inbox.url) == [
        ("stage-1", "room_started", "delivered"),
        ("stage-1", "participant_joined", "dropped"),
        ("stage-1", "track_published", "delivered"),
    ]
    dropped = [entry for entry in logs if entry["event"] == "webhook_dropped"]
    assert [(d["reason"], d["event_name"]) for d in dropped] == [("age", "participant_joined")]
    assert dropped[0]["waited_s"] > 0.2


async def test_loss_of_one_event_kind_in_one_room_loses_all_of_those_and_only_those(
    control: Control, inbox: WebhookInbox
) -> None:
    await control("webhooks/loss", share=1.0, events=["participant_joined"], room="stage-1")

    await control("participants/join", room="stage-1", identity="host")
    await control("participants/join", room="stage-1", identity="guest")
    await control("participants/join", room="stage-2", identity="host")
    drained = await control("webhooks/drain", timeout_seconds=WAIT_S)

    assert drained == {"drained": True}
    assert inbox.kinds_for("stage-1") == ["room_started"]
    assert inbox.kinds_for("stage-2") == ["room_started", "participant_joined"]
    assert await delivery_states(control, inbox.url) == [
        ("stage-1", "room_started", "delivered"),
        ("stage-1", "participant_joined", "lost"),
        ("stage-1", "participant_joined", "lost"),
        ("stage-2", "room_started", "delivered"),
        ("stage-2", "participant_joined", "delivered"),
    ]
    assert inbox.attempts == 3


async def test_loss_of_half_with_a_seed_loses_some_but_not_all_and_the_same_ones_again(
    control: Control, inbox: WebhookInbox
) -> None:
    async def lost_with_seed_7() -> list[bool]:
        await control("reset")
        inbox.deliveries.clear()
        await control("webhooks/loss", share=0.5, seed=7)
        await control("participants/join", room="stage-1", identity="host")
        for _ in range(20):
            await control("tracks/publish", room="stage-1", identity="host")
        await control("webhooks/drain", timeout_seconds=WAIT_S)
        events = (await control("events"))["events"]
        sent = [e["id"] for e in events if e["deliveries"][inbox.url] == "delivered"]
        assert [d.event.id for d in inbox.deliveries] == sent
        return [e["deliveries"][inbox.url] == "lost" for e in events]

    first = await lost_with_seed_7()
    again = await lost_with_seed_7()

    assert len(first) == 22 and 0 < sum(first) < 22
    assert again == first


async def test_share_0_and_reset_each_turn_webhook_loss_off(
    emulator: LiveKitEmulator, control: Control, inbox: WebhookInbox
) -> None:
    client = AsyncEmulatorClient(emulator.url)
    await client.loss(1.0)
    await control("participants/join", room="stage-1", identity="host")
    stopped = await client.loss(0)
    await control("participants/join", room="stage-1", identity="guest")
    await client.drain()
    await client.loss(1.0, events=["participant_joined"])
    await control("reset")
    await control("participants/join", room="stage-2", identity="host")
    await client.drain()

    assert stopped == {"share": 0.0, "events": None, "room": None, "seed": None}
    assert inbox.kinds_for("stage-1") == ["participant_joined"]
    assert inbox.kinds_for("stage-2") == ["room_started", "participant_joined"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"share": 1.5},
        {"share": True},
        {"share": 0.5, "events": []},
        {"share": 0.5, "seed": "x"},
    ],
)
async def test_loss_refuses_a_share_outside_0_to_1_and_malformed_filters(
    emulator: LiveKitEmulator, body: dict[str, Any]
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emulator.url}/emulator/webhooks/loss", json=body) as response,
    ):
        assert response.status == 400
        assert "error" in await response.json()
    assert emulator.webhooks.loss.share == 0


# --- egress ----------------------------------------------------------------------------------


def record_grant() -> VideoGrants:
    return VideoGrants(room_record=True)


def room_composite(room: str, **outputs: Any) -> egress_pb.RoomCompositeEgressRequest:
    return egress_pb.RoomCompositeEgressRequest(
        room_name=room,
        file_outputs=outputs.get(
            "files", [egress_pb.EncodedFileOutput(filepath="{room_name}/show")]
        ),
        segment_outputs=outputs.get("segments", []),
    )


async def egress_events(inbox: WebhookInbox, egress_id: str, count: int) -> list[tuple[str, int]]:
    """(event name, status) of the egress's first `count` webhooks, in delivery order."""
    events = await inbox.wait_for_count(lambda e: e.egress_info.egress_id == egress_id, count)
    return [(e.event, e.egress_info.status) for e in events]


async def test_start_room_composite_egress_answers_starting_with_the_outputs_and_the_room_sid(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    joined = await control("participants/join", room="stage-1", identity="host")
    segments = egress_pb.SegmentedFileOutput(
        playlist_name="hls/{room_name}.m3u8", live_playlist_name="hls/live.m3u8"
    )

    info = await lkapi.egress.start_room_composite_egress(
        room_composite("stage-1", segments=[segments])
    )

    assert info.egress_id.startswith("EG_") and info.status == EgressStatus.EGRESS_STARTING
    assert (info.room_id, info.room_name) == (joined["room"]["sid"], "stage-1")
    assert (
        info.started_at > 0 and info.room_composite.file_outputs[0].filepath == "{room_name}/show"
    )
    assert [f.filename for f in info.file_results] == ["stage-1/show.mp4"]
    assert [(s.playlist_name, s.live_playlist_name) for s in info.segment_results] == [
        ("hls/stage-1.m3u8", "hls/live.m3u8")
    ]


async def test_an_egress_runs_starting_active_ending_complete_with_one_webhook_each_in_order(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    segments = egress_pb.SegmentedFileOutput(playlist_name="hls/index", live_playlist_name="live")
    info = await lkapi.egress.start_room_composite_egress(
        room_composite("stage-1", files=[egress_pb.EncodedFileOutput()], segments=[segments])
    )
    assert await egress_events(inbox, info.egress_id, 2) == [
        ("egress_started", EgressStatus.EGRESS_STARTING),
        ("egress_updated", EgressStatus.EGRESS_ACTIVE),
    ]
    await asyncio.sleep(0.2)

    stopped = await lkapi.egress.stop_egress(egress_pb.StopEgressRequest(egress_id=info.egress_id))

    assert stopped.status == EgressStatus.EGRESS_ENDING
    assert await egress_events(inbox, info.egress_id, 4) == [
        ("egress_started", EgressStatus.EGRESS_STARTING),
        ("egress_updated", EgressStatus.EGRESS_ACTIVE),
        ("egress_updated", EgressStatus.EGRESS_ENDING),
        ("egress_ended", EgressStatus.EGRESS_COMPLETE),
    ]
    ended = inbox.deliveries[-1].event
    assert ended.room.name == "stage-1" and ended.room.sid == info.room_id
    result = ended.egress_info
    assert result.details == "End reason: StopEgress API" and result.ended_at > 0
    (file,) = result.file_results
    assert file.filename.startswith("stage-1-") and file.filename.endswith(".mp4")
    assert file.location == f"/recordings/{file.filename}"
    assert file.duration >= 200_000_000 and file.size > 0
    (hls,) = result.segment_results
    assert (hls.playlist_name, hls.live_playlist_name) == ("hls/index.m3u8", "hls/live.m3u8")
    assert (hls.playlist_location, hls.live_playlist_location) == (
        "/recordings/hls/index.m3u8",
        "/recordings/hls/live.m3u8",
    )
    assert hls.duration > 0 and hls.segment_count == 1


async def test_egress_of_a_room_that_finishes_completes_by_itself(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    info = await lkapi.egress.start_room_composite_egress(room_composite("stage-1"))
    await egress_events(inbox, info.egress_id, 2)

    await control("rooms/finish", room="stage-1")

    assert [kind for kind, _ in await egress_events(inbox, info.egress_id, 4)][2:] == [
        "egress_updated",
        "egress_ended",
    ]
    ended = inbox.deliveries[-1].event.egress_info
    assert ended.status == EgressStatus.EGRESS_COMPLETE
    assert ended.details == "End reason: Source closed"
    assert ended.file_results[0].filename == "stage-1/show.mp4"


async def test_egress_errors_are_those_of_the_real_server(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    async def code_of(call) -> tuple[str, str]:
        with pytest.raises(ServerError) as raised:
            await call
        return raised.value.code, raised.value.message

    assert await code_of(lkapi.egress.start_room_composite_egress(room_composite(""))) == (
        "invalid_argument",
        "request has missing or invalid field: token or api key/secret",
    )
    assert await code_of(lkapi.egress.start_room_composite_egress(room_composite("none"))) == (
        "not_found",
        "requested room does not exist",
    )
    unknown = egress_pb.StopEgressRequest(egress_id="EG_unknown")
    assert await code_of(lkapi.egress.stop_egress(unknown)) == (
        "not_found",
        "egress does not exist",
    )
    await control("participants/join", room="stage-1", identity="host")
    info = await lkapi.egress.start_room_composite_egress(room_composite("stage-1"))
    await control("egress/ended", egress_id=info.egress_id)
    stop = egress_pb.StopEgressRequest(egress_id=info.egress_id)
    assert await code_of(lkapi.egress.stop_egress(stop)) == (
        "failed_precondition",
        "egress with status EGRESS_COMPLETE cannot be stopped",
    )


async def test_egress_methods_need_the_room_record_grant(
    emulator: LiveKitEmulator, control: Control
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    token = token_with(VideoGrants(room_create=True, room_admin=True, room="stage-1"))
    async with LiveKitAPI.with_token(token, emulator.url) as client:
        for call in (
            client.egress.start_room_composite_egress(room_composite("stage-1")),
            client.egress.list_egress(egress_pb.ListEgressRequest()),
            client.egress.stop_egress(egress_pb.StopEgressRequest(egress_id="EG_x")),
        ):
            with pytest.raises(ServerError) as raised:
                await call
            assert (raised.value.code, raised.value.status) == ("unauthenticated", 401)
    assert (await control("state"))["egresses"] == []


async def test_list_egress_filters_by_room_by_id_and_by_active(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    await control("participants/join", room="stage-2", identity="host")
    first = await lkapi.egress.start_room_composite_egress(room_composite("stage-1"))
    second = await lkapi.egress.start_room_composite_egress(room_composite("stage-1"))
    other = await lkapi.egress.start_room_composite_egress(room_composite("stage-2"))
    await control("egress/ended", egress_id=second.egress_id)

    def ids(response) -> list[str]:
        return [i.egress_id for i in response.items]

    listed = lkapi.egress.list_egress
    assert ids(await listed(egress_pb.ListEgressRequest())) == [
        first.egress_id,
        second.egress_id,
        other.egress_id,
    ]
    assert ids(await listed(egress_pb.ListEgressRequest(room_name="stage-1"))) == [
        first.egress_id,
        second.egress_id,
    ]
    assert ids(await listed(egress_pb.ListEgressRequest(room_name="stage-1", active=True))) == [
        first.egress_id
    ]
    by_id = egress_pb.ListEgressRequest(egress_id=other.egress_id, room_name="stage-1")
    assert ids(await listed(by_id)) == [other.egress_id]
    with pytest.raises(ServerError) as raised:
        await listed(egress_pb.ListEgressRequest(egress_id="EG_unknown"))
    assert raised.value.code == "not_found"


async def test_a_never_starting_egress_stays_starting_and_a_stop_aborts_it(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    await control("egress/behaviour", room="stage-1", mode="never_start")
    info = await lkapi.egress.start_room_composite_egress(room_composite("stage-1"))
    await egress_events(inbox, info.egress_id, 1)
    await asyncio.sleep(0.3)
    (listed,) = (await lkapi.egress.list_egress(egress_pb.ListEgressRequest())).items
    assert listed.status == EgressStatus.EGRESS_STARTING

    stopped = await lkapi.egress.stop_egress(egress_pb.StopEgressRequest(egress_id=info.egress_id))

    assert (stopped.status, stopped.error) == (
        EgressStatus.EGRESS_ABORTED,
        "Stop called before pipeline could start",
    )
    assert await egress_events(inbox, info.egress_id, 2) == [
        ("egress_started", EgressStatus.EGRESS_STARTING),
        ("egress_ended", EgressStatus.EGRESS_ABORTED),
    ]
    # The behaviour was for one egress: the next one starts.
    again = await lkapi.egress.start_room_composite_egress(room_composite("stage-1"))
    assert (await egress_events(inbox, again.egress_id, 2))[1][0] == "egress_updated"


async def test_a_failing_egress_goes_active_then_ends_failed_with_the_error(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    await control("egress/behaviour", mode="fail", error="pipeline frozen", count=0)

    infos = [
        await lkapi.egress.start_room_composite_egress(room_composite("stage-1")) for _ in range(2)
    ]

    for info in infos:
        assert await egress_events(inbox, info.egress_id, 3) == [
            ("egress_started", EgressStatus.EGRESS_STARTING),
            ("egress_updated", EgressStatus.EGRESS_ACTIVE),
            ("egress_ended", EgressStatus.EGRESS_FAILED),
        ]
    failed = [d.event.egress_info for d in inbox.deliveries if d.event.event == "egress_ended"]
    assert {(f.error, f.error_code, f.file_results[0].location) for f in failed} == {
        ("pipeline frozen", 500, "")
    }
    assert (await control("state"))["egress_behaviours"] == {
        "": {"mode": "fail", "error": "pipeline frozen", "remaining": 0}
    }


async def test_an_egress_failing_at_start_never_goes_active(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    await control("egress/behaviour", room="stage-1", mode="fail_at_start")

    info = await lkapi.egress.start_room_composite_egress(room_composite("stage-1"))

    assert await egress_events(inbox, info.egress_id, 2) == [
        ("egress_started", EgressStatus.EGRESS_STARTING),
        ("egress_ended", EgressStatus.EGRESS_FAILED),
    ]


async def test_egress_ended_of_a_running_egress_ends_it_through_its_lifecycle(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    info = await lkapi.egress.start_room_composite_egress(room_composite("stage-1"))
    await egress_events(inbox, info.egress_id, 2)

    answer = await control(
        "egress/ended",
        egress_id=info.egress_id,
        duration_seconds=90,
        size=1234,
        location="https://cdn.example/show.mp4",
    )

    assert answer["egress_info"]["status"] == "EGRESS_COMPLETE"
    assert [kind for kind, _ in await egress_events(inbox, info.egress_id, 4)][2:] == [
        "egress_updated",
        "egress_ended",
    ]
    (file,) = inbox.deliveries[-1].event.egress_info.file_results
    assert (file.location, file.duration, file.size) == (
        "https://cdn.example/show.mp4",
        90_000_000_000,
        1234,
    )
    (listed,) = (await control("state"))["egresses"]
    assert (listed["egress_id"], listed["status"]) == (info.egress_id, "EGRESS_COMPLETE")


async def test_egress_calls_are_counted_reset_and_taken_down_by_an_outage(
    emulator: LiveKitEmulator, lkapi: LiveKitAPI, control: Control
) -> None:
    await control("participants/join", room="stage-1", identity="host")
    await lkapi.egress.start_room_composite_egress(room_composite("stage-1"))
    with pytest.raises(ServerError):
        await lkapi.egress.stop_egress(egress_pb.StopEgressRequest(egress_id="EG_unknown"))
    counts = (await control("calls"))["counts"]
    assert counts["StartRoomCompositeEgress"] == {"received": 1, "ok": 1, "by_code": {"ok": 1}}
    assert counts["StopEgress"]["by_code"] == {"not_found": 1}

    await control("outage", down=True)
    async with aiohttp.ClientSession() as session:
        for path in ("livekit.Egress/ListEgress", "livekit.Ingress/ListIngress"):
            async with session.post(f"{emulator.url}/twirp/{path}", json={}) as response:
                assert response.status == 503
    await control("outage", down=False)
    await control("reset")

    assert (await control("state"))["egresses"] == []
    assert (await lkapi.egress.list_egress(egress_pb.ListEgressRequest())).items == []


async def test_twirp_errors_carry_exactly_the_json_content_type_twirp_sends(
    emulator: LiveKitEmulator,
) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("livekit.RoomService/DeleteRoom", "livekit.Egress/StopEgress"):
            async with session.post(f"{emulator.url}/twirp/{path}", json={}) as response:
                assert response.status == 401
                assert response.headers["Content-Type"] == "application/json"
                assert (await response.json())["code"] == "unauthenticated"


# --- ingress ---------------------------------------------------------------------------------


def rtmp_ingress(room: str = "stage-1", **fields: Any) -> ingress_pb.CreateIngressRequest:
    return ingress_pb.CreateIngressRequest(
        input_type=ingress_pb.IngressInput.RTMP_INPUT,
        name="studio",
        room_name=room,
        participant_identity="studio-cam",
        participant_name="Studio",
        participant_metadata='{"role":"ingress"}',
        **fields,
    )


async def control_status(emulator: LiveKitEmulator, path: str, **body: Any) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emulator.url}/emulator/{path}", json=body) as response,
    ):
        return response.status, await response.json()


async def test_create_ingress_answers_an_inactive_endpoint_with_its_url_and_a_stream_key(
    lkapi: LiveKitAPI, inbox: WebhookInbox, emulator: LiveKitEmulator
) -> None:
    rtmp = await lkapi.ingress.create_ingress(rtmp_ingress())
    whip = await lkapi.ingress.create_ingress(
        ingress_pb.CreateIngressRequest(
            input_type=ingress_pb.IngressInput.WHIP_INPUT, participant_identity="phone"
        )
    )

    assert rtmp.ingress_id.startswith("IN_") and len(rtmp.stream_key) == 12
    assert (rtmp.url, whip.url) == (emulator.settings.rtmp_url, emulator.settings.whip_url)
    assert rtmp.url == "rtmp://127.0.0.1:1935/live" and whip.url == "http://127.0.0.1:8080/w"
    assert rtmp.state.status == ingress_pb.IngressState.Status.ENDPOINT_INACTIVE
    assert (rtmp.room_name, rtmp.participant_identity, rtmp.participant_name) == (
        "stage-1",
        "studio-cam",
        "Studio",
    )
    assert (rtmp.enable_transcoding, rtmp.bypass_transcoding, rtmp.reusable) == (True, False, True)
    assert (whip.enable_transcoding, whip.bypass_transcoding) == (False, True)
    await emulator.webhooks.drain(WAIT_S)
    assert inbox.deliveries == []  # livekit-server sends no webhook for CreateIngress


async def test_ingress_list_update_and_delete_and_their_errors(
    lkapi: LiveKitAPI, emulator: LiveKitEmulator
) -> None:
    first = await lkapi.ingress.create_ingress(rtmp_ingress("stage-1"))
    second = await lkapi.ingress.create_ingress(rtmp_ingress("stage-2"))

    def ids(response) -> list[str]:
        return [i.ingress_id for i in response.items]

    listed = lkapi.ingress.list_ingress
    assert ids(await listed(ingress_pb.ListIngressRequest())) == [
        first.ingress_id,
        second.ingress_id,
    ]
    assert ids(await listed(ingress_pb.ListIngressRequest(room_name="stage-2"))) == [
        second.ingress_id
    ]
    assert ids(await listed(ingress_pb.ListIngressRequest(ingress_id=first.ingress_id))) == [
        first.ingress_id
    ]
    updated = await lkapi.ingress.update_ingress(
        ingress_pb.UpdateIngressRequest(ingress_id=first.ingress_id, participant_name="Cam 2")
    )
    assert (updated.participant_name, updated.participant_identity) == ("Cam 2", "studio-cam")
    deleted = await lkapi.ingress.delete_ingress(
        ingress_pb.DeleteIngressRequest(ingress_id=first.ingress_id)
    )
    assert deleted.ingress_id == first.ingress_id
    assert ids(await listed(ingress_pb.ListIngressRequest())) == [second.ingress_id]

    async def error_of(call) -> tuple[str, str]:
        with pytest.raises(ServerError) as raised:
            await call
        return raised.value.code, raised.value.message

    unknown = ingress_pb.DeleteIngressRequest(ingress_id=first.ingress_id)
    assert await error_of(lkapi.ingress.delete_ingress(unknown)) == (
        "not_found",
        "ingress does not exist",
    )
    no_identity = rtmp_ingress()
    no_identity.participant_identity = ""
    assert await error_of(lkapi.ingress.create_ingress(no_identity)) == (
        "invalid_argument",
        "invalid ingress: no participant identity",
    )
    assert (await error_of(lkapi.ingress.create_ingress(rtmp_ingress(enable_transcoding=False))))[
        0
    ] == "invalid_argument"
    token = token_with(VideoGrants(room_create=True, room_record=True))
    async with LiveKitAPI.with_token(token, emulator.url) as client:
        assert await error_of(client.ingress.list_ingress(ingress_pb.ListIngressRequest())) == (
            "unauthenticated",
            "permissions denied",
        )


async def test_an_encoder_connecting_joins_the_ingress_participant_and_starts_the_ingress(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    ingress = await lkapi.ingress.create_ingress(rtmp_ingress())

    answer = await control("ingress/connect", stream_key=ingress.stream_key)

    assert answer["ingress_info"]["state"]["status"] == "ENDPOINT_PUBLISHING"
    started = await inbox.wait_for("ingress_started", "stage-1")
    info = started.event.ingress_info
    assert info.ingress_id == ingress.ingress_id
    assert info.state.status == ingress_pb.IngressState.Status.ENDPOINT_PUBLISHING
    assert [t.type for t in info.state.tracks] == [models.TrackType.VIDEO, models.TrackType.AUDIO]
    joined = (await inbox.wait_for("participant_joined", "stage-1", "studio-cam")).event
    participant = joined.participant
    assert participant.kind == models.ParticipantInfo.Kind.INGRESS
    assert (participant.name, participant.metadata) == ("Studio", '{"role":"ingress"}')
    assert participant.attributes["ingress.ingressID"] == ingress.ingress_id
    assert info.state.room_id == joined.room.sid
    await inbox.wait_for_count(lambda e: e.event == "track_published", 2)
    # The room's lane is ordered; ingress_started has a lane of its own (the ingress id).
    room_lane = [k for k in inbox.kinds_for("stage-1") if k != "ingress_started"]
    assert room_lane == ["room_started", "participant_joined", "track_published", "track_published"]
    (listed,) = (await lkapi.ingress.list_ingress(ingress_pb.ListIngressRequest())).items
    assert listed.state.status == ingress_pb.IngressState.Status.ENDPOINT_PUBLISHING

    await control("ingress/drop", ingress_id=ingress.ingress_id)

    ended = (await inbox.wait_for("ingress_ended", "stage-1")).event.ingress_info
    assert ended.state.status == ingress_pb.IngressState.Status.ENDPOINT_INACTIVE
    left = (await inbox.wait_for("participant_left", "stage-1", "studio-cam")).event
    assert left.participant.sid == participant.sid


async def test_an_encoder_with_an_unknown_or_deleted_stream_key_is_refused(
    lkapi: LiveKitAPI, emulator: LiveKitEmulator
) -> None:
    ingress = await lkapi.ingress.create_ingress(rtmp_ingress())
    assert (await control_status(emulator, "ingress/connect", stream_key="nope"))[0] == 404

    await lkapi.ingress.delete_ingress(
        ingress_pb.DeleteIngressRequest(ingress_id=ingress.ingress_id)
    )

    status, body = await control_status(emulator, "ingress/connect", stream_key=ingress.stream_key)
    assert (status, body) == (404, {"error": "ingress does not exist"})


async def test_delete_ingress_of_a_publishing_ingress_drops_its_encoder_first(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    ingress = await lkapi.ingress.create_ingress(rtmp_ingress())
    await control("ingress/connect", ingress_id=ingress.ingress_id)
    await inbox.wait_for("ingress_started", "stage-1")

    deleted = await lkapi.ingress.delete_ingress(
        ingress_pb.DeleteIngressRequest(ingress_id=ingress.ingress_id)
    )

    assert deleted.state.status == ingress_pb.IngressState.Status.ENDPOINT_INACTIVE
    await inbox.wait_for("ingress_ended", "stage-1")
    await inbox.wait_for("participant_left", "stage-1", "studio-cam")
    assert (await control("state"))["ingresses"] == []
    counts = (await control("calls"))["counts"]
    assert counts["CreateIngress"]["ok"] == counts["DeleteIngress"]["ok"] == 1


async def test_an_ingress_whose_room_finishes_ends(
    lkapi: LiveKitAPI, control: Control, inbox: WebhookInbox
) -> None:
    ingress = await lkapi.ingress.create_ingress(rtmp_ingress())
    await control("ingress/connect", stream_key=ingress.stream_key)

    await control("rooms/finish", room="stage-1")

    await inbox.wait_for("ingress_ended", "stage-1")
    (listed,) = (await lkapi.ingress.list_ingress(ingress_pb.ListIngressRequest())).items
    assert listed.state.status == ingress_pb.IngressState.Status.ENDPOINT_INACTIVE
    # The endpoint is reusable: the encoder may connect again.
    await control("ingress/connect", stream_key=ingress.stream_key)

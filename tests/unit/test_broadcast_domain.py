"""Broadcast rules without I/O: the role table of LiveKit tokens, who gets credentials, the
LiveKit room a session gets, and webhooks turned into room events."""

import datetime as real_datetime
import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from costream.room.v1 import room_pb2
from livekit.api import AccessToken, TokenVerifier, VideoGrants
from livekit.api import access_token as livekit_access_token
from livekit.protocol import egress as egress_pb
from livekit.protocol import ingress as ingress_pb
from livekit.protocol import models
from livekit.protocol.webhook import WebhookEvent

from services.broadcast import domain
from services.broadcast.domain import Role, RoomAccess
from services.common.errors import FailedPrecondition, PermissionDenied

KEY = "unit-key"
SECRET = "unit-secret-0123456789-0123456789-abc"
TTL = timedelta(seconds=900)
URL = "wss://live.example.test"


def minter() -> domain.TokenMinter:
    return domain.TokenMinter(KEY, SECRET, TTL, URL)


def access(**overrides: object) -> RoomAccess:
    values: dict[str, object] = {
        "room_id": "room-1",
        "host_user_id": "hana",
        "ended": False,
        "deleted": False,
        "live_chat_enabled": False,
        "role": None,
        "banned": False,
    }
    values.update(overrides)
    return RoomAccess(**values)  # type: ignore[arg-type]


def decode(token: str):
    return TokenVerifier(KEY, SECRET).verify(token)


def test_host_token_has_exactly_the_host_grants():
    creds = minter().mint("hana", "room-1", Role.HOST)
    claims = decode(creds.token)
    assert claims.identity == "hana"
    assert claims.attributes == {"role": "host"}
    # Exactly the table: nothing more (no admin, create, list, record, hidden grants).
    assert claims.video == VideoGrants(
        room_join=True,
        room="room-1",
        can_publish=True,
        can_publish_sources=["camera", "microphone", "screen_share", "screen_share_audio"],
        can_subscribe=True,
        can_publish_data=True,
    )
    assert creds.url == URL


def test_co_host_token_publishes_camera_and_microphone_only():
    claims = decode(minter().mint("cole", "room-1", Role.CO_HOST).token)
    assert claims.identity == "cole"
    assert claims.attributes == {"role": "co_host"}
    assert claims.video == VideoGrants(
        room_join=True,
        room="room-1",
        can_publish=True,
        can_publish_sources=["camera", "microphone"],
        can_subscribe=True,
        can_publish_data=True,
    )


@pytest.mark.parametrize("live_chat", [False, True])
def test_viewer_token_never_publishes_media_and_sends_data_only_with_live_chat(live_chat):
    claims = decode(minter().mint("vic", "room-1", Role.VIEWER, live_chat_enabled=live_chat).token)
    assert claims.identity == "vic"
    assert claims.attributes == {"role": "viewer"}
    assert claims.video == VideoGrants(
        room_join=True,
        room="room-1",
        can_publish=False,
        can_subscribe=True,
        can_publish_data=live_chat,
    )
    assert claims.video.can_publish_sources is None


def test_token_expires_after_the_ttl_and_says_so():
    before = int(time.time())
    creds = minter().mint("hana", "room-1", Role.HOST)
    exp = jwt.decode(creds.token, options={"verify_signature": False})["exp"]
    assert before + 900 <= exp <= int(time.time()) + 900
    assert creds.expire_time == datetime.fromtimestamp(exp, UTC)


class FrozenClock:
    """livekit-api's access_token module with `datetime.datetime.now` stopped at `at`."""

    def __init__(self, at: datetime) -> None:
        at_ = at

        class Stopped(datetime):
            @classmethod
            def now(cls, tz=None):
                return at_.astimezone(tz)

        self.datetime = Stopped
        self.timezone = real_datetime.timezone
        self.timedelta = real_datetime.timedelta


TOKEN_CASES = [
    ("hana", "room-1", Role.HOST, False),
    ("cole", "room-1", Role.CO_HOST, True),
    ("vic", "room-1", Role.VIEWER, False),
    ("vic", "room-1", Role.VIEWER, True),
    ("vic", "room-2", Role.VIEWER, True),  # another room: claims of its own
    ('Zoë ✓ "quoted"', "room-1", Role.VIEWER, True),  # JSON escapes in the identity
    *[("abcdef"[:n], "room-1", Role.VIEWER, False) for n in range(1, 7)],  # every padding
]
MOMENTS = [
    datetime(2026, 12, 2, 18, 0, 0, tzinfo=UTC),
    datetime(2026, 12, 2, 18, 0, 0, 999_999, tzinfo=UTC),  # just before a second ends
    datetime(2031, 1, 1, 23, 59, 59, 500_000, tzinfo=UTC),
]


@pytest.mark.parametrize("at", MOMENTS)
@pytest.mark.parametrize(("user", "room", "role", "live_chat"), TOKEN_CASES)
def test_tokens_are_byte_for_byte_what_livekit_api_access_token_signs(
    monkeypatch, at, user, room, role, live_chat
):
    ttls = [TTL, timedelta(seconds=60), timedelta(minutes=15, microseconds=600_000)]
    for ttl in ttls:
        monkeypatch.setattr(livekit_access_token, "datetime", FrozenClock(at))
        theirs = (
            AccessToken(KEY, SECRET)
            .with_identity(user)
            .with_ttl(ttl)
            .with_grants(domain.video_grants(room, role, live_chat))
            .with_attributes({"role": role.value})
            .to_jwt()
        )
        monkeypatch.undo()
        creds = domain.TokenMinter(KEY, SECRET, ttl, URL).mint(
            user, room, role, live_chat_enabled=live_chat, now=at
        )
        # Twice: the claims kept for the room and role are not changed by the first token.
        again = domain.TokenMinter(KEY, SECRET, ttl, URL).mint(
            user, room, role, live_chat_enabled=live_chat, now=at
        )
        assert creds.token == theirs == again.token
        exp = jwt.decode(theirs, options={"verify_signature": False})["exp"]
        assert creds.expire_time == datetime.fromtimestamp(exp, UTC)


def test_a_token_without_identity_or_room_is_refused_as_access_token_refuses_it():
    for user, room in [("", "room-1"), ("vic", "")]:
        with pytest.raises(ValueError, match="identity and room must be set"):
            minter().mint(user, room, Role.VIEWER)


def test_token_signed_with_another_secret_is_refused():
    token = minter().mint("hana", "room-1", Role.HOST).token
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(KEY, SECRET + "x").verify(token)


def test_token_lifetime_is_the_minters_ttl():
    short = domain.TokenMinter(KEY, SECRET, timedelta(seconds=60), URL)
    claims = jwt.decode(short.mint("hana", "room-1", Role.HOST).token, SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["nbf"] == 60
    assert claims["sub"] == "hana"
    assert claims["iss"] == KEY


def raw_video_claims(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"])["video"]


@pytest.mark.parametrize(
    ("role", "sources"),
    [
        (Role.HOST, ["camera", "microphone", "screen_share", "screen_share_audio"]),
        (Role.CO_HOST, ["camera", "microphone"]),
    ],
)
def test_a_broadcaster_token_spells_out_every_grant_of_the_table(role, sources):
    # Written in the token, not left to LiveKit's defaults.
    assert raw_video_claims(minter().mint("u", "room-1", role).token) == {
        "roomJoin": True,
        "room": "room-1",
        "canPublish": True,
        "canPublishSources": sources,
        "canSubscribe": True,
        "canPublishData": True,
    }


@pytest.mark.parametrize("live_chat", [False, True])
def test_a_viewer_token_spells_out_every_grant_of_the_table(live_chat):
    token = minter().mint("vic", "room-1", Role.VIEWER, live_chat_enabled=live_chat).token
    assert raw_video_claims(token) == {
        "roomJoin": True,
        "room": "room-1",
        "canPublish": False,
        "canSubscribe": True,
        "canPublishData": live_chat,
    }


def test_a_viewer_sends_no_data_unless_live_chat_is_asked_for():
    assert decode(minter().mint("vic", "room-1", Role.VIEWER).token).video.can_publish_data is False


def test_minter_repr_names_the_key_and_ttl_but_hides_the_secret():
    shown = repr(minter())
    assert SECRET not in shown
    assert "unit-key" in shown and "0:15:00" in shown


def test_a_changed_stage_is_permission_denied_not_on_stage():
    error = domain.stage_changed()
    assert isinstance(error, PermissionDenied)
    assert error.reason == "NOT_ON_STAGE"
    assert "ask again" in error.message


def test_host_and_co_host_broadcast():
    assert domain.broadcaster_role(access(role=Role.HOST)) is Role.HOST
    assert domain.broadcaster_role(access(role=Role.CO_HOST)) is Role.CO_HOST


@pytest.mark.parametrize(
    ("overrides", "error", "reason"),
    [
        ({"role": None}, PermissionDenied, "NOT_ON_STAGE"),
        ({"role": Role.CO_HOST, "banned": True}, PermissionDenied, "USER_BANNED"),
        ({"role": None, "banned": True, "ended": True}, PermissionDenied, "USER_BANNED"),
        ({"role": Role.HOST, "ended": True}, FailedPrecondition, "ROOM_ENDED"),
        ({"role": Role.HOST, "deleted": True, "ended": True}, FailedPrecondition, "ROOM_ENDED"),
        ({"role": Role.HOST, "deleted": True}, FailedPrecondition, "ROOM_ENDED"),
    ],
)
def test_broadcaster_refusals(overrides, error, reason):
    with pytest.raises(error) as e:
        domain.broadcaster_role(access(**overrides))
    assert e.value.reason == reason


def test_a_viewer_asking_to_broadcast_is_told_what_only_the_stage_may_do():
    with pytest.raises(PermissionDenied) as e:
        domain.broadcaster_role(access(role=None))
    assert "broadcast" in e.value.message


def test_viewers_watch_unless_banned_or_the_room_ended():
    assert domain.check_viewer(access()) is None
    with pytest.raises(PermissionDenied) as banned:
        domain.check_viewer(access(banned=True, user_id="vic"))
    assert banned.value.reason == "USER_BANNED"
    assert banned.value.metadata == {"user_id": "vic"}
    for overrides in ({"ended": True}, {"deleted": True}):
        with pytest.raises(FailedPrecondition) as ended:
            domain.check_viewer(access(**overrides))
        assert ended.value.reason == "ROOM_ENDED"
        assert "room-1" in ended.value.message


@pytest.mark.parametrize(
    ("token_ttl", "reconnect_timeout", "empty_timeout", "departure_timeout"),
    [(900, 180, 960, 210), (60, 0, 120, 30)],
)
def test_livekit_room_outlives_the_reconnect_window_and_the_first_token(
    token_ttl, reconnect_timeout, empty_timeout, departure_timeout
):
    room = room_pb2.Room(room_id="room-1", host_user_id="hana", title="Jam")
    request = domain.create_room_request(
        room, token_ttl=token_ttl, reconnect_timeout=reconnect_timeout
    )
    assert request.name == "room-1"
    assert request.empty_timeout == empty_timeout
    assert request.departure_timeout == departure_timeout
    assert request.max_participants == 10_000
    assert request.metadata == domain.room_metadata(room)


def test_livekit_room_metadata_mirrors_the_room_and_marks_it_ours():
    room = room_pb2.Room(
        room_id="room-1",
        host_user_id="hana",
        title="Friday jam",
        description="not mirrored",
        status=room_pb2.ROOM_STATUS_WAITING_RECONNECT,
        seat_template=room_pb2.SEAT_TEMPLATE_VIDEO_LANDSCAPE_4,
    )
    room.metadata.update({"genre": "jazz", "n": 2})

    metadata = domain.room_metadata(room)

    assert json.loads(metadata) == {
        "room_id": "room-1",
        "title": "Friday jam",
        "status": "waiting_reconnect",
        "host_user_id": "hana",
        "seat_template": "video_landscape_4",
        "recording_status": "unspecified",
        "metadata": {"genre": "jazz", "n": 2},
    }
    assert domain.is_ours(models.Room(name="room-1", metadata=metadata))
    assert not domain.is_ours(models.Room(name="room-2", metadata=metadata))


@pytest.mark.parametrize("live_chat_enabled", [False, True])
def test_participant_permission_is_the_role_table_as_the_tokens_grant_it(live_chat_enabled):
    for role in Role:
        permission = domain.participant_permission(role, live_chat_enabled)
        grants = domain.video_grants("room-1", role, live_chat_enabled)
        assert permission.can_publish == grants.can_publish
        assert permission.can_subscribe is True
        assert permission.can_publish_data == grants.can_publish_data
        names = [models.TrackSource.Name(s).lower() for s in permission.can_publish_sources]
        assert names == list(grants.can_publish_sources or [])
    viewer = domain.participant_permission(Role.VIEWER, live_chat_enabled)
    assert (viewer.can_publish, list(viewer.can_publish_sources)) == (False, [])
    co_host = domain.participant_permission(Role.CO_HOST, live_chat_enabled)
    assert list(co_host.can_publish_sources) == [
        models.TrackSource.CAMERA,
        models.TrackSource.MICROPHONE,
    ]


def test_an_unspecified_role_is_a_viewers():
    assert domain.role_of(room_pb2.PARTICIPANT_ROLE_UNSPECIFIED) is Role.VIEWER
    assert domain.role_of(room_pb2.PARTICIPANT_ROLE_CO_HOST) is Role.CO_HOST
    assert domain.role_of(room_pb2.PARTICIPANT_ROLE_HOST) is Role.HOST


def test_tracks_to_mute_are_those_of_the_sources_not_in_that_state_yet():
    participant = models.ParticipantInfo(
        tracks=[
            models.TrackInfo(sid="TR_cam", source=models.TrackSource.CAMERA),
            models.TrackInfo(sid="TR_mic", source=models.TrackSource.MICROPHONE, muted=True),
            models.TrackInfo(sid="TR_screen", source=models.TrackSource.SCREEN_SHARE),
        ]
    )
    mic, cam = room_pb2.TRACK_SOURCE_MICROPHONE, room_pb2.TRACK_SOURCE_CAMERA
    assert domain.tracks_to_mute(participant, [], True) == ["TR_cam", "TR_screen"]
    assert domain.tracks_to_mute(participant, [cam, mic], True) == ["TR_cam"]
    assert domain.tracks_to_mute(participant, [mic], True) == []
    assert domain.tracks_to_mute(participant, [mic], False) == ["TR_mic"]
    screen_audio = room_pb2.TRACK_SOURCE_SCREEN_SHARE_AUDIO
    assert domain.tracks_to_mute(participant, [screen_audio], True) == []


def _participant_event(event: str, **participant: object) -> WebhookEvent:
    return WebhookEvent(
        id="EV_1",
        event=event,
        created_at=1_700_000_000,
        room=models.Room(
            name="room-1",
            sid="RM_1",
            metadata=domain.room_metadata(room_pb2.Room(room_id="room-1", host_user_id="h")),
        ),
        participant=models.ParticipantInfo(**participant),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("event", ["participant_left", "participant_connection_aborted"])
def test_a_departure_with_an_unknown_reason_says_unknown_reason(event):
    out = domain.to_room_event(_participant_event(event, identity="hana", disconnect_reason=999))
    assert out is not None
    assert out.disconnect_reason == "UNKNOWN_REASON"


def test_a_connection_aborted_carries_its_reason():
    out = domain.to_room_event(
        _participant_event(
            "participant_connection_aborted",
            identity="hana",
            disconnect_reason=models.DisconnectReason.SIGNAL_CLOSE,
        )
    )
    assert out is not None
    assert out.disconnect_reason == "SIGNAL_CLOSE"


def test_a_join_carries_no_disconnect_reason_and_a_viewer_does_not_publish():
    out = domain.to_room_event(
        _participant_event(
            "participant_joined",
            sid="PA_3",
            identity="vic",
            disconnect_reason=models.DisconnectReason.CLIENT_INITIATED,
            permission=models.ParticipantPermission(can_publish=False, can_subscribe=True),
        )
    )
    assert out is not None
    assert (out.event, out.participant_identity, out.participant_sid) == (
        "participant_joined",
        "vic",
        "PA_3",
    )
    assert out.disconnect_reason == ""
    assert out.participant_can_publish is False


def test_an_event_without_a_time_has_no_create_time():
    event = _participant_event("participant_joined", identity="vic")
    event.created_at = 0
    out = domain.to_room_event(event)
    assert out is not None
    assert not out.HasField("create_time")


@pytest.mark.parametrize("name", ["track_published", "track_unpublished"])
def test_a_track_event_carries_the_track_and_its_participant(name):
    event = _participant_event(name, sid="PA_1", identity="hana")
    event.track.CopyFrom(models.TrackInfo(sid="TR_1"))
    out = domain.to_room_event(event)
    assert out is not None
    assert (out.event, out.track_sid, out.participant_identity) == (name, "TR_1", "hana")
    assert out.egress_id == "" and not out.HasField("playback")


def test_room_finished_of_our_session_is_a_room_event_without_a_participant():
    event = WebhookEvent(
        id="EV_3",
        event="room_finished",
        created_at=1_700_000_001,
        room=models.Room(
            name="room-1",
            sid="RM_1",
            metadata=domain.room_metadata(room_pb2.Room(room_id="room-1", host_user_id="h")),
        ),
    )
    out = domain.to_room_event(event)
    assert out is not None
    assert (out.event_id, out.event, out.room_name, out.room_sid) == (
        "EV_3",
        "room_finished",
        "room-1",
        "RM_1",
    )
    assert out.participant_identity == "" and out.track_sid == ""
    assert out.create_time.seconds == 1_700_000_001


def test_participant_left_becomes_a_room_event_with_its_reason():
    event = _participant_event(
        "participant_left",
        sid="PA_1",
        identity="hana",
        disconnect_reason=models.DisconnectReason.DUPLICATE_IDENTITY,
        permission=models.ParticipantPermission(can_publish=True),
    )
    out = domain.to_room_event(event)
    assert out is not None
    assert (out.event_id, out.event, out.room_name, out.room_sid) == (
        "EV_1",
        "participant_left",
        "room-1",
        "RM_1",
    )
    assert (out.participant_identity, out.participant_sid) == ("hana", "PA_1")
    assert out.disconnect_reason == "DUPLICATE_IDENTITY"
    assert out.participant_can_publish is True
    assert out.create_time.seconds == 1_700_000_000


@pytest.mark.parametrize(
    "metadata", ["", "not json", "null", '{"room_id": "room-2"}', '{"host_user_id": "h"}', "[1]"]
)
def test_events_of_a_livekit_room_we_did_not_create_are_not_room_events(metadata):
    event = _participant_event("participant_joined", identity="v", sid="PA_1")
    event.room.metadata = metadata
    assert domain.to_room_event(event) is None


def test_a_livekit_room_we_created_is_ours():
    room = room_pb2.Room(room_id="room-1", host_user_id="h")
    request = domain.create_room_request(room, token_ttl=900, reconnect_timeout=180)
    assert domain.is_ours(models.Room(name="room-1", metadata=request.metadata))
    assert not domain.is_ours(models.Room(name="room-2", metadata=request.metadata))


@pytest.mark.parametrize(
    "kind",
    [
        models.ParticipantInfo.EGRESS,
        models.ParticipantInfo.SIP,
        models.ParticipantInfo.AGENT,
    ],
)
def test_events_of_recorders_and_agents_are_not_room_events(kind):
    event = _participant_event("participant_joined", sid="PA_2", identity="EG_x", kind=kind)
    assert domain.to_room_event(event) is None


def test_egress_ended_with_a_file_carries_the_playback():
    info = egress_pb.EgressInfo(
        egress_id="EG_1",
        room_id="RM_1",
        room_name="room-1",
        status=egress_pb.EgressStatus.EGRESS_COMPLETE,
        file_results=[
            egress_pb.FileInfo(filename="a.mp4", location="s3://b/a.mp4", duration=61_500_000_000)
        ],
    )
    event = WebhookEvent(id="EV_2", event="egress_ended", egress_info=info)
    out = domain.to_room_event(event)
    assert out is not None
    assert (out.room_name, out.room_sid, out.egress_id) == ("room-1", "RM_1", "EG_1")
    assert out.egress_status == "EGRESS_COMPLETE"
    assert out.playback.url == "s3://b/a.mp4"
    assert (out.playback.duration.seconds, out.playback.duration.nanos) == (61, 500_000_000)


def test_egress_ended_of_a_room_without_our_metadata_is_still_a_room_event():
    info = egress_pb.EgressInfo(egress_id="EG_1", status=egress_pb.EgressStatus.EGRESS_FAILED)
    event = WebhookEvent(
        id="EV_4",
        event="egress_ended",
        room=models.Room(name="room-1", sid="RM_1"),
        egress_info=info,
    )
    out = domain.to_room_event(event)
    assert out is not None
    # The webhook's room names the session when the egress info does not.
    assert (out.room_name, out.room_sid, out.egress_id) == ("room-1", "RM_1", "EG_1")
    assert out.egress_status == "EGRESS_FAILED"
    assert not out.HasField("playback")


def test_egress_with_an_unknown_status_has_no_status_name():
    info = egress_pb.EgressInfo(egress_id="EG_1", room_name="room-1", status=999)
    out = domain.to_room_event(WebhookEvent(id="EV_5", event="egress_ended", egress_info=info))
    assert out is not None
    assert out.egress_status == ""


def test_egress_with_the_legacy_file_field_carries_the_playback():
    info = egress_pb.EgressInfo(
        egress_id="EG_1",
        room_id="RM_1",
        room_name="room-1",
        status=egress_pb.EgressStatus.EGRESS_COMPLETE,
        file=egress_pb.FileInfo(filename="rec/a.mp4", duration=3_000_000_001),
    )
    out = domain.to_room_event(WebhookEvent(id="EV_6", event="egress_ended", egress_info=info))
    assert out is not None
    assert out.playback.url == "rec/a.mp4"  # no location: the filename
    assert (out.playback.duration.seconds, out.playback.duration.nanos) == (3, 1)


def test_egress_playback_is_the_first_file_result():
    info = egress_pb.EgressInfo(
        egress_id="EG_1",
        room_name="room-1",
        file_results=[
            egress_pb.FileInfo(location="s3://b/first.mp4", duration=2 * 10**9),
            egress_pb.FileInfo(location="s3://b/second.mp4", duration=10**9),
        ],
        file=egress_pb.FileInfo(location="s3://b/legacy.mp4"),
    )
    out = domain.to_room_event(WebhookEvent(id="EV_7", event="egress_ended", egress_info=info))
    assert out is not None
    assert out.playback.url == "s3://b/first.mp4"
    assert (out.playback.duration.seconds, out.playback.duration.nanos) == (2, 0)


@pytest.mark.parametrize(
    "info",
    [
        egress_pb.EgressInfo(egress_id="EG_1", room_name="room-1"),
        egress_pb.EgressInfo(
            egress_id="EG_1", room_name="room-1", file_results=[egress_pb.FileInfo(duration=5)]
        ),
        egress_pb.EgressInfo(egress_id="EG_1", room_name="room-1", file=egress_pb.FileInfo()),
    ],
    ids=["no-file", "file-without-location", "empty-legacy-file"],
)
def test_egress_without_a_file_location_has_no_playback(info):
    out = domain.to_room_event(WebhookEvent(id="EV_8", event="egress_ended", egress_info=info))
    assert out is not None
    assert out.egress_id == "EG_1"
    assert not out.HasField("playback")


# --- what LiveKit holds, for reconciliation; direct streaming's ingress -----------------------


def test_a_room_livekit_does_not_have_does_not_exist():
    state = domain.livekit_room_state(None, [])
    assert not state.exists and not state.room_sid and not state.participants


def test_livekit_room_state_keeps_people_and_ingresses_marked_and_leaves_out_the_rest():
    metadata = domain.room_metadata(room_pb2.Room(room_id="r1", host_user_id="host"))
    room = models.Room(name="r1", sid="RM_1", metadata=metadata, creation_time=1_800_000_000)
    participants = [
        models.ParticipantInfo(
            sid="PA_1",
            identity="host",
            kind=models.ParticipantInfo.INGRESS,
            joined_at=1_800_000_005,
            permission=models.ParticipantPermission(can_publish=True),
        ),
        models.ParticipantInfo(sid="PA_2", identity="vic", joined_at=1_800_000_006),
        models.ParticipantInfo(sid="PA_3", identity="EG_x", kind=models.ParticipantInfo.EGRESS),
        models.ParticipantInfo(sid="PA_4", identity="bot", kind=models.ParticipantInfo.AGENT),
    ]
    state = domain.livekit_room_state(room, participants)
    assert (state.exists, state.room_sid, state.ours) == (True, "RM_1", True)
    assert state.create_time.seconds == 1_800_000_000
    assert [(p.sid, p.identity, p.can_publish, p.ingress, p.join_time.seconds) for p in
            state.participants] == [
        ("PA_1", "host", True, True, 1_800_000_005),
        ("PA_2", "vic", False, False, 1_800_000_006),
    ]  # fmt: skip


def test_a_livekit_room_someone_else_opened_is_not_ours():
    state = domain.livekit_room_state(models.Room(name="r1", sid="RM_9", metadata="{}"), [])
    assert state.exists and not state.ours


def test_the_ingress_of_a_direct_room_joins_as_its_host_transcoded():
    request = domain.create_ingress_request(room_pb2.Room(room_id="r1", host_user_id="hana"))
    assert request.input_type == ingress_pb.RTMP_INPUT
    assert (request.name, request.room_name) == ("r1", "r1")
    assert (request.participant_identity, request.participant_name) == ("hana", "hana")
    assert request.participant_metadata == '{"role":"host"}'
    assert request.enable_transcoding is True


def test_stream_settings_are_the_ingress_url_and_key_and_the_configured_whip_url():
    info = ingress_pb.IngressInfo(url="rtmp://lk/live", stream_key="SECRET-KEY")
    settings = domain.stream_settings(info, "https://lk/w")
    assert (settings.rtmp_url, settings.stream_key, settings.whip_url) == (
        "rtmp://lk/live",
        "SECRET-KEY",
        "https://lk/w",
    )
    assert "SECRET-KEY" not in repr(settings)

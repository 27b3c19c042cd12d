"""The webhook endpoint's checks without I/O: a webhook is verified as livekit-api's
WebhookReceiver verifies it, and parse_webhook (which reads only the fields to_room_event uses)
gives the same room event as WebhookReceiver's full parse, on LiveKit-shaped events with
fields unknown to livekit-protocol, and refuses what json_format refuses in those fields."""

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from google.protobuf.json_format import MessageToDict, MessageToJson, Parse, ParseError
from livekit.api import AccessToken, TokenVerifier, WebhookReceiver
from livekit.protocol import egress as egress_pb
from livekit.protocol import models
from livekit.protocol.webhook import WebhookEvent

from services.broadcast import domain
from services.broadcast.webhooks import verify_webhook

KEY = "unit-key"
SECRET = "unit-secret-0123456789-0123456789-abc"
VERIFIER = TokenVerifier(KEY, SECRET)
ROOM = models.Room(
    name="room-1",
    sid="RM_1",
    metadata=domain.room_metadata("room-1", "hana"),
    num_participants=3,
    num_publishers=1,
    creation_time=1_767_225_000,
    empty_timeout=960,
    departure_timeout=210,
    max_participants=10_000,
    enabled_codecs=[models.Codec(mime="video/H264"), models.Codec(mime="audio/opus")],
    version=models.TimedVersion(unix_micro=1_767_225_000_123_456, ticks=7),
)
TRACK = models.TrackInfo(
    sid="TR_1",
    type=models.TrackType.VIDEO,
    name="camera",
    width=1280,
    height=720,
    source=models.TrackSource.CAMERA,
    mime_type="video/H264",
    layers=[models.VideoLayer(quality=models.VideoQuality.HIGH, width=1280, height=720)],
)


def participant(**fields: object) -> models.ParticipantInfo:
    values: dict = {
        "sid": "PA_1",
        "identity": "hana",
        "name": "Hana",
        "state": models.ParticipantInfo.ACTIVE,
        "joined_at": 1_767_225_100,
        "joined_at_ms": 1_767_225_100_250,
        "version": 3,
        "region": "eu",
        "attributes": {"role": "host"},
        "permission": models.ParticipantPermission(
            can_publish=True, can_subscribe=True, can_publish_data=True
        ),
        "tracks": [TRACK],
    }
    values.update(fields)
    return models.ParticipantInfo(**values)


def event(kind: str, **fields: object) -> WebhookEvent:
    return WebhookEvent(id=f"EV_{kind}", event=kind, created_at=1_767_225_200, **fields)


EGRESS = egress_pb.EgressInfo(
    egress_id="EG_1",
    room_id="RM_1",
    room_name="room-1",
    status=egress_pb.EgressStatus.EGRESS_COMPLETE,
    started_at=1_767_225_000_000_000_000,
    ended_at=1_767_225_090_000_000_000,
    details="done",
    room_composite=egress_pb.RoomCompositeEgressRequest(room_name="room-1", layout="grid"),
    file_results=[
        egress_pb.FileInfo(
            filename="a.mp4", location="s3://b/a.mp4", duration=61_500_000_000, size=12345
        )
    ],
)

EVENTS = {
    "room_started": event("room_started", room=ROOM),
    "room_finished": event("room_finished", room=ROOM),
    "host_joined": event("participant_joined", room=ROOM, participant=participant()),
    "viewer_joined": event(
        "participant_joined",
        room=ROOM,
        participant=participant(
            sid="PA_2",
            identity="vic",
            permission=models.ParticipantPermission(can_subscribe=True),
            tracks=[],
        ),
    ),
    "host_left": event(
        "participant_left",
        room=ROOM,
        participant=participant(
            state=models.ParticipantInfo.DISCONNECTED,
            disconnect_reason=models.DisconnectReason.DUPLICATE_IDENTITY,
        ),
    ),
    "aborted": event(
        "participant_connection_aborted",
        room=ROOM,
        participant=participant(disconnect_reason=models.DisconnectReason.SIGNAL_CLOSE),
    ),
    "track_published": event("track_published", room=ROOM, participant=participant(), track=TRACK),
    "recorder_joined": event(
        "participant_joined",
        room=ROOM,
        participant=participant(identity="EG_x", kind=models.ParticipantInfo.EGRESS),
    ),
    "not_our_room": event("participant_joined", room=models.Room(name="room-1", sid="RM_9")),
    "egress_ended": event("egress_ended", room=ROOM, egress_info=EGRESS),
    "egress_legacy_file": event(
        "egress_ended",
        egress_info=egress_pb.EgressInfo(
            egress_id="EG_2",
            room_name="room-1",
            status=egress_pb.EgressStatus.EGRESS_FAILED,
            file=egress_pb.FileInfo(filename="rec/b.mp4", duration=3_000_000_001),
        ),
    ),
}


def with_unknown_fields(body: str) -> str:
    """The same event as a newer LiveKit would send it: fields livekit-protocol does not know
    at every level, an object, a list and a string among them."""
    document = json.loads(body)
    document["futureTopLevel"] = {"nested": [1, 2, {"x": "y"}]}
    for part in ("room", "participant", "track", "egressInfo"):
        if part in document:
            document[part]["futureField"] = ["a", {"b": 1}]
            document[part]["futureScalar"] = "z"
    if "participant" in document:
        document["participant"]["permission"]["futurePermission"] = True
    return json.dumps(document)


def bodies(name: str) -> list[str]:
    """The event as LiveKit encodes it (protojson, as the emulator does), with unknown fields,
    and with proto field names (which protojson also accepts)."""
    body = MessageToJson(EVENTS[name], indent=None)
    proto_names = json.dumps(MessageToDict(EVENTS[name], preserving_proto_field_name=True))
    return [body, with_unknown_fields(body), proto_names]


def receiver_parse(body: str) -> WebhookEvent:
    """What livekit-api's WebhookReceiver returns for a body it verified."""
    return Parse(body, WebhookEvent(), ignore_unknown_fields=True)


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_parse_webhook_gives_the_room_event_of_webhook_receivers_parse(name):
    for body in bodies(name):
        full = receiver_parse(body)
        assert domain.to_room_event(domain.parse_webhook(body)) == domain.to_room_event(full)


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_parse_webhook_keeps_every_field_it_reads_as_webhook_receiver_does(name):
    """The fields of READ_FIELDS come out exactly as the full parse has them; nothing else."""

    def read(message, fields: dict) -> dict:
        out = {}
        for field_name, inner in fields.items():
            field = message.DESCRIPTOR.fields_by_name[field_name]
            value = getattr(message, field_name)
            if inner is None:
                out[field_name] = value
            elif field.is_repeated:
                out[field_name] = [read(v, inner) for v in value]
            else:
                out[field_name] = (message.HasField(field_name), read(value, inner))
        return out

    for body in bodies(name):
        parsed, full = domain.parse_webhook(body), receiver_parse(body)
        assert read(parsed, domain.READ_FIELDS) == read(full, domain.READ_FIELDS)
        kept = {f.name for f, _ in parsed.ListFields()}
        assert kept <= set(domain.READ_FIELDS)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "",
        "12",
        "null",
        "[1, 2]",
        '{"id": "EV_1", "id": "EV_2"}',  # a duplicate key
        '{"event": 12}',
        '{"createdAt": 1.5}',
        '{"room": {"name": 5}}',
        '{"participant": [1]}',
        '{"participant": {"permission": {"canPublish": "yes"}}}',
        '{"egressInfo": {"fileResults": [{"duration": "soon"}]}}',
        '{"createdAt": "12", "created_at": 12, "created_at": 13}',
    ],
)
def test_what_json_format_refuses_in_a_field_read_parse_webhook_refuses(body):
    with pytest.raises(ParseError):
        receiver_parse(body)
    with pytest.raises(ParseError):
        domain.parse_webhook(body)


def test_fields_that_are_not_read_are_not_checked():
    """The one difference from the full parse, on bodies LiveKit never sends: a wrong value in
    a field costream does not read is dropped unread."""
    body = '{"id": "EV_1", "event": "room_started", "room": {"name": "r", "numParticipants": "x"}}'
    with pytest.raises(ParseError):
        receiver_parse(body)
    assert domain.parse_webhook(body).room.name == "r"


def signed(body: str, *, secret: str = SECRET, ttl: timedelta | None = None) -> str:
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = AccessToken(KEY, secret).with_sha256(digest)
    if ttl is not None:
        token = token.with_ttl(ttl)
    return token.to_jwt()


def test_a_webhook_signed_for_its_body_is_verified_as_webhook_receiver_verifies_it():
    body = bodies("host_joined")[0]
    token = signed(body)
    WebhookReceiver(VERIFIER).receive(body, token)
    verify_webhook(VERIFIER, body.encode(), token)


def unsigned_for(body: str) -> dict[str, str]:
    other = bodies("viewer_joined")[0]
    no_hash = AccessToken(KEY, SECRET).to_jwt()
    return {
        "a bad hash": signed(other),
        "no hash": no_hash,
        "an expired token": signed(body, ttl=timedelta(minutes=-5)),
        "another secret": signed(body, secret=SECRET + "-not"),
        "another key": AccessToken("other-key", SECRET)
        .with_sha256(base64.b64encode(hashlib.sha256(body.encode()).digest()).decode())
        .to_jwt(),
        "not a token": "not-a-jwt",
        "nothing": "",
    }


@pytest.mark.parametrize(
    "case",
    [
        "a bad hash",
        "no hash",
        "an expired token",
        "another secret",
        "another key",
        "not a token",
        "nothing",
    ],
)
def test_a_webhook_webhook_receiver_refuses_is_refused(case):
    body = bodies("host_joined")[0]
    token = unsigned_for(body)[case]
    with pytest.raises(Exception):  # noqa: B017 (WebhookReceiver raises bare Exceptions)
        WebhookReceiver(VERIFIER).receive(body, token)
    with pytest.raises(Exception):  # noqa: B017
        verify_webhook(VERIFIER, body.encode(), token)


def test_a_body_changed_after_signing_is_refused():
    body = bodies("host_joined")[0]
    token = signed(body)
    tampered = body.replace("hana", "mallory")
    with pytest.raises(Exception):  # noqa: B017
        verify_webhook(VERIFIER, tampered.encode(), token)

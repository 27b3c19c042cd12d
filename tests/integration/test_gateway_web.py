"""The gateway's HTTP port (services/gateway/web.py) in-process, in front of the real
services: Connect JSON and binary, gRPC-Web, a server stream, the errors, CORS, the limits and
the console's files, each compared with what the gRPC port does."""

import asyncio
import base64
import json
import struct
import time
from collections.abc import AsyncIterator

import aiohttp
import grpc
import pytest
import yarl
from costream.gateway.v1 import gateway_service_pb2_grpc
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2

from services.common.auth import mint_user_token
from services.common.config import DEV_AUTH_JWT_SECRET
from services.gateway.web import CONSOLE_DIR
from tests.conftest import RunningService
from tests.integration.test_gateway_service import another_gateway, as_user
from tests.support import unique

PATH = "/costream.gateway.v1.GatewayService/"
ALLOWED = "http://127.0.0.1:8080"


def bearer(user: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_user_token(DEV_AUTH_JWT_SECRET, user, roles)}"}


def base_url(service: RunningService) -> str:
    return f"http://127.0.0.1:{service.spec.settings.gateway_http_port}"


def envelope(payload: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(payload)) + payload


def unenvelope(body: bytes) -> list[tuple[int, bytes]]:
    frames = []
    while body:
        flags, size = struct.unpack(">BI", body[:5])
        frames.append((flags, body[5 : 5 + size]))
        body = body[5 + size :]
    return frames


def details(error: dict) -> dict[str, object]:
    """The Connect error's details by type, decoded."""
    found: dict[str, object] = {}
    for detail in error.get("details", []):
        value = base64.b64decode(detail["value"] + "=" * (-len(detail["value"]) % 4))
        kind = {
            "google.rpc.ErrorInfo": error_details_pb2.ErrorInfo,
            "google.rpc.BadRequest": error_details_pb2.BadRequest,
        }[detail["type"]]
        found[detail["type"]] = kind.FromString(value)
    return found


@pytest.fixture(scope="module")
async def http(gateway_service) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    async with aiohttp.ClientSession() as session:
        yield session, base_url(gateway_service)


@pytest.fixture(scope="module")
async def grpc_gateway(
    gateway_service,
) -> AsyncIterator[gateway_service_pb2_grpc.GatewayServiceStub]:
    async with grpc.aio.insecure_channel(gateway_service.address) as channel:
        yield gateway_service_pb2_grpc.GatewayServiceStub(channel)


async def connect_json(
    session: aiohttp.ClientSession, url: str, method: str, body: dict, headers: dict
) -> tuple[int, dict]:
    async with session.post(
        url + PATH + method,
        json=body,
        headers={"Connect-Protocol-Version": "1", **headers},
    ) as response:
        return response.status, await response.json(content_type=None)


# --- the protocols -----------------------------------------------------------------------------


async def test_connect_json_create_and_get_room_answer_what_grpc_answers(http, grpc_gateway):
    session, url = http
    host = unique("host")
    status, created = await connect_json(
        session, url, "CreateRoom", {"title": "Friday jam", "requestId": unique("r")}, bearer(host)
    )
    assert status == 200
    assert created["hostUserId"] == host and created["status"] == "ROOM_STATUS_IDLE"

    status, fetched = await connect_json(
        session, url, "GetRoom", {"roomId": created["roomId"]}, bearer(host)
    )
    over_grpc = await grpc_gateway.GetRoom(
        rs.GetRoomRequest(room_id=created["roomId"]), **as_user(host)
    )
    assert status == 200
    assert json_format.ParseDict(fetched, room_pb2.Room()) == over_grpc


async def test_a_create_replayed_by_request_id_returns_the_same_room(http):
    session, url = http
    host, request_id = unique("host"), unique("r")
    body = {"title": "once", "requestId": request_id}
    _, first = await connect_json(session, url, "CreateRoom", body, bearer(host))
    _, again = await connect_json(session, url, "CreateRoom", body, bearer(host))
    assert again["roomId"] == first["roomId"]


async def test_connect_binary_get_room(http, grpc_gateway):
    session, url = http
    host = unique("host")
    room = await grpc_gateway.CreateRoom(rs.CreateRoomRequest(title="bin"), **as_user(host))
    async with session.post(
        url + PATH + "GetRoom",
        data=rs.GetRoomRequest(room_id=room.room_id).SerializeToString(),
        headers={"Content-Type": "application/proto", **bearer(host)},
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/proto"
        assert room_pb2.Room.FromString(await response.read()) == room


async def test_grpc_web_binary_get_room_and_its_error_trailers(http, grpc_gateway):
    session, url = http
    host = unique("host")
    room = await grpc_gateway.CreateRoom(rs.CreateRoomRequest(title="web"), **as_user(host))
    headers = {"Content-Type": "application/grpc-web+proto", "X-Grpc-Web": "1", **bearer(host)}

    request = envelope(rs.GetRoomRequest(room_id=room.room_id).SerializeToString())
    async with session.post(url + PATH + "GetRoom", data=request, headers=headers) as response:
        frames = unenvelope(await response.read())
    (data_flags, data), (trailer_flags, trailers) = frames
    assert data_flags == 0 and room_pb2.Room.FromString(data) == room
    assert trailer_flags == 0x80 and b"grpc-status: 0" in trailers

    missing = envelope(rs.GetRoomRequest(room_id="nope").SerializeToString())
    async with session.post(url + PATH + "GetRoom", data=missing, headers=headers) as response:
        status = response.headers.get("grpc-status")
        detail_bin = response.headers.get("grpc-status-details-bin")
        if status is None:  # trailers in the body
            [(_, block)] = unenvelope(await response.read())
            fields = dict(line.split(": ", 1) for line in block.decode().split("\r\n") if line)
            status, detail_bin = fields["grpc-status"], fields["grpc-status-details-bin"]
    assert status == str(grpc.StatusCode.NOT_FOUND.value[0])
    rich = status_pb2.Status.FromString(base64.b64decode(detail_bin + "=" * (-len(detail_bin) % 4)))
    info = error_details_pb2.ErrorInfo()
    rich.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("ROOM_NOT_FOUND", "costream")


TEXT = {"Content-Type": "application/grpc-web-text", "X-Grpc-Web": "1"}


def as_text(payload: bytes) -> bytes:
    return base64.b64encode(envelope(payload))


async def test_grpc_web_text_get_room_as_grpc_web_clients_send_it(http, grpc_gateway):
    session, url = http
    host = unique("host")
    room = await grpc_gateway.CreateRoom(rs.CreateRoomRequest(title="text"), **as_user(host))
    request = as_text(rs.GetRoomRequest(room_id=room.room_id).SerializeToString())
    async with session.post(
        url + PATH + "GetRoom", data=request, headers={**TEXT, **bearer(host)}
    ) as response:
        assert response.headers["content-type"].startswith("application/grpc-web-text")
        frames = unenvelope(base64.b64decode(await response.read()))
    (data_flags, data), (trailer_flags, trailers) = frames
    assert data_flags == 0 and room_pb2.Room.FromString(data) == room
    assert trailer_flags == 0x80 and b"grpc-status: 0" in trailers


def decode_groups(text: bytes) -> bytes:
    """Text-mode base64 as grpc-web reads it: 4-character groups, padded ones too."""
    return b"".join(base64.b64decode(text[i : i + 4]) for i in range(0, len(text) - 3, 4))


async def test_grpc_web_text_streams_each_watch_room_event_as_it_happens(http, grpc_gateway):
    session, url = http
    host = unique("host")
    room = await grpc_gateway.CreateRoom(rs.CreateRoomRequest(title="before"), **as_user(host))
    request = as_text(rs.WatchRoomRequest(room_id=room.room_id).SerializeToString())
    async with session.post(
        url + PATH + "WatchRoom", data=request, headers={**TEXT, **bearer(host)}
    ) as response:
        text = b""
        events: list[room_pb2.RoomEvent] = []
        updated = False
        while not any(e.kind == room_pb2.ROOM_EVENT_KIND_UPDATED for e in events):
            chunk = await asyncio.wait_for(response.content.readany(), 5)
            assert chunk, "the stream ended early"
            text += chunk
            frames = _whole_frames(decode_groups(text))
            events = [room_pb2.RoomEvent.FromString(data) for flags, data in frames if flags == 0]
            if events and not updated:
                assert events[0].kind == room_pb2.ROOM_EVENT_KIND_SNAPSHOT
                await grpc_gateway.UpdateRoom(
                    rs.UpdateRoomRequest(
                        room=room_pb2.Room(room_id=room.room_id, title="after"),
                        update_mask={"paths": ["title"]},
                    ),
                    **as_user(host),
                )
                updated = True
        assert [e.room.title for e in events if e.kind == room_pb2.ROOM_EVENT_KIND_UPDATED] == [
            "after"
        ]


def _whole_frames(body: bytes) -> list[tuple[int, bytes]]:
    """The complete frames at the start of a stream read so far."""
    frames, at = [], 0
    while at + 5 <= len(body):
        flags, size = struct.unpack(">BI", body[at : at + 5])
        if at + 5 + size > len(body):
            break
        frames.append((flags, body[at + 5 : at + 5 + size]))
        at += 5 + size
    return frames


async def test_grpc_web_text_that_is_not_base64_is_refused(http):
    session, url = http
    async with session.post(
        url + PATH + "WhoAmI", data=b"not base64!", headers={**TEXT, **bearer(unique("u"))}
    ) as response:
        assert response.status == 400


async def read_frame(response: aiohttp.ClientResponse) -> tuple[int, dict]:
    flags, size = struct.unpack(">BI", await response.content.readexactly(5))
    return flags, json.loads(await response.content.readexactly(size))


async def open_watch(
    session: aiohttp.ClientSession, url: str, room_id: str, user: str
) -> aiohttp.ClientResponse:
    return await session.post(
        url + PATH + "WatchRoom",
        data=envelope(json.dumps({"roomId": room_id}).encode()),
        headers={"Content-Type": "application/connect+json", **bearer(user)},
    )


async def test_watch_room_over_connect_streams_the_snapshot_then_the_update(http, grpc_gateway):
    session, url = http
    host = unique("host")
    room = await grpc_gateway.CreateRoom(rs.CreateRoomRequest(title="before"), **as_user(host))
    async with await open_watch(session, url, room.room_id, host) as response:
        assert response.status == 200
        _, snapshot = await asyncio.wait_for(read_frame(response), 5)
        assert snapshot["kind"] == "ROOM_EVENT_KIND_SNAPSHOT"
        assert snapshot["room"]["title"] == "before"

        status, _ = await connect_json(
            session,
            url,
            "UpdateRoom",
            {"room": {"roomId": room.room_id, "title": "after"}, "updateMask": "title"},
            bearer(host),
        )
        assert status == 200
        while True:
            flags, event = await asyncio.wait_for(read_frame(response), 5)
            assert flags == 0, event
            if event["kind"] != "ROOM_EVENT_KIND_KEEPALIVE":
                break
        assert event["kind"] == "ROOM_EVENT_KIND_UPDATED"
        assert event["room"]["title"] == "after"


# --- errors ------------------------------------------------------------------------------------


async def test_not_found_carries_the_error_info_reason(http):
    session, url = http
    status, error = await connect_json(session, url, "GetRoom", {"roomId": "nope"}, bearer("v"))
    assert (status, error["code"]) == (404, "not_found")
    info = details(error)["google.rpc.ErrorInfo"]
    assert (info.reason, info.domain) == ("ROOM_NOT_FOUND", "costream")


async def test_invalid_argument_carries_the_field_violations(http):
    session, url = http
    status, error = await connect_json(session, url, "CreateRoom", {"title": " "}, bearer("v"))
    assert (status, error["code"]) == (400, "invalid_argument")
    found = details(error)
    assert found["google.rpc.ErrorInfo"].reason == "INVALID_FIELD"
    assert {v.field for v in found["google.rpc.BadRequest"].field_violations} == {"title"}


async def test_a_body_that_does_not_parse_is_invalid_argument_on_request(http):
    session, url = http
    async with session.post(
        url + PATH + "GetRoom",
        data=b"\xff\xff\xff",
        headers={"Content-Type": "application/proto", **bearer("v")},
    ) as response:
        error = await response.json(content_type=None)
    assert error["code"] == "invalid_argument"
    bad = details(error)["google.rpc.BadRequest"]
    assert [v.field for v in bad.field_violations] == ["request"]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [({}, "MISSING_CREDENTIALS"), ({"Authorization": "Bearer not-a-jwt"}, "INVALID_CREDENTIALS")],
)
async def test_calls_without_a_valid_token_are_unauthenticated(http, headers, reason):
    session, url = http
    status, error = await connect_json(session, url, "WhoAmI", {}, headers)
    assert (status, error["code"]) == (401, "unauthenticated")
    assert details(error)["google.rpc.ErrorInfo"].reason == reason


async def test_who_am_i_answers_the_tokens_user_and_roles(http):
    session, url = http
    status, me = await connect_json(session, url, "WhoAmI", {}, bearer("ada", "admin"))
    assert (status, me) == (200, {"userId": "ada", "roles": ["admin"]})


# --- CORS --------------------------------------------------------------------------------------


async def test_a_preflight_from_an_allowed_origin_allows_the_connect_headers(http):
    session, url = http
    async with session.options(
        url + PATH + "CreateRoom",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,connect-protocol-version",
        },
    ) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
        allowed = response.headers["Access-Control-Allow-Headers"].lower()
        for header in ("authorization", "connect-protocol-version", "x-grpc-web", "grpc-timeout"):
            assert header in allowed

    host = unique("host")
    status, room = await connect_json(
        session, url, "CreateRoom", {"title": "cors"}, {"Origin": ALLOWED, **bearer(host)}
    )
    assert status == 200 and room["hostUserId"] == host


async def test_a_call_from_another_origin_is_refused_and_does_nothing(http, grpc_gateway):
    session, url = http
    evil = "http://evil.example"
    async with session.options(
        url + PATH + "CreateRoom",
        headers={"Origin": evil, "Access-Control-Request-Method": "POST"},
    ) as response:
        assert response.status == 403
        assert "Access-Control-Allow-Origin" not in response.headers

    host = unique("host")
    async with session.post(
        url + PATH + "CreateRoom",
        json={"title": "sneaky"},
        headers={"Origin": evil, **bearer(host)},
    ) as response:
        assert response.status == 403
        assert "Access-Control-Allow-Origin" not in response.headers
    rooms = await grpc_gateway.ListRooms(rs.ListRoomsRequest(host_user_id=host), **as_user(host))
    assert list(rooms.rooms) == []


# --- limits ------------------------------------------------------------------------------------


async def test_an_oversized_body_is_refused_resource_exhausted_and_creates_nothing(
    http, grpc_gateway
):
    session, url = http
    host = unique("host")
    body = json.dumps({"title": "big", "description": "x" * (5 * 1024 * 1024)}).encode()
    started = time.monotonic()
    async with session.post(
        url + PATH + "CreateRoom",
        data=body,
        headers={"Content-Type": "application/json", **bearer(host)},
    ) as response:
        error = await response.json(content_type=None)
    assert error["code"] == "resource_exhausted"
    assert time.monotonic() - started < 5
    rooms = await grpc_gateway.ListRooms(rs.ListRoomsRequest(host_user_id=host), **as_user(host))
    assert list(rooms.rooms) == []


async def test_the_rate_limit_counts_http_and_grpc_calls_alike(
    make_settings, ports, room_service, post_service, invitation_service
):
    service = await another_gateway(make_settings, ports, rate_limit_per_minute=3)
    try:
        async with (
            grpc.aio.insecure_channel(service.address) as channel,
            aiohttp.ClientSession() as session,
        ):
            stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
            url = base_url(service)
            await stub.ListRooms(rs.ListRoomsRequest(), **as_user("busy"))
            for _ in range(2):
                status, _ = await connect_json(session, url, "WhoAmI", {}, bearer("busy"))
                assert status == 200
            status, error = await connect_json(
                session, url, "CreateRoom", {"title": "one too many"}, bearer("busy")
            )
            assert error["code"] == "resource_exhausted"
            assert details(error)["google.rpc.ErrorInfo"].reason == "RATE_LIMITED"
            rooms = await stub.ListRooms(rs.ListRoomsRequest(host_user_id="busy"), **as_user("x"))
            assert list(rooms.rooms) == []
            status, me = await connect_json(session, url, "WhoAmI", {}, bearer("calm"))
            assert (status, me["userId"]) == (200, "calm")
    finally:
        await service.close()


async def test_a_user_may_hold_max_streams_over_http_and_one_more_is_too_many_streams(
    make_settings, ports, room_service, post_service, invitation_service
):
    service = await another_gateway(make_settings, ports, max_streams_per_user=2)
    try:
        async with (
            grpc.aio.insecure_channel(service.address) as channel,
            aiohttp.ClientSession() as session,
        ):
            stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
            url = base_url(service)
            host = unique("host")
            room = await stub.CreateRoom(rs.CreateRoomRequest(title="w"), **as_user(host))
            held = [await open_watch(session, url, room.room_id, host) for _ in range(2)]
            for response in held:
                assert (await read_frame(response))[1]["kind"] == "ROOM_EVENT_KIND_SNAPSHOT"

            async with await open_watch(session, url, room.room_id, host) as extra:
                flags, end = await asyncio.wait_for(read_frame(extra), 5)
            assert flags == 0x02 and end["error"]["code"] == "resource_exhausted"
            assert details(end["error"])["google.rpc.ErrorInfo"].reason == "TOO_MANY_STREAMS"
            # The gRPC port counts the same streams.
            call = stub.WatchRoom(rs.WatchRoomRequest(room_id=room.room_id), **as_user(host))
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call.read()
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

            held.pop().close()  # the client goes away: its place is free again
            for _ in range(50):
                async with await open_watch(session, url, room.room_id, host) as again:
                    flags, event = await asyncio.wait_for(read_frame(again), 5)
                if flags == 0:
                    break
                await asyncio.sleep(0.05)
            assert event["kind"] == "ROOM_EVENT_KIND_SNAPSHOT"
            for response in held:
                response.close()
    finally:
        await service.close()


async def test_a_draining_gateway_ends_http_streams_with_unavailable(
    make_settings, ports, room_service, post_service, invitation_service
):
    service = await another_gateway(make_settings, ports, shutdown_delay=0.0)
    async with aiohttp.ClientSession() as session:
        host = unique("host")
        _, room = await connect_json(
            session, base_url(service), "CreateRoom", {"title": "d"}, bearer(host)
        )
        async with await open_watch(session, base_url(service), room["roomId"], host) as watch:
            assert (await read_frame(watch))[1]["kind"] == "ROOM_EVENT_KIND_SNAPSHOT"
            closing = asyncio.create_task(service.close())
            flags, end = await asyncio.wait_for(read_frame(watch), 5)
        await closing
    assert flags == 0x02 and end["error"]["code"] == "unavailable"


# --- the console -------------------------------------------------------------------------------


async def test_the_console_is_served_with_no_cache_and_root_redirects_to_it(http):
    session, url = http
    async with session.get(url + "/", allow_redirects=False) as response:
        assert response.status in (307, 308)
        assert response.headers["Location"].endswith("/console/")
    async with session.get(url + "/console/") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.headers["Cache-Control"] == "no-cache"
        assert await response.read() == (CONSOLE_DIR / "index.html").read_bytes()


@pytest.mark.parametrize(
    "path", ["/console/../web.py", "/console/%2e%2e/web.py", "/console/..%2fweb.py"]
)
async def test_no_file_outside_the_console_is_served(http, path):
    session, url = http
    async with session.get(yarl.URL(url + path, encoded=True)) as response:
        assert response.status == 404
        assert b"import" not in await response.read()

"""What a web app sees: the gateway's HTTP port of the stack as `make run` starts it, in the
Connect protocol, next to the same calls over gRPC."""

import asyncio
import json
import struct

import aiohttp
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import json_format

from tests.support import unique, user_metadata

PATH = "/costream.gateway.v1.GatewayService/"


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": user_metadata(user)[0][1]}


async def test_a_browser_on_the_console_origin_creates_and_watches_a_room(e2e_stack, gateway):
    origin = e2e_stack.web_url
    host = unique("host")
    async with aiohttp.ClientSession(base_url=e2e_stack.web_url) as http:
        async with http.options(
            PATH + "CreateRoom",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        ) as preflight:
            assert preflight.headers["Access-Control-Allow-Origin"] == origin

        async with http.post(
            PATH + "CreateRoom",
            json={"title": "from the web"},
            headers={"Origin": origin, "Connect-Protocol-Version": "1", **bearer(host)},
        ) as response:
            assert response.status == 200
            assert response.headers["Access-Control-Allow-Origin"] == origin
            created = json_format.ParseDict(await response.json(), room_pb2.Room())
        assert created == await gateway.GetRoom(
            rs.GetRoomRequest(room_id=created.room_id), metadata=user_metadata(host)
        )

        request = json.dumps({"roomId": created.room_id}).encode()
        async with http.post(
            PATH + "WatchRoom",
            data=struct.pack(">BI", 0, len(request)) + request,
            headers={"Content-Type": "application/connect+json", **bearer(host)},
        ) as watch:

            async def event() -> dict:
                _, size = struct.unpack(">BI", await watch.content.readexactly(5))
                return json.loads(await watch.content.readexactly(size))

            assert (await asyncio.wait_for(event(), 5))["kind"] == "ROOM_EVENT_KIND_SNAPSHOT"
            await gateway.StopRoom(
                rs.StopRoomRequest(room_id=created.room_id), metadata=user_metadata(host)
            )
            changed = await asyncio.wait_for(event(), 5)
            while changed["kind"] == "ROOM_EVENT_KIND_KEEPALIVE":
                changed = await asyncio.wait_for(event(), 5)
            assert changed["room"]["status"] == "ROOM_STATUS_ENDED"


async def test_the_console_and_the_root_redirect_are_served(e2e_stack):
    async with (
        aiohttp.ClientSession(base_url=e2e_stack.web_url) as http,
        http.get("/") as response,
    ):
        assert response.status == 200
        assert response.url.path == "/console/"
        assert response.headers["Content-Type"].startswith("text/html")

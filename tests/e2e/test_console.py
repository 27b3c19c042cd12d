"""The live monitoring console (/console/ on GATEWAY_HTTP_PORT) in a real browser: Debian's
chromium driven by Playwright, against the stack and the LiveKit emulator. An admin sees a
live room, its viewer count follow viewers joining through LiveKit webhooks, its detail, bans
a viewer, stops its recording and dismisses it; a non-admin token and a bad one are refused;
the gateway answers Connect JSON from the console's own origin and not from another one.
Screenshots of the main screens land in the run's tmp dir (printed at the end of the run)."""

import asyncio
import http.server
import re
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from playwright.async_api import Browser, Page, async_playwright, expect

from services.common.auth import mint_user_token
from services.common.config import DEV_AUTH_JWT_SECRET
from tests.e2e.flow import auth, wait_status
from tests.e2e.test_livekit_stage import PUBLISHER, VIEWER, settled
from tests.support import unique
from tools.devstack import Stack, free_port

CHROMIUM = Path("/usr/bin/chromium")
# Long enough for a webhook to reach the room and its WatchRoom event the page.
SEEN = 15_000


def token(user_id: str, *roles: str) -> str:
    return mint_user_token(DEV_AUTH_JWT_SECRET, user_id, roles)


@pytest.fixture(scope="session")
def gateway_http(e2e_stack: Stack) -> str:
    """The gateway's HTTP port (GATEWAY_HTTP_PORT): Connect, gRPC-Web and the console."""
    return e2e_stack.web_url.rstrip("/")


@pytest.fixture(scope="session")
def chromium() -> Path:
    # `make test` refuses to start without it (CI installs it); a bare pytest run skips.
    if not CHROMIUM.exists():
        pytest.skip(f"the console's browser tests need Debian's chromium at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # Never a downloaded browser: the system's chromium only.
        browser = await playwright.chromium.launch(executable_path=str(chromium), headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh tab (its own sessionStorage) that fails the test on any script error."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert not errors, f"script errors on the page: {errors}"


async def sign_in(page: Page, url: str, bearer: str) -> None:
    await page.goto(f"{url}/console/")
    await page.fill("#token", bearer)
    await page.click("#sign-in-form button[type=submit]")


def row(page: Page, title: str):
    return page.locator("#rooms tbody tr", has_text=title)


async def live_room(gateway, emulator, host: str, co_host: str, title: str) -> str:
    room = await gateway.CreateRoom(
        rs.CreateRoomRequest(title=title, co_host_user_ids=[co_host], auto_record=True),
        **auth(host),
    )
    await gateway.GetBroadcastData(bs.GetBroadcastDataRequest(room_id=room.room_id), **auth(host))
    await emulator.join(room.room_id, host, permission=PUBLISHER, attributes={"role": "host"})
    await emulator.join(room.room_id, co_host, permission=PUBLISHER, attributes={"role": "co_host"})
    await wait_status(gateway, room.room_id, room_pb2.ROOM_STATUS_LIVE, host)
    return room.room_id


async def test_an_admin_watches_a_live_room_bans_a_viewer_and_dismisses_it(
    page, gateway, emulator, e2e_database, gateway_http, screenshots
):
    host, co_host = unique("host"), unique("cohost")
    viewers = [unique("viewer") for _ in range(3)]
    title = f"Console jam {unique('t')}"
    room_id = await live_room(gateway, emulator, host, co_host, title)

    await sign_in(page, gateway_http, token(unique("admin"), "admin"))
    await expect(page.locator("#whoami")).to_contain_text("admin")
    # Other tests' rooms may be live too: the filter shows ours, and puts it among the watched.
    await page.fill("#filter", title)
    ours = row(page, title)
    await expect(ours).to_have_count(1)
    await expect(ours.locator("td.roomId")).to_have_text(room_id)
    await expect(ours.locator("td.host")).to_have_text(host)
    await expect(ours.locator("td.status")).to_have_text("live")
    await expect(ours.locator("td.viewers")).to_have_text("0 / 0")
    await expect(ours.locator("td.publishers")).to_have_text("2")
    await expect(ours.locator("td.recording")).to_have_text("recording", timeout=SEEN)
    await expect(ours.locator("td.feed")).to_have_text("●")  # a WatchRoom stream
    await page.fill("#filter", "")
    await page.screenshot(path=screenshots / "02-live-rooms.png")
    await page.fill("#filter", title)

    # Viewers join through LiveKit: its webhooks reach the room, WatchRoom the page.
    for viewer in viewers:
        await gateway.GetViewerData(bs.GetViewerDataRequest(room_id=room_id), **auth(viewer))
        await emulator.join(room_id, viewer, permission=VIEWER, attributes={"role": "viewer"})
    await expect(ours.locator("td.viewers")).to_have_text("3 / 3", timeout=SEEN)
    await expect(page.locator("#total-viewers")).not_to_have_text("0")

    # The detail, from the keyboard: down to the row, Enter.
    await page.focus("#filter")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    detail = page.locator("#detail")
    await expect(detail.locator("h2")).to_have_text(title)
    stage = detail.locator("section.part", has_text="On stage")
    await expect(stage.locator("tbody tr")).to_have_count(2)
    await expect(stage.locator("tbody tr", has_text=host)).to_contain_text("connected")
    await expect(stage.locator("tbody tr", has_text=co_host)).to_contain_text("co-host")
    watching = detail.locator("section.part", has_text="Viewers")
    for viewer in viewers:
        await expect(watching.locator("tbody tr", has_text=viewer)).to_have_count(1, timeout=SEEN)
    await expect(detail.locator(".count", has_text="viewers now")).to_contain_text("3")
    await page.screenshot(path=screenshots / "03-room-detail.png")
    await detail.evaluate("node => node.scrollTo(0, node.scrollHeight)")
    await page.screenshot(path=screenshots / "03-room-detail-bottom.png")
    await detail.evaluate("node => node.scrollTo(0, 0)")

    # An error shows its code, reason and message: an admin is no moderator of the room.
    await detail.locator(f'button[data-key="mute:{co_host}"]').click()
    error = page.locator(".toast.error")
    await expect(error).to_contain_text("PERMISSION_DENIED")
    await expect(error).to_contain_text("NOT_ROOM_MODERATOR")

    # Ban a viewer: asked first, then banned and put out of LiveKit.
    troll = viewers[0]
    await detail.locator(f'button[data-key="ban-viewer:{troll}"]').click()
    dialog = page.locator("#confirm")
    await expect(dialog).to_be_visible()
    await dialog.locator("#field-reason").fill("spam in chat")
    await page.screenshot(path=screenshots / "04-ban-confirm.png")
    await dialog.locator("#confirm-ok").click()
    await expect(dialog).to_be_hidden()
    bans = detail.locator("section.part", has_text="Bans")
    await expect(bans.locator("tbody tr", has_text=troll)).to_contain_text("spam in chat")
    await expect(ours.locator("td.viewers")).to_have_text("2 / 3", timeout=SEEN)
    await expect(watching.locator("tbody tr", has_text=troll)).to_have_count(0, timeout=SEEN)

    # Stop the recording.
    await detail.locator('button[data-key="stop-recording"]').click()
    await dialog.locator("#confirm-ok").click()
    await expect(ours.locator("td.recording")).not_to_have_text("recording", timeout=SEEN)

    # Dismiss the room: it leaves the list, and the detail shows it ended.
    await detail.locator('button[data-key="dismiss"]').click()
    await dialog.locator("#field-reason").fill("violates the community guidelines")
    await dialog.locator("#confirm-ok").click()
    await expect(ours).to_have_count(0, timeout=SEEN)
    # Ended, or recorded already: the stopped recording's playback may be in.
    await expect(detail.locator(".sub")).to_contain_text(re.compile("ended|recorded"))
    await expect(detail.locator(".sub")).to_contain_text("dismissed")
    await page.screenshot(path=screenshots / "05-dismissed.png")
    ended = await gateway.GetRoom(rs.GetRoomRequest(room_id=room_id), **auth(host))
    assert ended.status in (room_pb2.ROOM_STATUS_ENDED, room_pb2.ROOM_STATUS_RECORDED)
    assert ended.end_reason == room_pb2.END_REASON_DISMISSED
    await settled(emulator, e2e_database)


async def test_rooms_beyond_the_stream_budget_are_polled_new_ones_appear_and_ended_ones_leave(
    page, gateway, emulator, gateway_http
):
    """Over HTTP/1.1 a browser opens 6 connections to an origin: the console holds 4 WatchRoom
    streams and reads the rest of the list with ListRooms every few seconds."""
    batch = unique("batch")
    hosts: dict[str, str] = {}
    for n in range(6):
        host = unique("host")
        hosts[await live_room(gateway, emulator, host, unique("cohost"), f"{batch} {n}")] = host

    await sign_in(page, gateway_http, token(unique("admin"), "admin"))
    await page.fill("#filter", batch)
    rows = page.locator("#rooms tbody tr")
    await expect(rows).to_have_count(6)
    await expect(page.locator("#rooms td.feed.on")).to_have_count(4)

    host = unique("host")
    late = await live_room(gateway, emulator, host, unique("cohost"), f"{batch} late")
    hosts[late] = host
    await expect(row(page, f"{batch} late")).to_have_count(1, timeout=SEEN)

    polled = page.locator("#rooms tbody tr", has=page.locator("td.feed:not(.on)")).first
    stopped = await polled.locator("td.roomId").inner_text()
    await gateway.StopRoom(rs.StopRoomRequest(room_id=stopped), **auth(hosts.pop(stopped)))
    gone = page.locator(f'#rooms tbody tr[data-id="{stopped}"]')
    await expect(gone).to_have_count(0, timeout=SEEN)
    await expect(rows).to_have_count(6)
    for room_id, host in hosts.items():
        await gateway.StopRoom(rs.StopRoomRequest(room_id=room_id), **auth(host))
    await expect(rows).to_have_count(0, timeout=SEEN)


async def test_a_token_without_the_admin_role_sees_an_explanation_and_no_rooms(
    page, gateway, emulator, gateway_http, screenshots
):
    host, co_host = unique("host"), unique("cohost")
    await live_room(gateway, emulator, host, co_host, f"Hidden {unique('t')}")
    await page.goto(f"{gateway_http}/console/")
    await expect(page.locator("#sign-in")).to_contain_text("costream token admin --admin")
    await page.screenshot(path=screenshots / "01-sign-in.png")

    user = unique("bob")
    await sign_in(page, gateway_http, token(user))
    refusal = page.locator("#sign-in-error")
    await expect(refusal).to_contain_text(
        f"this console is for platform admins; your token is for user {user} without the "
        "admin role",
        ignore_case=True,
    )
    await expect(page.locator("#console")).to_be_hidden()
    assert await page.locator("#rooms tbody tr").count() == 0
    await page.screenshot(path=screenshots / "06-not-an-admin.png")

    await page.fill("#token", "not-a-token")
    await page.click("#sign-in-form button[type=submit]")
    await expect(refusal).to_contain_text("UNAUTHENTICATED")
    await expect(refusal).to_contain_text("INVALID_CREDENTIALS")
    await expect(page.locator("#console")).to_be_hidden()


@pytest.fixture
def other_origin() -> Iterator[str]:
    """A page served from another port: an origin CORS_ALLOWED_ORIGINS does not name."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>elsewhere</title><p>another site</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


WHO_AM_I = """async ([url, token]) => {
  try {
    const response = await fetch(url + "/costream.gateway.v1.GatewayService/WhoAmI", {
      method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token},
      body: "{}",
    });
    return {status: response.status, body: await response.json()};
  } catch (error) {
    return {error: String(error)};
  }
}"""


async def test_connect_json_answers_the_consoles_origin_and_not_another(
    page, gateway_http, other_origin
):
    user = unique("ada")
    await page.goto(f"{gateway_http}/console/")
    same = await page.evaluate(WHO_AM_I, [gateway_http, token(user, "admin")])
    assert same == {"status": 200, "body": {"userId": user, "roles": ["admin"]}}

    await page.goto(other_origin)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    elsewhere = await page.evaluate(WHO_AM_I, [gateway_http, token(user, "admin")])
    assert elsewhere == {"error": "TypeError: Failed to fetch"}
    await asyncio.sleep(0.2)  # the console message follows the rejection
    assert any(re.search("CORS", text) for text in refused), refused

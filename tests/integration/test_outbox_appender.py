"""Rows appended to an outbox over the appender's own connection, on a database of its own: each
caller's row is committed when its append returns, callers that arrive while a commit is on its
way share the next one, a caller cancelled mid-write leaves the others unharmed, and a
connection that breaks is replaced: appends fail while the database is unreachable (the webhook
endpoint answers 503) and succeed again once it is back, without a restart."""

import asyncio
import json

import asyncpg
import pytest

from services.common.db import CONNECTION_ERRORS, Database
from services.common.events import OutboxMessage
from services.common.outbox import OutboxAppender
from tests.integration.test_livekit_webhooks import Cuttable

KIND = "test.appended"


@pytest.fixture
async def database_url(make_database):
    return await make_database()


@pytest.fixture
async def cuttable(database_url):
    relay = Cuttable(database_url)
    await relay.open()
    yield relay
    if relay._server is not None:
        await relay.cut()


@pytest.fixture
async def database(cuttable):
    db = Database(cuttable.url, 2)
    await db.open()
    yield db
    await db.close()


@pytest.fixture
async def appender(database):
    outbox = OutboxAppender(database, "room")
    yield outbox
    await outbox.close()


async def kept(url: str) -> list[tuple[str, dict]]:
    """The rows as the database has them, read past the relay (committed, seen by others)."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT kind, payload::text AS payload FROM room.outbox ORDER BY id"
        )
    finally:
        await connection.close()
    return [(row["kind"], json.loads(row["payload"])) for row in rows]


def message(n: int) -> OutboxMessage:
    return OutboxMessage(KIND, {"n": str(n), "room_id": f"room-{n % 3}"})


async def test_each_append_is_committed_when_it_returns(appender, database_url):
    for n in range(3):
        await appender.append(message(n))
        assert len(await kept(database_url)) == n + 1
    assert await kept(database_url) == [
        (KIND, {"n": str(n), "room_id": f"room-{n % 3}"}) for n in range(3)
    ]


async def test_appends_that_arrive_together_are_all_kept_once(appender, database_url):
    await asyncio.gather(*(appender.append(message(n)) for n in range(200)))
    rows = await kept(database_url)
    assert sorted(int(payload["n"]) for _, payload in rows) == list(range(200))
    assert {kind for kind, _ in rows} == {KIND}
    assert all(payload["room_id"] == f"room-{int(payload['n']) % 3}" for _, payload in rows)


async def test_appends_fail_while_the_database_is_cut_and_succeed_once_it_is_back(
    appender, cuttable, database_url
):
    await appender.append(message(0))
    await cuttable.cut()
    for n in (1, 2):
        with pytest.raises(CONNECTION_ERRORS):
            await appender.append(message(n))
    await cuttable.open()
    await appender.append(message(3))
    assert [payload["n"] for _, payload in await kept(database_url)] == ["0", "3"]


async def test_an_append_after_the_server_ended_its_connection_goes_on_a_new_one(
    appender, database_url
):
    await appender.append(message(0))
    connection = await asyncpg.connect(database_url)
    try:  # as a restart or an administrator would: every other session of the database ends
        await connection.execute(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()"""
        )
    finally:
        await connection.close()
    await appender.append(message(1))
    assert [payload["n"] for _, payload in await kept(database_url)] == ["0", "1"]


async def test_a_caller_cancelled_mid_write_is_cancelled_and_the_others_are_kept(
    appender, database_url
):
    await appender.append(message(0))  # the connection is open: the next append is mid-write
    first = asyncio.create_task(appender.append(message(1)))
    await asyncio.sleep(0)
    meanwhile = [asyncio.create_task(appender.append(message(n))) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.gather(*meanwhile)
    with pytest.raises(asyncio.CancelledError):
        await first
    await appender.append(message(5))
    kept_now = {payload["n"] for _, payload in await kept(database_url)}
    assert {"0", "2", "3", "4", "5"} <= kept_now <= {"0", "1", "2", "3", "4", "5"}

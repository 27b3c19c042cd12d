"""The outbox relay with replicas and failures, on a database of its own: a lease renewed while
a batch is worked on (a slow batch is never delivered twice), given back on a clean stop, and
run out after a crash within seconds; a relay whose lease ran out cannot mark a row another
relay claimed since."""

import asyncio

import pytest

from services.common.db import Database
from services.common.events import OutboxMessage
from services.common.outbox import Batched, OutboxRelay, write_outbox

KIND = "test.effect"


@pytest.fixture
async def database(make_database):
    db = Database(await make_database(), 4)
    await db.open()
    yield db
    await db.close()


async def add(database: Database, count: int) -> None:
    async with database.pool.acquire() as conn, conn.transaction():
        await write_outbox(conn, "room", [OutboxMessage(KIND, {"n": str(i)}) for i in range(count)])


async def rows(database: Database) -> list[dict]:
    found = await database.pool.fetch(
        """SELECT id, payload->>'n' AS n, attempts, claim, delivered_time IS NOT NULL AS done,
                  next_attempt_time <= now() AS due
           FROM room.outbox ORDER BY id"""
    )
    return [dict(r) for r in found]


def relay(database: Database, delivery, lease: float) -> OutboxRelay:
    return OutboxRelay(database, "room", {KIND: delivery}, lease_seconds=lease, poll_seconds=0.05)


async def test_a_batch_slower_than_its_lease_is_renewed_and_delivered_once(database):
    await add(database, 1)
    delivered: list[str] = []
    slow_started = asyncio.Event()

    async def slow(payload: dict) -> None:
        slow_started.set()
        await asyncio.sleep(1.5)  # five leases
        delivered.append(payload["n"])

    async def quick(payload: dict) -> None:
        delivered.append(payload["n"])

    first = asyncio.create_task(relay(database, slow, lease=0.3).deliver_batch())
    await slow_started.wait()
    other = relay(database, quick, lease=0.3)
    for _ in range(10):  # another replica keeps looking while the first works
        assert await other.deliver_batch() == 0
        await asyncio.sleep(0.15)
    await first
    assert delivered == ["0"]
    assert [r["done"] for r in await rows(database)] == [True]


async def test_a_clean_stop_gives_back_the_rows_it_did_not_try(database):
    await add(database, 3)
    started = asyncio.Event()

    async def stuck(payload: dict) -> None:
        started.set()
        await asyncio.sleep(60)

    task = asyncio.create_task(relay(database, stuck, lease=30).deliver_batch())
    await started.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert [(r["done"], r["due"]) for r in await rows(database)] == [(False, True)] * 3


async def test_after_a_crash_another_relay_delivers_once_the_lease_runs_out(database):
    await add(database, 2)
    # A relay claimed the rows, then died without a word.
    await database.pool.execute(
        """UPDATE room.outbox SET claim = claim + 1,
               next_attempt_time = now() + interval '1 second'"""
    )
    delivered: list[str] = []

    async def deliver(payload: dict) -> None:
        delivered.append(payload["n"])

    survivor = relay(database, deliver, lease=10)
    assert await survivor.deliver_batch() == 0  # still leased
    for _ in range(100):
        if await survivor.deliver_batch():
            break
        await asyncio.sleep(0.05)
    assert sorted(delivered) == ["0", "1"]


async def test_a_relay_whose_lease_ran_out_cannot_mark_a_row_claimed_since(database):
    await add(database, 1)
    release = asyncio.Event()
    first_done: list[str] = []

    async def paused(payload: dict) -> None:
        await release.wait()
        first_done.append(payload["n"])
        raise RuntimeError("the first relay's delivery failed late")

    first = relay(database, paused, lease=0.2)
    first._renew = lambda claimed: asyncio.sleep(3600)  # cut off: it cannot renew
    task = asyncio.create_task(first.deliver_batch())
    await asyncio.sleep(0.5)  # its lease runs out

    async def deliver(payload: dict) -> None:
        pass

    assert await relay(database, deliver, lease=10).deliver_batch() == 1
    release.set()
    await task
    [row] = await rows(database)
    assert first_done == ["0"]
    # The second relay's delivery stands; the first one's late failure changed nothing.
    assert (row["done"], row["attempts"], row["claim"]) == (True, 0, 2)


async def add_keyed(database: Database, keys: list[str]) -> None:
    async with database.pool.acquire() as conn, conn.transaction():
        messages = [OutboxMessage(KIND, {"n": str(i), "key": k}) for i, k in enumerate(keys)]
        await write_outbox(conn, "room", messages)


async def test_batched_rows_go_one_call_per_key_in_order_and_a_failed_group_alone_retries(database):
    await add_keyed(database, ["a", "b", "a", "c", "a", "b"])
    calls: list[tuple[str, list[str]]] = []

    async def deliver(payloads: list[dict]) -> None:
        calls.append((payloads[0]["key"], [p["n"] for p in payloads]))
        if payloads[0]["key"] == "b":
            raise RuntimeError("b's receiver is down")

    batched = OutboxRelay(database, "room", {KIND: Batched(deliver, key="key")}, poll_seconds=0.05)
    assert await batched.deliver_batch() == 6
    assert sorted(calls) == [("a", ["0", "2", "4"]), ("b", ["1", "5"]), ("c", ["3"])]
    state = {r["n"]: (r["done"], r["attempts"]) for r in await rows(database)}
    assert state == {
        "0": (True, 0), "2": (True, 0), "4": (True, 0), "3": (True, 0),
        "1": (False, 1), "5": (False, 1),
    }  # fmt: skip

"""The transactional outbox: side effects written in the same transaction as the state change,
then delivered by a relay with retries and backoff until the receiver confirms."""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import structlog

from services.common import observability
from services.common.db import CONNECTION_ERRORS, Database, listen
from services.common.events import OutboxMessage

log = structlog.get_logger()

MAX_BACKOFF_SECONDS = 60.0
# How long a claimed row stays another relay's; renewed while delivering, so any batch fits.
LEASE_SECONDS = 10.0
PURGE_INTERVAL_SECONDS = 3600.0
# Delivered rows are kept this long for inspection, then purged.
RETENTION = timedelta(days=7)


async def write_outbox(
    connection: asyncpg.Connection, schema: str, messages: Sequence[OutboxMessage]
) -> None:
    """Add the messages to `schema`'s outbox in the current transaction and wake its relays
    (the NOTIFY goes out at commit)."""
    if not messages:
        return
    table = f"{schema}.outbox"
    await connection.executemany(
        f"INSERT INTO {table} (kind, payload) VALUES ($1, $2)",  # noqa: S608
        [(m.kind, dict(m.payload)) for m in messages],
    )
    await connection.execute("SELECT pg_notify($1, '')", table)


# Rows of one INSERT at most (OutboxAppender).
APPEND_BATCH = 1000


class OutboxAppender:
    """Rows added to `schema`'s outbox outside any unit of work, each committed before its
    `append` returns (for an endpoint whose answer means "kept"), over one long-lived connection
    of its own: a pool's acquire and release cost more CPU than the INSERT itself. A caller that
    finds nothing on its way writes its row at once, in its own task (services.common.batching
    would wait a turn of the event loop for company: a lone sender, one LiveKit room, pays for
    every hop); rows whose callers arrive while a commit is on its way go together in the next
    one, one statement and one commit (group commit). No NOTIFY (a NOTIFY serializes commits;
    the caller wakes its own relay instead, and other replicas' relays find the rows when they
    poll). A connection found broken is replaced and the rows tried once more on the new one: a
    row written twice is delivered twice, and receivers are idempotent."""

    def __init__(self, database: Database, schema: str) -> None:
        self._database = database
        self._one = f"INSERT INTO {schema}.outbox (kind, payload) VALUES ($1, $2)"  # noqa: S608
        self._many = (
            f"INSERT INTO {schema}.outbox (kind, payload) "  # noqa: S608
            "SELECT * FROM unnest($1::text[], $2::jsonb[])"
        )
        self._waiting: list[tuple[OutboxMessage, asyncio.Future[None]]] = []
        self._writing = False
        self._connection: asyncpg.Connection | None = None
        # The task writing a group for others (kept so it is not garbage collected).
        self._next_group: asyncio.Task[None] | None = None

    async def append(self, message: OutboxMessage) -> None:
        """The row is committed when this returns; raises what the database raised."""
        answer = asyncio.get_running_loop().create_future()
        self._waiting.append((message, answer))
        if not self._writing:
            self._writing = True
            await self._write_group(answer)
        await answer

    async def close(self) -> None:
        # Each group may leave another behind it (a task cancelled unstarted leaves none).
        while (group := self._next_group) is not None and not group.done():
            await asyncio.gather(group, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _write_group(self, own: asyncio.Future[None] | None = None) -> None:
        """Write what waits (the row of `own`'s caller among it), answer each, and leave the
        rows that came meanwhile to a task of their own: no caller waits for groups after its
        own."""
        group, self._waiting = self._waiting[:APPEND_BATCH], self._waiting[APPEND_BATCH:]
        try:
            await self._insert([message for message, _ in group])
        except BaseException as error:
            # Cancelled mid-write (a stop): whether the rows were kept is unknown, so the
            # others hear a connection error (503, LiveKit retries) and the cancelled caller
            # is cancelled.
            interrupted = not isinstance(error, Exception)
            failure = ConnectionError("the write was interrupted") if interrupted else error
            if interrupted:  # the connection may be mid-statement: start the next on a new one
                self._drop()
            for _, answer in group:
                if answer is own and interrupted:
                    answer.cancel()
                elif not answer.done():
                    answer.set_exception(failure)
            if interrupted:
                raise
        else:
            for _, answer in group:
                if not answer.done():
                    answer.set_result(None)
        finally:
            if self._waiting:
                self._next_group = asyncio.get_running_loop().create_task(self._write_group())
            else:
                self._writing = False
                self._next_group = None

    async def _insert(self, messages: list[OutboxMessage]) -> None:
        try:
            await self._write(messages)
        except CONNECTION_ERRORS:
            self._drop()
            await self._write(messages)

    async def _write(self, messages: list[OutboxMessage]) -> None:
        if self._connection is None:
            self._connection = await self._database.connect()
        if len(messages) == 1:  # the usual case, one sender: VALUES costs less than unnest
            await self._connection.execute(self._one, messages[0].kind, dict(messages[0].payload))
        else:
            await self._connection.execute(
                self._many, [m.kind for m in messages], [dict(m.payload) for m in messages]
            )

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.terminate()
            self._connection = None


Delivery = Callable[[dict], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A delivery of many rows at once: the rows of one claim that have the same `key` in
    their payload go in one call (their order among themselves is kept)."""

    deliver: Callable[[list[dict]], Awaitable[None]]
    key: str


# Groups of batched rows delivered at the same time.
BATCH_CONCURRENCY = 8


class OutboxRelay:
    """Delivers pending rows oldest first, at least once. A batch is claimed with a short
    lease (FOR UPDATE SKIP LOCKED, so replicas share the work) and delivered outside any
    transaction; the lease is renewed while the batch is worked on, and given back at once
    on a clean stop, so a relay that dies delays its rows by one lease (seconds). Each claim
    takes a new generation: a relay whose lease ran out anyway (paused, cut off) cannot mark a
    row that another relay claimed since. A failed delivery is retried with exponential
    backoff; receivers are idempotent."""

    def __init__(
        self,
        database: Database,
        schema: str,
        deliveries: Mapping[str, Delivery | Batched],
        *,
        batch_size: int = 20,
        poll_seconds: float = 1.0,
        lease_seconds: float = LEASE_SECONDS,
        retention: timedelta = RETENTION,
        linger_seconds: float = 0.0,
    ) -> None:
        self._database = database
        self._schema = schema
        self._table = f"{schema}.outbox"
        self._deliveries = deliveries
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._lease_seconds = lease_seconds
        self._retention = retention
        self._linger_seconds = linger_seconds
        self._wake = asyncio.Event()
        self._next_purge = 0.0

    def wake(self) -> None:
        """A row was added: deliver without waiting for the next poll."""
        self._wake.set()

    async def run(self) -> None:
        listener = asyncio.create_task(listen(self._database, self._table, lambda *_: self.wake()))
        try:
            while True:
                if listener.done():
                    listener.result()  # the LISTEN connection was lost: start over
                self._wake.clear()  # before the batch, so a row added meanwhile wakes us
                if await self.deliver_batch() < self._batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
                    # Rows come in surges: let more join the batch (one claim, one call).
                    await asyncio.sleep(self._linger_seconds)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def deliver_batch(self) -> int:
        """Claim the rows that are due and try each; return how many were tried."""
        pool = self._database.pool
        rows = await pool.fetch(
            f"""UPDATE {self._table}
                SET next_attempt_time = now() + make_interval(secs => $2), claim = claim + 1
                WHERE id IN (SELECT id FROM {self._table}
                             WHERE delivered_time IS NULL AND next_attempt_time <= now()
                             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
                RETURNING id, kind, payload, attempts, claim""",  # noqa: S608
            self._batch_size,
            self._lease_seconds,
        )
        pending = {row["id"]: row["claim"] for row in rows}
        renewing = asyncio.create_task(self._renew(pending))
        try:
            groups: dict[tuple[str, str], list[asyncpg.Record]] = {}
            for row in sorted(rows, key=lambda r: r["id"]):
                delivery = self._deliveries.get(row["kind"])
                if isinstance(delivery, Batched):
                    group = (row["kind"], str(row["payload"].get(delivery.key, "")))
                    groups.setdefault(group, []).append(row)
                else:
                    await self._deliver([row], delivery, pending)
            concurrency = asyncio.Semaphore(BATCH_CONCURRENCY)

            async def deliver_group(group: list[asyncpg.Record]) -> None:
                async with concurrency:
                    await self._deliver(group, self._deliveries[group[0]["kind"]], pending)

            await asyncio.gather(*(deliver_group(g) for g in groups.values()))
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            if pending:  # stopped mid-batch: what was not tried is due again now
                await self._lease(pending, 0.0)
        await self._measure()
        return len(rows)

    async def _renew(self, claimed: dict[int, int]) -> None:
        """Keep the lease of the rows still to be delivered while the batch is worked on."""
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            if claimed:
                await self._lease(claimed, self._lease_seconds)

    async def _lease(self, claimed: dict[int, int], seconds: float) -> None:
        """Rows still held under these claims (and not delivered) are due in `seconds`."""
        await self._database.pool.execute(
            f"""UPDATE {self._table} o SET next_attempt_time = now() + make_interval(secs => $3)
                FROM unnest($1::bigint[], $2::bigint[]) AS c(id, claim)
                WHERE o.id = c.id AND o.claim = c.claim AND o.delivered_time IS NULL""",  # noqa: S608
            list(claimed),
            list(claimed.values()),
            seconds,
        )

    async def _deliver(
        self,
        rows: list[asyncpg.Record],
        delivery: Delivery | Batched | None,
        pending: dict[int, int],
    ) -> None:
        """Deliver rows (one, or a batched group) and write down how it went."""
        pool = self._database.pool
        claimed = [(row["id"], row["claim"]) for row in rows]
        try:
            if delivery is None:
                raise LookupError(f"no delivery for {rows[0]['kind']!r}")
            if isinstance(delivery, Batched):
                await delivery.deliver([row["payload"] for row in rows])
            else:
                await delivery(rows[0]["payload"])
        except Exception as e:
            attempts = max(row["attempts"] for row in rows)
            backoff = min(MAX_BACKOFF_SECONDS, 0.5 * 2**attempts)
            log.warning(
                "outbox delivery failed", kind=rows[0]["kind"], rows=len(rows), error=str(e)
            )
            await pool.execute(
                f"""UPDATE {self._table} o SET attempts = attempts + 1, last_error = $3,
                    next_attempt_time = now() + make_interval(secs => $4)
                    FROM unnest($1::bigint[], $2::bigint[]) AS c(id, claim)
                    WHERE o.id = c.id AND o.claim = c.claim""",  # noqa: S608
                [i for i, _ in claimed],
                [c for _, c in claimed],
                str(e)[:500],
                backoff,
            )
        else:
            await pool.execute(
                f"""UPDATE {self._table} o SET delivered_time = now()
                    FROM unnest($1::bigint[], $2::bigint[]) AS c(id, claim)
                    WHERE o.id = c.id AND o.claim = c.claim""",  # noqa: S608
                [i for i, _ in claimed],
                [c for _, c in claimed],
            )
        # Tried (a stop in the middle leaves them pending, to be given back).
        for row_id, _ in claimed:
            pending.pop(row_id, None)

    async def _measure(self) -> None:
        """Backlog metrics, and delivered rows purged once the retention is past (hourly)."""
        pool = self._database.pool
        backlog, age = await pool.fetchrow(
            f"""SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(create_time)), 0)
                FROM {self._table} WHERE delivered_time IS NULL"""  # noqa: S608
        )
        observability.OUTBOX_BACKLOG.labels(self._schema).set(backlog)
        observability.OUTBOX_OLDEST_AGE.labels(self._schema).set(float(age))
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_INTERVAL_SECONDS
            await pool.execute(
                f"DELETE FROM {self._table} WHERE delivered_time < now() - $1::interval",  # noqa: S608
                self._retention,
            )

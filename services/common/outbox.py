"""The transactional outbox: side effects written in the same transaction as the state change,
then delivered by a relay with retries and backoff until the receiver confirms."""

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from services.common import observability
from services.common.db import Database

log = structlog.get_logger()

MAX_BACKOFF_SECONDS = 60.0


class Outbox:
    def __init__(self, connection: asyncpg.Connection, schema: str) -> None:
        self._conn = connection
        self._table = f"{schema}.outbox"

    async def add(self, kind: str, payload: dict) -> None:
        await self._conn.execute(
            f"INSERT INTO {self._table} (kind, payload) VALUES ($1, $2)",  # noqa: S608
            kind,
            payload,
        )
        await self._conn.execute("SELECT pg_notify($1, '')", f"{self._table}")


Delivery = Callable[[dict], Awaitable[None]]


class OutboxRelay:
    """Delivers pending rows oldest first. Rows are locked with SKIP LOCKED while delivered, so
    several replicas share the work and no row is delivered by two at once. A failed delivery
    is retried with exponential backoff; receivers must be idempotent (at-least-once)."""

    def __init__(
        self,
        database: Database,
        schema: str,
        deliveries: dict[str, Delivery],
        *,
        batch_size: int = 20,
        poll_seconds: float = 1.0,
    ) -> None:
        self._database = database
        self._table = f"{schema}.outbox"
        self._deliveries = deliveries
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    async def run(self) -> None:
        listener = await self._database.pool.acquire()

        def wake(*_: object) -> None:
            self._wake.set()

        await listener.add_listener(self._table, wake)
        try:
            while True:
                if await self.deliver_batch() < self._batch_size:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
                    except TimeoutError:
                        pass
        finally:
            await listener.remove_listener(self._table, wake)
            await self._database.pool.release(listener)

    async def deliver_batch(self) -> int:
        """Try the rows that are due; return how many were tried."""
        pool = self._database.pool
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"""SELECT id, kind, payload, attempts FROM {self._table}
                    WHERE delivered_time IS NULL AND next_attempt_time <= now()
                    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",  # noqa: S608
                self._batch_size,
            )
            for row in rows:
                delivery = self._deliveries.get(row["kind"])
                try:
                    if delivery is None:
                        raise LookupError(f"no delivery for {row['kind']!r}")
                    await delivery(row["payload"])
                except Exception as e:
                    backoff = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** row["attempts"])
                    log.warning(
                        "outbox delivery failed", kind=row["kind"], id=row["id"], error=str(e)
                    )
                    await conn.execute(
                        f"""UPDATE {self._table} SET attempts = attempts + 1, last_error = $2,
                            next_attempt_time = now() + make_interval(secs => $3)
                            WHERE id = $1""",  # noqa: S608
                        row["id"],
                        str(e)[:500],
                        backoff,
                    )
                else:
                    await conn.execute(
                        f"UPDATE {self._table} SET delivered_time = now() WHERE id = $1",  # noqa: S608
                        row["id"],
                    )
            await self._measure(conn)
            return len(rows)

    async def _measure(self, conn: asyncpg.Connection) -> None:
        backlog, age = await conn.fetchrow(
            f"""SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(create_time)), 0)
                FROM {self._table} WHERE delivered_time IS NULL"""  # noqa: S608
        )
        schema = self._table.split(".")[0]
        observability.OUTBOX_BACKLOG.labels(schema).set(backlog)
        observability.OUTBOX_OLDEST_AGE.labels(schema).set(float(age))

"""The asyncpg pool and the unit of work: one transaction that rolls back unless committed."""

import asyncio
import json
from collections.abc import Callable
from types import TracebackType
from typing import Self

import asyncpg

from services.common import observability
from services.common.errors import Unavailable

# Failures that mean "the database is not reachable right now", as opposed to a bug.
CONNECTION_ERRORS = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=max_size,
        init=_init_connection,
        command_timeout=30,
        max_inactive_connection_lifetime=300,
    )


class Database:
    """The service's pool, opened at start-up (retrying until PostgreSQL answers) and closed at
    shutdown; calls made before it is open get UNAVAILABLE."""

    def __init__(self, dsn: str, max_size: int = 10) -> None:
        self._dsn = dsn
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise Unavailable("the service is starting; retry")
        return self._pool

    async def open(self, attempts: int = 30, delay: float = 1.0) -> None:
        for attempt in range(1, attempts + 1):
            try:
                self._pool = await create_pool(self._dsn, self._max_size)
                observability.watch_pool(self._in_use, self._open_connections)
                return
            except CONNECTION_ERRORS:
                if attempt == attempts:
                    raise
                await asyncio.sleep(delay)

    def _in_use(self) -> int:
        return self._pool.get_size() - self._pool.get_idle_size() if self._pool else 0

    def _open_connections(self) -> int:
        return self._pool.get_size() if self._pool else 0

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def listen(database: Database, channel: str, callback: Callable[..., None]) -> None:
    """Call `callback(connection, pid, channel, payload)` for every NOTIFY on `channel` until
    cancelled. Raises ConnectionError when the connection is lost, so the supervising loop
    (services.common.server) listens again on a new one."""
    conn = await database.pool.acquire()
    lost = asyncio.Event()

    def on_lost(_conn: object) -> None:
        lost.set()

    try:
        conn.add_termination_listener(on_lost)
        await conn.add_listener(channel, callback)
        await lost.wait()
        raise ConnectionError(f"the LISTEN connection for {channel} was lost")
    finally:
        if not lost.is_set():  # a lost connection has already left the pool
            await conn.remove_listener(channel, callback)
            conn.remove_termination_listener(on_lost)
        await database.pool.release(conn)


class UnitOfWork:
    """`async with uow:` opens a transaction on a pooled connection; leaving the block without
    `await uow.commit()` rolls it back. Subclasses attach their repositories in `_open`."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.connection: asyncpg.Connection | None = None
        self._transaction: asyncpg.transaction.Transaction | None = None
        self._committed = False

    def _open(self, connection: asyncpg.Connection) -> None:
        """Attach repositories to the connection."""

    async def __aenter__(self) -> Self:
        self._pool = self._database.pool
        try:
            self.connection = await self._pool.acquire(timeout=10)
        except (TimeoutError, *CONNECTION_ERRORS) as e:
            raise Unavailable("the database is unavailable; retry") from e
        try:
            self._transaction = self.connection.transaction()
            await self._transaction.start()
        except BaseException:
            await self._pool.release(self.connection)
            raise
        self._committed = False
        self._open(self.connection)
        return self

    async def commit(self) -> None:
        assert self._transaction is not None
        await self._transaction.commit()
        self._committed = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.connection is not None and self._transaction is not None
        try:
            if not self._committed:
                try:
                    await self._transaction.rollback()
                except CONNECTION_ERRORS:
                    pass  # the connection is gone and its transaction with it
        finally:
            await self._pool.release(self.connection)
            self.connection = None
            self._transaction = None

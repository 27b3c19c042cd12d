"""The asyncpg pool of a service, and LISTEN on it."""

import asyncio
import json
from collections.abc import Callable

import asyncpg

from services.common import observability
from services.common.errors import Unavailable

# Failures that mean "the database is not reachable right now", as opposed to a bug: safe to
# retry. InternalClientError is what asyncpg raises on a pooled connection whose backend is
# gone ("cannot switch to state ...; another operation is in progress").
CONNECTION_ERRORS = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InternalClientError,
)


# Seconds a statement may take before asyncpg gives up on it.
COMMAND_TIMEOUT = 30


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _nothing_to_reset(_conn: asyncpg.Connection) -> None:
    """Transactions end with commit or rollback, advisory locks are transaction-scoped and LISTEN
    removes its listener: a released connection has no state to reset, so releasing it costs no
    round trip to PostgreSQL."""


async def create_pool(dsn: str, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=max_size,
        init=_init_connection,
        reset=_nothing_to_reset,
        command_timeout=COMMAND_TIMEOUT,
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

    async def connect(self) -> asyncpg.Connection:
        """A connection of its own, outside the pool, set up as the pool's are; the caller
        closes it."""
        if self._pool is None:
            raise Unavailable("the service is starting; retry")
        connection = await asyncpg.connect(self._dsn, command_timeout=COMMAND_TIMEOUT)
        try:
            await _init_connection(connection)
        except BaseException:
            connection.terminate()
            raise
        return connection

    def _in_use(self) -> int:
        return self._pool.get_size() - self._pool.get_idle_size() if self._pool else 0

    def _open_connections(self) -> int:
        return self._pool.get_size() if self._pool else 0

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def listen(
    database: Database,
    channel: str,
    callback: Callable[..., None],
    on_listening: Callable[[], None] | None = None,
) -> None:
    """Call `callback(connection, pid, channel, payload)` for every NOTIFY on `channel` until
    cancelled, and `on_listening()` each time LISTEN is in place (again). Raises
    ConnectionError when the connection is lost, so the supervising loop
    (services.common.server) listens again on a new one."""
    conn = await database.pool.acquire()
    lost = asyncio.Event()

    def on_lost(_conn: object) -> None:
        lost.set()

    try:
        conn.add_termination_listener(on_lost)
        await conn.add_listener(channel, callback)
        if on_listening is not None:
            on_listening()
        await lost.wait()
        raise ConnectionError(f"the LISTEN connection for {channel} was lost")
    finally:
        if not lost.is_set():  # a lost connection has already left the pool
            await conn.remove_listener(channel, callback)
            conn.remove_termination_listener(on_lost)
        await database.pool.release(conn)

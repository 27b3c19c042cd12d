"""The unit of work: one transaction that rolls back unless committed, and at commit the side
effects of what happened in it.

Aggregates record domain events as they change (a room ended, a co-host taken off stage, an
invitation resolved). Repositories hand the aggregates they load to the unit of work; at
commit it collects their events, plus those recorded on it directly, asks the service's pure
`side_effects(events)` what they mean, and writes that in the same transaction: outbox rows
(delivered afterwards by services.common.outbox.OutboxRelay) and notifications (pg_notify,
sent by PostgreSQL when the transaction commits, so watchers never see a rolled-back change).
"""

from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, Self, TypeVar

import asyncpg

from services.common.db import CONNECTION_ERRORS, Database
from services.common.errors import Unavailable
from services.common.events import DomainEvent, SideEffects
from services.common.outbox import write_outbox


class Aggregate(Protocol):
    events: list[DomainEvent]


A = TypeVar("A", bound=Aggregate)


class UnitOfWork:
    """`async with uow:` opens a transaction on a pooled connection; leaving the block without
    `await uow.commit()` rolls it back. Subclasses attach their repositories in `_open`, name
    their outbox's schema, and say what their events mean in `side_effects`."""

    schema: str = ""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.connection: asyncpg.Connection | None = None
        self._transaction: asyncpg.transaction.Transaction | None = None
        self._committed = False
        self._seen: list[Aggregate] = []
        self._events: list[DomainEvent] = []
        self._read_only = False

    def read(self) -> Self:
        """`async with uow.read():` the repositories on a pooled connection without a
        transaction, for reads: one round trip fewer each way (PostgreSQL's default isolation
        gives each statement its own snapshot either way)."""
        self._read_only = True
        return self

    def _open(self, connection: asyncpg.Connection) -> None:
        """Attach repositories to the connection."""

    def side_effects(self, events: Sequence[DomainEvent]) -> SideEffects:
        """What the events of this transaction mean: outbox rows and notifications."""
        return SideEffects()

    def committed(self, events: Sequence[DomainEvent]) -> None:
        """Called once the transaction with these events has committed."""

    def seen(self, aggregate: A) -> A:
        """Repositories pass every aggregate they load through here; its events are
        collected at commit."""
        self._seen.append(aggregate)
        return aggregate

    def record(self, *events: DomainEvent) -> None:
        """Events of changes made without loading an aggregate (bulk updates)."""
        self._events.extend(events)

    def collect_events(self) -> list[DomainEvent]:
        """Every event recorded so far, once."""
        events = [*self._events]
        for aggregate in self._seen:
            events.extend(aggregate.events)
            aggregate.events.clear()
        self._events.clear()
        return events

    async def __aenter__(self) -> Self:
        self._pool = self._database.pool
        # A pooled connection whose backend went away (a failover, a restart) fails when the
        # transaction starts; nothing has happened yet, so once more on a fresh one.
        for attempt in range(2):
            try:
                self.connection = await self._pool.acquire(timeout=10)
            except (TimeoutError, *CONNECTION_ERRORS) as e:
                raise Unavailable("the database is unavailable; retry") from e
            if self._read_only:
                break
            try:
                self._transaction = self.connection.transaction()
                await self._transaction.start()
                break
            except CONNECTION_ERRORS as e:
                await self._discard()
                if attempt == 1:
                    raise Unavailable("the database is unavailable; retry") from e
            except BaseException:
                await self._release()
                raise
        self._committed = False
        self._seen.clear()
        self._events.clear()
        self._open(self.connection)
        return self

    async def commit(self) -> None:
        assert self._transaction is not None, "a read-only unit of work commits nothing"
        assert self.connection is not None
        events = self.collect_events()
        effects = self.side_effects(events)
        await write_outbox(self.connection, self.schema, effects.outbox)
        if effects.notifications:
            await self.connection.execute(
                "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS n(c, p)",
                [n.channel for n in effects.notifications],
                [n.payload for n in effects.notifications],
            )
        await self._transaction.commit()
        self._committed = True
        self.committed(events)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.connection is not None
        try:
            if self._transaction is not None and not self._committed:
                try:
                    await self._transaction.rollback()
                except CONNECTION_ERRORS:
                    pass  # the connection is gone and its transaction with it
        finally:
            await self._release()
            self._transaction = None
            self._read_only = False
            self._seen.clear()
            self._events.clear()

    async def _release(self) -> None:
        """Back to the pool; a connection that broke on the way is dropped instead (the work
        done on it stands or was rolled back by PostgreSQL)."""
        try:
            await self._pool.release(self.connection)
        except CONNECTION_ERRORS:
            await self._discard()
        self.connection = None

    async def _discard(self) -> None:
        assert self.connection is not None
        self.connection.terminate()
        try:
            await self._pool.release(self.connection)
        except CONNECTION_ERRORS:
            pass  # already out of the pool
        self.connection = None

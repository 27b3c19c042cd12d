"""Migrations: every service's schema, applied idempotently under an advisory lock."""

import asyncio
from dataclasses import replace

import asyncpg
import pytest

from services.common.migrations import MIGRATING_SERVICES, discover, migrate
from tools.local_postgres import create_database, drop_database


@pytest.fixture
async def empty_database(server_url):
    url = await create_database(server_url, "costream_empty")
    yield url
    await drop_database(server_url, url)


async def test_applying_twice_on_an_empty_database_applies_once(empty_database):
    first = await migrate(empty_database)
    second = await migrate(empty_database)
    assert [m.name for m in first] == [m.name for m in discover()]
    assert second == []
    conn = await asyncpg.connect(empty_database)
    try:
        schemas = {r["nspname"] for r in await conn.fetch("SELECT nspname FROM pg_namespace")}
        owners = {m.service for m in discover()}
        assert owners <= schemas
        assert await conn.fetchval("SELECT count(*) FROM public.costream_migrations") == len(first)
    finally:
        await conn.close()


async def test_concurrent_runs_apply_each_migration_exactly_once(empty_database):
    results = await asyncio.gather(*(migrate(empty_database) for _ in range(4)))
    applied = [m.name for result in results for m in result]
    assert sorted(applied) == sorted(m.name for m in discover())


async def test_an_applied_migration_that_was_edited_is_refused(empty_database):
    migrations = discover()
    await migrate(empty_database, migrations)
    edited = [replace(migrations[0], sql=migrations[0].sql + "\n-- edited\n"), *migrations[1:]]
    with pytest.raises(RuntimeError, match="was edited"):
        await migrate(empty_database, edited)


def test_only_known_services_have_migrations():
    assert {m.service for m in discover()} <= set(MIGRATING_SERVICES)

"""Feed reads make a bounded number of queries whatever the page size or the number of rooms:
the handlers run on a real PostgreSQL through a connection that counts statements."""

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.common.auth import Caller
from services.common.db import Database
from services.common.ids import new_id
from services.common.pagination import PageRequest
from services.post import handlers
from services.post.domain import TargetType
from services.post.repository import PostRepository, PostUnitOfWork
from tests.support import unique


class CountingConnection:
    """An asyncpg connection that records every statement sent through it."""

    def __init__(self, connection: asyncpg.Connection, statements: list[str]) -> None:
        self._conn = connection
        self.statements = statements

    def _counted(self, name: str):
        method = getattr(self._conn, name)

        async def call(sql: str, *args, **kwargs):
            self.statements.append(sql)
            return await method(sql, *args, **kwargs)

        return call

    def __getattr__(self, name: str):
        if name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
            return self._counted(name)
        return getattr(self._conn, name)


class CountingUnitOfWork(PostUnitOfWork):
    def __init__(self, database: Database, statements: list[str]) -> None:
        super().__init__(database)
        self.statements = statements

    def _open(self, connection: asyncpg.Connection) -> None:
        self.posts = PostRepository(CountingConnection(connection, self.statements))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
async def database(database_url):
    db = Database(database_url, max_size=2)
    await db.open()
    yield db
    await db.close()


@pytest.fixture(scope="module")
async def seeded(database):
    """120 posts in one community feed, spread over 120 rooms."""
    community = unique("community")
    room_ids = [unique("room") for _ in range(120)]
    start = datetime.now(UTC)
    async with PostUnitOfWork(database) as uow:
        for i, room_id in enumerate(room_ids):
            now = start + timedelta(milliseconds=i)
            await uow.posts.insert(
                {
                    "post_id": new_id(),
                    "data_type": "room",
                    "room_id": room_id,
                    "text": f"post {i}",
                    "target_type": "community",
                    "target_id": community,
                    "creator_id": "seeder",
                    "create_time": now,
                    "update_time": now,
                }
            )
        await uow.commit()
    return community, room_ids


@pytest.mark.parametrize("size", [1, 10, 50, 100])
async def test_a_feed_page_is_one_query_whatever_its_size(database, seeded, size):
    community, _ = seeded
    statements: list[str] = []
    page = await handlers.list_posts(
        handlers.ListPosts(
            target_type=TargetType.COMMUNITY,
            target_id=community,
            data_type=None,
            page=PageRequest(size),
        ),
        CountingUnitOfWork(database, statements),
    )
    assert len(page.items) == size and page.more
    assert len(statements) == 1


@pytest.mark.parametrize("count", [1, 100])
async def test_posts_of_any_number_of_rooms_are_one_query(database, seeded, count):
    _, room_ids = seeded
    statements: list[str] = []
    rows = await handlers.list_posts_by_room(
        room_ids[:count], 100, CountingUnitOfWork(database, statements)
    )
    assert {p.room_id for p in rows} == set(room_ids[:count])
    assert len(statements) == 1


async def test_reading_one_post_is_one_query(database, seeded):
    _, room_ids = seeded
    async with PostUnitOfWork(database) as uow:
        post_id = (await uow.posts.by_rooms(room_ids[:1], 1))[0].post_id
    statements: list[str] = []
    post = await handlers.get_post(
        post_id, Caller(user_id="reader"), CountingUnitOfWork(database, statements)
    )
    assert post.post_id == post_id
    assert len(statements) == 1

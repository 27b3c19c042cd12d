"""SQL for the post aggregate (asyncpg, $n parameters), and the post service's unit of work."""

from datetime import datetime
from typing import Any

import asyncpg

from services.common import sql
from services.common.sql import Params
from services.common.unit_of_work import UnitOfWork
from services.post.domain import UPDATABLE_FIELDS, DataType, Post, TargetType


def _post(row: asyncpg.Record) -> Post:
    return Post(
        post_id=row["post_id"],
        data_type=DataType(row["data_type"]),
        room_id=row["room_id"],
        text=row["text"],
        title=row["title"],
        target_type=TargetType(row["target_type"]),
        target_id=row["target_id"],
        metadata=row["metadata"],
        mention_user_ids=list(row["mention_user_ids"]),
        hashtags=list(row["hashtags"]),
        creator_id=row["creator_id"],
        create_time=row["create_time"],
        update_time=row["update_time"],
        deleted=row["deleted"],
    )


class PostRepository:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def get(self, post_id: str, *, for_update: bool = False) -> Post | None:
        """The post as stored, deleted ones too."""
        row = await self._conn.fetchrow(
            "SELECT * FROM post.posts WHERE post_id = $1"  # noqa: S608
            + (" FOR UPDATE" if for_update else ""),
            post_id,
        )
        return _post(row) if row else None

    async def find_by_request(self, creator_id: str, request_id: str) -> Post | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM post.posts WHERE creator_id = $1 AND create_request_id = $2",
            creator_id,
            request_id,
        )
        return _post(row) if row else None

    async def insert(self, row: dict[str, Any]) -> Post:
        """A new post; DuplicateKey("request_id") when the caller's request_id was used."""
        statement, args = sql.insert("post.posts", row, returning="*")
        with sql.unique_keys({"posts_create_request": "request_id"}):
            return _post(await self._conn.fetchrow(statement, *args))

    async def update_fields(self, post_id: str, fields: dict[str, Any], now: datetime) -> Post:
        assert set(fields) <= set(UPDATABLE_FIELDS)
        statement, args = sql.update(
            "post.posts", ("post_id", post_id), {**fields, "update_time": now}, returning="*"
        )
        return _post(await self._conn.fetchrow(statement, *args))

    async def mark_deleted(self, post_id: str, now: datetime) -> None:
        await self._conn.execute(
            "UPDATE post.posts SET deleted = true, delete_time = $2, update_time = $2"
            " WHERE post_id = $1",
            post_id,
            now,
        )

    async def feed(
        self,
        *,
        target_type: str,
        target_id: str,
        data_type: str,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Post]:
        """One page of a feed, newest first, in one query. Empty filters match everything."""
        where = ["NOT deleted"]
        arg = Params()
        if target_type:
            where.append(f"target_type = {arg(target_type)}")
        if target_id:
            where.append(f"target_id = {arg(target_id)}")
        if data_type:
            where.append(f"data_type = {arg(data_type)}")
        if after is not None:
            where.append(f"(create_time, post_id) < ({arg(after[0])}, {arg(after[1])})")
        statement = (
            f"SELECT * FROM post.posts WHERE {' AND '.join(where)}"  # noqa: S608
            f" ORDER BY create_time DESC, post_id DESC LIMIT {arg(limit)}"
        )
        return [_post(row) for row in await self._conn.fetch(statement, *arg.values)]

    async def by_rooms(self, room_ids: list[str], per_room: int) -> list[Post]:
        """The newest `per_room` posts of each room, in one query, newest first."""
        rows = await self._conn.fetch(
            """SELECT p.* FROM unnest($1::text[]) AS r(room_id)
               CROSS JOIN LATERAL (
                   SELECT * FROM post.posts
                   WHERE room_id = r.room_id AND NOT deleted
                   ORDER BY create_time DESC, post_id DESC
                   LIMIT $2) AS p
               ORDER BY p.create_time DESC, p.post_id DESC""",
            list(dict.fromkeys(room_ids)),
            per_room,
        )
        return [_post(row) for row in rows]


class PostUnitOfWork(UnitOfWork):
    posts: PostRepository

    def _open(self, connection: asyncpg.Connection) -> None:
        self.posts = PostRepository(connection)

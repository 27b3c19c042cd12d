"""The post use cases: plain async functions taking a command and a unit of work."""

from dataclasses import dataclass
from typing import Any, Protocol

from services.common.auth import Caller
from services.common.errors import DuplicateKey
from services.common.ids import new_id
from services.common.pagination import Page, PageRequest
from services.common.timestamps import utcnow
from services.post import errors
from services.post.domain import DataType, Post, RoomAccess, TargetType, require_can_post_room
from services.post.repository import PostUnitOfWork


class Rooms(Protocol):
    async def access(self, room_id: str, user_id: str) -> RoomAccess: ...


@dataclass(frozen=True)
class CreateRoomPost:
    room_id: str
    text: str
    title: str
    target_type: TargetType
    target_id: str
    metadata: dict[str, Any]
    mention_user_ids: list[str]
    hashtags: list[str]
    request_id: str


async def create_room_post(
    cmd: CreateRoomPost, caller: Caller, uow: PostUnitOfWork, rooms: Rooms
) -> tuple[Post, bool]:
    """The post, and whether it was made by an earlier call with the same request_id."""
    author = caller.require_user()
    if cmd.request_id:
        async with uow.read():
            existing = await uow.posts.find_by_request(author, cmd.request_id)
            if existing is not None:
                return existing, True
    # Asked before the transaction opens: no connection is held during the peer call.
    require_can_post_room(await rooms.access(cmd.room_id, author), author)
    now = utcnow()
    try:
        async with uow:
            post = await uow.posts.insert(
                {
                    "post_id": new_id(),
                    "data_type": DataType.ROOM.value,
                    "room_id": cmd.room_id,
                    "text": cmd.text,
                    "title": cmd.title,
                    "target_type": cmd.target_type.value,
                    "target_id": cmd.target_id,
                    "metadata": cmd.metadata,
                    "mention_user_ids": cmd.mention_user_ids,
                    "hashtags": cmd.hashtags,
                    "creator_id": author,
                    "create_request_id": cmd.request_id or None,
                    "create_time": now,
                    "update_time": now,
                }
            )
            await uow.commit()
            return post, False
    except DuplicateKey:
        # A concurrent retry with the same request_id won; return its post.
        async with uow.read():
            existing = await uow.posts.find_by_request(author, cmd.request_id)
            assert existing is not None
            return existing, True


async def get_post(post_id: str, caller: Caller, uow: PostUnitOfWork) -> Post:
    caller.require_user()
    async with uow.read():
        post = await uow.posts.get(post_id)
    if post is None or (post.deleted and not caller.is_admin):
        raise errors.post_not_found(post_id)
    return post


@dataclass(frozen=True)
class ListPosts:
    target_type: TargetType | None
    target_id: str
    data_type: DataType | None
    page: PageRequest


async def list_posts(cmd: ListPosts, uow: PostUnitOfWork) -> Page[Post]:
    """A page of a feed, newest first: one query per page."""
    async with uow.read():
        rows = await uow.posts.feed(
            target_type=cmd.target_type.value if cmd.target_type else "",
            target_id=cmd.target_id,
            data_type=cmd.data_type.value if cmd.data_type else "",
            after=cmd.page.after,
            limit=cmd.page.limit,
        )
    return Page.of(rows, cmd.page)


async def list_posts_by_room(room_ids: list[str], per_room: int, uow: PostUnitOfWork) -> list[Post]:
    """The newest `per_room` posts of each room, newest first: one query."""
    async with uow.read():
        return await uow.posts.by_rooms(room_ids, per_room)


async def update_post(
    post_id: str, fields: dict[str, Any], caller: Caller, uow: PostUnitOfWork
) -> Post:
    user = caller.require_user()
    async with uow:
        post = await uow.posts.get(post_id, for_update=True)
        if post is None:
            raise errors.post_not_found(post_id)
        post.require_visible()
        post.require_author(user)
        if not fields:
            return post
        post = await uow.posts.update_fields(post_id, fields, utcnow())
        await uow.commit()
        return post


async def delete_post(post_id: str, caller: Caller, uow: PostUnitOfWork) -> None:
    """Soft delete by the author or an admin; deleting twice is a no-op."""
    user = caller.require_user()
    async with uow:
        post = await uow.posts.get(post_id, for_update=True)
        if post is None:
            raise errors.post_not_found(post_id)
        post.require_author_or_admin(user, caller.is_admin)
        if post.deleted:
            return
        await uow.posts.mark_deleted(post_id, utcnow())
        await uow.commit()

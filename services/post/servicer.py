"""PostService over gRPC: proto in → validated command → handler → proto out."""

from typing import Any

import asyncpg
from costream.post.v1 import post_pb2, post_service_pb2, post_service_pb2_grpc
from google.protobuf import empty_pb2, struct_pb2

from services.common.auth import current_caller
from services.common.db import Database
from services.common.pagination import PageTokens, page_size
from services.common.timestamps import to_timestamp
from services.common.validation import Violations
from services.post import domain, handlers
from services.post.repository import PostUnitOfWork

SERVICE_NAME = post_service_pb2.DESCRIPTOR.services_by_name["PostService"].full_name
INTERNAL_METHODS: frozenset[str] = frozenset()
UPDATABLE_FIELDS = ("text", "title", "metadata", "hashtags", "mention_user_ids")

# Domain enums ↔ proto enums, by name.
TARGET_TYPE = {t: post_pb2.TargetType.Value(f"TARGET_TYPE_{t.name}") for t in domain.TargetType}
TARGET_TYPE_FROM_PROTO = {v: k for k, v in TARGET_TYPE.items()}
DATA_TYPE = {t: post_pb2.PostDataType.Value(f"POST_DATA_TYPE_{t.name}") for t in domain.DataType}
DATA_TYPE_FROM_PROTO = {v: k for k, v in DATA_TYPE.items()}


def post_to_proto(row: asyncpg.Record) -> post_pb2.Post:
    metadata = struct_pb2.Struct()
    metadata.update(row["metadata"])
    return post_pb2.Post(
        post_id=row["post_id"],
        data_type=DATA_TYPE[domain.DataType(row["data_type"])],
        room_id=row["room_id"],
        text=row["text"],
        title=row["title"],
        target_type=TARGET_TYPE[domain.TargetType(row["target_type"])],
        target_id=row["target_id"],
        metadata=metadata,
        mention_user_ids=row["mention_user_ids"],
        hashtags=row["hashtags"],
        creator_id=row["creator_id"],
        create_time=to_timestamp(row["create_time"]),
        update_time=to_timestamp(row["update_time"]),
        deleted=row["deleted"],
    )


def _one_post_id(post_id: str) -> str:
    v = Violations()
    v.identifier("post_id", post_id)
    v.raise_if_any()
    return post_id


class PostServicer(post_service_pb2_grpc.PostServiceServicer):
    def __init__(self, database: Database, page_tokens: PageTokens, rooms: handlers.Rooms) -> None:
        self._database = database
        self._tokens = page_tokens
        self._rooms = rooms

    def _uow(self) -> PostUnitOfWork:
        return PostUnitOfWork(self._database)

    async def CreateRoomPost(self, request, context):
        caller = current_caller.get()
        author = caller.require_user()
        v = Violations()
        v.identifier("room_id", request.room_id)
        text = domain.check_text(v, request.text)
        title = domain.check_title(v, request.title)
        target_type = v.enum(
            "target_type",
            request.target_type,
            post_pb2.TargetType,
            default=TARGET_TYPE[domain.TargetType.USER],
        )
        target = TARGET_TYPE_FROM_PROTO.get(target_type, domain.TargetType.USER)
        target, target_id = domain.resolve_target(v, target, request.target_id, author)
        metadata = v.metadata("metadata", request.metadata)
        mentions = domain.check_mentions(v, list(request.mention_user_ids))
        hashtags = domain.check_hashtags(v, list(request.hashtags))
        v.text("request_id", request.request_id, max_len=domain.MAX_REQUEST_ID)
        v.raise_if_any()
        row = await handlers.create_room_post(
            handlers.CreateRoomPost(
                room_id=request.room_id,
                text=text,
                title=title,
                target_type=target,
                target_id=target_id,
                metadata=metadata,
                mention_user_ids=mentions,
                hashtags=hashtags,
                request_id=request.request_id,
            ),
            caller,
            self._uow(),
            self._rooms,
        )
        return post_to_proto(row)

    async def GetPost(self, request, context):
        post_id = _one_post_id(request.post_id)
        return post_to_proto(await handlers.get_post(post_id, current_caller.get(), self._uow()))

    async def ListPosts(self, request, context):
        caller = current_caller.get()
        user = caller.require_user()
        v = Violations()
        target: domain.TargetType | None = None
        target_id = request.target_id
        if request.target_type:
            v.enum("target_type", request.target_type, post_pb2.TargetType)
            target = TARGET_TYPE_FROM_PROTO.get(request.target_type)
        if target is not None:
            target, target_id = domain.resolve_target(v, target, request.target_id, user)
        elif request.target_id:
            v.add("target_type", "is required with target_id")
        data_type: domain.DataType | None = None
        if request.data_type:
            v.enum("data_type", request.data_type, post_pb2.PostDataType)
            data_type = DATA_TYPE_FROM_PROTO.get(request.data_type)
        if request.page_size < 0:
            v.add("page_size", "must not be negative")
        v.raise_if_any()
        filters = {
            "target_type": target.value if target else "",
            "target_id": target_id,
            "data_type": data_type.value if data_type else "",
        }
        size = page_size(request.page_size)
        after = self._tokens.decode_after(request.page_token, filters)
        rows, more = await handlers.list_posts(
            handlers.ListPosts(
                target_type=target,
                target_id=target_id,
                data_type=data_type,
                after=after,
                page_size=size,
            ),
            self._uow(),
        )
        next_token = ""
        if more:
            last = rows[-1]
            next_token = self._tokens.encode_after(filters, last["create_time"], last["post_id"])
        return post_service_pb2.ListPostsResponse(
            posts=[post_to_proto(r) for r in rows], next_page_token=next_token
        )

    async def ListPostsByRoom(self, request, context):
        v = Violations()
        if len(request.room_ids) > domain.MAX_ROOM_BATCH:
            v.add("room_ids", f"at most {domain.MAX_ROOM_BATCH} ids")
        for i, room_id in enumerate(request.room_ids):
            v.identifier(f"room_ids[{i}]", room_id)
        v.raise_if_any()
        rows = await handlers.list_posts_by_room(list(request.room_ids), self._uow())
        return post_service_pb2.ListPostsByRoomResponse(posts=[post_to_proto(r) for r in rows])

    async def UpdatePost(self, request, context):
        post = request.post
        v = Violations()
        v.identifier("post.post_id", post.post_id)
        paths = list(request.update_mask.paths)
        if not paths:
            # AIP-134: no mask means every field that is set.
            paths = [f for f in UPDATABLE_FIELDS if _is_set(post, f)]
        fields: dict[str, Any] = {}
        for path in dict.fromkeys(paths):
            if path not in UPDATABLE_FIELDS:
                v.add("update_mask", f"{path!r} cannot be updated")
            elif path == "text":
                fields[path] = domain.check_text(v, post.text, "post.text")
            elif path == "title":
                fields[path] = domain.check_title(v, post.title, "post.title")
            elif path == "metadata":
                fields[path] = v.metadata("post.metadata", post.metadata)
            elif path == "hashtags":
                fields[path] = domain.check_hashtags(v, list(post.hashtags), "post.hashtags")
            elif path == "mention_user_ids":
                fields[path] = domain.check_mentions(
                    v, list(post.mention_user_ids), "post.mention_user_ids"
                )
        v.raise_if_any()
        row = await handlers.update_post(post.post_id, fields, current_caller.get(), self._uow())
        return post_to_proto(row)

    async def DeletePost(self, request, context):
        post_id = _one_post_id(request.post_id)
        await handlers.delete_post(post_id, current_caller.get(), self._uow())
        return empty_pb2.Empty()


def _is_set(post: post_pb2.Post, field: str) -> bool:
    if field == "metadata":
        return post.HasField("metadata")
    return bool(getattr(post, field))

"""PostService over gRPC: proto in → validated command → handler → proto out."""

from costream.post.v1 import post_pb2, post_service_pb2, post_service_pb2_grpc
from google.protobuf import empty_pb2, struct_pb2

from services.common.auth import current_caller
from services.common.db import Database
from services.common.enums import EnumMap
from services.common.pagination import PageTokens, within_bytes
from services.common.server import mark_replayed
from services.common.timestamps import to_timestamp
from services.common.update_mask import apply_update_mask
from services.common.validation import Violations, require_ids
from services.post import domain, handlers
from services.post.repository import PostUnitOfWork

SERVICE_NAME = post_service_pb2.DESCRIPTOR.services_by_name["PostService"].full_name
INTERNAL_METHODS: frozenset[str] = frozenset()
# Open to the gateway with its service token: the live feed read once for many callers
# (services/gateway/handlers.py LiveFeed). It answers nothing that depends on the caller.
SERVICE_METHODS = frozenset({"ListPostsByRoom"})

TARGET_TYPE = EnumMap(domain.TargetType, post_pb2.TargetType, "TARGET_TYPE_")
DATA_TYPE = EnumMap(domain.DataType, post_pb2.PostDataType, "POST_DATA_TYPE_")


def post_to_proto(post: domain.Post) -> post_pb2.Post:
    metadata = struct_pb2.Struct()
    metadata.update(post.metadata)
    return post_pb2.Post(
        post_id=post.post_id,
        data_type=DATA_TYPE.to_proto(post.data_type),
        room_id=post.room_id,
        text=post.text,
        title=post.title,
        target_type=TARGET_TYPE.to_proto(post.target_type),
        target_id=post.target_id,
        metadata=metadata,
        mention_user_ids=post.mention_user_ids,
        hashtags=post.hashtags,
        creator_id=post.creator_id,
        create_time=to_timestamp(post.create_time),
        update_time=to_timestamp(post.update_time),
        deleted=post.deleted,
    )


class PostServicer(post_service_pb2_grpc.PostServiceServicer):
    def __init__(self, database: Database, page_tokens: PageTokens, rooms: handlers.Rooms) -> None:
        self._database = database
        self._pages = page_tokens
        self._rooms = rooms

    def _uow(self) -> PostUnitOfWork:
        return PostUnitOfWork(self._database)

    async def CreateRoomPost(self, request, context):
        caller = current_caller.get()
        author = caller.require_user()
        v = Violations()
        v.room_id("room_id", request.room_id)
        text = domain.check_text(v, "text", request.text)
        title = domain.check_title(v, "title", request.title)
        target = TARGET_TYPE.read(
            v, "target_type", request.target_type, default=domain.TargetType.USER
        )
        target, target_id = domain.resolve_target(
            v, target or domain.TargetType.USER, request.target_id, author
        )
        metadata = v.metadata("metadata", request.metadata)
        mentions = domain.check_mentions(v, "mention_user_ids", request.mention_user_ids)
        hashtags = domain.check_hashtags(v, "hashtags", request.hashtags)
        v.text("request_id", request.request_id, max_len=domain.MAX_REQUEST_ID)
        v.raise_if_any()
        post, replayed = await handlers.create_room_post(
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
        mark_replayed(context, replayed)
        return post_to_proto(post)

    async def GetPost(self, request, context):
        require_ids(post_id=request.post_id)
        post = await handlers.get_post(request.post_id, current_caller.get(), self._uow())
        return post_to_proto(post)

    async def ListPosts(self, request, context):
        caller = current_caller.get()
        user = caller.require_user()
        v = Violations()
        target: domain.TargetType | None = None
        target_id = request.target_id
        if request.target_type:
            target = TARGET_TYPE.read(v, "target_type", request.target_type)
        if target is not None:
            target, target_id = domain.resolve_target(v, target, request.target_id, user)
        elif request.target_id and not request.target_type:
            v.add("target_type", "is required with target_id")
        data_type = None
        if request.data_type:
            data_type = DATA_TYPE.read(v, "data_type", request.data_type)
        page = self._pages.request(
            v,
            request.page_size,
            request.page_token,
            {
                "target_type": target.value if target else "",
                "target_id": target_id,
                "data_type": data_type.value if data_type else "",
            },
        )
        posts = await handlers.list_posts(
            handlers.ListPosts(
                target_type=target, target_id=target_id, data_type=data_type, page=page
            ),
            self._uow(),
        )
        protos, token = self._pages.respond(posts, page, post_to_proto)
        return post_service_pb2.ListPostsResponse(posts=protos, next_page_token=token)

    async def ListPostsByRoom(self, request, context):
        v = Violations()
        if v.count("room_ids", request.room_ids, domain.MAX_ROOM_BATCH):
            for i, room_id in enumerate(request.room_ids):
                v.room_id(f"room_ids[{i}]", room_id)
        v.check(request.max_posts_per_room >= 0, "max_posts_per_room", "must not be negative")
        v.raise_if_any()
        per_room = min(request.max_posts_per_room or domain.MAX_POSTS_PER_ROOM,
                       domain.MAX_POSTS_PER_ROOM)  # fmt: skip
        posts = await handlers.list_posts_by_room(list(request.room_ids), per_room, self._uow())
        protos = within_bytes(posts, post_to_proto)
        return post_service_pb2.ListPostsByRoomResponse(
            posts=protos, truncated=len(protos) < len(posts)
        )

    async def UpdatePost(self, request, context):
        v = Violations()
        v.identifier("post.post_id", request.post.post_id)
        fields = apply_update_mask(
            v, request.post, request.update_mask, domain.UPDATABLE_FIELDS, "post"
        )
        v.raise_if_any()
        post = await handlers.update_post(
            request.post.post_id, fields, current_caller.get(), self._uow()
        )
        return post_to_proto(post)

    async def DeletePost(self, request, context):
        require_ids(post_id=request.post_id)
        await handlers.delete_post(request.post_id, current_caller.get(), self._uow())
        return empty_pb2.Empty()

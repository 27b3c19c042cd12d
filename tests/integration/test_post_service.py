"""PostService through gRPC, with the room service it asks, on a real PostgreSQL."""

import asyncio

import asyncpg
import grpc
import pytest
from costream.post.v1 import post_pb2, post_service_pb2, post_service_pb2_grpc
from costream.room.v1 import room_service_pb2, room_service_pb2_grpc
from google.protobuf import field_mask_pb2, struct_pb2

from tests.support import reason_of, service_metadata, unique, user_metadata, violated_fields

USER = post_pb2.TARGET_TYPE_USER
COMMUNITY = post_pb2.TARGET_TYPE_COMMUNITY


@pytest.fixture
async def stubs(room_service, post_service):
    async with (
        grpc.aio.insecure_channel(room_service.address) as room_channel,
        grpc.aio.insecure_channel(post_service.address) as post_channel,
    ):
        yield (
            room_service_pb2_grpc.RoomServiceStub(room_channel),
            post_service_pb2_grpc.PostServiceStub(post_channel),
        )


@pytest.fixture
async def db(database_url):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def new_room(rooms, host: str) -> str:
    room = await rooms.CreateRoom(
        room_service_pb2.CreateRoomRequest(title="Live"), metadata=user_metadata(host)
    )
    return room.room_id


async def post_count(db, room_id: str) -> int:
    return await db.fetchval("SELECT count(*) FROM post.posts WHERE room_id = $1", room_id)


async def test_host_shares_a_room_in_their_own_feed_and_everyone_reads_it(stubs):
    rooms, posts = stubs
    host = unique("host")
    room_id = await new_room(rooms, host)
    metadata = struct_pb2.Struct()
    metadata.update({"lang": "en"})
    post = await posts.CreateRoomPost(
        post_service_pb2.CreateRoomPostRequest(
            room_id=room_id,
            text="Come watch",
            title="  Tonight  ",
            target_type=USER,
            metadata=metadata,
            mention_user_ids=["amy", "bo", "amy"],
            hashtags=["#Live", "music", "Live"],
        ),
        metadata=user_metadata(host),
    )
    assert post.post_id
    assert post.data_type == post_pb2.POST_DATA_TYPE_ROOM
    assert (post.room_id, post.creator_id, post.target_id) == (room_id, host, host)
    assert post.title == "Tonight"
    assert list(post.mention_user_ids) == ["amy", "bo"]
    assert list(post.hashtags) == ["Live", "music"]
    assert dict(post.metadata) == {"lang": "en"}

    reader = user_metadata(unique("reader"))
    got = await posts.GetPost(
        post_service_pb2.GetPostRequest(post_id=post.post_id), metadata=reader
    )
    assert got == post
    feed = await posts.ListPosts(
        post_service_pb2.ListPostsRequest(target_type=USER, target_id=host), metadata=reader
    )
    assert [p.post_id for p in feed.posts] == [post.post_id]
    own = await posts.ListPosts(
        post_service_pb2.ListPostsRequest(target_type=USER), metadata=user_metadata(host)
    )
    assert [p.post_id for p in own.posts] == [post.post_id]
    by_room = await posts.ListPostsByRoom(
        post_service_pb2.ListPostsByRoomRequest(room_ids=[room_id, unique("room")]),
        metadata=reader,
    )
    assert [p.post_id for p in by_room.posts] == [post.post_id]


async def test_text_of_20000_chars_is_accepted_and_20001_refused_with_nothing_written(stubs, db):
    rooms, posts = stubs
    host = unique("host")
    room_id = await new_room(rooms, host)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.CreateRoomPost(
            post_service_pb2.CreateRoomPostRequest(room_id=room_id, text="x" * 20_001),
            metadata=user_metadata(host),
        )
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(e.value) == {"text"}
    assert await post_count(db, room_id) == 0
    post = await posts.CreateRoomPost(
        post_service_pb2.CreateRoomPostRequest(room_id=room_id, text="x" * 20_000),
        metadata=user_metadata(host),
    )
    assert len(post.text) == 20_000
    assert await post_count(db, room_id) == 1


async def test_a_missing_room_is_not_found(stubs):
    _, posts = stubs
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.CreateRoomPost(
            post_service_pb2.CreateRoomPostRequest(room_id=unique("room"), text="hi"),
            metadata=user_metadata(unique("host")),
        )
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(e.value) == "ROOM_NOT_FOUND"


async def test_only_the_rooms_host_may_post_it(stubs, db):
    rooms, posts = stubs
    room_id = await new_room(rooms, unique("host"))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.CreateRoomPost(
            post_service_pb2.CreateRoomPostRequest(room_id=room_id, text="hi"),
            metadata=user_metadata(unique("guest")),
        )
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(e.value) == "NOT_ROOM_HOST"
    assert await post_count(db, room_id) == 0


async def test_a_deleted_room_cannot_be_posted_but_its_posts_stay_readable(stubs):
    rooms, posts = stubs
    host = unique("host")
    room_id = await new_room(rooms, host)
    post = await posts.CreateRoomPost(
        post_service_pb2.CreateRoomPostRequest(room_id=room_id, text="hi"),
        metadata=user_metadata(host),
    )
    await rooms.DeleteRoom(
        room_service_pb2.DeleteRoomRequest(room_id=room_id), metadata=user_metadata(host)
    )
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.CreateRoomPost(
            post_service_pb2.CreateRoomPostRequest(room_id=room_id, text="again"),
            metadata=user_metadata(host),
        )
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(e.value) == "ROOM_NOT_FOUND"
    got = await posts.GetPost(
        post_service_pb2.GetPostRequest(post_id=post.post_id), metadata=user_metadata("x")
    )
    assert got.post_id == post.post_id and not got.deleted


def _big_metadata() -> struct_pb2.Struct:
    metadata = struct_pb2.Struct()
    metadata.update({"blob": "x" * (16 * 1024)})
    return metadata


BAD_POSTS = {
    "empty text": ({"text": ""}, "text"),
    "blank text": ({"text": "  \n"}, "text"),
    "text too long": ({"text": "x" * 20_001}, "text"),
    "text with NUL": ({"text": "a\x00b"}, "text"),
    "title too long": ({"title": "t" * 1001}, "title"),
    "community without id": ({"target_type": COMMUNITY}, "target_id"),
    "target id too long": ({"target_type": COMMUNITY, "target_id": "c" * 129}, "target_id"),
    "unknown target type": ({"target_type": 7}, "target_type"),
    "metadata over 16 KiB": ({"metadata": _big_metadata()}, "metadata"),
    "101 mentions": ({"mention_user_ids": [f"u{i}" for i in range(101)]}, "mention_user_ids"),
    "bad mention": ({"mention_user_ids": ["ok", "bad\x01"]}, "mention_user_ids[1]"),
    "31 hashtags": ({"hashtags": [f"t{i}" for i in range(31)]}, "hashtags"),
    "hashtag too long": ({"hashtags": ["x" * 101]}, "hashtags[0]"),
    "hashtag with space": ({"hashtags": ["ok", "a b"]}, "hashtags[1]"),
    "bare hash": ({"hashtags": ["#"]}, "hashtags[0]"),
    "request id too long": ({"request_id": "r" * 129}, "request_id"),
    "no room id": ({"room_id": ""}, "room_id"),
}


@pytest.mark.parametrize("case", list(BAD_POSTS))
async def test_each_bad_input_is_refused_with_its_field_and_nothing_written(stubs, db, case):
    rooms, posts = stubs
    host = unique("host")
    room_id = await new_room(rooms, host)
    overrides, field = BAD_POSTS[case]
    fields = {"room_id": room_id, "text": "hi", **overrides}
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.CreateRoomPost(
            post_service_pb2.CreateRoomPostRequest(**fields), metadata=user_metadata(host)
        )
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(e.value) == "INVALID_FIELD"
    assert violated_fields(e.value) == {field}
    assert await post_count(db, room_id) == 0


async def test_a_retry_with_the_same_request_id_returns_the_original_post(stubs, db):
    rooms, posts = stubs
    host = unique("host")
    room_id = await new_room(rooms, host)
    request = post_service_pb2.CreateRoomPostRequest(room_id=room_id, text="hi", request_id="r1")
    results = await asyncio.gather(
        *(posts.CreateRoomPost(request, metadata=user_metadata(host)) for _ in range(5))
    )
    assert len({p.post_id for p in results}) == 1
    assert await post_count(db, room_id) == 1


async def test_paging_through_250_posts_returns_each_exactly_once_newest_first(stubs):
    rooms, posts = stubs
    host = unique("host")
    community = unique("community")
    room_id = await new_room(rooms, host)
    created: list[str] = []
    for start in range(0, 250, 50):
        batch = await asyncio.gather(
            *(
                posts.CreateRoomPost(
                    post_service_pb2.CreateRoomPostRequest(
                        room_id=room_id, text=f"post {i}", target_type=COMMUNITY,
                        target_id=community,
                    ),
                    metadata=user_metadata(host),
                )
                for i in range(start, start + 50)
            )
        )  # fmt: skip
        created += [p.post_id for p in batch]
    reader = user_metadata(unique("reader"))
    seen: list[post_pb2.Post] = []
    token = ""
    pages = 0
    while True:
        page = await posts.ListPosts(
            post_service_pb2.ListPostsRequest(
                target_type=COMMUNITY, target_id=community, page_size=33, page_token=token
            ),
            metadata=reader,
        )
        pages += 1
        assert len(page.posts) <= 33
        seen += page.posts
        token = page.next_page_token
        if not token:
            break
    assert pages == 8
    ids = [p.post_id for p in seen]
    assert len(ids) == len(set(ids)) == 250
    assert set(ids) == set(created)
    keys = [(p.create_time.ToDatetime(), p.post_id) for p in seen]
    assert keys == sorted(keys, reverse=True)

    capped = await posts.ListPosts(
        post_service_pb2.ListPostsRequest(
            target_type=COMMUNITY, target_id=community, page_size=1000
        ),
        metadata=reader,
    )
    assert len(capped.posts) == 100
    default = await posts.ListPosts(
        post_service_pb2.ListPostsRequest(target_type=COMMUNITY, target_id=community),
        metadata=reader,
    )
    assert len(default.posts) == 50

    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.ListPosts(
            post_service_pb2.ListPostsRequest(
                target_type=COMMUNITY, target_id=unique("other"), page_token=capped.next_page_token
            ),
            metadata=reader,
        )
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(e.value) == {"page_token"}


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"page_size": -1}, "page_size"),
        ({"page_token": "garbage"}, "page_token"),
        ({"target_type": COMMUNITY}, "target_id"),
        ({"target_id": "someone"}, "target_type"),
        ({"data_type": 9}, "data_type"),
    ],
)
async def test_bad_list_requests_are_refused_with_their_field(stubs, request_fields, field):
    _, posts = stubs
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.ListPosts(
            post_service_pb2.ListPostsRequest(**request_fields), metadata=user_metadata("x")
        )
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(e.value) == {field}


async def test_list_posts_by_room_takes_at_most_100_room_ids(stubs):
    _, posts = stubs
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.ListPostsByRoom(
            post_service_pb2.ListPostsByRoomRequest(room_ids=[f"r{i}" for i in range(101)]),
            metadata=user_metadata("x"),
        )
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(e.value) == {"room_ids"}


async def test_the_author_updates_only_the_masked_fields(stubs):
    rooms, posts = stubs
    host = unique("host")
    room_id = await new_room(rooms, host)
    post = await posts.CreateRoomPost(
        post_service_pb2.CreateRoomPostRequest(
            room_id=room_id, text="old", title="Old", hashtags=["a"]
        ),
        metadata=user_metadata(host),
    )
    updated = await posts.UpdatePost(
        post_service_pb2.UpdatePostRequest(
            post=post_pb2.Post(post_id=post.post_id, text="new", title="ignored", hashtags=["#B"]),
            update_mask=field_mask_pb2.FieldMask(paths=["text", "hashtags"]),
        ),
        metadata=user_metadata(host),
    )
    assert (updated.text, updated.title, list(updated.hashtags)) == ("new", "Old", ["B"])
    assert updated.update_time.ToDatetime() > post.update_time.ToDatetime()

    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.UpdatePost(
            post_service_pb2.UpdatePostRequest(
                post=post_pb2.Post(post_id=post.post_id, text="mine now"),
                update_mask=field_mask_pb2.FieldMask(paths=["text"]),
            ),
            metadata=user_metadata(unique("other")),
        )
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(e.value) == "NOT_POST_AUTHOR"

    for paths, text, field in [(["room_id"], "x", "update_mask"), (["text"], "", "post.text")]:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await posts.UpdatePost(
                post_service_pb2.UpdatePostRequest(
                    post=post_pb2.Post(post_id=post.post_id, text=text),
                    update_mask=field_mask_pb2.FieldMask(paths=paths),
                ),
                metadata=user_metadata(host),
            )
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violated_fields(e.value) == {field}
    got = await posts.GetPost(
        post_service_pb2.GetPostRequest(post_id=post.post_id), metadata=user_metadata(host)
    )
    assert got.text == "new"


async def test_delete_is_for_the_author_or_an_admin_and_hides_the_post(stubs):
    rooms, posts = stubs
    host = unique("host")
    room_id = await new_room(rooms, host)

    async def create() -> post_pb2.Post:
        return await posts.CreateRoomPost(
            post_service_pb2.CreateRoomPostRequest(room_id=room_id, text="hi"),
            metadata=user_metadata(host),
        )

    mine, moderated = await create(), await create()
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.DeletePost(
            post_service_pb2.DeletePostRequest(post_id=mine.post_id),
            metadata=user_metadata(unique("other")),
        )
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(e.value) == "NOT_POST_AUTHOR"

    await posts.DeletePost(
        post_service_pb2.DeletePostRequest(post_id=mine.post_id), metadata=user_metadata(host)
    )
    await posts.DeletePost(
        post_service_pb2.DeletePostRequest(post_id=mine.post_id), metadata=user_metadata(host)
    )  # twice: a no-op
    await posts.DeletePost(
        post_service_pb2.DeletePostRequest(post_id=moderated.post_id),
        metadata=user_metadata(unique("mod"), "admin"),
    )
    for call, request in [
        (posts.GetPost, post_service_pb2.GetPostRequest(post_id=mine.post_id)),
        (
            posts.UpdatePost,
            post_service_pb2.UpdatePostRequest(
                post=post_pb2.Post(post_id=mine.post_id, text="back"),
                update_mask=field_mask_pb2.FieldMask(paths=["text"]),
            ),
        ),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await call(request, metadata=user_metadata(host))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        assert reason_of(e.value) == "POST_NOT_FOUND"
    as_admin = await posts.GetPost(
        post_service_pb2.GetPostRequest(post_id=mine.post_id),
        metadata=user_metadata(unique("mod"), "admin"),
    )
    assert as_admin.deleted
    feed = await posts.ListPosts(
        post_service_pb2.ListPostsRequest(target_type=USER, target_id=host),
        metadata=user_metadata(host),
    )
    by_room = await posts.ListPostsByRoom(
        post_service_pb2.ListPostsByRoomRequest(room_ids=[room_id]), metadata=user_metadata(host)
    )
    assert feed.posts == by_room.posts == []


async def test_a_missing_post_is_not_found(stubs):
    _, posts = stubs
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await posts.GetPost(
            post_service_pb2.GetPostRequest(post_id=unique("post")), metadata=user_metadata("x")
        )
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(e.value) == "POST_NOT_FOUND"


async def test_calls_without_a_valid_token_are_refused(stubs):
    _, posts = stubs
    calls = [
        (posts.CreateRoomPost, post_service_pb2.CreateRoomPostRequest(room_id="r", text="t")),
        (posts.GetPost, post_service_pb2.GetPostRequest(post_id="p")),
        (posts.ListPosts, post_service_pb2.ListPostsRequest()),
        (posts.ListPostsByRoom, post_service_pb2.ListPostsByRoomRequest(room_ids=["r"])),
        (posts.UpdatePost, post_service_pb2.UpdatePostRequest()),
        (posts.DeletePost, post_service_pb2.DeletePostRequest(post_id="p")),
    ]
    for call, request in calls:
        for metadata in [(), [("authorization", "Bearer not-a-jwt")]]:
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await call(request, metadata=metadata)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_list_posts_by_room_is_open_to_a_service_token_alone_and_nothing_else_is(stubs):
    rooms, posts = stubs
    host = unique("host")
    room_id = await new_room(rooms, host)
    post = await posts.CreateRoomPost(
        post_service_pb2.CreateRoomPostRequest(room_id=room_id, text="on", target_type=USER),
        metadata=user_metadata(host),
    )
    by_room = await posts.ListPostsByRoom(
        post_service_pb2.ListPostsByRoomRequest(room_ids=[room_id]), metadata=service_metadata()
    )
    assert [p.post_id for p in by_room.posts] == [post.post_id]
    for call in (
        posts.GetPost(
            post_service_pb2.GetPostRequest(post_id=post.post_id), metadata=service_metadata()
        ),
        posts.ListPosts(
            post_service_pb2.ListPostsRequest(target_type=USER, target_id=host),
            metadata=service_metadata(),
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

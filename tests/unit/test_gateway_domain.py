"""A caller's role in a room, and how a page of live rooms meets its posts."""

import pytest
from costream.gateway.v1 import gateway_pb2
from costream.post.v1 import post_pb2
from costream.room.v1 import room_pb2

from services.common.errors import ResourceExhausted
from services.gateway.domain import StreamLimit, live_room_posts, newest_posts, role_in

ROOM = room_pb2.Room(
    room_id="r1",
    host_user_id="alice",
    participants=[
        room_pb2.Participant(user_id="alice", role=room_pb2.PARTICIPANT_ROLE_HOST),
        room_pb2.Participant(user_id="bob", role=room_pb2.PARTICIPANT_ROLE_CO_HOST),
    ],
)


def test_role_in_a_room_is_host_co_host_or_viewer():
    assert role_in(ROOM, "alice") == gateway_pb2.ROOM_ROLE_HOST
    assert role_in(ROOM, "bob") == gateway_pb2.ROOM_ROLE_CO_HOST
    assert role_in(ROOM, "carol") == gateway_pb2.ROOM_ROLE_VIEWER
    assert role_in(ROOM, "") == gateway_pb2.ROOM_ROLE_VIEWER


def test_newest_posts_keeps_the_first_post_of_each_room_listed_newest_first():
    posts = [
        post_pb2.Post(post_id="p3", room_id="r1"),
        post_pb2.Post(post_id="p2", room_id="r2"),
        post_pb2.Post(post_id="p1", room_id="r1"),
    ]
    assert {k: v.post_id for k, v in newest_posts(posts).items()} == {"r1": "p3", "r2": "p2"}


def test_live_room_posts_keep_the_rooms_order_and_leave_out_rooms_without_a_post():
    rooms = [room_pb2.Room(room_id=r) for r in ("r3", "r2", "r1")]
    posts = [post_pb2.Post(post_id="p1", room_id="r1"), post_pb2.Post(post_id="p3", room_id="r3")]
    items = live_room_posts(rooms, posts)
    assert [(i.room.room_id, i.post.post_id) for i in items] == [("r3", "p3"), ("r1", "p1")]


def test_a_user_holds_streams_up_to_the_limit_and_one_more_is_refused():
    limit = StreamLimit(per_user=2)
    with limit.hold("u"), limit.hold("u"):
        assert limit.open_streams("u") == 2
        with pytest.raises(ResourceExhausted) as e, limit.hold("u"):
            pass
        assert e.value.reason == "TOO_MANY_STREAMS"
        with limit.hold("other"):  # others have their own allowance
            assert limit.open_streams("other") == 1
    assert limit.open_streams("u") == 0
    with limit.hold("u"):  # closed streams give their place back
        assert limit.open_streams("u") == 1


def test_a_listed_participant_who_is_not_a_co_host_is_a_viewer():
    room = room_pb2.Room(
        room_id="r1",
        host_user_id="alice",
        participants=[
            room_pb2.Participant(user_id="vic", role=room_pb2.PARTICIPANT_ROLE_UNSPECIFIED),
            room_pb2.Participant(user_id="bob", role=room_pb2.PARTICIPANT_ROLE_CO_HOST),
        ],
    )
    assert role_in(room, "vic") == gateway_pb2.ROOM_ROLE_VIEWER
    assert role_in(room, "bob") == gateway_pb2.ROOM_ROLE_CO_HOST
    assert role_in(room, "alice") == gateway_pb2.ROOM_ROLE_HOST  # the host even if not listed


def test_no_posts_leave_every_room_out():
    assert newest_posts([]) == {}
    assert live_room_posts([room_pb2.Room(room_id="r1")], []) == []


def test_posts_of_rooms_not_on_the_page_are_left_out():
    rooms = [room_pb2.Room(room_id="r1")]
    posts = [post_pb2.Post(post_id="p9", room_id="r9"), post_pb2.Post(post_id="p1", room_id="r1")]
    items = live_room_posts(rooms, posts)
    assert [(i.room.room_id, i.post.post_id) for i in items] == [("r1", "p1")]


def test_the_refusal_says_how_many_streams_a_user_may_hold():
    limit = StreamLimit(per_user=1)
    with limit.hold("u"), pytest.raises(ResourceExhausted) as e, limit.hold("u"):
        pass
    assert e.value.metadata == {"max_streams": "1"}
    assert "at most 1 streams" in e.value.message
    assert limit.open_streams("u") == 0


def test_a_stream_that_fails_gives_its_place_back():
    limit = StreamLimit(per_user=1)
    with pytest.raises(RuntimeError), limit.hold("u"):
        raise RuntimeError("stream broke")
    assert limit.open_streams("u") == 0
    with limit.hold("u"):
        assert limit.open_streams("u") == 1


def test_a_refused_stream_does_not_take_a_place():
    limit = StreamLimit(per_user=1)
    with limit.hold("u"):
        for _ in range(3):
            with pytest.raises(ResourceExhausted), limit.hold("u"):
                pass
        assert limit.open_streams("u") == 1
    assert limit.open_streams("u") == 0


def test_no_streams_are_allowed_with_a_limit_of_zero():
    limit = StreamLimit(per_user=0)
    with pytest.raises(ResourceExhausted), limit.hold("u"):
        pass
    assert limit.open_streams("u") == 0

"""AIP-134 update masks: which fields an Update request changes, each checked by its rule."""

from costream.room.v1 import room_pb2
from google.protobuf import field_mask_pb2, struct_pb2

from services.common.update_mask import apply_update_mask, is_set, unchecked
from services.common.validation import Violations


def short_title(v: Violations, field: str, value: str) -> str:
    return v.text(field, value, min_len=1, max_len=5, trim=True)


UPDATABLE = {
    "title": short_title,
    "metadata": Violations.metadata,
    "live_chat_enabled": unchecked,
    "participants": lambda _v, _field, value: [p.user_id for p in value],
    "stats": lambda _v, _field, value: value.viewer_count,
}


def apply(room: room_pb2.Room, *paths: str, prefix: str = "room") -> tuple[dict, list]:
    v = Violations()
    fields = apply_update_mask(v, room, field_mask_pb2.FieldMask(paths=paths), UPDATABLE, prefix)
    return fields, v.items


def test_the_fields_a_mask_names_are_checked_and_returned():
    room = room_pb2.Room(title="  Hi  ", live_chat_enabled=True, description="not named")
    assert apply(room, "title", "live_chat_enabled") == (
        {"title": "Hi", "live_chat_enabled": True},
        [],
    )


def test_a_field_the_mask_names_is_updated_even_to_its_default():
    assert apply(room_pb2.Room(live_chat_enabled=True), "live_chat_enabled", "participants") == (
        {"live_chat_enabled": True, "participants": []},
        [],
    )
    assert apply(room_pb2.Room(), "live_chat_enabled") == ({"live_chat_enabled": False}, [])


def test_each_field_is_checked_under_its_name_with_the_resource_prefix():
    assert apply(room_pb2.Room(title="far too long"), "title") == (
        {"title": "far too long"},
        [("room.title", "must be at most 5 characters")],
    )
    assert apply(room_pb2.Room(), "title", prefix="post")[1] == [("post.title", "is required")]


def test_without_a_mask_every_updatable_field_that_is_set_is_updated():
    room = room_pb2.Room(title="Hi", live_chat_enabled=True, description="not updatable")
    assert apply(room) == ({"title": "Hi", "live_chat_enabled": True}, [])


def test_without_a_mask_fields_at_their_default_are_left_alone():
    assert apply(room_pb2.Room(title="", live_chat_enabled=False)) == ({}, [])


def test_without_a_mask_a_message_field_is_updated_when_present_even_if_empty():
    room = room_pb2.Room(metadata=struct_pb2.Struct(), stats=room_pb2.RoomStats())
    assert apply(room) == ({"metadata": {}, "stats": 0}, [])


def test_without_a_mask_a_repeated_field_is_updated_when_it_has_elements():
    room = room_pb2.Room(participants=[room_pb2.Participant(user_id="alice")])
    assert apply(room) == ({"participants": ["alice"]}, [])


def test_is_set_is_presence_for_messages_and_non_default_for_the_rest():
    empty = room_pb2.Room()
    assert [is_set(empty, name) for name in ("title", "stats", "participants")] == [False] * 3
    room = room_pb2.Room(
        title="x", stats=room_pb2.RoomStats(), participants=[room_pb2.Participant()]
    )
    assert [is_set(room, name) for name in ("title", "stats", "participants")] == [True] * 3


def test_a_path_that_is_not_updatable_is_a_violation_of_the_mask():
    fields, violations = apply(room_pb2.Room(title="Hi"), "title", "host_user_id", "nope")
    assert fields == {"title": "Hi"}
    assert violations == [
        ("update_mask", "'host_user_id' cannot be updated"),
        ("update_mask", "'nope' cannot be updated"),
    ]


def test_a_path_named_twice_is_applied_and_reported_once():
    assert apply(room_pb2.Room(title="far too long"), "title", "nope", "title", "nope") == (
        {"title": "far too long"},
        [
            ("room.title", "must be at most 5 characters"),
            ("update_mask", "'nope' cannot be updated"),
        ],
    )


def test_a_mask_of_twice_the_number_of_updatable_fields_is_read():
    assert apply(room_pb2.Room(title="Hi"), *["title"] * 10) == ({"title": "Hi"}, [])


def test_a_mask_of_more_than_twice_the_number_of_updatable_fields_is_refused_by_count_alone():
    assert apply(room_pb2.Room(title="Hi"), *["nope"] * 11) == (
        {},
        [("update_mask.paths", "at most 10 values")],
    )


def test_an_unchecked_field_keeps_the_value_sent():
    v = Violations()
    assert unchecked(v, "live_chat_enabled", True) is True
    assert v.items == []

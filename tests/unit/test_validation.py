"""The input checks every service shares: each limit at its edge and one past it."""

import pytest
from google.protobuf import struct_pb2

from services.common.errors import InvalidArgument
from services.common.validation import (
    MAX_METADATA_BYTES,
    MAX_USER_ID_LENGTH,
    Violations,
    require_ids,
)

ROOM_ID_RULE = "must match ^[a-z0-9][a-z0-9_-]{0,47}$"
TOO_BIG = f"must be at most {MAX_METADATA_BYTES} bytes serialized"


def raised(v: Violations) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as e:
        v.raise_if_any()
    return e.value


def struct(**fields) -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    value.update(fields)
    return value


# Collecting and raising


def test_no_violations_raise_nothing():
    v = Violations()
    assert v.check(True, "title", "is required") is True
    v.raise_if_any()
    assert (v.items, v.total) == ([], 0)


def test_one_violation_is_raised_alone_without_a_summary():
    v = Violations()
    assert v.check(False, "title", "is required") is False
    error = raised(v)
    assert error.violations == [("title", "is required")]
    assert error.message == "title: is required"


def test_every_violation_is_raised_at_once_in_the_order_found():
    v = Violations()
    v.add("title", "is required")
    v.add("room_id", "is required")
    assert raised(v).violations == [("title", "is required"), ("room_id", "is required")]


def test_twenty_violations_are_all_reported():
    v = Violations()
    for i in range(20):
        v.add(f"ids[{i}]", "is required")
    assert v.total == 20
    assert raised(v).violations == [(f"ids[{i}]", "is required") for i in range(20)]


@pytest.mark.parametrize(("count", "more"), [(21, 1), (25, 5)])
def test_past_twenty_violations_the_rest_are_counted_in_a_summary(count, more):
    v = Violations()
    for i in range(count):
        v.add(f"ids[{i}]", "is required")
    assert len(v.items) == 20
    assert v.total == count
    assert raised(v).violations == [(f"ids[{i}]", "is required") for i in range(20)] + [
        ("request", f"and {more} more violations")
    ]


def test_a_repeated_field_of_at_most_its_maximum_count_passes():
    v = Violations()
    assert v.count("ids", ["a"] * 3, 3) is True
    assert v.count("ids", [], 0) is True
    assert v.items == []


def test_a_repeated_field_of_one_more_than_its_maximum_is_refused_by_count():
    v = Violations()
    assert v.count("ids", ["a"] * 4, 3) is False
    assert v.items == [("ids", "at most 3 values")]


# text


def test_text_of_the_maximum_length_passes_and_one_more_is_refused():
    v = Violations()
    assert v.text("title", "x" * 10, max_len=10) == "x" * 10
    assert v.items == []
    v.text("title", "x" * 11, max_len=10)
    assert v.items == [("title", "must be at most 10 characters")]


def test_required_text_that_is_empty_is_refused_as_required():
    v = Violations()
    v.text("title", "", min_len=1, max_len=10)
    assert v.items == [("title", "is required")]
    assert Violations().text("title", "x", min_len=1, max_len=10) == "x"


@pytest.mark.parametrize("min_len", [2, 3])
def test_text_shorter_than_its_minimum_is_refused_with_the_minimum(min_len):
    v = Violations()
    v.text("reason", "x" * (min_len - 1), min_len=min_len, max_len=10)
    assert v.items == [("reason", f"needs at least {min_len} chars")]
    exact = Violations()
    exact.text("reason", "x" * min_len, min_len=min_len, max_len=10)
    assert exact.items == []


def test_optional_text_may_be_empty():
    v = Violations()
    assert v.text("description", "", max_len=10) == ""
    assert v.items == []


def test_trimmed_text_loses_outer_whitespace_and_keeps_inner_whitespace():
    v = Violations()
    assert v.text("title", " \t\n a  b\tc \r\n", max_len=10, trim=True) == "a  b\tc"
    assert v.items == []


def test_trimmed_text_is_measured_after_trimming():
    v = Violations()
    assert v.text("title", "   abc   ", max_len=3, trim=True) == "abc"
    v.text("title", "   ", min_len=1, max_len=3, trim=True)
    assert v.items == [("title", "is required")]


def test_text_is_not_trimmed_unless_asked():
    v = Violations()
    assert v.text("body", " abc ", max_len=5) == " abc "
    v.text("body", " abc ", max_len=4)
    assert v.items == [("body", "must be at most 4 characters")]


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "abc\x00"])
def test_text_with_nul_is_refused(value):
    v = Violations()
    v.text("title", value, max_len=10)
    assert v.items == [("title", "must not contain NUL")]


def test_text_with_nul_is_refused_for_the_nul_only_even_when_too_long():
    v = Violations()
    v.text("title", "\x00" + "x" * 20, max_len=10)
    assert v.items == [("title", "must not contain NUL")]


# identifier


def test_an_id_of_128_characters_passes_and_129_is_refused():
    assert MAX_USER_ID_LENGTH == 128
    v = Violations()
    assert v.identifier("user_id", "u" * 128) == "u" * 128
    assert v.items == []
    v.identifier("user_id", "u" * 129)
    assert v.items == [("user_id", "must be at most 128 characters")]


def test_a_missing_id_is_refused_only_when_required():
    v = Violations()
    v.identifier("user_id", "")
    assert v.items == [("user_id", "is required")]
    optional = Violations()
    assert optional.identifier("user_id", "", required=False) == ""
    assert optional.items == []


@pytest.mark.parametrize("char", ["\x00", "\n", "\x1f", "\x7f", "\x80", "\x9f"])
def test_an_id_with_a_control_character_is_refused(char):
    v = Violations()
    v.identifier("user_id", f"alice{char}")
    assert v.items == [("user_id", "must not contain control characters")]


@pytest.mark.parametrize("value", ["alice bob", "~", "\xa0", "zoë", "alice@example.com", "u-1_2.3"])
def test_an_id_of_printable_characters_passes(value):
    v = Violations()
    assert v.identifier("user_id", value) == value
    assert v.items == []


def test_an_id_too_long_is_refused_for_its_length_only():
    v = Violations()
    v.identifier("user_id", "\x01" * 129)
    assert v.items == [("user_id", "must be at most 128 characters")]


# room_id


def test_a_room_id_of_48_characters_passes_and_49_is_refused():
    v = Violations()
    assert v.room_id("room_id", "r" * 48) == "r" * 48
    assert v.items == []
    v.room_id("room_id", "r" * 49)
    assert v.items == [("room_id", ROOM_ID_RULE)]


@pytest.mark.parametrize(
    "value", ["a", "0", "room-1", "a_b-c", "0190f1e2-7b3c-7d4e-8f5a-6b7c8d9e0f1a"]
)
def test_room_ids_of_lowercase_letters_digits_dashes_and_underscores_pass(value):
    v = Violations()
    assert v.room_id("room_id", value) == value
    assert v.items == []


@pytest.mark.parametrize("value", ["-room", "_room", "Room", "room 1", "room\n", "room.1", "röom"])
def test_room_ids_outside_the_pattern_are_refused(value):
    v = Violations()
    v.room_id("room_id", value)
    assert v.items == [("room_id", ROOM_ID_RULE)]


def test_a_missing_room_id_is_refused_only_when_required():
    v = Violations()
    v.room_id("room_id", "")
    assert v.items == [("room_id", "is required")]
    optional = Violations()
    assert optional.room_id("parent_room_id", "", required=False) == ""
    assert optional.items == []


# identifiers


def test_ids_are_folded_keeping_the_order_of_first_appearance():
    v = Violations()
    assert v.identifiers("user_ids", ["bob", "alice", "bob", "carol", "alice"], max_count=3) == [
        "bob",
        "alice",
        "carol",
    ]
    assert v.items == []


def test_up_to_twice_the_maximum_ids_are_folded_before_they_are_counted():
    v = Violations()
    assert v.identifiers("user_ids", ["alice", "bob"] * 2, max_count=2) == ["alice", "bob"]
    assert v.items == []


def test_more_than_twice_the_maximum_ids_are_refused_by_count_before_any_is_checked():
    v = Violations()
    assert v.identifiers("user_ids", [""] * 5, max_count=2) == []
    assert v.items == [("user_ids", "at most 4 values")]


def test_more_distinct_ids_than_the_maximum_are_refused_and_each_still_checked():
    v = Violations()
    assert v.identifiers("user_ids", ["a", "b", ""], max_count=2) == ["a", "b", ""]
    assert v.items == [("user_ids", "at most 2 distinct ids"), ("user_ids[2]", "is required")]


def test_each_id_is_checked_under_its_index_after_folding():
    v = Violations()
    v.identifiers("user_ids", ["a", "a", "u" * 129], max_count=2)
    assert v.items == [("user_ids[1]", "must be at most 128 characters")]


# metadata


def test_metadata_comes_back_as_a_dict():
    v = Violations()
    value = struct(theme="dark", seats=3, tags=["a", "b"], extra={"on": True, "none": None})
    assert v.metadata("metadata", value) == {
        "theme": "dark",
        "seats": 3,
        "tags": ["a", "b"],
        "extra": {"on": True, "none": None},
    }
    assert v.items == []


def test_metadata_of_16_kib_as_compact_json_passes_and_one_byte_more_is_refused():
    # {"k":"x…x"} is 8 bytes around the text.
    v = Violations()
    assert v.metadata("metadata", struct(k="x" * (MAX_METADATA_BYTES - 8))) == {
        "k": "x" * (MAX_METADATA_BYTES - 8)
    }
    assert v.items == []
    v.metadata("metadata", struct(k="x" * (MAX_METADATA_BYTES - 7)))
    assert v.items == [("metadata", TOO_BIG)]


def test_metadata_is_measured_in_utf8_bytes_not_characters_nor_escapes():
    v = Violations()
    v.metadata("metadata", struct(k="é" * ((MAX_METADATA_BYTES - 8) // 2)))  # 2 bytes each
    assert v.items == []
    v.metadata("metadata", struct(k="é" * ((MAX_METADATA_BYTES - 8) // 2 + 1)))
    assert v.items == [("metadata", TOO_BIG)]


def test_metadata_far_larger_on_the_wire_is_refused_before_it_is_converted():
    # At 4 × 16 KiB on the wire it is converted (and its NaN found); one byte more is not.
    at_edge = struct(k="x" * 65503, nan=float("nan"))
    assert at_edge.ByteSize() == 4 * MAX_METADATA_BYTES
    v = Violations()
    v.metadata("metadata", at_edge)
    assert v.items == [("metadata", "numbers must be finite")]
    past = struct(k="x" * 65504, nan=float("nan"))
    assert past.ByteSize() == 4 * MAX_METADATA_BYTES + 1
    v = Violations()
    assert v.metadata("metadata", past) == {}
    assert v.items == [("metadata", TOO_BIG)]


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_metadata_with_a_number_json_cannot_carry_is_refused(number):
    v = Violations()
    assert v.metadata("metadata", struct(n=number)) == {}
    assert v.items == [("metadata", "numbers must be finite")]


@pytest.mark.parametrize(
    "fields",
    [
        {"a\x00": "b"},
        {"a": "b\x00"},
        {"ok": "fine", "a": {"b": "\x00"}},
        {"a": {"b\x00": 1}},
        {"a": ["fine", "\x00"]},
        {"a": [["\x00"]]},
        {"a": [{"b": "\x00"}]},
    ],
)
def test_metadata_with_nul_in_any_key_or_text_is_refused(fields):
    v = Violations()
    v.metadata("metadata", struct(**fields))
    assert v.items == [("metadata", "must not contain NUL")]


def test_metadata_too_large_is_refused_for_its_size_only_even_with_nul():
    v = Violations()
    v.metadata("metadata", struct(k="\x00" * MAX_METADATA_BYTES))
    assert v.items == [("metadata", TOO_BIG)]


# require_ids


def test_require_ids_passes_well_formed_ids():
    assert require_ids(room_id="room-1", parent_room_id="room-2", user_id="Alice@X") is None


def test_require_ids_names_every_bad_id_each_by_its_rule():
    with pytest.raises(InvalidArgument) as e:
        require_ids(
            room_id="Room", user_id="", parent_room_id="r" * 49, target_id="a\x01", ok_id="ok"
        )
    assert e.value.violations == [
        ("room_id", ROOM_ID_RULE),
        ("user_id", "is required"),
        ("parent_room_id", ROOM_ID_RULE),
        ("target_id", "must not contain control characters"),
    ]


def test_require_ids_checks_as_room_ids_only_room_id_and_names_ending_in_underscore_room_id():
    assert require_ids(chatroom_id="Chat Room", room_id_hint="Room") is None
    with pytest.raises(InvalidArgument) as e:
        require_ids(room_id="")
    assert e.value.violations == [("room_id", "is required")]

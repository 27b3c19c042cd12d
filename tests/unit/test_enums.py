"""Domain enums ↔ proto enums by name, and the enum values a request sends."""

import pytest
from costream.room.v1 import room_pb2

from services.common.enums import EnumMap
from services.common.validation import Violations
from services.room.domain import RoomStatus


def status_map() -> EnumMap[RoomStatus]:
    # Built in each test, not at import, so what it builds is under test too.
    return EnumMap(RoomStatus, room_pb2.RoomStatus, "ROOM_STATUS_")


@pytest.mark.parametrize(
    ("member", "number"),
    [
        (RoomStatus.IDLE, room_pb2.ROOM_STATUS_IDLE),
        (RoomStatus.LIVE, room_pb2.ROOM_STATUS_LIVE),
        (RoomStatus.WAITING_RECONNECT, room_pb2.ROOM_STATUS_WAITING_RECONNECT),
        (RoomStatus.ENDED, room_pb2.ROOM_STATUS_ENDED),
        (RoomStatus.RECORDED, room_pb2.ROOM_STATUS_RECORDED),
    ],
)
def test_each_member_maps_to_the_proto_value_of_its_name_and_back(member, number):
    assert status_map().to_proto(member) == number
    assert status_map().from_proto(number) is member


def test_no_value_maps_to_unspecified():
    assert status_map().to_proto(None) == room_pb2.ROOM_STATUS_UNSPECIFIED == 0


def test_a_number_with_no_member_has_no_domain_value():
    with pytest.raises(KeyError):
        status_map().from_proto(0)
    with pytest.raises(KeyError):
        status_map().from_proto(99)


def test_a_known_value_is_read_without_a_violation():
    v = Violations()
    assert status_map().read(v, "status", room_pb2.ROOM_STATUS_LIVE) is RoomStatus.LIVE
    assert status_map().read(v, "status", room_pb2.ROOM_STATUS_LIVE, default=RoomStatus.IDLE) is (
        RoomStatus.LIVE
    )
    assert v.items == []


def test_unspecified_reads_as_the_default():
    v = Violations()
    assert status_map().read(v, "status", 0, default=RoomStatus.IDLE) is RoomStatus.IDLE
    assert v.items == []


def test_unspecified_without_a_default_is_required():
    v = Violations()
    assert status_map().read(v, "status", 0) is None
    assert v.items == [("status", "is required")]


@pytest.mark.parametrize("number", [6, 99, -1])
def test_an_unknown_number_is_refused_even_with_a_default(number):
    v = Violations()
    assert status_map().read(v, "status", number, default=RoomStatus.IDLE) is None
    assert v.items == [("status", f"unknown value {number}")]


def test_a_set_folds_duplicates_into_a_canonical_order():
    v = Violations()
    live, ended, idle = (
        room_pb2.ROOM_STATUS_LIVE,
        room_pb2.ROOM_STATUS_ENDED,
        room_pb2.ROOM_STATUS_IDLE,
    )
    # Sorted by domain value (ended < idle < live), not by proto number or by arrival.
    assert status_map().read_set(v, "statuses", [live, ended, live, idle]) == [
        RoomStatus.ENDED,
        RoomStatus.IDLE,
        RoomStatus.LIVE,
    ]
    assert status_map().read_set(v, "statuses", [idle, ended, live]) == [
        RoomStatus.ENDED,
        RoomStatus.IDLE,
        RoomStatus.LIVE,
    ]
    assert v.items == []


def test_an_empty_set_is_empty():
    v = Violations()
    assert status_map().read_set(v, "statuses", []) == []
    assert v.items == []


def test_a_set_reports_each_unknown_or_unspecified_value_at_its_index_and_keeps_the_rest():
    v = Violations()
    numbers = [room_pb2.ROOM_STATUS_LIVE, 99, 0]
    assert status_map().read_set(v, "statuses", numbers) == [RoomStatus.LIVE]
    assert v.items == [("statuses[1]", "unknown value 99"), ("statuses[2]", "is required")]


def test_a_set_of_twice_the_number_of_members_is_read():
    v = Violations()
    numbers = [room_pb2.ROOM_STATUS_LIVE] * 10  # RoomStatus has 5 members
    assert status_map().read_set(v, "statuses", numbers) == [RoomStatus.LIVE]
    assert v.items == []


def test_a_set_of_more_than_twice_the_number_of_members_is_refused_by_count_alone():
    v = Violations()
    assert status_map().read_set(v, "statuses", [99] * 11) == []
    assert v.items == [("statuses", "at most 10 values")]

"""Page sizes, pages cut to 1 MiB, and page tokens: opaque, tamper-evident, bound to their
filters."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from costream.room.v1 import room_pb2

from services.common.errors import InvalidArgument
from services.common.pagination import (
    MAX_PAGE_BYTES,
    Page,
    PageRequest,
    PageTokens,
    page_size,
    within_bytes,
)
from services.common.validation import Violations

FILTERS = {"host": "alice", "statuses": [1, 2]}
T0 = datetime(2026, 1, 1, tzinfo=UTC)
INVALID = [("page_token", "invalid page token")]
OTHER_FILTERS = [("page_token", "the page token was made for other filters")]
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def refused(call) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as e:
        call()
    return e.value.violations


@dataclass(frozen=True)
class Item:
    """A listed item that takes `cost` bytes of a page as a proto (its tag and length too)."""

    key: str
    cost: int = 100
    time: datetime = T0

    @property
    def page_key(self) -> tuple[datetime, str]:
        return self.time, self.key


def to_proto(item: Item) -> room_pb2.Room:
    # A title of n chars is 1 (tag) + its length's varint + n bytes; 8 more are counted per item.
    for n in range(item.cost - 10, item.cost - 14, -1):
        room = room_pb2.Room(title="x" * n)
        if room.ByteSize() + 8 == item.cost:
            return room
    raise AssertionError(f"no Room costs {item.cost} bytes")


def items(*costs: int) -> list[Item]:
    return [Item(f"item-{i}", cost, T0 + timedelta(seconds=i)) for i, cost in enumerate(costs)]


# page_size


@pytest.mark.parametrize(("asked", "got"), [(0, 50), (1, 1), (100, 100), (101, 100), (10**6, 100)])
def test_page_size_zero_is_the_default_and_above_the_maximum_is_the_maximum(asked, got):
    assert page_size(asked) == got


@pytest.mark.parametrize("asked", [-1, -(2**31)])
def test_a_negative_page_size_is_refused(asked):
    assert refused(lambda: page_size(asked)) == [("page_size", "must not be negative")]


# within_bytes


def test_items_are_sent_while_their_sizes_add_up_to_the_bound_exactly():
    sent = within_bytes(items(100, 100, 100), to_proto, max_bytes=300)
    assert [m.ByteSize() + 8 for m in sent] == [100, 100, 100]


def test_the_item_one_byte_past_the_bound_is_left_for_the_next_page():
    assert len(within_bytes(items(100, 100, 100), to_proto, max_bytes=299)) == 2
    assert len(within_bytes(items(100, 100, 101), to_proto, max_bytes=300)) == 2


def test_the_first_item_is_sent_even_when_it_alone_is_past_the_bound():
    sent = within_bytes(items(500, 100), to_proto, max_bytes=300)
    assert [m.ByteSize() + 8 for m in sent] == [500]


def test_items_after_one_that_does_not_fit_are_not_sent_even_if_they_would():
    sent = within_bytes(items(100, 300, 50), to_proto, max_bytes=300)
    assert [m.ByteSize() + 8 for m in sent] == [100]


def test_no_items_make_no_messages():
    assert within_bytes([], to_proto) == []


def test_a_page_holds_up_to_1_mib_less_room_for_the_token_and_not_a_byte_more():
    assert MAX_PAGE_BYTES == 1024 * 1024 - 4096
    assert len(within_bytes(items(MAX_PAGE_BYTES - 100, 100), to_proto)) == 2
    assert len(within_bytes(items(MAX_PAGE_BYTES - 100, 101), to_proto)) == 1


# Page and PageRequest


def test_a_page_request_reads_one_row_more_than_its_size():
    assert PageRequest(size=10).limit == 11


def test_a_page_of_one_row_more_than_asked_has_more_after_it():
    rows = items(1, 1, 1, 1)
    page = Page.of(rows, PageRequest(size=3))
    assert page.items == rows[:3]
    assert page.more is True


@pytest.mark.parametrize("count", [3, 2, 0])
def test_a_page_of_at_most_the_rows_asked_is_the_last(count):
    rows = items(*[1] * count)
    page = Page.of(rows, PageRequest(size=3))
    assert page.items == rows
    assert page.more is False


# PageTokens.request


def test_a_request_without_a_token_starts_at_the_first_page():
    request = PageTokens("secret").request(Violations(), 10, "", FILTERS)
    assert request == PageRequest(size=10, after=None, filters=FILTERS)


def test_a_request_with_a_token_starts_after_the_position_it_carries():
    tokens = PageTokens("secret")
    token = tokens.encode_after(dict(FILTERS), T0, "room-7")
    request = tokens.request(Violations(), 0, token, FILTERS)
    assert request == PageRequest(size=50, after=(T0, "room-7"), filters=FILTERS)


def test_a_request_checks_its_size_and_its_token():
    tokens = PageTokens("secret")
    assert refused(lambda: tokens.request(Violations(), -1, "", FILTERS)) == [
        ("page_size", "must not be negative")
    ]
    token = tokens.encode_after(dict(FILTERS), T0, "room-7")
    other = {**FILTERS, "host": "bob"}
    assert refused(lambda: tokens.request(Violations(), 10, token, other)) == OTHER_FILTERS


def test_the_violations_of_a_requests_other_fields_are_raised_before_its_size_and_token():
    v = Violations()
    v.add("statuses[0]", "unknown value 9")
    call = lambda: PageTokens("secret").request(v, -1, "not a token", FILTERS)  # noqa: E731
    assert refused(call) == [("statuses[0]", "unknown value 9")]


def test_the_token_of_a_request_is_bound_to_its_filters():
    tokens = PageTokens("secret")
    request = tokens.request(Violations(), 2, "", FILTERS)
    _, token = tokens.respond(Page(items(100, 100), more=True), request, to_proto)
    assert tokens.decode_after(token, dict(FILTERS)) == (T0 + timedelta(seconds=1), "item-1")
    assert refused(lambda: tokens.decode_after(token, {"host": "alice"})) == OTHER_FILTERS


# PageTokens.respond and next_token


def test_the_last_page_has_no_next_token():
    tokens = PageTokens("secret")
    request = PageRequest(size=3, filters=FILTERS)
    messages, token = tokens.respond(Page(items(100, 100), more=False), request, to_proto)
    assert len(messages) == 2
    assert token == ""


def test_a_page_with_more_after_it_has_a_token_for_the_position_after_its_last_item():
    tokens = PageTokens("secret")
    request = PageRequest(size=2, filters=FILTERS)
    page = Page(items(100, 100), more=True)
    messages, token = tokens.respond(page, request, to_proto)
    assert messages == [to_proto(item) for item in page.items]
    assert tokens.decode_after(token, dict(FILTERS)) == (T0 + timedelta(seconds=1), "item-1")


def test_a_page_cut_to_1_mib_continues_after_the_last_item_sent():
    tokens = PageTokens("secret")
    request = PageRequest(size=3, filters=FILTERS)
    page = Page(items(MAX_PAGE_BYTES - 100, 101, 1), more=False)
    messages, token = tokens.respond(page, request, to_proto)
    assert len(messages) == 1
    assert tokens.decode_after(token, dict(FILTERS)) == (T0, "item-0")


def test_a_page_of_exactly_1_mib_is_sent_whole():
    tokens = PageTokens("secret")
    request = PageRequest(size=2, filters=FILTERS)
    page = Page(items(MAX_PAGE_BYTES - 100, 100), more=False)
    messages, token = tokens.respond(page, request, to_proto)
    assert len(messages) == 2
    assert token == ""


def test_next_token_is_empty_on_the_last_page_and_points_after_the_last_item_otherwise():
    tokens = PageTokens("secret")
    request = PageRequest(size=2, filters=FILTERS)
    assert tokens.next_token(Page(items(1, 1), more=False), request) == ""
    token = tokens.next_token(Page(items(1, 1), more=True), request)
    assert tokens.decode_after(token, dict(FILTERS)) == (T0 + timedelta(seconds=1), "item-1")


# encode_after and decode_after


def test_a_token_round_trips_its_time_and_key():
    tokens = PageTokens("secret")
    time = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    token = tokens.encode_after(dict(FILTERS), time, "room-1")
    assert tokens.decode_after(token, dict(FILTERS)) == (time, "room-1")
    assert tokens.decode_after("", FILTERS) is None


def test_a_key_is_read_back_as_text():
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, [T0.isoformat(), 7])
    assert tokens.decode_after(token, FILTERS) == (T0, "7")


@pytest.mark.parametrize(
    "position", [["yesterday", "room-1"], [1, "room-1"], [T0.isoformat()], [], {"p": 1}, "x"]
)
def test_a_signed_token_that_carries_no_time_and_key_is_refused(position):
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, position)
    assert refused(lambda: tokens.decode_after(token, FILTERS)) == INVALID


# encode and decode


def test_a_token_round_trips_its_position():
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, ["2026-01-01T00:00:00+00:00", "room-1"])
    assert tokens.decode(token, dict(FILTERS)) == ["2026-01-01T00:00:00+00:00", "room-1"]
    assert tokens.decode("", FILTERS) is None


def test_a_token_keeps_its_format_so_tokens_held_by_clients_outlive_a_deploy():
    token = (
        "eyJmIjoidG14MFV3dFpUTDhEMlZGNyIsInAiOlsiMjAyNi0wMS0wMVQwMDowMDowMCswMDowMCIsInJvb20t"
        "MSJdfQ.9dqwoLyFWrtNB1iENDMe8Q"
    )
    tokens = PageTokens("secret")
    assert tokens.encode_after(dict(FILTERS), T0, "room-1") == token
    assert tokens.decode_after(token, dict(FILTERS)) == (T0, "room-1")


def test_a_token_used_with_other_filters_is_refused():
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, [1])
    assert refused(lambda: tokens.decode(token, {**FILTERS, "host": "bob"})) == OTHER_FILTERS
    assert refused(lambda: tokens.decode(token, {})) == OTHER_FILTERS


def test_a_token_is_bound_to_its_filters_whatever_their_order():
    tokens = PageTokens("secret")
    token = tokens.encode({"a": 1, "b": 2}, [1])
    assert tokens.decode(token, {"b": 2, "a": 1}) == [1]


def test_a_token_is_bound_to_filters_that_are_not_json_by_their_text():
    tokens = PageTokens("secret")
    token = tokens.encode({"since": T0}, [1])
    assert tokens.decode(token, {"since": T0}) == [1]
    later = {"since": T0 + timedelta(seconds=1)}
    assert refused(lambda: tokens.decode(token, later)) == OTHER_FILTERS


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: "x" + t,  # payload changed
        lambda t: t.split(".")[0],  # signature dropped
        lambda t: t.split(".")[0] + ".",
        lambda t: "not a token",
        lambda t: "....",
        lambda t: "%%%.%%%",
        lambda t: "é" + t,
    ],
)
def test_forged_or_tampered_tokens_are_refused(mangle):
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, [1])
    assert refused(lambda: tokens.decode(mangle(token), FILTERS)) == INVALID


def test_a_token_whose_payload_is_replaced_by_another_valid_payload_is_refused():
    tokens = PageTokens("secret")
    first = tokens.encode(FILTERS, [T0.isoformat(), "room-1"])
    later = tokens.encode(FILTERS, [T0.isoformat(), "room-9"])
    forged = later.split(".")[0] + "." + first.split(".")[1]
    assert refused(lambda: tokens.decode(forged, FILTERS)) == INVALID


def test_a_token_with_any_one_character_changed_is_refused():
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, ["2026-01-01T00:00:00+00:00", "room-1"])
    accepted = []
    for i, char in enumerate(token):
        other = "A" if char == "." else B64URL[B64URL.index(char) ^ 1]  # one bit flipped
        edited = token[:i] + other + token[i + 1 :]
        try:
            tokens.decode(edited, FILTERS)
            accepted.append(edited)
        except InvalidArgument:
            pass
    assert accepted == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t + "=",  # padding base64 decoding overlooks
        lambda t: t + "!!!!",  # characters outside base64url, which decoding skips
        lambda t: t[:4] + "****" + t[4:],
        lambda t: t.replace(".", "..", 1),
    ],
)
def test_a_token_edited_where_base64_decoding_does_not_look_is_refused(edit):
    tokens = PageTokens("secret")
    token = tokens.encode(FILTERS, [1])
    assert refused(lambda: tokens.decode(edit(token), FILTERS)) == INVALID


def test_a_token_signed_with_another_secret_is_refused():
    token = PageTokens("other").encode(FILTERS, [1])
    assert refused(lambda: PageTokens("secret").decode(token, FILTERS)) == INVALID

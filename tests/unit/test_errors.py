"""What an INVALID_ARGUMENT reports stays bounded whatever the request was (error details
travel in trailers, capped at 16 KiB)."""

import grpc
from google.rpc import error_details_pb2, status_pb2

from services.common.errors import (
    MAX_DESCRIPTION_CHARS,
    MAX_FIELD_CHARS,
    MAX_MESSAGE_CHARS,
    InvalidArgument,
    clip,
    to_status,
)


def test_clip_keeps_text_up_to_its_limit_and_ends_longer_text_with_an_ellipsis():
    assert clip("abcde", 5) == "abcde"
    assert clip("abcdef", 5) == "abcd…"
    assert clip("", 5) == ""


def test_a_field_of_100_chars_is_reported_whole_and_101_is_clipped_to_100():
    assert MAX_FIELD_CHARS == 100
    whole = InvalidArgument([("f" * 100, "bad")])
    assert whole.violations == [("f" * 100, "bad")]
    clipped = InvalidArgument([("f" * 101, "bad")])
    assert clipped.violations == [("f" * 99 + "…", "bad")]


def test_a_description_of_200_chars_is_reported_whole_and_201_is_clipped_to_200():
    assert MAX_DESCRIPTION_CHARS == 200
    assert InvalidArgument([("f", "d" * 200)]).violations == [("f", "d" * 200)]
    assert InvalidArgument([("f", "d" * 201)]).violations == [("f", "d" * 199 + "…")]


def test_at_most_20_violations_are_reported_then_a_count_of_the_rest():
    violations = [(f"ids[{i}]", "is required") for i in range(23)]
    error = InvalidArgument(violations)
    assert error.violations == [*violations[:20], ("request", "and 3 more violations")]
    assert InvalidArgument(violations[:20]).violations == violations[:20]


def test_a_total_beyond_the_violations_given_is_counted_in_the_summary():
    error = InvalidArgument([("title", "is required")], total=4)
    assert error.violations == [("title", "is required"), ("request", "and 3 more violations")]
    assert error.message == "title: is required; request: and 3 more violations"


def test_an_invalid_argument_is_an_invalid_field_error_with_its_violations_as_message():
    error = InvalidArgument([("title", "is required"), ("room_id", "is required")])
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "INVALID_FIELD"
    assert error.message == "title: is required; room_id: is required"
    assert InvalidArgument([]).message == "invalid request"


def test_a_status_message_of_1000_chars_is_sent_whole_and_longer_is_clipped_to_1000():
    assert MAX_MESSAGE_CHARS == 1000
    error = InvalidArgument([])
    error.message = "m" * 1000
    assert to_status(error).details == "m" * 1000
    error.message = "m" * 1001
    assert to_status(error).details == "m" * 999 + "…"


def test_the_status_carries_the_reported_violations_as_bad_request_details():
    status = to_status(InvalidArgument([("f" * 101, "is required")]))
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    bad_request = error_details_pb2.BadRequest()
    status_pb2.Status.FromString(details).details[1].Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("f" * 99 + "…", "is required")
    ]

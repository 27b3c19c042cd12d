from datetime import UTC, datetime

import pytest

from services.common.errors import NotFound, PermissionDenied
from services.common.validation import Violations
from services.post import domain


def fields_of(v: Violations) -> set[str]:
    return {field for field, _ in v.items}


@pytest.mark.parametrize("text", ["x", "x" * 20_000, "  two  words \n"])
def test_text_of_1_to_20000_chars_is_accepted_untrimmed(text):
    v = Violations()
    assert domain.check_text(v, "text", text) == text
    assert v.items == []


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "is required"),
        ("x" * 20_001, "must be at most 20000 characters"),
        (" ", "must not be blank"),
        ("   \n ", "must not be blank"),
        ("a\x00b", "must not contain NUL"),
        (" \x00 ", "must not contain NUL"),
    ],
)
def test_text_empty_blank_too_long_or_with_nul_is_refused_once(text, why):
    v = Violations()
    domain.check_text(v, "text", text)
    assert v.items == [("text", why)]


def test_title_is_trimmed_and_at_most_1000_chars():
    v = Violations()
    assert domain.check_title(v, "title", "  Hi  there ") == "Hi  there"
    assert domain.check_title(v, "title", "") == ""
    assert domain.check_title(v, "title", "t" * 1000) == "t" * 1000
    assert domain.check_title(v, "title", " " + "t" * 1000 + " ") == "t" * 1000
    assert v.items == []
    domain.check_title(v, "post.title", "t" * 1001)
    assert v.items == [("post.title", "must be at most 1000 characters")]


def test_hashtags_lose_their_leading_hash_keep_their_case_and_fold_duplicates():
    v = Violations()
    tags = domain.check_hashtags(v, "hashtags", ["#Live", "music", "Live", "#C#"])
    assert tags == ["Live", "music", "C#"]
    assert v.items == []


@pytest.mark.parametrize(
    ("tag", "why"),
    [
        ("#", "must not be empty"),
        ("", "must not be empty"),
        ("a b", "must not contain whitespace or control characters"),
        ("a\tb", "must not contain whitespace or control characters"),
        ("a\x07b", "must not contain whitespace or control characters"),
        ("x" * 101, "must be at most 100 characters"),
        ("#" + "x" * 101, "must be at most 100 characters"),
    ],
    ids=["hash-only", "empty", "space", "tab", "bell", "101", "hash-and-101"],
)
def test_a_bad_hashtag_is_refused_with_its_index_and_left_out(tag, why):
    v = Violations()
    assert domain.check_hashtags(v, "hashtags", ["ok", tag]) == ["ok"]
    assert v.items == [("hashtags[1]", why)]


def test_only_one_leading_hash_is_stripped():
    v = Violations()
    assert domain.check_hashtags(v, "hashtags", ["##x", "x#"]) == ["#x", "x#"]
    assert v.items == []


def test_a_hashtag_of_100_chars_after_the_hash_is_accepted():
    v = Violations()
    assert domain.check_hashtags(v, "hashtags", ["#" + "x" * 100]) == ["x" * 100]
    assert v.items == []


def test_more_than_30_hashtags_are_refused_but_30_pass():
    v = Violations()
    thirty = [f"t{i}" for i in range(30)]
    assert domain.check_hashtags(v, "hashtags", thirty) == thirty
    assert v.items == []
    domain.check_hashtags(v, "hashtags", [f"t{i}" for i in range(31)])
    assert v.items == [("hashtags", "at most 30 hashtags")]


def test_60_hashtags_that_fold_to_30_pass():
    v = Violations()
    thirty = [f"t{i}" for i in range(30)]
    assert domain.check_hashtags(v, "hashtags", thirty + ["#" + t for t in thirty]) == thirty
    assert v.items == []


def test_61_hashtags_are_refused_by_count_before_any_is_looked_at():
    v = Violations()
    tags = [f"t{i}" for i in range(30)] * 2 + [""]
    assert domain.check_hashtags(v, "hashtags", tags) == []
    assert v.items == [("hashtags", "at most 60 values")]


def test_mentions_are_a_set_of_at_most_100():
    v = Violations()
    folded = domain.check_mentions(
        v, "mention_user_ids", ["a", "b", "a"] + [f"u{i}" for i in range(98)]
    )
    assert folded == ["a", "b"] + [f"u{i}" for i in range(98)]
    assert v.items == []
    domain.check_mentions(v, "mention_user_ids", [f"u{i}" for i in range(101)])
    assert v.items == [("mention_user_ids", "at most 100 distinct ids")]


def test_101_mentions_with_a_duplicate_fold_to_100_and_pass():
    v = Violations()
    ids = [f"u{i}" for i in range(100)]
    assert domain.check_mentions(v, "mention_user_ids", [*ids, "u0"]) == ids
    assert v.items == []


def test_a_bad_mention_is_refused_with_its_index():
    v = Violations()
    domain.check_mentions(v, "mention_user_ids", ["ok", "x" * 129])
    assert fields_of(v) == {"mention_user_ids[1]"}


def test_user_target_without_id_is_the_callers_own_feed():
    v = Violations()
    assert domain.resolve_target(v, domain.TargetType.USER, "", "alice") == (
        domain.TargetType.USER,
        "alice",
    )
    assert v.items == []


def test_user_target_with_an_id_is_that_users_feed_and_the_id_is_checked():
    v = Violations()
    assert domain.resolve_target(v, domain.TargetType.USER, "bob", "alice") == (
        domain.TargetType.USER,
        "bob",
    )
    assert v.items == []
    domain.resolve_target(v, domain.TargetType.USER, "x" * 129, "alice")
    assert fields_of(v) == {"target_id"}


def test_community_target_needs_an_id():
    v = Violations()
    domain.resolve_target(v, domain.TargetType.COMMUNITY, "", "alice")
    assert fields_of(v) == {"target_id"}
    v = Violations()
    assert domain.resolve_target(v, domain.TargetType.COMMUNITY, "c1", "alice")[1] == "c1"
    assert v.items == []


def test_only_the_host_posts_a_room_and_a_deleted_room_is_not_found():
    room = domain.RoomAccess(room_id="r", host_user_id="host", deleted=False)
    assert domain.require_can_post_room(room, "host") is None
    with pytest.raises(PermissionDenied) as e:
        domain.require_can_post_room(room, "guest")
    assert e.value.reason == "NOT_ROOM_HOST"
    deleted = domain.RoomAccess(room_id="r", host_user_id="host", deleted=True)
    for caller in ("host", "guest"):  # a deleted room is not found, whoever asks
        with pytest.raises(NotFound) as e:
            domain.require_can_post_room(deleted, caller)
        assert e.value.reason == "ROOM_NOT_FOUND"
        assert e.value.metadata == {"room_id": "r"}


def make_post(*, deleted: bool) -> domain.Post:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return domain.Post(
        post_id="p", data_type=domain.DataType.ROOM, room_id="r", text="t", title="",
        target_type=domain.TargetType.USER, target_id="alice", metadata={},
        mention_user_ids=[], hashtags=[], creator_id="alice", create_time=now, update_time=now,
        deleted=deleted,
    )  # fmt: skip


def test_only_the_author_changes_a_post_and_an_admin_may_delete_it():
    post = make_post(deleted=False)
    assert post.require_author("alice") is None
    assert post.require_author_or_admin("alice", is_admin=False) is None
    assert post.require_author_or_admin("bob", is_admin=True) is None
    for check in (post.require_author, lambda u: post.require_author_or_admin(u, is_admin=False)):
        with pytest.raises(PermissionDenied) as e:
            check("bob")
        assert e.value.reason == "NOT_POST_AUTHOR"


def test_a_deleted_post_is_not_found_and_a_live_one_is_visible():
    assert make_post(deleted=False).require_visible() is None
    post = make_post(deleted=True)
    with pytest.raises(NotFound) as e:
        post.require_visible()
    assert e.value.reason == "POST_NOT_FOUND"
    assert e.value.metadata == {"post_id": "p"}


def test_posts_are_listed_by_create_time_then_id():
    post = make_post(deleted=False)
    assert post.page_key == (post.create_time, "p")


def test_update_post_changes_exactly_the_fields_of_the_spec():
    updatable = set(domain.UPDATABLE_FIELDS)
    assert updatable == {"text", "title", "metadata", "hashtags", "mention_user_ids"}

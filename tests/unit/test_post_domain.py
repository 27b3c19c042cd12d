from datetime import UTC, datetime

import pytest

from services.common.errors import NotFound, PermissionDenied
from services.common.validation import Violations
from services.post import domain


def fields_of(v: Violations) -> set[str]:
    return {field for field, _ in v.items}


def test_text_of_20000_chars_is_accepted():
    v = Violations()
    assert domain.check_text(v, "text", "x" * 20_000) == "x" * 20_000
    assert v.items == []


@pytest.mark.parametrize("text", ["", "x" * 20_001, "   \n ", "a\x00b"])
def test_text_empty_blank_too_long_or_with_nul_is_refused(text):
    v = Violations()
    domain.check_text(v, "text", text)
    assert fields_of(v) == {"text"}


def test_title_is_trimmed_and_at_most_1000_chars():
    v = Violations()
    assert domain.check_title(v, "title", "  Hi  ") == "Hi"
    assert domain.check_title(v, "title", "") == ""
    assert v.items == []
    domain.check_title(v, "post.title", "t" * 1001)
    assert fields_of(v) == {"post.title"}


def test_hashtags_lose_their_leading_hash_keep_their_case_and_fold_duplicates():
    v = Violations()
    tags = domain.check_hashtags(v, "hashtags", ["#Live", "music", "Live", "#C#"])
    assert tags == ["Live", "music", "C#"]
    assert v.items == []


@pytest.mark.parametrize(
    ("tag", "why"),
    [("#", "empty"), ("", "empty"), ("a b", "space"), ("a\tb", "tab"), ("x" * 101, "long")],
)
def test_a_bad_hashtag_is_refused_with_its_index(tag, why):
    v = Violations()
    domain.check_hashtags(v, "hashtags", ["ok", tag])
    assert fields_of(v) == {"hashtags[1]"}, why


def test_a_hashtag_of_100_chars_after_the_hash_is_accepted():
    v = Violations()
    assert domain.check_hashtags(v, "hashtags", ["#" + "x" * 100]) == ["x" * 100]
    assert v.items == []


def test_more_than_30_hashtags_are_refused_but_30_pass():
    v = Violations()
    domain.check_hashtags(v, "hashtags", [f"t{i}" for i in range(30)])
    assert v.items == []
    domain.check_hashtags(v, "hashtags", [f"t{i}" for i in range(31)])
    assert fields_of(v) == {"hashtags"}


def test_mentions_are_a_set_of_at_most_100():
    v = Violations()
    folded = domain.check_mentions(
        v, "mention_user_ids", ["a", "b", "a"] + [f"u{i}" for i in range(98)]
    )
    assert folded[:2] == ["a", "b"] and len(folded) == 100
    assert v.items == []
    domain.check_mentions(v, "mention_user_ids", [f"u{i}" for i in range(101)])
    assert fields_of(v) == {"mention_user_ids"}


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


def test_community_target_needs_an_id():
    v = Violations()
    domain.resolve_target(v, domain.TargetType.COMMUNITY, "", "alice")
    assert fields_of(v) == {"target_id"}
    v = Violations()
    assert domain.resolve_target(v, domain.TargetType.COMMUNITY, "c1", "alice")[1] == "c1"
    assert v.items == []


def test_only_the_host_posts_a_room_and_a_deleted_room_is_not_found():
    room = domain.RoomAccess(room_id="r", host_user_id="host", deleted=False)
    domain.require_can_post_room(room, "host")
    with pytest.raises(PermissionDenied) as e:
        domain.require_can_post_room(room, "guest")
    assert e.value.reason == "NOT_ROOM_HOST"
    deleted = domain.RoomAccess(room_id="r", host_user_id="host", deleted=True)
    with pytest.raises(NotFound) as e:
        domain.require_can_post_room(deleted, "host")
    assert e.value.reason == "ROOM_NOT_FOUND"


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
    post.require_author("alice")
    post.require_author_or_admin("bob", is_admin=True)
    with pytest.raises(PermissionDenied) as e:
        post.require_author_or_admin("bob", is_admin=False)
    assert e.value.reason == "NOT_POST_AUTHOR"


def test_a_deleted_post_is_not_found():
    post = make_post(deleted=True)
    with pytest.raises(NotFound) as e:
        post.require_visible()
    assert e.value.reason == "POST_NOT_FOUND"

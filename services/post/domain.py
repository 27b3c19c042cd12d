"""Post rules: the limits of a room post, its feed target, and who may change it. No I/O.

Decisions the spec leaves open:
- A deleted post is gone for users: GetPost and UpdatePost answer NOT_FOUND `POST_NOT_FOUND`
  and lists leave it out. An admin still reads it with GetPost (`deleted` set), for moderation.
- Deleting a post twice is a no-op, as for rooms, so a retried DeletePost succeeds.
- A post outlives its room: a post of a deleted or ended room stays readable.
- Hashtags are a list with exact duplicates folded (after the leading `#` is stripped);
  mention_user_ids are a set. Both keep the order of first appearance.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.common.validation import Violations
from services.post import errors
from services.room import errors as room_errors
from services.room.client import RoomAccess

MAX_TEXT = 20_000
MAX_TITLE = 1000
MAX_MENTIONS = 100
MAX_HASHTAGS = 30
MAX_HASHTAG = 100
MAX_REQUEST_ID = 128
MAX_ROOM_BATCH = 100
# ListPostsByRoom answers at most this many posts per room, newest first.
MAX_POSTS_PER_ROOM = 100


class DataType(StrEnum):
    ROOM = "room"


class TargetType(StrEnum):
    USER = "user"
    COMMUNITY = "community"


@dataclass(frozen=True)
class Post:
    post_id: str
    data_type: DataType
    room_id: str
    text: str
    title: str
    target_type: TargetType
    target_id: str
    metadata: dict[str, Any]
    mention_user_ids: list[str]
    hashtags: list[str]
    creator_id: str
    create_time: datetime
    update_time: datetime
    deleted: bool

    @property
    def page_key(self) -> tuple[datetime, str]:
        return self.create_time, self.post_id

    def require_visible(self) -> None:
        """A deleted post is gone for everyone but admins, who read it with GetPost."""
        if self.deleted:
            raise errors.post_not_found(self.post_id)

    def require_author(self, user_id: str) -> None:
        if user_id != self.creator_id:
            raise errors.not_post_author()

    def require_author_or_admin(self, user_id: str, is_admin: bool) -> None:
        if not is_admin:
            self.require_author(user_id)


def require_can_post_room(room: RoomAccess, user_id: str) -> None:
    """Only the host of a room that is not deleted shares it in a feed."""
    if room.deleted:
        raise room_errors.room_not_found(room.room_id)
    room.require_host(user_id)


def check_text(v: Violations, field: str, text: str) -> str:
    text = v.text(field, text, min_len=1, max_len=MAX_TEXT)
    if text and not text.strip():  # a NUL is not whitespace: text with one is never blank
        v.add(field, "must not be blank")
    return text


def check_title(v: Violations, field: str, title: str) -> str:
    return v.text(field, title, max_len=MAX_TITLE, trim=True)


def check_mentions(v: Violations, field: str, user_ids: list[str]) -> list[str]:
    return v.identifiers(field, list(user_ids), max_count=MAX_MENTIONS)


def check_hashtags(v: Violations, field: str, hashtags: list[str]) -> list[str]:
    """Each 1–100 chars without whitespace, stored without a leading '#', case kept; at most
    twice the maximum are sent before duplicates fold."""
    if not v.count(field, hashtags, 2 * MAX_HASHTAGS):
        return []
    tags = []
    for i, raw in enumerate(hashtags):
        tag = raw.removeprefix("#")
        if not tag:
            v.add(f"{field}[{i}]", "must not be empty")
        elif len(tag) > MAX_HASHTAG:
            v.add(f"{field}[{i}]", f"must be at most {MAX_HASHTAG} characters")
        elif any(ch.isspace() for ch in tag) or not tag.isprintable():
            v.add(f"{field}[{i}]", "must not contain whitespace or control characters")
        else:
            tags.append(tag)
    tags = list(dict.fromkeys(tags))
    if len(tags) > MAX_HASHTAGS:
        v.add(field, f"at most {MAX_HASHTAGS} hashtags")
    return tags


def resolve_target(
    v: Violations, target_type: TargetType, target_id: str, caller: str
) -> tuple[TargetType, str]:
    """The feed a post goes to: a user's (the caller's own when no id is given) or a
    community's (an id is required)."""
    if target_type is TargetType.USER and not target_id:
        return target_type, caller
    v.identifier("target_id", target_id)
    return target_type, target_id


# The fields UpdatePost may change (AIP-134), each with its check: declared once here.
UPDATABLE_FIELDS = {
    "text": check_text,
    "title": check_title,
    "metadata": Violations.metadata,
    "hashtags": check_hashtags,
    "mention_user_ids": check_mentions,
}

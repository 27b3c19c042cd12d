"""Input checks shared by every service; each failed check is one field violation."""

import json
import re
from collections.abc import Sequence, Sized

from google.protobuf import json_format, struct_pb2

from services.common.errors import MAX_REPORTED_VIOLATIONS, InvalidArgument

MAX_METADATA_BYTES = 16 * 1024
MAX_USER_ID_LENGTH = 128
# Room ids, client-chosen or generated (a UUIDv7 matches too); every service checks them alike.
ROOM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class Violations:
    """Collects field violations; raise_if_any() throws them all at once as INVALID_ARGUMENT
    (services.common.errors.InvalidArgument keeps what it reports bounded)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self.total = 0

    def add(self, field: str, description: str) -> None:
        self.total += 1
        if len(self.items) < MAX_REPORTED_VIOLATIONS:
            self.items.append((field, description))

    def count(self, field: str, values: Sized, max_count: int) -> bool:
        """A repeated field, counted before its elements are looked at: False (and one
        violation) when it has more than `max_count`, so a huge list costs nothing more."""
        return self.check(len(values) <= max_count, field, f"at most {max_count} values")

    def check(self, ok: bool, field: str, description: str) -> bool:
        if not ok:
            self.add(field, description)
        return ok

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items, total=self.total)

    def text(
        self, field: str, value: str, *, min_len: int = 0, max_len: int, trim: bool = False
    ) -> str:
        """A free-text field: no NUL, length within bounds (after trimming if asked)."""
        if trim:
            value = value.strip()
        if "\x00" in value:
            self.add(field, "must not contain NUL")
        elif len(value) < min_len:
            self.add(field, "is required" if min_len == 1 else f"needs at least {min_len} chars")
        elif len(value) > max_len:
            self.add(field, f"must be at most {max_len} characters")
        return value

    def identifier(self, field: str, value: str, *, required: bool = True) -> str:
        """A user or resource id: 1–128 chars, no control characters."""
        if not value:
            if required:
                self.add(field, "is required")
        elif len(value) > MAX_USER_ID_LENGTH:
            self.add(field, f"must be at most {MAX_USER_ID_LENGTH} characters")
        elif _CONTROL.search(value):
            self.add(field, "must not contain control characters")
        return value

    def room_id(self, field: str, value: str, *, required: bool = True) -> str:
        """A room id: ^[a-z0-9][a-z0-9_-]{0,47}$."""
        if not value:
            if required:
                self.add(field, "is required")
        elif not ROOM_ID.fullmatch(value):  # match() would let a trailing newline through
            self.add(field, f"must match {ROOM_ID.pattern}")
        return value

    def identifiers(self, field: str, values: Sequence[str], *, max_count: int) -> list[str]:
        """A set of ids: duplicates folded, order of first appearance kept. At most twice
        `max_count` are sent before folding; more are refused by count."""
        if not self.count(field, values, 2 * max_count):
            return []
        folded = list(dict.fromkeys(values))
        if len(folded) > max_count:
            self.add(field, f"at most {max_count} distinct ids")
        for i, value in enumerate(folded):
            self.identifier(f"{field}[{i}]", value)
        return folded

    def metadata(self, field: str, value: struct_pb2.Struct) -> dict:
        """A free-form JSON object of at most 16 KiB serialized (compact UTF-8 JSON)."""
        # Far larger on the wire is far larger as JSON too: refused before it is converted.
        if value.ByteSize() > 4 * MAX_METADATA_BYTES:
            self.add(field, f"must be at most {MAX_METADATA_BYTES} bytes serialized")
            return {}
        try:
            data = json_format.MessageToDict(value)
        except (ValueError, json_format.Error):  # NaN and Infinity have no JSON form
            self.add(field, "numbers must be finite")
            return {}
        size = len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
        if size > MAX_METADATA_BYTES:
            self.add(field, f"must be at most {MAX_METADATA_BYTES} bytes serialized")
        elif _has_nul(data):
            self.add(field, "must not contain NUL")
        return data


def require_ids(**ids: str) -> None:
    """Each named id present and well-formed, or INVALID_ARGUMENT naming every bad one: room
    ids (fields named `room_id` or `*_room_id`) by the room id pattern, the others as user or
    resource ids."""
    v = Violations()
    for field, value in ids.items():
        if field == "room_id" or field.endswith("_room_id"):
            v.room_id(field, value)
        else:
            v.identifier(field, value)
    v.raise_if_any()

"""Page sizes and opaque, tamper-evident page tokens for keyset pagination (AIP-158)."""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from google.protobuf.message import Message

from services.common.errors import InvalidArgument
from services.common.validation import Violations

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
# No response carries more items than fit in this (api.md: no page exceeds 1 MiB); room is
# left for the token and the framing.
MAX_PAGE_BYTES = 1024 * 1024 - 4096


def page_size(value: int) -> int:
    """0 is the default size, above the maximum the maximum, negative refused."""
    if value < 0:
        raise InvalidArgument([("page_size", "must not be negative")])
    if value == 0:
        return DEFAULT_PAGE_SIZE
    return min(value, MAX_PAGE_SIZE)


class Keyed(Protocol):
    """A listed item: its place in a (time, key) keyset."""

    @property
    def page_key(self) -> tuple[datetime, str]: ...


T = TypeVar("T", bound=Keyed)
M = TypeVar("M", bound=Message)


def within_bytes(
    items: list[Any], to_proto: Callable[[Any], M], max_bytes: int = MAX_PAGE_BYTES
) -> list[M]:
    """The leading items, as protos, whose sizes add up to at most `max_bytes` (the first one
    always, so a page is never empty while items remain)."""
    messages: list[M] = []
    size = 0
    for item in items:
        message = to_proto(item)
        size += message.ByteSize() + 8  # and its tag and length
        if messages and size > max_bytes:
            break
        messages.append(message)
    return messages


@dataclass(frozen=True)
class PageRequest:
    """A checked List request: its size, the keyset position it starts after, and the filters
    its tokens are bound to."""

    size: int
    after: tuple[datetime, str] | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def limit(self) -> int:
        """Rows to read: one more than the page, to know whether another follows."""
        return self.size + 1


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    more: bool

    @classmethod
    def of(cls, rows: list[T], request: PageRequest) -> "Page[T]":
        """The page within `request.limit` rows read."""
        return cls(rows[: request.size], len(rows) > request.size)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Encodes the position after the last item of a page, bound to the query's filters and
    signed, so a token cannot be forged, edited or reused with other filters."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"costream-page-token:" + secret.encode()).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]

    @staticmethod
    def _filters_digest(filters: dict[str, Any]) -> str:
        canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)
        return _b64(hashlib.sha256(canonical.encode()).digest()[:12])

    def encode(self, filters: dict[str, Any], position: list[Any]) -> str:
        payload = json.dumps(
            {"f": self._filters_digest(filters), "p": position}, separators=(",", ":")
        ).encode()
        return self._seal(payload)

    def _seal(self, payload: bytes) -> str:
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, token: str, filters: dict[str, Any]) -> list[Any] | None:
        """The position a token carries, None for the first page."""
        if not token:
            return None
        bad = InvalidArgument([("page_token", "invalid page token")])
        try:
            payload = _unb64(token.partition(".")[0])
            # The whole token is compared: base64 decoding skips stray characters, padding and
            # unused bits, so comparing decoded bytes would let edited tokens through.
            if not hmac.compare_digest(self._seal(payload).encode(), token.encode()):
                raise bad
            data = json.loads(payload)
        except (ValueError, binascii.Error, UnicodeError):
            raise bad from None
        if data.get("f") != self._filters_digest(filters):
            raise InvalidArgument([("page_token", "the page token was made for other filters")])
        position = data.get("p")
        if not isinstance(position, list):
            raise bad
        return position

    def request(
        self, v: Violations, page_size_value: int, page_token: str, filters: Mapping[str, Any]
    ) -> PageRequest:
        """The page a List request asks for. Its other fields were checked into `v`: those
        violations are raised first, then the size and the token are read."""
        v.raise_if_any()
        filters = dict(filters)
        return PageRequest(
            page_size(page_size_value), self.decode_after(page_token, filters), filters
        )

    def respond(
        self, page: Page[T], request: PageRequest, to_proto: Callable[[T], M]
    ) -> tuple[list[M], str]:
        """The page's items as protos, cut to MAX_PAGE_BYTES, and the token of the page after
        the last item sent."""
        messages = within_bytes(page.items, to_proto)
        sent = Page(page.items[: len(messages)], page.more or len(messages) < len(page.items))
        return messages, self.next_token(sent, request)

    def next_token(self, page: Page[Any], request: PageRequest) -> str:
        """The token of the page after `page`; empty on the last page."""
        if not page.more:
            return ""
        time, key = page.items[-1].page_key
        return self.encode_after(dict(request.filters), time, key)

    def encode_after(self, filters: dict[str, Any], time: datetime, key: str) -> str:
        """A token for the page after the item at (time, key) of a (time, key) keyset."""
        return self.encode(filters, [time.isoformat(), key])

    def decode_after(self, token: str, filters: dict[str, Any]) -> tuple[datetime, str] | None:
        """The (time, key) a token made by encode_after carries; None for the first page."""
        position = self.decode(token, filters)
        if position is None:
            return None
        try:
            return datetime.fromisoformat(position[0]), str(position[1])
        except (ValueError, TypeError, IndexError):
            raise InvalidArgument([("page_token", "invalid page token")]) from None

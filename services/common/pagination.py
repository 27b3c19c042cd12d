"""Page sizes and opaque, tamper-evident page tokens for keyset pagination (AIP-158)."""

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from services.common.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def page_size(value: int) -> int:
    if value < 0:
        raise InvalidArgument([("page_size", "must not be negative")])
    if value == 0:
        return DEFAULT_PAGE_SIZE
    return min(value, MAX_PAGE_SIZE)


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
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, token: str, filters: dict[str, Any]) -> list[Any] | None:
        """The position a token carries, None for the first page."""
        if not token:
            return None
        bad = InvalidArgument([("page_token", "invalid page token")])
        try:
            body, _, signature = token.partition(".")
            payload = _unb64(body)
            if not hmac.compare_digest(self._sign(payload), _unb64(signature)):
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

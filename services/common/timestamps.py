"""Time, once: the clock every service reads, and datetime ↔ protobuf conversions."""

from datetime import UTC, datetime

from google.protobuf import duration_pb2, timestamp_pb2


def utcnow() -> datetime:
    """Now, timezone-aware UTC: the one clock of every use case."""
    return datetime.now(UTC)


def to_timestamp(value: datetime | str | None) -> timestamp_pb2.Timestamp | None:
    """None stays unset; a string is ISO 8601 (timestamps read back from jsonb)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def from_timestamp(value: timestamp_pb2.Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=UTC)


def duration_from_ms(milliseconds: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(
        seconds=milliseconds // 1000, nanos=(milliseconds % 1000) * 1_000_000
    )


def duration_to_ms(value: duration_pb2.Duration) -> int:
    return value.seconds * 1000 + value.nanos // 1_000_000

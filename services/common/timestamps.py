"""datetime → google.protobuf.Timestamp, the one conversion every servicer needs."""

from datetime import datetime

from google.protobuf import timestamp_pb2


def to_timestamp(value: datetime | str | None) -> timestamp_pb2.Timestamp | None:
    """None stays unset; a string is ISO 8601 (timestamps read back from jsonb)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts

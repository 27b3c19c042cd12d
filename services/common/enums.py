"""Domain enums ↔ proto enums, matched by name (RoomStatus.LIVE ↔ ROOM_STATUS_LIVE): one map
per enum, declared by the servicer that speaks it."""

from collections.abc import Sequence
from enum import StrEnum
from typing import Generic, TypeVar

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from services.common.validation import Violations

D = TypeVar("D", bound=StrEnum)


class EnumMap(Generic[D]):
    def __init__(self, domain: type[D], proto: EnumTypeWrapper, prefix: str) -> None:
        self._to_proto = {member: proto.Value(prefix + member.name) for member in domain}
        self._from_proto = {number: member for member, number in self._to_proto.items()}

    def to_proto(self, value: D | None) -> int:
        """The proto number; None is UNSPECIFIED (0)."""
        return 0 if value is None else self._to_proto[value]

    def from_proto(self, number: int) -> D:
        return self._from_proto[number]

    def read(self, v: Violations, field: str, number: int, *, default: D | None = None) -> D | None:
        """A value a request sent: UNSPECIFIED becomes the default (refused without one), an
        unknown number is refused."""
        if number == 0:
            if default is None:
                v.add(field, "is required")
            return default
        if number not in self._from_proto:
            v.add(field, f"unknown value {number}")
            return None
        return self._from_proto[number]

    def read_set(self, v: Violations, field: str, numbers: Sequence[int]) -> list[D]:
        """A filter: known values, duplicates folded, in a canonical order (for page tokens);
        more than twice the number of values is refused by count."""
        if not v.count(field, numbers, 2 * len(self._to_proto)):
            return []
        found: set[D] = set()
        for i, number in enumerate(numbers):
            value = self.read(v, f"{field}[{i}]", number)
            if value is not None:
                found.add(value)
        return sorted(found)

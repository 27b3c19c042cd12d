"""Domain events: what an aggregate records as it changes. No I/O; the unit of work
(services.common.unit_of_work) turns them into side effects at commit."""

from collections.abc import Mapping
from dataclasses import dataclass, field


class DomainEvent:
    """Something that happened to an aggregate; subclasses are frozen dataclasses."""


@dataclass(frozen=True)
class OutboxMessage:
    """A side effect delivered after the commit by the outbox relay (services.common.outbox)."""

    kind: str
    # JSON: strings, and where a kind needs them lists and booleans.
    payload: Mapping[str, object]


@dataclass(frozen=True)
class Notification:
    """A NOTIFY sent when the transaction commits."""

    channel: str
    payload: str


@dataclass
class SideEffects:
    """What the events of one transaction mean, written in that transaction."""

    outbox: list[OutboxMessage] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)

    def send(self, message: OutboxMessage) -> None:
        """Add a message once: two events asking for the same delivery ask for one."""
        if message not in self.outbox:
            self.outbox.append(message)

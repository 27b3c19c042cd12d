"""The broadcast service's unit of work: its outbox of accepted webhooks (it keeps nothing
else; LiveKit holds the rooms)."""

from collections.abc import Sequence

from services.broadcast.side_effects import side_effects
from services.common.events import DomainEvent, SideEffects
from services.common.unit_of_work import UnitOfWork


class BroadcastUnitOfWork(UnitOfWork):
    schema = "broadcast"

    def side_effects(self, events: Sequence[DomainEvent]) -> SideEffects:
        return side_effects(events)

"""An EventBridge bus in memory, for the outbox's publishers: takes events until it is down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from functions.orders.outbox import OutboxEvent


@dataclass
class MemoryBus:
    """Takes every event (its detail type kept), or refuses each with ``refusal`` when down."""

    down: bool = False
    refusal: str = "ServiceUnavailable"
    taken: list[str] = field(default_factory=list)

    def publish_batch(self, events: Sequence[OutboxEvent]) -> list[str | None]:
        if self.down:
            return [self.refusal] * len(events)
        self.taken.extend(e.detail_type for e in events)
        return [None] * len(events)

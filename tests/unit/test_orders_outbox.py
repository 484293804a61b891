"""Draining the outbox: every event published once the bus takes it, none lost when not."""

from __future__ import annotations

from dataclasses import dataclass, field

from functions.orders.outbox import BATCH, Batch, OutboxEvent, Publish, drain
from tests.support.bus import MemoryBus


@dataclass
class MemoryOutbox:
    """Pending events in order; claimed in batches, marked when the bus took them."""

    pending: list[OutboxEvent] = field(default_factory=list)
    published: list[int] = field(default_factory=list)

    def drain_batch(self, publish: Publish, order_id: str | None = None) -> Batch:
        claimed = [e for e in self.pending if order_id in (None, e.order_id)][:BATCH]
        errors = list(publish(claimed))
        taken = [e for e, error in zip(claimed, errors, strict=True) if error is None]
        for event in taken:
            self.pending.remove(event)
            self.published.append(event.seq)
        refused = [error for error in errors if error]
        return Batch(len(claimed), len(taken), refused[0] if refused else None)


def events(count: int, order_id: str = "o-1") -> list[OutboxEvent]:
    return [OutboxEvent(seq, order_id, f"E{seq}", "{}") for seq in range(1, count + 1)]


def test_every_pending_event_is_published_in_order_across_batches() -> None:
    # Given more events than one batch holds
    outbox, bus = MemoryOutbox(events(2 * BATCH + 3)), MemoryBus()
    # When drained / Then all are published, oldest first, and none is left
    drained = drain(outbox, bus)
    assert (drained.published, drained.failed, drained.error) == (2 * BATCH + 3, 0, None)
    assert bus.taken == [f"E{seq}" for seq in range(1, 2 * BATCH + 4)]
    assert outbox.pending == []


def test_a_bus_that_refuses_leaves_every_event_pending_and_says_why() -> None:
    # Given a bus that is down
    outbox, bus = MemoryOutbox(events(3)), MemoryBus(down=True, refusal="InternalFailure")
    # When drained / Then nothing is lost: the events wait, and the refusal is reported
    drained = drain(outbox, bus)
    assert (drained.published, drained.failed, drained.error) == (0, 3, "InternalFailure")
    assert len(outbox.pending) == 3
    # And once the bus is back they are published
    bus.down = False
    assert drain(outbox, bus).published == 3 and outbox.pending == []


def test_a_step_drains_only_its_own_order_s_events() -> None:
    # Given events of two orders
    outbox, bus = MemoryOutbox(events(2, "o-1") + events(2, "o-2")), MemoryBus()
    # When the step of o-2 drains / Then only o-2's are published
    drain(outbox, bus, order_id="o-2")
    assert [e.order_id for e in outbox.pending] == ["o-1", "o-1"]

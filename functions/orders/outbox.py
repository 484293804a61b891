"""The transactional outbox: domain events wait in the database until the bus has taken them.

Every change of an order writes its event (``OrderPlaced``, ``PaymentCaptured``, ...) in the
same transaction (``functions/orders/store.py``). Publishing happens afterwards and may fail
for as long as the bus is down: the saga's steps never publish themselves, so a bus outage
delays the projection and never fails, retries or compensates an order. Draining is at least
once (a crash after PutEvents and before the mark publishes again); the projector is
idempotent, as it reads the rows and writes only newer versions.

Drained by the step that made the change, right after its commit (best effort, so views
follow within a second), and by the scheduled ``functions.outbox_drain`` in the writer
region, which also watches for orders that ended FAILED while still holding money.

Pure domain code: no driver, no boto3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

# PutEvents takes at most 10 entries.
BATCH = 10
# Published events deleted per drainer run at most: one short statement a minute, which keeps
# up with 14 million events a day.
PRUNE_BATCH = 10_000


@dataclass(frozen=True)
class OutboxEvent:
    """One event waiting to be published: its place in the outbox, type and JSON detail."""

    seq: int
    order_id: str
    detail_type: str
    detail: str


# Puts a batch on the bus; returns, per event, None when taken or the error that refused it.
Publish = Callable[[Sequence[OutboxEvent]], Sequence[str | None]]


class EventBatchPublisher(Protocol):
    """Puts a batch of events on the region's bus."""

    def publish_batch(self, events: Sequence[OutboxEvent]) -> list[str | None]:
        """Per event, None when the bus took it, else why not; never raises for the bus."""
        ...


@dataclass(frozen=True)
class Batch:
    """What one drained batch came to."""

    claimed: int
    published: int
    error: str | None = None


class Outbox(Protocol):
    """The outbox table (see ``store.PostgresOutbox``)."""

    def drain_batch(self, publish: Publish, order_id: str | None = None) -> Batch:
        """Claim up to BATCH pending events (of one order, if given), publish, mark them."""
        ...


@dataclass(frozen=True)
class Drained:
    """What a drain did: events published, events that stay pending, the last refusal."""

    published: int
    failed: int
    error: str | None = None


def drain(
    outbox: Outbox,
    publisher: EventBatchPublisher,
    *,
    order_id: str | None = None,
    max_batches: int = 100,
) -> Drained:
    """Publish pending events, oldest first, until none are left or a batch fails.

    Stops at the first batch the bus did not fully take: the rest would most likely fail
    the same way, and they stay pending for the next drain.
    """
    published = failed = 0
    for _ in range(max_batches):
        batch = outbox.drain_batch(publisher.publish_batch, order_id)
        published += batch.published
        if batch.error is not None:
            return Drained(published, batch.claimed - batch.published, batch.error)
        if batch.claimed < BATCH:
            break
    return Drained(published, failed)

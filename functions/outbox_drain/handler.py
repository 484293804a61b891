"""Lambda (every region, every minute): publish the domain events waiting in the outbox; then,
as housekeeping that never fails the run, delete those published more than
``OUTBOX_RETENTION_DAYS`` (7) ago and the write canary's orders a week after they were placed
(functions/synthetic.py).

The saga's steps write their events in the outbox with each change and publish them right
after their commit; what the bus did not take then waits here. This function publishes it
(oldest first, at least once), so a bus outage delays the projection and never fails an order.
In a region whose cluster does not write (a secondary) it does nothing: the writer's
drainer publishes, and after a failover the new writer's takes over the pending events.

It fails the invocation (Lambda retries it, then its on-failure destination, a watched
dead-letter queue, raises an alarm) when events stay unpublished, or when an order has ended
FAILED while its payment still holds money: both need a person.

Environment: ``EVENT_BUS_NAME``, ``AWS_REGION``, ``OUTBOX_RETENTION_DAYS`` (optional) and the
database variables of :mod:`functions.orders.db`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3

from functions import synthetic
from functions.observability import EVENT_ID, observed, service_logger, service_tracer
from functions.orders.aws import EventBridgeDomainEvents
from functions.orders.db import Database, database_from_env
from functions.orders.outbox import drain
from functions.orders.settings import OutboxDrainSettings
from functions.orders.store import PostgresOrderStore, PostgresOutbox

logger = service_logger("outbox-drain")
tracer = service_tracer("outbox-drain")
# An order FAILED for this long with money still held is no compensation in progress.
HELD_MONEY_GRACE_SECONDS = 900


class OutboxNotDrained(RuntimeError):
    """Events stay unpublished, or failed orders hold money: the invocation fails (alarm)."""


@cache
def database() -> Database:
    """The container's database connection."""
    return database_from_env()


@cache
def settings() -> OutboxDrainSettings:
    """The drainer's settings, read once per container."""
    return OutboxDrainSettings.from_env()


@cache
def publisher() -> EventBridgeDomainEvents:
    """This region's bus."""
    client = boto3.session.Session(region_name=settings().region).client("events")
    return EventBridgeDomainEvents(client, settings().event_bus_name)


def housekeeping(outbox: PostgresOutbox, orders: PostgresOrderStore) -> dict[str, Any]:
    """Delete what is past its retention: published events, the canary's old orders.

    Never fails the run: nothing here needs a person now, and an error (a lock, a migration
    not applied yet) is logged as a warning and tried again next minute.
    """
    try:
        return {
            "pruned": outbox.prune(settings().retention_days * 86_400),
            "syntheticOrdersPruned": orders.prune_synthetic(synthetic.RETENTION_SECONDS),
        }
    except Exception as exc:
        database().close()
        logger.warning("housekeeping failed; next run tries again", extra={"reason": repr(exc)})
        return {"pruned": None, "syntheticOrdersPruned": None}


@observed(logger, tracer, EVENT_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Drain the outbox once; raise OutboxNotDrained when something needs a person."""
    outbox, orders = PostgresOutbox(database()), PostgresOrderStore(database())
    try:
        if not outbox.writes():
            return {"skipped": "this region's cluster does not take writes"}
        drained = drain(outbox, publisher())
        waiting, oldest = outbox.pending()
        holding = orders.failed_holding_money(HELD_MONEY_GRACE_SECONDS)
    except Exception:
        database().close()
        raise
    report = {
        "published": drained.published,
        "pending": waiting,
        "oldestSeconds": round(oldest),
        **housekeeping(outbox, orders),
    }
    logger.info("outbox drained", extra=report)
    problems = []
    if drained.error is not None:
        problems.append(f"{waiting} events wait in the outbox; the bus said: {drained.error}")
    if holding:
        problems.append(
            f"{len(holding)} FAILED orders still hold money at the provider: {holding[:20]}"
        )
    if problems:
        logger.error("the outbox needs a person", extra={**report, "problems": problems})
        raise OutboxNotDrained("; ".join(problems))
    return report

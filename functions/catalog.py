"""Every Lambda handler of the application, in one list the infra and the benchmark import.

Imports nothing from AWS. ``handler`` is the Lambda handler string, relative to an archive
whose root holds the ``functions/`` package. ``needs_database`` means the function talks to
Aurora, so it runs in the VPC's private subnets and gets IAM database auth.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.orders.saga import actions


@dataclass(frozen=True)
class HandlerSpec:
    """One Lambda function the stacks deploy."""

    name: str
    handler: str
    needs_database: bool
    description: str

    @property
    def needs_vpc(self) -> bool:
        """True when the function must run in the private subnets (Aurora is only there)."""
        return self.needs_database


_SAGA = tuple(
    HandlerSpec(
        a.function, f"functions.saga.handler.{a.function}", True, f"checkout saga: {a.state}"
    )
    for a in actions()
)

HANDLERS: tuple[HandlerSpec, ...] = (
    HandlerSpec(
        "write_api",
        "functions.write_api.handler.handler",
        False,
        "POST /orders and POST /internal/orders",
    ),
    HandlerSpec(
        "order_intake",
        "functions.order_intake.handler.handler",
        False,
        "async mode, primary: starts the saga for OrderRequested events (SQS)",
    ),
    HandlerSpec(
        "migrator",
        "functions.migrator.handler.handler",
        True,
        "applies SQL migrations at deploy time",
    ),
    HandlerSpec(
        "projector",
        "functions.projector.handler.handler",
        True,
        "domain events (SQS) to the order views in the global table",
    ),
    *_SAGA,
    HandlerSpec(
        "outbox_drain",
        "functions.outbox_drain.handler.handler",
        True,
        "every minute: publishes the domain events waiting in the outbox; fails (an alarm) "
        "while they stay unpublished or a FAILED order holds money",
    ),
    # Read side (issue 7): env vars in each function's settings module and docs/read-side.md.
    HandlerSpec(
        "read_api",
        "functions.read_api.handler.handler",
        False,
        "GET /orders/{orderId} and GET /customers/{customerId}/orders from the local table",
    ),
    HandlerSpec(
        "health",
        "functions.health.handler.handler",
        True,
        "GET /health: local table and local Aurora reader, 200 or 503",
    ),
    HandlerSpec(
        "websocket",
        "functions.websocket.handler.handler",
        False,
        "WebSocket $connect, $disconnect and subscribe (connections table)",
    ),
    HandlerSpec(
        "notifier",
        "functions.notifier.handler.handler",
        False,
        "local replica stream to WebSocket subscribers and AppSync publishOrderUpdate",
    ),
    HandlerSpec(
        "graphql",
        "functions.graphql.handler.handler",
        False,
        "AppSync Lambda data source: getOrder, listOrders, placeOrder, publishOrderUpdate",
    ),
)


def by_name() -> dict[str, HandlerSpec]:
    """The catalog keyed by function name."""
    return {spec.name: spec for spec in HANDLERS}


def saga_function_names() -> tuple[str, ...]:
    """The names whose ARNs ``functions.orders.saga.definition`` needs."""
    return tuple(spec.name for spec in _SAGA)

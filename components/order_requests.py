"""Where ``OrderRequested`` goes from a region's bus: into the saga in the primary, to the
primary's bus from a secondary."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import queues
from components.events import (
    bus_rule,
    dead_lettered_target,
    order_requested_pattern,
    queued_rule,
    rule_name,
)
from components.iam import service_role
from components.saga import Saga
from components.write_api import follow_the_writer
from components.write_functions import WriteFunctions


def intake(functions: WriteFunctions, bus: aws.cloudwatch.EventBus, checkout: Saga) -> str:
    """Primary: OrderRequested -> intake queue -> order_intake -> the saga; the rule's name.

    Not a direct Step Functions target: EventBridge would name each execution at random,
    and it delivers at least once, so a redelivered request would start a second saga.
    order_intake names the execution after the order id, exactly as the write API does.
    """
    label = "order-requests"
    requests = queued_rule(
        functions.site,
        label,
        bus,
        order_requested_pattern(),
        "OrderRequested from any region's write API, into the checkout saga",
    )
    functions.consumer(
        label,
        "order_intake",
        requests.queue,
        environment={
            "STATE_MACHINE_ARN": checkout.machine.arn,
            "TABLE_NAME": functions.data.table_name,
        },
        # After a failover the writer is elsewhere: intake forwards there, as the write
        # API does, instead of starting a saga against this region's reader.
        statements=[checkout.start, checkout.describe, *follow_the_writer(functions)],
    )
    return rule_name(label)


def forward(
    functions: WriteFunctions,
    bus: aws.cloudwatch.EventBus,
    primary_bus: pulumi.Input[str] | None,
) -> str:
    """Secondary: OrderRequested -> the primary's bus (a cross-region bus target); the rule's
    name."""
    site = functions.site
    if primary_bus is None:
        raise ValueError(f"{site.settings.stack}: a secondary needs the primary's bus ARN")
    label = "forward-orders"
    dlq = queues.dead_letter_queue(site, label, "OrderRequested the primary's bus did not take")
    rule = bus_rule(
        site,
        label,
        bus,
        order_requested_pattern(),
        "OrderRequested, forwarded to the primary's bus",
    )
    role, _ = service_role(
        f"{site.name}-{label}",
        site.settings,
        "events.amazonaws.com",
        [
            {
                "Sid": "PutOnPrimaryBus",
                "Effect": "Allow",
                "Action": ["events:PutEvents"],
                "Resource": primary_bus,
            }
        ],
        site.child,
    )
    dead_lettered_target(
        site, label, rule, primary_bus, dlq, event_bus_name=bus.name, role_arn=role.arn
    )
    return rule_name(label)

"""The read model's projection: every region projects the saga's domain events into its
replica of the global table (idle until the region is the primary)."""

from __future__ import annotations

import pulumi_aws as aws

from components.events import domain_events_pattern, queued_rule, rule_name
from components.write_functions import WriteFunctions


def projection(functions: WriteFunctions, bus: aws.cloudwatch.EventBus) -> str:
    """Domain events -> projector queue -> projector -> this region's table; the rule's name."""
    label = "projection"
    events = queued_rule(
        functions.site,
        label,
        bus,
        domain_events_pattern(),
        "domain events, projected into the order views",
    )
    functions.consumer(
        label,
        "projector",
        events.queue,
        environment={"TABLE_NAME": functions.data.table_name},
        statements=[
            {
                "Sid": "WriteOrderViews",
                "Effect": "Allow",
                "Action": ["dynamodb:PutItem"],
                "Resource": functions.table_arn(),
            },
            functions.site.kms_via("dynamodb"),
        ],
    )
    return rule_name(label)

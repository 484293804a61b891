"""The region's orders bus, its rules, and targets that keep what they cannot deliver.

Every target of a rule has an encrypted dead-letter queue (with its alarm) for the events
EventBridge gave up on, and a retry policy; a queue target also redrives what its consumer
fails to a dead-letter queue of its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

from components import queues
from components.iam import policy_document
from components.settings import PROJECT, Settings
from components.site import Site
from components.tags import tags
from functions.orders.events import EVENT_SOURCE, ORDER_REQUESTED

# The most EventBridge allows: a day of retries, 185 attempts.
MAX_EVENT_AGE_SECONDS = 24 * 3600
MAX_RETRY_ATTEMPTS = 185

# The Lambda timeout of an SQS consumer; the queue hides a message six times as long, as
# AWS advises, so a retry never overlaps a running attempt.
CONSUMER_TIMEOUT = 30
_MAX_RECEIVES = 5


def bus_name(settings: Settings) -> str:
    """The orders bus's name: the same in every region, as EventBridge global endpoints need
    (docs/pitfalls.md item 21), and one per environment, as the global cluster and Glue names are,
    so that a dev and a prod deployment can share an account."""
    return f"{PROJECT}-{settings.environment.value}-orders"


def rule_name(label: str) -> str:
    """A rule's name on the orders bus (what its FailedInvocations alarm names)."""
    return f"{PROJECT}-{label}"


def order_requested_pattern() -> str:
    """The event pattern of write requests put on a bus by a secondary's write API."""
    return json.dumps({"source": [EVENT_SOURCE], "detail-type": [ORDER_REQUESTED]})


def domain_events_pattern() -> str:
    """The event pattern of the saga's domain events: every order event but a request."""
    return json.dumps(
        {"source": [EVENT_SOURCE], "detail-type": [{"anything-but": [ORDER_REQUESTED]}]}
    )


def orders_bus(site: Site) -> aws.cloudwatch.EventBus:
    """The region's bus for order requests and domain events, archived for replay."""
    settings = site.settings
    bus = aws.cloudwatch.EventBus(
        f"{site.name}-bus",
        name=bus_name(settings),
        description="order requests and the checkout saga's domain events",
        tags=tags(settings, f"{site.name}-bus"),
        opts=site.child,
    )
    aws.cloudwatch.EventArchive(
        f"{site.name}-archive",
        name=bus_name(settings),
        description="every event of the orders bus, for replay",
        event_source_arn=bus.arn,
        retention_days=365 if settings.is_prod else 30,
        opts=site.child,
    )
    return bus


def bus_rule(
    site: Site, label: str, bus: aws.cloudwatch.EventBus, pattern: str, description: str
) -> aws.cloudwatch.EventRule:
    """A rule on this region's bus, named ``rule_name(label)``."""
    return aws.cloudwatch.EventRule(
        f"{site.name}-{label}",
        name=rule_name(label),
        description=description,
        event_bus_name=bus.name,
        event_pattern=pattern,
        tags=tags(site.settings, f"{site.name}-{label}"),
        opts=site.child,
    )


def allow_rules_to_send(
    site: Site, label: str, queue: aws.sqs.Queue, rules: Sequence[aws.cloudwatch.EventRule]
) -> aws.sqs.QueuePolicy:
    """Only these rules may put messages on ``queue``."""
    return aws.sqs.QueuePolicy(
        f"{site.name}-{label}-policy",
        queue_url=queue.url,
        policy=policy_document(
            [
                {
                    "Sid": "FromRule",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue.arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": [r.arn for r in rules]}},
                }
            ]
        ),
        opts=site.child,
    )


def dead_lettered_target(
    site: Site,
    label: str,
    rule: aws.cloudwatch.EventRule,
    target_arn: pulumi.Input[str],
    dead_letters: aws.sqs.Queue,
    *,
    event_bus_name: pulumi.Input[str] | None = None,
    role_arn: pulumi.Input[str] | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
    max_event_age_seconds: int = MAX_EVENT_AGE_SECONDS,
    max_retry_attempts: int = MAX_RETRY_ATTEMPTS,
) -> aws.cloudwatch.EventTarget:
    """The rule's target (``<site>-<label>-target``): what EventBridge cannot deliver within
    the retry policy lands in ``dead_letters``, which only this rule may write to."""
    policy = allow_rules_to_send(site, f"{label}-dlq", dead_letters, [rule])
    return aws.cloudwatch.EventTarget(
        f"{site.name}-{label}-target",
        rule=rule.name,
        event_bus_name=event_bus_name,
        arn=target_arn,
        role_arn=role_arn,
        dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dead_letters.arn),
        retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
            maximum_event_age_in_seconds=max_event_age_seconds,
            maximum_retry_attempts=max_retry_attempts,
        ),
        opts=site.after(*depends_on, policy),
    )


class QueuedRule(NamedTuple):
    """A rule whose events wait in a queue for a consumer."""

    rule: aws.cloudwatch.EventRule
    queue: aws.sqs.Queue


def queued_rule(
    site: Site, label: str, bus: aws.cloudwatch.EventBus, pattern: str, description: str
) -> QueuedRule:
    """Rule -> SQS, with a dead-letter queue for what EventBridge cannot deliver and for
    what the consumer fails ``_MAX_RECEIVES`` times."""
    dlq = queues.dead_letter_queue(site, label, description)
    queue = queues.work_queue(
        site,
        label,
        visibility_timeout_seconds=6 * CONSUMER_TIMEOUT,
        message_retention_seconds=4 * 24 * 3600,
        redrive_policy=dlq.arn.apply(
            lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": _MAX_RECEIVES})
        ),
    )
    rule = bus_rule(site, label, bus, pattern, description)
    dead_lettered_target(
        site,
        label,
        rule,
        queue.arn,
        dlq,
        event_bus_name=bus.name,
        depends_on=[allow_rules_to_send(site, label, queue, [rule])],
    )
    return QueuedRule(rule, queue)


def put_events(bus_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Putting events on this region's bus, and no other."""
    return {
        "Sid": "PutEventsOnRegionalBus",
        "Effect": "Allow",
        "Action": ["events:PutEvents"],
        "Resource": bus_arn,
    }

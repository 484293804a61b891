"""SQS queues the same way everywhere: encrypted with the region's key, and dead-letter queues
that raise an alarm as soon as anything lands in them."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import alarm_when_above
from components.settings import PROJECT, Settings
from components.site import Site
from components.tags import tags

# How long a dead letter waits for someone to look at it.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
# A message older than this in a work queue means its consumer fails or is throttled: CloudWatch's
# recommended SQS alarm is on ApproximateAgeOfOldestMessage, at a threshold the workload sets;
# every consumer here takes a message within seconds when healthy.
WORK_QUEUE_MAX_AGE_SECONDS = 300


def encrypted_queue(
    resource_name: str,
    settings: Settings,
    queue_name: str,
    kms_key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    **extra: Any,
) -> aws.sqs.Queue:
    """An SQS queue encrypted with the region's key; ``extra`` are further Queue arguments."""
    return aws.sqs.Queue(
        resource_name,
        name=queue_name,
        kms_master_key_id=kms_key_arn,
        kms_data_key_reuse_period_seconds=300,
        tags=tags(settings, resource_name),
        opts=opts,
        **extra,
    )


def work_queue(site: Site, label: str, **extra: Any) -> aws.sqs.Queue:
    """An encrypted queue a function consumes (``<site>-<label>``), with an alarm (``-age``)
    when its oldest message has waited five minutes; ``extra`` are further Queue arguments."""
    resource_name, queue_name = f"{site.name}-{label}", f"{PROJECT}-{site.settings.stack}-{label}"
    queue = encrypted_queue(
        resource_name, site.settings, queue_name, site.kms_key_arn, site.child, **extra
    )
    alarm_when_above(
        f"{resource_name}-age",
        site.settings,
        site.alarm_topic_arn,
        site.child,
        threshold=WORK_QUEUE_MAX_AGE_SECONDS,
        alarm_description=f"{queue_name}: messages wait, their consumer fails or is throttled",
        namespace="AWS/SQS",
        metric_name="ApproximateAgeOfOldestMessage",
        dimensions={"QueueName": queue.name},
        statistic="Maximum",
        period=60,
        evaluation_periods=5,
    )
    return queue


def dead_letter_queue(site: Site, label: str, purpose: str) -> aws.sqs.Queue:
    """An encrypted DLQ (``<site>-<label>-dlq``) kept 14 days, with an alarm (``-depth``) to the
    region's alarm topic as soon as anything is in it; ``purpose`` says what its letters are."""
    resource_name = f"{site.name}-{label}-dlq"
    queue = encrypted_queue(
        resource_name,
        site.settings,
        f"{PROJECT}-{site.settings.stack}-{label}-dlq",
        site.kms_key_arn,
        site.child,
        message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
    )
    alarm_when_above(
        f"{resource_name}-depth",
        site.settings,
        site.alarm_topic_arn,
        site.child,
        alarm_description=f"dead letters: {purpose}",
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": queue.name},
        statistic="Maximum",
        period=60,
        evaluation_periods=1,
    )
    site.dead_letters.append(queue.name)
    return queue

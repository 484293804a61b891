"""SQS queues the same way everywhere: encrypted with the region's key, and dead-letter queues
that raise an alarm as soon as anything lands in them."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import metric_alarm
from components.settings import Settings
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


def work_queue(
    resource_name: str,
    settings: Settings,
    queue_name: str,
    kms_key_arn: pulumi.Input[str],
    alarm_topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    **extra: Any,
) -> aws.sqs.Queue:
    """An encrypted queue a function consumes, with an alarm (``<resource_name>-age``) when its
    oldest message has waited five minutes; ``extra`` are further Queue arguments."""
    queue = encrypted_queue(resource_name, settings, queue_name, kms_key_arn, opts, **extra)
    metric_alarm(
        f"{resource_name}-age",
        settings,
        alarm_topic_arn,
        opts,
        alarm_description=f"{queue_name}: messages wait, their consumer fails or is throttled",
        namespace="AWS/SQS",
        metric_name="ApproximateAgeOfOldestMessage",
        dimensions={"QueueName": queue.name},
        statistic="Maximum",
        period=60,
        evaluation_periods=5,
        threshold=WORK_QUEUE_MAX_AGE_SECONDS,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
    )
    return queue


def dead_letter_queue(
    resource_name: str,
    settings: Settings,
    queue_name: str,
    kms_key_arn: pulumi.Input[str],
    alarm_topic_arn: pulumi.Input[str],
    purpose: str,
    opts: pulumi.ResourceOptions,
) -> aws.sqs.Queue:
    """An encrypted DLQ kept 14 days, with an alarm (``<resource_name>-depth``) to the region's
    alarm topic as soon as anything is in it; ``purpose`` says what its letters are."""
    queue = encrypted_queue(
        resource_name,
        settings,
        queue_name,
        kms_key_arn,
        opts,
        message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
    )
    metric_alarm(
        f"{resource_name}-depth",
        settings,
        alarm_topic_arn,
        opts,
        alarm_description=f"dead letters: {purpose}",
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": queue.name},
        statistic="Maximum",
        period=60,
        evaluation_periods=1,
        threshold=0,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
    )
    return queue

"""AlarmTopic: where one region's operational alarms go, and the one way alarms are made.

One SNS topic per stack, encrypted with the region's key. Every CloudWatch alarm of every
component is made by ``metric_alarm``, which sends both the alarm and its recovery to that
topic, so no alarm can be added that notifies no one. With ``alarmEmail`` set, the topic has
an email subscription; AWS mails a confirmation link, and nothing is delivered until someone
follows it (per region, since each region has its own topic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import lifecycle
from components.settings import PROJECT, Settings
from components.tags import tags

# Where Route 53 publishes its health checks' metrics.
HEALTH_CHECK_REGION = "us-east-1"


def alarm_topic_name(settings: Settings) -> str:
    """The topic's name: one per stack, so a region's alarms never page for another's."""
    return f"{PROJECT}-{settings.stack}-alarms"


@dataclass(frozen=True)
class AlarmTopicArgs:
    """What one region's alarm topic needs."""

    settings: Settings
    # The region's key (GlobalData's): its policy lets CloudWatch encrypt for this account.
    kms_key_arn: pulumi.Input[str]


class AlarmTopic(pulumi.ComponentResource):
    """The region's SNS topic for operational alarms, and its optional email subscription."""

    arn: pulumi.Output[str]
    # The topic in us-east-1 that health-check alarms notify (this one when it is there).
    health_check_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("active-active:components:AlarmTopic", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=alarm_topic_name(settings),
            display_name=f"{PROJECT} {settings.stack} alarms",
            kms_master_key_id=args.kms_key_arn,
            tags=tags(settings, f"{name}-topic"),
            opts=child,
        )
        self.arn = topic.arn
        self._subscribe(f"{name}-email", settings, topic.arn, child)
        # Route 53 publishes health-check metrics in us-east-1 only, and an alarm notifies a
        # topic of its own region: a stack with health checks elsewhere gets a second topic
        # there, encrypted with a key of its own in that region.
        self.health_check_arn = self.arn
        if settings.domain is not None and settings.region != HEALTH_CHECK_REGION:
            from components.iam import account_id
            from components.keys import KEY_DELETION_WINDOW_DAYS, key_policy

            there = pulumi.ResourceOptions(parent=self)
            key = aws.kms.Key(
                f"{name}-{HEALTH_CHECK_REGION}-key",
                region=HEALTH_CHECK_REGION,
                description=f"{PROJECT} {settings.stack}: its health-check alarm topic",
                enable_key_rotation=True,
                deletion_window_in_days=KEY_DELETION_WINDOW_DAYS[settings.environment],
                policy=key_policy(account_id(self)),
                tags=tags(settings, f"{name}-{HEALTH_CHECK_REGION}-key"),
                opts=lifecycle.guarded(settings, there),
            )
            remote = aws.sns.Topic(
                f"{name}-{HEALTH_CHECK_REGION}-topic",
                region=HEALTH_CHECK_REGION,
                name=alarm_topic_name(settings),
                display_name=f"{PROJECT} {settings.stack} alarms ({HEALTH_CHECK_REGION})",
                kms_master_key_id=key.arn,
                tags=tags(settings, f"{name}-{HEALTH_CHECK_REGION}-topic"),
                opts=there,
            )
            self._subscribe(
                f"{name}-{HEALTH_CHECK_REGION}-email", settings, remote.arn, there, remote=True
            )
            self.health_check_arn = remote.arn
        self.register_outputs({"arn": self.arn})

    @staticmethod
    def _subscribe(
        name: str,
        settings: Settings,
        topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
        remote: bool = False,
    ) -> None:
        if settings.alarm_email is None:
            return
        # Pending until the address confirms. A deploy does not mail the link again: if it
        # expires, replace this subscription (`pulumi up --replace <its URN>`).
        aws.sns.TopicSubscription(
            name,
            topic=topic_arn,
            protocol="email",
            endpoint=settings.alarm_email,
            region=HEALTH_CHECK_REGION if remote else None,
            opts=opts,
        )


def metric_alarm(
    resource_name: str,
    settings: Settings,
    topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    /,
    **alarm: Any,
) -> aws.cloudwatch.MetricAlarm:
    """A CloudWatch alarm that notifies the region's alarm topic when it fires and recovers.

    ``alarm`` holds the MetricAlarm arguments that say what is watched (metric, threshold).
    """
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        tags=tags(settings, resource_name),
        opts=opts,
        **alarm,
    )


def alarm_when_above(
    resource_name: str,
    settings: Settings,
    topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    /,
    threshold: float = 0,
    **alarm: Any,
) -> aws.cloudwatch.MetricAlarm:
    """``metric_alarm`` for a metric that should stay at or below ``threshold``: by default,
    anything at all (a dead letter, a failed execution). No data means nothing happened."""
    return metric_alarm(
        resource_name,
        settings,
        topic_arn,
        opts,
        threshold=threshold,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        **alarm,
    )


def alarm_when_below(
    resource_name: str,
    settings: Settings,
    topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    /,
    threshold: float,
    **alarm: Any,
) -> aws.cloudwatch.MetricAlarm:
    """``metric_alarm`` for a metric that says "working" and must stay at or above
    ``threshold`` (a health check's status, a canary's success rate). No data breaches: a
    check or a canary that stopped reporting is not known to work."""
    return metric_alarm(
        resource_name,
        settings,
        topic_arn,
        opts,
        threshold=threshold,
        comparison_operator="LessThanThreshold",
        treat_missing_data="breaching",
        **alarm,
    )

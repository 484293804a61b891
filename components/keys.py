"""The region's key: one customer-managed KMS key per stack for everything it keeps at rest."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import lifecycle
from components.iam import account_id
from components.settings import PROJECT, Environment, Settings
from components.tags import tags

KEY_DELETION_WINDOW_DAYS = {Environment.DEV: 7, Environment.PROD: 30}

# Services that write into resources encrypted with the region's key on their own behalf, not
# through a role of ours: EventBridge delivering to encrypted SQS queues (rule targets and
# dead-letter queues), SNS delivering to encrypted queues, and CloudWatch publishing alarms to
# the encrypted alarm topic (AlarmTopic): without its principal here, alarms deploy and change
# state but no notification is ever delivered.
KEY_SERVICE_PRINCIPALS = ("events.amazonaws.com", "sns.amazonaws.com", "cloudwatch.amazonaws.com")


def key_policy(account: pulumi.Input[str]) -> pulumi.Output[str]:
    """The region key's policy: the account administers it through IAM, as the default policy
    does, and the services above may encrypt for this account's resources only."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersThroughIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", account, ":root")},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "ServicesEncryptForThisAccount",
                    "Effect": "Allow",
                    "Principal": {"Service": list(KEY_SERVICE_PRINCIPALS)},
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                },
            ],
        }
    )


def region_key(name: str, settings: Settings, parent: pulumi.Resource) -> aws.kms.Key:
    """The key (``<name>-key``) for Aurora, DynamoDB, S3 and SQS: a replica in another region
    cannot use this region's key, so each region has its own."""
    return aws.kms.Key(
        f"{name}-key",
        description=f"{PROJECT} {settings.stack} ({settings.region}): data at rest",
        enable_key_rotation=True,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS[settings.environment],
        policy=key_policy(account_id(parent)),
        tags=tags(settings, f"{name}-key"),
        opts=lifecycle.guarded(settings, pulumi.ResourceOptions(parent=parent)),
    )

"""How long what a stack keeps outlives its use, by environment, from one place.

Logs are kept 14 days in dev and 90 in prod. Dev stacks are destroyed and made again (`make destroy && make up`): a secret with a fixed
name that Secrets Manager keeps for its recovery window blocks the next create of that name,
so dev deletes secrets at once. Prod keeps a deleted secret for 30 days, the longest window,
so a mistaken destroy can be undone.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.settings import Environment, Settings
from components.tags import tags

LOG_RETENTION_DAYS = {Environment.DEV: 14, Environment.PROD: 90}
# Days Secrets Manager keeps a deleted secret before it is gone; 0 deletes it at once.
SECRET_RECOVERY_WINDOW_DAYS = {Environment.DEV: 0, Environment.PROD: 30}


def secret_recovery_window_days(settings: Settings) -> int:
    """How long a deleted secret of this stack can still be restored."""
    return SECRET_RECOVERY_WINDOW_DAYS[settings.environment]


def guarded(settings: Settings, opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    """``opts`` for a stateful resource: `protect` in prod, so that neither a program change nor
    `pulumi destroy` can delete it until someone unprotects it on purpose."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=settings.is_prod))


def secret(
    resource_name: str, settings: Settings, opts: pulumi.ResourceOptions, /, **args: Any
) -> aws.secretsmanager.Secret:
    """A Secrets Manager secret with the environment's recovery window and the house tags.

    ``args`` are the Secret's other arguments (its name, description, key, replicas).
    """
    return aws.secretsmanager.Secret(
        resource_name,
        recovery_window_in_days=secret_recovery_window_days(settings),
        tags=tags(settings, resource_name),
        opts=guarded(settings, opts),
        **args,
    )


def log_retention_days(settings: Settings) -> int:
    """How long this stack's CloudWatch logs are kept."""
    return LOG_RETENTION_DAYS[settings.environment]


def log_group(
    resource_name: str, settings: Settings, log_group_name: str, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.LogGroup:
    """A CloudWatch log group with the environment's retention and the house tags."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=log_group_name,
        retention_in_days=log_retention_days(settings),
        tags=tags(settings, resource_name),
        opts=opts,
    )

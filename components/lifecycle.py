"""How long what a stack leaves behind outlives it, by environment, from one place.

Dev stacks are destroyed and made again (`make destroy && make up`): a secret with a fixed
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

# Days Secrets Manager keeps a deleted secret before it is gone; 0 deletes it at once.
SECRET_RECOVERY_WINDOW_DAYS = {Environment.DEV: 0, Environment.PROD: 30}


def secret_recovery_window_days(settings: Settings) -> int:
    """How long a deleted secret of this stack can still be restored."""
    return SECRET_RECOVERY_WINDOW_DAYS[settings.environment]


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
        opts=opts,
        **args,
    )

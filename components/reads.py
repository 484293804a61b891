"""What every read function of the edge gets: this region's table, and the page-token key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import lifecycle
from components.edge_inputs import EdgeData
from components.iam import table_key
from components.settings import PROJECT
from components.site import Site


@dataclass(frozen=True)
class ReadAccess:
    """The environment and statements of a function that reads orders (the HTTP API's read
    function, and AppSync's resolver)."""

    environment: dict[str, pulumi.Input[str]]
    statements: list[Mapping[str, Any]]
    page_token_secret_arn: pulumi.Output[str]


def read_access(
    site: Site, data: EdgeData, primary_page_token_secret_arn: pulumi.Input[str] | None
) -> ReadAccess:
    """Reads of this region's table only, with the page-token key."""
    secret_arn = page_token_secret(site, primary_page_token_secret_arn)
    return ReadAccess(
        environment={
            # This region's table only: reads never leave the region.
            "TABLE_NAME": data.table_name,
            "PAGE_TOKEN_SECRET_ARN": secret_arn,
        },
        statements=[
            {
                "Sid": "ReadModel",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                "Resource": data.table_arn,
            },
            {
                "Sid": "PageTokenKey",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secret_arn,
            },
            table_key(site.settings.region, data.kms_key_arn),
        ],
        page_token_secret_arn=secret_arn,
    )


def page_token_secret(
    site: Site, primary_page_token_secret_arn: pulumi.Input[str] | None
) -> pulumi.Output[str]:
    """The key that signs `nextToken`: one value in every region, or a client routed to
    another region mid-listing gets 400. Each region keeps its own copy, so the read path
    never calls another region."""
    settings = site.settings
    if settings.is_home:
        value: pulumi.Output[str] = random.RandomPassword(
            f"{site.name}-page-token-key", length=64, special=False, opts=site.child
        ).result
    else:
        if primary_page_token_secret_arn is None or settings.home_stack is None:
            raise ValueError(f"{settings.stack}: a secondary needs the primary's secret ARN")
        # Copied at deploy time rather than replicated by Secrets Manager: replicas would be
        # managed by the primary's converge pass, and its first pass (which omits the
        # replica stacks) would delete them on every deployment.
        value = aws.secretsmanager.get_secret_version_output(
            secret_id=primary_page_token_secret_arn,
            region=settings.peer(settings.home_stack).region,
            opts=pulumi.InvokeOutputOptions(parent=site.parent),
        ).secret_string
    secret = lifecycle.secret(
        f"{site.name}-page-token-secret",
        settings,
        site.child,
        name=f"{PROJECT}/{settings.stack}/page-token-key",
        description="HMAC key of the read API's nextToken; the same value in every region",
    )
    aws.secretsmanager.SecretVersion(
        f"{site.name}-page-token-value",
        secret_id=secret.id,
        secret_string=value,
        opts=site.child,
    )
    return secret.arn

"""Permissions the same way everywhere: policy documents, roles a service assumes, key use.

Every role of the program is made by ``service_role`` (a Lambda function's too), with one
inline policy; every use of a region's key by ``kms_via``; the account comes from one lookup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

from components.settings import Settings
from components.tags import tags


class ServiceRole(NamedTuple):
    """A role and its inline policy: what must exist before the service acts with it."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy


def policy_document(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    """A policy document as JSON, with every Output inside resolved."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str) -> str:
    """A trust policy that lets one AWS service assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def service_role(
    name: str,
    settings: Settings,
    service: str,
    statements: Sequence[Mapping[str, Any]],
    opts: pulumi.ResourceOptions,
    *,
    description: str | None = None,
) -> ServiceRole:
    """A role one AWS service assumes (``<name>-role``) with one inline policy (``<name>-policy``)."""
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=assume_role_policy(service),
        description=description,
        tags=tags(settings, f"{name}-role"),
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-policy", role=role.id, policy=policy_document(statements), opts=opts
    )
    return ServiceRole(role, policy)


def kms_via(
    region: str,
    key_arn: pulumi.Input[str],
    service: str,
    actions: Sequence[str] = ("kms:Decrypt", "kms:GenerateDataKey"),
    sid: str | None = None,
) -> dict[str, Any]:
    """Use of a region's key only through one AWS service of that region (kms:ViaService),
    never directly: a function that reads an encrypted table cannot decrypt anything else."""
    return {
        "Sid": sid or f"RegionKeyVia{service.capitalize()}",
        "Effect": "Allow",
        "Action": list(actions),
        "Resource": key_arn,
        "Condition": {"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}},
    }


def table_key(region: str, kms_key_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Items of a table encrypted with the region's key are read with the key, only through
    DynamoDB. A Sid of its own: AppSync's function also has the write path's key statement."""
    return kms_via(
        region, kms_key_arn, "dynamodb", actions=("kms:Decrypt", "kms:DescribeKey"), sid="TableKey"
    )


def account_id(parent: pulumi.Resource | None = None) -> pulumi.Output[str]:
    """The account the stack deploys into, for the ARNs AWS does not return."""
    return aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id


def db_user_arn(
    region: str,
    account: pulumi.Input[str],
    cluster_resource_id: pulumi.Input[str],
    user: pulumi.Input[str],
) -> pulumi.Output[str]:
    """What ``rds-db:connect`` names: one database user of one cluster (its resource id)."""
    return pulumi.Output.format(
        "arn:aws:rds-db:{0}:{1}:dbuser:{2}/{3}", region, account, cluster_resource_id, user
    )

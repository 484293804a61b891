"""What a region's data layer reads of the other stacks: the primary's outputs, and the
replica stacks' regions, lake buckets and keys."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class PrimaryData:
    """What a secondary reads of the primary stack's data layer: its exported outputs."""

    global_cluster_id: pulumi.Input[str]
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    db_secret_arn: pulumi.Input[str]


@dataclass(frozen=True)
class ReplicaStack:
    """A replica stack's region, lake bucket and key: where the primary's lake and its master
    secret replicate to."""

    stack: str
    region: str
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]

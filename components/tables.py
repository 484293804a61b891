"""The DynamoDB tables: the read model's global table, and the tables each region keeps alone.

The read model is a global table. The primary owns the ``Table`` and ignores its ``replicas``;
each secondary owns its own ``TableReplica`` (docs/pitfalls.md item 7). The WebSocket
connections and the idempotency records are per region, never replicated.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

from components import lifecycle
from components.data_refs import PrimaryData
from components.settings import Settings
from components.tags import tags
from functions.orders import read_model


class ReadModelTable(NamedTuple):
    """This region's copy of the read model."""

    name: pulumi.Output[str]
    # This region's table (in a member, its replica): what this region's functions use.
    arn: pulumi.Output[str]
    # What the stack exports as tableArn: the table the global table grew from.
    global_table_arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str]


class RegionalTables(NamedTuple):
    """The tables only this region reads and writes."""

    connections_name: pulumi.Output[str]
    connections_arn: pulumi.Output[str]
    idempotency_name: pulumi.Output[str]
    idempotency_arn: pulumi.Output[str]


def read_model_table(
    parent: pulumi.Resource,
    name: str,
    settings: Settings,
    key: aws.kms.Key,
    primary: PrimaryData | None,
) -> ReadModelTable:
    """The read model's global table (primary) or this region's replica (secondary)."""
    child = pulumi.ResourceOptions(parent=parent)
    adopted = settings.adopted
    if primary is None and adopted is None:
        table = aws.dynamodb.Table(
            f"{name}-orders-table",
            billing_mode="PAY_PER_REQUEST",
            hash_key=read_model.PARTITION_KEY,
            range_key=read_model.SORT_KEY,
            attributes=[
                aws.dynamodb.TableAttributeArgs(name=attribute, type=kind)
                for attribute, kind in read_model.KEY_ATTRIBUTES
            ],
            # Explicit, or a perpetual diff tries to turn the stream off (docs/pitfalls.md
            # item 8); global tables and the notifiers need new and old images.
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=key.arn
            ),
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=read_model.TTL_ATTRIBUTE, enabled=True),
            deletion_protection_enabled=settings.is_prod,
            tags=tags(settings, f"{name}-orders-table"),
            # Each secondary owns its TableReplica; `replicas` here would fight them and
            # the primary's next update would delete them (docs/pitfalls.md item 7).
            opts=lifecycle.guarded(
                settings, pulumi.ResourceOptions(parent=parent, ignore_changes=["replicas"])
            ),
        )
        return ReadModelTable(table.name, table.arn, table.arn, table.stream_arn)

    # A member joins the home stack's table; an adopting home stack keeps the replica it
    # had, of the table that lived in the lost region (`ops rehome`).
    if primary is not None:
        global_table_arn, table_name = primary.table_arn, primary.table_name
    else:
        assert adopted is not None
        global_table_arn, table_name = adopted.table_arn, adopted.table_arn.split("/")[-1]
    replica = aws.dynamodb.TableReplica(
        f"{name}-orders-replica",
        global_table_arn=global_table_arn,
        kms_key_arn=key.arn,
        point_in_time_recovery=True,
        deletion_protection_enabled=settings.is_prod,
        tags=tags(settings, f"{name}-orders-replica"),
        opts=lifecycle.guarded(settings, child),
    )
    # TableReplica has no stream ARN output (docs/pitfalls.md item 9): look the replica up in
    # this region once it exists. Its ARN is the one this region's functions use.
    local = aws.dynamodb.get_table_output(
        name=table_name,
        region=settings.region,
        opts=pulumi.InvokeOutputOptions(parent=parent, depends_on=[replica]),
    )
    return ReadModelTable(
        name=pulumi.Output.from_input(table_name),
        arn=local.arn,
        # What members join: the adopted table's ARN, unchanged, so their replicas stay.
        global_table_arn=(
            local.arn if primary is not None else pulumi.Output.from_input(global_table_arn)
        ),
        stream_arn=local.stream_arn,
    )


def regional_tables(
    parent: pulumi.Resource, name: str, settings: Settings, key: aws.kms.Key
) -> RegionalTables:
    """WebSocket connections and idempotency records: per region, never replicated."""
    common: dict[str, Any] = {
        "billing_mode": "PAY_PER_REQUEST",
        "server_side_encryption": aws.dynamodb.TableServerSideEncryptionArgs(
            enabled=True, kms_key_arn=key.arn
        ),
        "deletion_protection_enabled": settings.is_prod,
        "opts": lifecycle.guarded(settings, pulumi.ResourceOptions(parent=parent)),
    }
    connections = aws.dynamodb.Table(
        f"{name}-connections-table",
        hash_key=read_model.CONNECTIONS_PARTITION_KEY,
        attributes=[
            aws.dynamodb.TableAttributeArgs(name=read_model.CONNECTIONS_PARTITION_KEY, type="S"),
            aws.dynamodb.TableAttributeArgs(
                name=read_model.CONNECTIONS_CUSTOMER_ATTRIBUTE, type="S"
            ),
        ],
        global_secondary_indexes=[
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=read_model.CONNECTIONS_CUSTOMER_INDEX,
                key_schemas=[
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                        attribute_name=read_model.CONNECTIONS_CUSTOMER_ATTRIBUTE,
                        key_type="HASH",
                    )
                ],
                # The notifier needs only the connection ids (functions/read_side).
                projection_type="KEYS_ONLY",
            )
        ],
        ttl=aws.dynamodb.TableTtlArgs(attribute_name=read_model.TTL_ATTRIBUTE, enabled=True),
        tags=tags(settings, f"{name}-connections-table"),
        **common,
    )
    # The schema aws-lambda-powertools' DynamoDBPersistenceLayer expects by default.
    idempotency = aws.dynamodb.Table(
        f"{name}-idempotency-table",
        hash_key=read_model.IDEMPOTENCY_PARTITION_KEY,
        attributes=[
            aws.dynamodb.TableAttributeArgs(name=read_model.IDEMPOTENCY_PARTITION_KEY, type="S")
        ],
        ttl=aws.dynamodb.TableTtlArgs(
            attribute_name=read_model.IDEMPOTENCY_TTL_ATTRIBUTE, enabled=True
        ),
        tags=tags(settings, f"{name}-idempotency-table"),
        **common,
    )
    return RegionalTables(connections.name, connections.arn, idempotency.name, idempotency.arn)

"""GlobalData: the Aurora global database, the DynamoDB global table, the regional lake house.

What is global and who owns it, with one stack per region:

- Aurora PostgreSQL Global Database (Serverless v2). The primary stack owns the
  ``GlobalCluster`` and the writer cluster; each secondary stack owns a cluster that joins
  through the primary's exported ``globalClusterId``, with no credentials of its own.
- The DynamoDB read model is a global table. The primary owns the ``Table`` and ignores its
  ``replicas``; each secondary owns its own ``TableReplica`` (docs/pitfalls.md item 7).
- Regional only: the WebSocket connections table, the idempotency table, the KMS key, the lake
  bucket with its Glue catalog and Athena workgroup. The primary's lake bucket replicates to
  every replica stack's bucket, configured in the primary's converge pass, once those exist.

Each has its module (keys, aurora, tables, lake); this one composes them under one component.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aurora import database
from components.data_refs import PrimaryData, ReplicaStack
from components.keys import region_key
from components.lake import lake_house
from components.settings import Settings
from components.tables import read_model_table, regional_tables

__all__ = ["GlobalData", "GlobalDataArgs", "PrimaryData", "ReplicaStack"]


@dataclass(frozen=True)
class GlobalDataArgs:
    """What one region's data layer needs.

    ``primary`` is the primary stack's outputs (None in the primary itself); ``replica_stacks``
    are the replica stacks' regions, buckets and keys, given once those stacks exist (the
    primary's converge pass, and every pass after).
    """

    settings: Settings
    private_subnet_ids: pulumi.Input[Sequence[str]]
    db_security_group_id: pulumi.Input[str]
    primary: PrimaryData | None = None
    replica_stacks: tuple[ReplicaStack, ...] = ()


class GlobalData(pulumi.ComponentResource):
    """Aurora global membership, the DynamoDB global table or its replica, the lake bucket."""

    global_cluster_id: pulumi.Output[str]
    db_cluster_arn: pulumi.Output[str]
    # For `rds-db:connect` ARNs: arn:aws:rds-db:<region>:<account>:dbuser:<this>/<user>.
    db_cluster_resource_id: pulumi.Output[str]
    # This region's instance: what a deploy-time connection (the migrator) waits for.
    db_instance: aws.rds.ClusterInstance
    db_writer_endpoint: pulumi.Output[str]
    db_reader_endpoint: pulumi.Output[str]
    db_secret_arn: pulumi.Output[str]
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    # The exported tableArn: the table the global table grew from (in a member, its replica).
    global_table_arn: pulumi.Output[str]
    table_stream_arn: pulumi.Output[str]
    connections_table_name: pulumi.Output[str]
    connections_table_arn: pulumi.Output[str]
    idempotency_table_name: pulumi.Output[str]
    idempotency_table_arn: pulumi.Output[str]
    lake_bucket_name: pulumi.Output[str]
    lake_bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    # (rule id, destination bucket ARN) of each replication rule, for the failure alarms.
    replication_rules: list[tuple[str, pulumi.Input[str]]]

    def __init__(self, name: str, args: GlobalDataArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("active-active:components:GlobalData", name, None, opts)
        settings = args.settings
        if settings.is_home != (args.primary is None):
            raise ValueError("the primary owns the global data; every secondary names it")
        if args.replica_stacks and not settings.is_home:
            raise ValueError("only the primary replicates its lake bucket and master secret")

        # One customer-managed key per region for Aurora, DynamoDB, S3 and SQS.
        key = region_key(name, settings, self)
        self.kms_key_arn = key.arn

        db = database(
            self,
            name,
            settings,
            key,
            subnet_ids=args.private_subnet_ids,
            security_group_id=args.db_security_group_id,
            primary=args.primary,
            replicas=args.replica_stacks,
        )
        self.global_cluster_id = db.global_cluster_id
        self.db_cluster_arn = db.cluster_arn
        self.db_cluster_resource_id = db.cluster_resource_id
        self.db_instance = db.instance
        self.db_writer_endpoint = db.writer_endpoint
        self.db_reader_endpoint = db.reader_endpoint
        self.db_secret_arn = db.secret_arn

        table = read_model_table(self, name, settings, key, args.primary)
        self.table_name = table.name
        self.table_arn = table.arn
        self.global_table_arn = table.global_table_arn
        self.table_stream_arn = table.stream_arn

        regional = regional_tables(self, name, settings, key)
        self.connections_table_name = regional.connections_name
        self.connections_table_arn = regional.connections_arn
        self.idempotency_table_name = regional.idempotency_name
        self.idempotency_table_arn = regional.idempotency_arn

        lake = lake_house(self, name, settings, key, args.replica_stacks)
        self.lake_bucket_name = lake.bucket_name
        self.lake_bucket_arn = lake.bucket_arn
        self.replication_rules = lake.replication_rules

        self.register_outputs(self.exports())

    def exports(self) -> dict[str, pulumi.Output[Any]]:
        """The stack outputs of the data layer, the same keys in every stack."""
        return {
            "globalClusterId": self.global_cluster_id,
            "dbClusterArn": self.db_cluster_arn,
            "dbWriterEndpoint": self.db_writer_endpoint,
            "dbReaderEndpoint": self.db_reader_endpoint,
            "dbSecretArn": self.db_secret_arn,
            "tableName": self.table_name,
            "tableArn": self.global_table_arn,
            "tableStreamArn": self.table_stream_arn,
            "connectionsTableName": self.connections_table_name,
            "idempotencyTableName": self.idempotency_table_name,
            "lakeBucketName": self.lake_bucket_name,
            "lakeBucketArn": self.lake_bucket_arn,
            "kmsKeyArn": self.kms_key_arn,
        }

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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import lifecycle
from components.buckets import private_bucket
from components.lambdas import kms_via
from components.settings import PROJECT, Environment, Settings, short_name
from components.tags import tags
from functions.orders import read_model

# The user the functions connect as, with IAM database authentication (rds_iam): defined with
# the functions, whose migration creates it; re-exported for the stack's wiring.
from functions.orders.settings import APP_USERNAME as APP_USERNAME

ENGINE = "aurora-postgresql"
# Fields of an Aurora cluster that AWS, not this program, changes once the deployment runs, and
# that every cluster (the home stack's and each member's) ignores, so that no `ops up` after a
# failover, a switchover or a failback reverts them (sources in docs/operations.md):
# - engineVersion: upgrades go through the GlobalCluster, which upgrades its members (pulumi-aws
#   GlobalCluster docs, "ignore engine_version on clusters");
# - globalClusterIdentifier: an unplanned failover can detach the old writer; adding an existing
#   cluster to a global cluster is an error in the provider, and removing it detaches
#   (cloudposse/terraform-aws-rds-cluster#281);
# - replicationSourceIdentifier: a switchover or failover sets it on the demoted writer, and
#   clearing it promotes a cluster to standalone (terraform-provider-aws PR #40921).
# `ignoreChanges` keeps the value in state, not the live one, so `ops up` refreshes first
# (pulumi/pulumi-aws#2524).
AWS_MANAGED_FIELDS = ("engineVersion", "globalClusterIdentifier", "replicationSourceIdentifier")
INSTANCE_CLASS = "db.serverless"
DATABASE_NAME = "orders"
MASTER_USERNAME = "orders_admin"
POSTGRES_PORT = 5432

# Backups and the lake's old versions are kept longer where the data is real.
BACKUP_RETENTION_DAYS = {Environment.DEV: 1, Environment.PROD: 14}
NONCURRENT_VERSION_DAYS = {Environment.DEV: 7, Environment.PROD: 90}
KEY_DELETION_WINDOW_DAYS = {Environment.DEV: 7, Environment.PROD: 30}
ATHENA_RESULTS_DAYS = 30

# The lake's layout: order events as JSON lines under events/dt=YYYY-MM-DD/, Athena's results
# under athena/. Only events/ is replicated: query results are this region's scratch.
EVENTS_PREFIX = "events/"
ATHENA_PREFIX = "athena/"
EVENTS_TABLE = "order_events"
EVENTS_PARTITION = "dt"
EVENTS_FIRST_DAY = "2025-01-01"

# Aurora rejects these characters in a master password.
_PASSWORD_SPECIALS = "!#$%^&*()-_=+[]{}<>:?"


# Services that write into resources encrypted with the region's key on their own behalf, not
# through a role of ours: EventBridge delivering to encrypted SQS queues (rule targets and
# dead-letter queues), SNS delivering to encrypted queues, and CloudWatch publishing alarms to
# the encrypted alarm topic (AlarmTopic): without its principal here, alarms deploy and change
# state but no notification is ever delivered.
KEY_SERVICE_PRINCIPALS = ("events.amazonaws.com", "sns.amazonaws.com", "cloudwatch.amazonaws.com")


def key_policy(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The region key's policy: the account administers it through IAM, as the default policy
    does, and the services above may encrypt for this account's resources only."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersThroughIam",
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": pulumi.Output.concat("arn:aws:iam::", account_id, ":root")
                    },
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "ServicesEncryptForThisAccount",
                    "Effect": "Allow",
                    "Principal": {"Service": list(KEY_SERVICE_PRINCIPALS)},
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
            ],
        }
    )


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


def replica_secret_arn(primary_arn: str, region: str) -> str:
    """The ARN of a secret's replica in ``region``: Secrets Manager gives a replica the
    primary secret's ARN with only the region changed."""
    parts = primary_arn.split(":")
    if len(parts) < 7 or parts[2] != "secretsmanager":
        raise ValueError(f"{primary_arn!r} is not a Secrets Manager secret ARN")
    return ":".join([*parts[:3], region, *parts[4:]])


def global_cluster_identifier(settings: Settings) -> str:
    """The global database's name: one per project and environment in an account."""
    return f"{PROJECT}-{settings.environment.value}"


def glue_database_name(settings: Settings) -> str:
    """The Glue database of the lake: the same name in every region, so queries port."""
    return f"{PROJECT}_{settings.environment.value}_lake".replace("-", "_")


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

    def __init__(self, name: str, args: GlobalDataArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("active-active:components:GlobalData", name, None, opts)
        settings = args.settings
        if settings.is_home != (args.primary is None):
            raise ValueError("the primary owns the global data; every secondary names it")
        if args.replica_stacks and not settings.is_home:
            raise ValueError("only the primary replicates its lake bucket and master secret")
        child = pulumi.ResourceOptions(parent=self)

        # One customer-managed key per region for Aurora, DynamoDB, S3 and SQS: a replica in
        # another region cannot use this region's key.
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{PROJECT} {settings.stack} ({settings.region}): data at rest",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS[settings.environment],
            policy=key_policy(aws.get_caller_identity_output().account_id),
            tags=tags(settings, f"{name}-key"),
            opts=lifecycle.guarded(settings, child),
        )
        self.kms_key_arn = key.arn

        self._aurora(name, args, key)
        self._read_model(name, args, key)
        self._regional_tables(name, settings, key)
        self._lake(name, args, key)

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

    # Aurora ---------------------------------------------------------------------------------

    def _aurora(self, name: str, args: GlobalDataArgs, key: aws.kms.Key) -> None:
        """The global cluster and writer (primary), or a member cluster (secondary)."""
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        database = settings.database
        subnets = aws.rds.SubnetGroup(
            f"{name}-db-subnets",
            description=f"Aurora in the private subnets of {settings.stack}",
            subnet_ids=args.private_subnet_ids,
            tags=tags(settings, f"{name}-db-subnets"),
            opts=child,
        )
        # 0 ACU only where the config asks for it (docs/pitfalls.md item 5); settings has already
        # checked that the engine version supports it.
        scaling = aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
            min_capacity=database.min_capacity,
            max_capacity=database.max_capacity,
            seconds_until_auto_pause=(
                database.seconds_until_auto_pause if database.auto_pause else None
            ),
        )
        common: dict[str, Any] = {
            "engine": ENGINE,
            "engine_mode": "provisioned",
            "engine_version": database.engine_version,
            "db_subnet_group_name": subnets.name,
            "vpc_security_group_ids": [args.db_security_group_id],
            "storage_encrypted": True,
            "kms_key_id": key.arn,
            "iam_database_authentication_enabled": True,
            "serverlessv2_scaling_configuration": scaling,
            "backup_retention_period": BACKUP_RETENTION_DAYS[settings.environment],
            "deletion_protection": settings.is_prod,
            "copy_tags_to_snapshot": True,
            "enabled_cloudwatch_logs_exports": ["postgresql"],
        }

        adopted = settings.adopted
        if args.primary is None and adopted is None:
            global_cluster = self._global_cluster(name, settings)
            # Managed master passwords are not supported for global database members
            # (docs/pitfalls.md item 2): generate one, keep it only in Secrets Manager and in the
            # cluster, both as secrets. The Lambdas use IAM database authentication.
            password = random.RandomPassword(
                f"{name}-db-password",
                length=32,
                special=True,
                override_special=_PASSWORD_SPECIALS,
                opts=child,
            )
            secret_password: pulumi.Output[str] = pulumi.Output.secret(password.result)
            cluster = aws.rds.Cluster(
                f"{name}-db",
                global_cluster_identifier=global_cluster.id,
                database_name=DATABASE_NAME,
                master_username=MASTER_USERNAME,
                master_password=secret_password,
                skip_final_snapshot=not settings.is_prod,
                final_snapshot_identifier=f"{name}-db-final" if settings.is_prod else None,
                tags=tags(settings, f"{name}-db"),
                # What AWS changes on this cluster when another region takes the writer
                # (docs/operations.md, "What AWS changes"): engine upgrades go through the
                # GlobalCluster; a switchover sets a replication source here; an unplanned
                # failover may detach this cluster, and re-adding an existing cluster to a
                # global cluster is an error, not an update (docs/pitfalls.md item 3).
                opts=lifecycle.guarded(
                    settings,
                    pulumi.ResourceOptions(parent=self, ignore_changes=list(AWS_MANAGED_FIELDS)),
                ),
                **common,
            )
            # Replicated to every replica stack's region with that region's key, so that a
            # secondary's migrator reads the master login from its own region once it is
            # promoted. A replica has the secret's name and ARN but for the region.
            secret = lifecycle.secret(
                f"{name}-db-secret",
                settings,
                child,
                description=f"Aurora master user of {global_cluster_identifier(settings)}",
                kms_key_id=key.arn,
                replicas=[
                    aws.secretsmanager.SecretReplicaArgs(
                        region=replica.region, kms_key_id=replica.kms_key_arn
                    )
                    for replica in args.replica_stacks
                ],
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-db-secret-value",
                secret_id=secret.id,
                secret_string=pulumi.Output.json_dumps(
                    {
                        "engine": "postgres",
                        "username": MASTER_USERNAME,
                        "password": secret_password,
                        "host": cluster.endpoint,
                        "port": POSTGRES_PORT,
                        "dbname": DATABASE_NAME,
                        "dbClusterIdentifier": cluster.cluster_identifier,
                    }
                ),
                opts=child,
            )
            self.global_cluster_id = global_cluster.id
            self.db_secret_arn = secret.arn
            instance_name = f"{name}-db-writer"
        else:
            # A secondary joins through the primary's global cluster. It must not carry a
            # master user or password: AWS answers "Cannot specify password for cross region
            # replication cluster" (docs/pitfalls.md item 1). A perpetual diff on the global
            # cluster id or the replication source, once applied, would take the cluster
            # out of the global database, and engine upgrades come from the GlobalCluster:
            # all three are ignored, as the pulumi-aws GlobalCluster docs advise (item 3).
            if args.primary is not None:
                global_cluster_id: pulumi.Input[str] = args.primary.global_cluster_id
                # This region's replica of the home stack's master secret, which the home
                # stack's replicas create once this stack is one of its replicaStacks.
                self.db_secret_arn = pulumi.Output.from_input(args.primary.db_secret_arn).apply(
                    lambda arn: replica_secret_arn(arn, settings.region)
                )
            else:
                assert adopted is not None
                # A home stack that took over from a lost one (`ops rehome`): it owns the
                # global cluster (imported), and keeps its own cluster and the copy of the
                # master secret it had as a member, both as they were.
                global_cluster_id = self._global_cluster(name, settings).id
                self.db_secret_arn = pulumi.Output.from_input(adopted.master_secret_arn)
            cluster = aws.rds.Cluster(
                f"{name}-db",
                global_cluster_identifier=global_cluster_id,
                enable_global_write_forwarding=settings.write_forwarding or None,
                # The primary's snapshots hold the data; a secondary's final snapshot would
                # only repeat them.
                skip_final_snapshot=True,
                tags=tags(settings, f"{name}-db"),
                opts=lifecycle.guarded(
                    settings,
                    pulumi.ResourceOptions(parent=self, ignore_changes=list(AWS_MANAGED_FIELDS)),
                ),
                **common,
            )
            self.global_cluster_id = pulumi.Output.from_input(global_cluster_id)
            instance_name = f"{name}-db-reader"

        self.db_instance = aws.rds.ClusterInstance(
            instance_name,
            cluster_identifier=cluster.id,
            engine=aws.rds.EngineType.AURORA_POSTGRESQL,
            instance_class=INSTANCE_CLASS,
            db_subnet_group_name=subnets.name,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            tags=tags(settings, instance_name),
            opts=child,
        )
        self.db_cluster_arn = cluster.arn
        self.db_cluster_resource_id = cluster.cluster_resource_id
        # In a secondary the cluster endpoint becomes the writer after a failover (or
        # forwards writes when write forwarding is on).
        self.db_writer_endpoint = cluster.endpoint
        self.db_reader_endpoint = cluster.reader_endpoint

    def _global_cluster(self, name: str, settings: Settings) -> aws.rds.GlobalCluster:
        """The Aurora global database, owned by the home stack for its whole life."""
        database = settings.database
        return aws.rds.GlobalCluster(
            f"{name}-global-db",
            global_cluster_identifier=global_cluster_identifier(settings),
            engine=ENGINE,
            engine_version=database.engine_version,
            database_name=DATABASE_NAME,
            storage_encrypted=True,
            deletion_protection=settings.is_prod,
            # On a dev destroy, members still attached are removed first, so the global
            # cluster can go (docs/pitfalls.md item 4). Never in prod: there only an operator
            # who unprotects it on purpose may take the members with it.
            force_destroy=not settings.is_prod,
            tags=tags(settings, f"{name}-global-db"),
            opts=lifecycle.guarded(settings, pulumi.ResourceOptions(parent=self)),
        )

    # DynamoDB -------------------------------------------------------------------------------

    def _read_model(self, name: str, args: GlobalDataArgs, key: aws.kms.Key) -> None:
        """The read model's global table (primary) or this region's replica (secondary)."""
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        adopted = settings.adopted
        if args.primary is None and adopted is None:
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
                ttl=aws.dynamodb.TableTtlArgs(
                    attribute_name=read_model.TTL_ATTRIBUTE, enabled=True
                ),
                deletion_protection_enabled=settings.is_prod,
                tags=tags(settings, f"{name}-orders-table"),
                # Each secondary owns its TableReplica; `replicas` here would fight them and
                # the primary's next update would delete them (docs/pitfalls.md item 7).
                opts=lifecycle.guarded(
                    settings, pulumi.ResourceOptions(parent=self, ignore_changes=["replicas"])
                ),
            )
            self.table_name = table.name
            self.table_arn = table.arn
            self.global_table_arn = table.arn
            self.table_stream_arn = table.stream_arn
            return

        # A member joins the home stack's table; an adopting home stack keeps the replica it
        # had, of the table that lived in the lost region (`ops rehome`).
        if args.primary is not None:
            global_table_arn, table_name = args.primary.table_arn, args.primary.table_name
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
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[replica]),
        )
        self.table_name = pulumi.Output.from_input(table_name)
        self.table_arn = local.arn
        # What members join: the adopted table's ARN, unchanged, so their replicas stay.
        self.global_table_arn = (
            local.arn if args.primary is not None else pulumi.Output.from_input(global_table_arn)
        )
        self.table_stream_arn = local.stream_arn

    def _regional_tables(self, name: str, settings: Settings, key: aws.kms.Key) -> None:
        """WebSocket connections and idempotency records: per region, never replicated."""
        common: dict[str, Any] = {
            "billing_mode": "PAY_PER_REQUEST",
            "server_side_encryption": aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=key.arn
            ),
            "deletion_protection_enabled": settings.is_prod,
            "opts": lifecycle.guarded(settings, pulumi.ResourceOptions(parent=self)),
        }
        connections = aws.dynamodb.Table(
            f"{name}-connections-table",
            hash_key=read_model.CONNECTIONS_PARTITION_KEY,
            attributes=[
                aws.dynamodb.TableAttributeArgs(
                    name=read_model.CONNECTIONS_PARTITION_KEY, type="S"
                ),
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
        self.connections_table_name = connections.name
        self.connections_table_arn = connections.arn
        self.idempotency_table_name = idempotency.name
        self.idempotency_table_arn = idempotency.arn

    # Lake house -----------------------------------------------------------------------------

    def _lake(self, name: str, args: GlobalDataArgs, key: aws.kms.Key) -> None:
        """A private, versioned, encrypted bucket with its Glue catalog and Athena workgroup."""
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        bucket, versioning = private_bucket(
            f"{name}-lake", settings, key.arn, child, force_destroy=not settings.is_prod
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lake-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=NONCURRENT_VERSION_DAYS[settings.environment]
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="athena-results",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=ATHENA_PREFIX),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=ATHENA_RESULTS_DAYS
                    ),
                ),
            ],
            # Noncurrent-version rules mean something only once versioning is on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        self._catalog(name, settings, bucket, key)
        # (rule id, destination bucket ARN) of each replication rule, for the failure alarms.
        self.replication_rules: list[tuple[str, pulumi.Input[str]]] = []
        if args.replica_stacks:
            self._replication(name, settings, bucket, versioning, key, args.replica_stacks)
        self.lake_bucket_name = bucket.bucket
        self.lake_bucket_arn = bucket.arn

    def _catalog(
        self, name: str, settings: Settings, bucket: aws.s3.Bucket, key: aws.kms.Key
    ) -> None:
        """Glue database and order-events table over the lake; an Athena workgroup."""
        child = pulumi.ResourceOptions(parent=self)
        database = aws.glue.CatalogDatabase(
            f"{name}-lake-catalog",
            name=glue_database_name(settings),
            description="Order events of the active-active lake house, replicated per region",
            tags=tags(settings, f"{name}-lake-catalog"),
            opts=child,
        )
        events_location = pulumi.Output.concat("s3://", bucket.bucket, "/", EVENTS_PREFIX)
        # Partition projection: Athena computes the dt=YYYY-MM-DD partitions itself, so
        # no crawler and no partition upkeep.
        aws.glue.CatalogTable(
            f"{name}-lake-order-events",
            database_name=database.name,
            name=EVENTS_TABLE,
            table_type="EXTERNAL_TABLE",
            parameters={
                "EXTERNAL": "TRUE",
                "classification": "json",
                "projection.enabled": "true",
                f"projection.{EVENTS_PARTITION}.type": "date",
                f"projection.{EVENTS_PARTITION}.format": "yyyy-MM-dd",
                f"projection.{EVENTS_PARTITION}.range": f"{EVENTS_FIRST_DAY},NOW",
                f"projection.{EVENTS_PARTITION}.interval": "1",
                f"projection.{EVENTS_PARTITION}.interval.unit": "DAYS",
                "storage.location.template": pulumi.Output.concat(
                    events_location, EVENTS_PARTITION, "=${", EVENTS_PARTITION, "}/"
                ),
            },
            partition_keys=[
                aws.glue.CatalogTablePartitionKeyArgs(name=EVENTS_PARTITION, type="string")
            ],
            storage_descriptor=aws.glue.CatalogTableStorageDescriptorArgs(
                location=events_location,
                input_format="org.apache.hadoop.mapred.TextInputFormat",
                output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
                    serialization_library="org.openx.data.jsonserde.JsonSerDe",
                    parameters={"mapping.detail_type": "detail-type"},
                ),
                # The EventBridge envelope of the saga's domain events.
                columns=[
                    aws.glue.CatalogTableStorageDescriptorColumnArgs(name=column, type=kind)
                    for column, kind in (
                        ("id", "string"),
                        ("detail_type", "string"),
                        ("source", "string"),
                        ("time", "string"),
                        ("region", "string"),
                        (
                            "detail",
                            "struct<orderId:string,customerId:string,status:string,version:bigint>",
                        ),
                    )
                ],
            ),
            opts=child,
        )
        aws.athena.Workgroup(
            f"{name}-lake-queries",
            description="SQL over this region's copy of the lake",
            force_destroy=not settings.is_prod,
            configuration=aws.athena.WorkgroupConfigurationArgs(
                enforce_workgroup_configuration=True,
                publish_cloudwatch_metrics_enabled=True,
                result_configuration=aws.athena.WorkgroupConfigurationResultConfigurationArgs(
                    output_location=pulumi.Output.concat(
                        "s3://", bucket.bucket, "/", ATHENA_PREFIX
                    ),
                    encryption_configuration=aws.athena.WorkgroupConfigurationResultConfigurationEncryptionConfigurationArgs(
                        encryption_option="SSE_KMS", kms_key_arn=key.arn
                    ),
                ),
            ),
            tags=tags(settings, f"{name}-lake-queries"),
            opts=child,
        )

    def _replication(
        self,
        name: str,
        settings: Settings,
        bucket: aws.s3.Bucket,
        versioning: aws.s3.BucketVersioning,
        key: aws.kms.Key,
        replicas: tuple[ReplicaStack, ...],
    ) -> None:
        """One replication configuration with a rule per replica stack (docs/pitfalls.md item 14).

        A bucket has one replication configuration: a second would fight the first. Both
        sides must be versioned first, and the destinations must exist, hence the converge
        pass of the primary.
        """
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-lake-replication-role",
            description="S3 replication of the lake's events to the replica regions",
            assume_role_policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=tags(settings, f"{name}-lake-replication-role"),
            opts=child,
        )
        destinations = [r.bucket_arn for r in replicas]
        policy = aws.iam.RolePolicy(
            f"{name}-lake-replication-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ReadSourceConfiguration",
                            "Effect": "Allow",
                            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                            "Resource": [bucket.arn],
                        },
                        {
                            "Sid": "ReadSourceVersions",
                            "Effect": "Allow",
                            "Action": [
                                "s3:GetObjectVersionForReplication",
                                "s3:GetObjectVersionAcl",
                                "s3:GetObjectVersionTagging",
                            ],
                            "Resource": [pulumi.Output.concat(bucket.arn, "/*")],
                        },
                        {
                            "Sid": "WriteReplicas",
                            "Effect": "Allow",
                            "Action": [
                                "s3:ReplicateObject",
                                "s3:ReplicateDelete",
                                "s3:ReplicateTags",
                            ],
                            "Resource": [pulumi.Output.concat(d, "/*") for d in destinations],
                        },
                        # Each key only through S3 in the key's own region, as AWS's
                        # example policy for replicating SSE-KMS objects scopes them.
                        kms_via(settings.region, key.arn, "s3", ["kms:Decrypt"], "DecryptSource"),
                        *(
                            kms_via(
                                replica.region,
                                replica.kms_key_arn,
                                "s3",
                                ["kms:Encrypt", "kms:GenerateDataKey"],
                                f"EncryptReplica{index}",
                            )
                            for index, replica in enumerate(replicas, start=1)
                        ),
                    ],
                }
            ),
            opts=child,
        )
        aws.s3.BucketReplicationConfig(
            f"{name}-lake-replication",
            bucket=bucket.id,
            role=role.arn,
            rules=[
                aws.s3.BucketReplicationConfigRuleArgs(
                    id=f"to-{short_name(replica.stack)}",
                    status="Enabled",
                    priority=priority,
                    filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=EVENTS_PREFIX),
                    delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                        status="Enabled"
                    ),
                    source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        )
                    ),
                    destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=replica.bucket_arn,
                        storage_class="STANDARD",
                        encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=replica.kms_key_arn
                        ),
                        # Per-rule replication metrics (OperationsFailedReplication and the
                        # rest), which S3 publishes only when asked, for the failure alarms.
                        metrics=aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                            status="Enabled"
                        ),
                    ),
                )
                for priority, replica in enumerate(replicas, start=1)
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning, policy]),
        )
        self.replication_rules = [
            (f"to-{short_name(replica.stack)}", replica.bucket_arn) for replica in replicas
        ]

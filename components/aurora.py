"""Aurora PostgreSQL Global Database (Serverless v2): one cluster per region.

The primary stack owns the ``GlobalCluster`` and the writer cluster; each secondary stack owns
a cluster that joins through the primary's exported ``globalClusterId``, with no credentials
of its own. A home stack that adopted a lost one (`ops rehome`) owns the global cluster and
keeps the member cluster it had.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import lifecycle
from components.data_refs import PrimaryData, ReplicaStack
from components.settings import PROJECT, Environment, Settings
from components.tags import tags

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

# Backups are kept longer where the data is real.
BACKUP_RETENTION_DAYS = {Environment.DEV: 1, Environment.PROD: 14}

# Aurora rejects these characters in a master password.
_PASSWORD_SPECIALS = "!#$%^&*()-_=+[]{}<>:?"


class Database(NamedTuple):
    """This region's cluster in the global database, and how to reach and log in to it."""

    global_cluster_id: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    # For `rds-db:connect` ARNs: arn:aws:rds-db:<region>:<account>:dbuser:<this>/<user>.
    cluster_resource_id: pulumi.Output[str]
    # This region's instance: what a deploy-time connection (the migrator) waits for.
    instance: aws.rds.ClusterInstance
    writer_endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    # The master user's secret in this region (in a secondary, its replica of the primary's).
    secret_arn: pulumi.Output[str]


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


def database(
    parent: pulumi.Resource,
    name: str,
    settings: Settings,
    key: aws.kms.Key,
    *,
    subnet_ids: pulumi.Input[Sequence[str]],
    security_group_id: pulumi.Input[str],
    primary: PrimaryData | None,
    replicas: tuple[ReplicaStack, ...],
) -> Database:
    """The global cluster and writer (primary), or a member cluster (secondary)."""
    child = pulumi.ResourceOptions(parent=parent)
    database = settings.database
    subnets = aws.rds.SubnetGroup(
        f"{name}-db-subnets",
        description=f"Aurora in the private subnets of {settings.stack}",
        subnet_ids=subnet_ids,
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
        "vpc_security_group_ids": [security_group_id],
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
    if primary is None and adopted is None:
        global_cluster = _global_cluster(parent, name, settings)
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
                pulumi.ResourceOptions(parent=parent, ignore_changes=list(AWS_MANAGED_FIELDS)),
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
                for replica in replicas
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
        global_cluster_id: pulumi.Input[str] = global_cluster.id
        secret_arn: pulumi.Output[str] = secret.arn
        instance_name = f"{name}-db-writer"
    else:
        # A secondary joins through the primary's global cluster. It must not carry a
        # master user or password: AWS answers "Cannot specify password for cross region
        # replication cluster" (docs/pitfalls.md item 1). A perpetual diff on the global
        # cluster id or the replication source, once applied, would take the cluster
        # out of the global database, and engine upgrades come from the GlobalCluster:
        # all three are ignored, as the pulumi-aws GlobalCluster docs advise (item 3).
        if primary is not None:
            global_cluster_id = primary.global_cluster_id
            # This region's replica of the home stack's master secret, which the home
            # stack's replicas create once this stack is one of its replicaStacks.
            secret_arn = pulumi.Output.from_input(primary.db_secret_arn).apply(
                lambda arn: replica_secret_arn(arn, settings.region)
            )
        else:
            assert adopted is not None
            # A home stack that took over from a lost one (`ops rehome`): it owns the
            # global cluster (imported), and keeps its own cluster and the copy of the
            # master secret it had as a member, both as they were.
            global_cluster_id = _global_cluster(parent, name, settings).id
            secret_arn = pulumi.Output.from_input(adopted.master_secret_arn)
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
                pulumi.ResourceOptions(parent=parent, ignore_changes=list(AWS_MANAGED_FIELDS)),
            ),
            **common,
        )
        instance_name = f"{name}-db-reader"

    instance = aws.rds.ClusterInstance(
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
    return Database(
        global_cluster_id=pulumi.Output.from_input(global_cluster_id),
        cluster_arn=cluster.arn,
        cluster_resource_id=cluster.cluster_resource_id,
        instance=instance,
        # In a secondary the cluster endpoint becomes the writer after a failover (or
        # forwards writes when write forwarding is on).
        writer_endpoint=cluster.endpoint,
        reader_endpoint=cluster.reader_endpoint,
        secret_arn=secret_arn,
    )


def _global_cluster(
    parent: pulumi.Resource, name: str, settings: Settings
) -> aws.rds.GlobalCluster:
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
        opts=lifecycle.guarded(settings, pulumi.ResourceOptions(parent=parent)),
    )

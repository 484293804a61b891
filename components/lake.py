"""The lake house: each region's bucket of order events, its catalog, and the feed into it.

GlobalData makes the bucket (private, versioned, encrypted with the region's key), its Glue
catalog and Athena workgroup, and in the primary's converge pass the replication of events/
to every replica stack's bucket. WriteOrchestrator feeds it: the saga's domain events go from
the region's bus through Firehose into events/, one JSON event a line.
"""

from __future__ import annotations

from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components import lifecycle, queues
from components.buckets import private_bucket
from components.data_refs import ReplicaStack
from components.events import bus_rule, dead_lettered_target, domain_events_pattern, rule_name
from components.iam import kms_via, service_role
from components.settings import PROJECT, Environment, Settings, short_name
from components.site import Site
from components.tags import tags

# The lake's old versions are kept longer where the data is real.
NONCURRENT_VERSION_DAYS = {Environment.DEV: 7, Environment.PROD: 90}
ATHENA_RESULTS_DAYS = 30

# The lake's layout: order events as JSON lines under events/dt=YYYY-MM-DD/, Athena's results
# under athena/. Only events/ is replicated: query results are this region's scratch.
EVENTS_PREFIX = "events/"
ATHENA_PREFIX = "athena/"
EVENTS_TABLE = "order_events"
EVENTS_PARTITION = "dt"
EVENTS_FIRST_DAY = "2025-01-01"

# The layout the Glue table expects: events/dt=YYYY-MM-DD/, by the UTC arrival time of the
# event (Firehose's timestamp namespace).
EVENTS_DELIVERY_PREFIX = f"{EVENTS_PREFIX}{EVENTS_PARTITION}=!{{timestamp:yyyy-MM-dd}}/"
# Outside events/, so that a query of the events table never reads a failed record.
EVENTS_ERROR_PREFIX = "errors/events/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/"


def glue_database_name(settings: Settings) -> str:
    """The Glue database of the lake: the same name in every region, so queries port."""
    return f"{PROJECT}_{settings.environment.value}_lake".replace("-", "_")


class LakeHouse(NamedTuple):
    """The lake bucket, and the replication rules the failure alarms watch."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    # (rule id, destination bucket ARN) of each replication rule.
    replication_rules: list[tuple[str, pulumi.Input[str]]]


def lake_house(
    parent: pulumi.Resource,
    name: str,
    settings: Settings,
    key: aws.kms.Key,
    replicas: tuple[ReplicaStack, ...],
) -> LakeHouse:
    """A private, versioned, encrypted bucket with its Glue catalog and Athena workgroup, and
    (the primary, once the replica stacks exist) its replication to theirs."""
    child = pulumi.ResourceOptions(parent=parent)
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
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
    )
    _catalog(parent, name, settings, bucket, key)
    rules = (
        _replication(parent, name, settings, bucket, versioning, key, replicas) if replicas else []
    )
    return LakeHouse(bucket.bucket, bucket.arn, rules)


def _catalog(
    parent: pulumi.Resource, name: str, settings: Settings, bucket: aws.s3.Bucket, key: aws.kms.Key
) -> None:
    """Glue database and order-events table over the lake; an Athena workgroup."""
    child = pulumi.ResourceOptions(parent=parent)
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
                output_location=pulumi.Output.concat("s3://", bucket.bucket, "/", ATHENA_PREFIX),
                encryption_configuration=aws.athena.WorkgroupConfigurationResultConfigurationEncryptionConfigurationArgs(
                    encryption_option="SSE_KMS", kms_key_arn=key.arn
                ),
            ),
        ),
        tags=tags(settings, f"{name}-lake-queries"),
        opts=child,
    )


def _replication(
    parent: pulumi.Resource,
    name: str,
    settings: Settings,
    bucket: aws.s3.Bucket,
    versioning: aws.s3.BucketVersioning,
    key: aws.kms.Key,
    replicas: tuple[ReplicaStack, ...],
) -> list[tuple[str, pulumi.Input[str]]]:
    """One replication configuration with a rule per replica stack (docs/pitfalls.md item 14).

    A bucket has one replication configuration: a second would fight the first. Both
    sides must be versioned first, and the destinations must exist, hence the converge
    pass of the primary.
    """
    destinations = [r.bucket_arn for r in replicas]
    role, policy = service_role(
        f"{name}-lake-replication",
        settings,
        "s3.amazonaws.com",
        [
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
        pulumi.ResourceOptions(parent=parent),
        description="S3 replication of the lake's events to the replica regions",
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
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning, policy]),
    )
    return [(f"to-{short_name(replica.stack)}", replica.bucket_arn) for replica in replicas]


def lake_feed(site: Site, bus: aws.cloudwatch.EventBus, lake_bucket_arn: pulumi.Input[str]) -> str:
    """Domain events -> Firehose -> the lake bucket under events/, by date, encrypted; the
    rule's name."""
    name, settings = site.name, site.settings
    stream_name = f"{PROJECT}-{settings.stack}-events"
    log_group = lifecycle.log_group(
        f"{name}-lake-logs", settings, f"/aws/kinesisfirehose/{stream_name}", site.child
    )
    bucket_objects = pulumi.Output.from_input(lake_bucket_arn).apply(
        lambda arn: [f"{arn}/{EVENTS_PREFIX}*", f"{arn}/errors/events/*"]
    )
    delivery_role, _ = service_role(
        f"{name}-lake-delivery",
        settings,
        "firehose.amazonaws.com",
        [
            {
                "Sid": "Bucket",
                "Effect": "Allow",
                "Action": [
                    "s3:GetBucketLocation",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                ],
                "Resource": lake_bucket_arn,
            },
            {
                "Sid": "EventObjects",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                "Resource": bucket_objects,
            },
            site.kms_via("s3"),
            {
                "Sid": "DeliveryLogs",
                "Effect": "Allow",
                "Action": ["logs:PutLogEvents"],
                "Resource": log_group.arn.apply(lambda arn: f"{arn}:*"),
            },
        ],
        site.child,
    )
    log_stream = aws.cloudwatch.LogStream(
        f"{name}-lake-delivery-log",
        name="S3Delivery",
        log_group_name=log_group.name,
        opts=site.child,
    )
    stream = aws.kinesis.FirehoseDeliveryStream(
        f"{name}-lake",
        name=stream_name,
        destination="extended_s3",
        server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
            enabled=True, key_type="AWS_OWNED_CMK"
        ),
        extended_s3_configuration=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationArgs(
            bucket_arn=lake_bucket_arn,
            role_arn=delivery_role.arn,
            prefix=EVENTS_DELIVERY_PREFIX,
            error_output_prefix=EVENTS_ERROR_PREFIX,
            # Objects encrypted with the region's key, as the rest of the bucket.
            kms_key_arn=site.kms_key_arn,
            compression_format="GZIP",
            buffering_interval=300 if settings.is_prod else 60,
            buffering_size=64,
            # One JSON event a line: what the Glue table's JSON SerDe reads.
            processing_configuration=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationArgs(
                enabled=True,
                processors=[
                    aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorArgs(
                        type="AppendDelimiterToRecord"
                    )
                ],
            ),
            cloudwatch_logging_options=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationCloudwatchLoggingOptionsArgs(
                enabled=True,
                log_group_name=log_group.name,
                log_stream_name=log_stream.name,
            ),
        ),
        tags=tags(settings, stream_name),
        opts=site.child,
    )  # fmt: skip

    label = "lake"
    dlq = queues.dead_letter_queue(site, label, "domain events Firehose did not take")
    rule = bus_rule(site, label, bus, domain_events_pattern(), "domain events, into the lake")
    put_role, _ = service_role(
        f"{name}-lake-put",
        settings,
        "events.amazonaws.com",
        [
            {
                "Sid": "PutIntoStream",
                "Effect": "Allow",
                "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                "Resource": stream.arn,
            }
        ],
        site.child,
    )
    dead_lettered_target(
        site, label, rule, stream.arn, dlq, event_bus_name=bus.name, role_arn=put_role.arn
    )
    return rule_name(label)

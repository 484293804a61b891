"""RegionalCanaries: CloudWatch Synthetics canaries walk each region's read and write journeys.

Every 5 minutes (code: ``functions/canary``):

- the read canary asks the region's HTTP API for ``GET /health`` and for ``GET /orders/{id}``
  of a known order, which the home stack writes into the global table (so every region's
  replica holds it);
- the write canary signs ``POST /synthetic/orders`` (its role alone may call that IAM route)
  and reads the order back from the same region until it is CONFIRMED: forwarding to the
  writer, the saga, the projection and replication, end to end. A synthetic order charges no
  one and counts in no order counter (``functions/synthetic.py``).

For each, ``SuccessPercent`` below 90 for 2 of 3 runs pages through the region's alarm topic,
and so does a canary that stops running (missing data breaches). Runs' artifacts go to a
private bucket of their own, kept 30 days. New resources only: the write canary and its role
came after the read canary, whose names are unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import alarm_when_below
from components.archives import canary_archive
from components.buckets import private_bucket
from components.iam import account_id, kms_via, service_role
from components.lambdas import relative_to_project
from components.settings import PROJECT, Settings
from components.tags import tags
from functions import synthetic
from functions.canary.journey import KNOWN_ORDER_ID, WRITE_DEADLINE_SECONDS, known_order_view
from functions.orders import read_model

# The newest Python runtime CloudWatch Synthetics documents (Python 3.12), as of 2026-11.
RUNTIME_VERSION = "syn-python-selenium-14.0"
HANDLER = "canary_read.handler"
WRITE_HANDLER = "canary_write.handler"
SCHEDULE = "rate(5 minutes)"
# CloudWatch's recommended alarm for canaries: SuccessPercent below 90 (two failed runs of
# three at one run per 5 minutes is a region users cannot read from).
SUCCESS_PERCENT_THRESHOLD = 90
ARTIFACT_DAYS = 30


def canary_name(settings: Settings, journey: str = "read") -> str:
    """Synthetics allows 21 lower-case characters: the stack's name, cut, and the journey's."""
    return f"{settings.stack[: 20 - len(journey)]}-{journey}".lower()


def _dynamodb_json(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [_dynamodb_json(v) for v in value]}
    return {"M": {k: _dynamodb_json(v) for k, v in value.items()}}


def known_order_item() -> dict[str, Any]:
    """The known order's view item, in DynamoDB JSON, as the projector would write it."""
    key = read_model.order_key(KNOWN_ORDER_ID)
    return {
        **{k: {"S": v} for k, v in key.items()},
        read_model.VIEW_ATTRIBUTE: _dynamodb_json(known_order_view()),
        read_model.VERSION_ATTRIBUTE: {"N": "1"},
    }


@dataclass(frozen=True)
class RegionalCanariesArgs:
    """What the canaries watch and whom they page."""

    settings: Settings
    alarm_topic_arn: pulumi.Input[str]
    http_api_url: pulumi.Input[str]
    # The global table; the home stack writes the known order into it.
    table_name: pulumi.Input[str]
    # The region's key, which encrypts every bucket of the stack (the artifacts' too).
    kms_key_arn: pulumi.Input[str]
    # The HTTP API's execution ARN when the region has the write routes (the write canary's
    # role may invoke its route there); None: no write canary.
    http_api_execution_arn: pulumi.Input[str] | None = None


class RegionalCanaries(pulumi.ComponentResource):
    """The read and write journeys' canaries, their artifacts bucket and roles, their alarms."""

    def __init__(
        self, name: str, args: RegionalCanariesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("active-active:components:RegionalCanaries", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        bucket = self._artifacts(name, settings, args.kms_key_arn, child)
        base = _run_statements(self, settings, bucket, args.kms_key_arn)
        role, _ = service_role(name, settings, "lambda.amazonaws.com", base, child)
        known_order = None
        if settings.is_home:
            known_order = aws.dynamodb.TableItem(
                f"{name}-known-order",
                table_name=args.table_name,
                hash_key=read_model.PARTITION_KEY,
                range_key=read_model.SORT_KEY,
                item=json.dumps(known_order_item()),
                opts=child,
            )
        self._name, self._settings, self._child = name, settings, child
        self._bucket, self._topic_arn = bucket, args.alarm_topic_arn
        self._archive = relative_to_project(canary_archive())
        read = self._journey(
            "read",
            role.arn,
            HANDLER,
            60,
            {"CANARY_BASE_URL": args.http_api_url, "CANARY_ORDER_ID": KNOWN_ORDER_ID},
            "the read canary (GET /health, GET /orders/{id}) fails or stopped running: users of "
            "this region may not read their orders",
            depends_on=[known_order] if known_order else [],
        )
        self.canary_names: list[pulumi.Output[str]] = [read.name]
        if args.http_api_execution_arn is not None:
            route = pulumi.Output.concat(
                args.http_api_execution_arn, "/*/", synthetic.ROUTE.replace(" ", "", 1)
            )
            invoke = {"Effect": "Allow", "Action": ["execute-api:Invoke"], "Resource": route}
            # A role of its own: only the write canary may place synthetic orders.
            write_role, _ = service_role(
                f"{name}-write", settings, "lambda.amazonaws.com", [*base, invoke], child
            )
            write = self._journey(
                "write",
                write_role.arn,
                WRITE_HANDLER,
                # The journey's deadline, and room for the POST and a cold start.
                int(WRITE_DEADLINE_SECONDS) + 60,
                {"CANARY_BASE_URL": args.http_api_url, "CANARY_REGION": settings.region},
                "the write canary (POST /synthetic/orders, then its order CONFIRMED in this "
                "region) fails or stopped running: orders placed here may not go through",
            )
            self.canary_names.append(write.name)
        self.register_outputs({"canary_names": self.canary_names})

    def _journey(
        self,
        journey: str,
        role_arn: pulumi.Input[str],
        handler: str,
        timeout_seconds: int,
        environment: dict[str, pulumi.Input[str]],
        what_fails: str,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> aws.synthetics.Canary:
        """One journey's canary, every 5 minutes from the canary archive, and its alarm:
        CloudWatch's recommended one, SuccessPercent below 90 in 2 of 3 runs (a canary that
        stops running breaches too)."""
        name, settings = self._name, self._settings
        canary = aws.synthetics.Canary(
            f"{name}-{journey}",
            name=canary_name(settings, journey),
            artifact_s3_location=pulumi.Output.concat("s3://", self._bucket.bucket, f"/{journey}/"),
            execution_role_arn=role_arn,
            handler=handler,
            runtime_version=RUNTIME_VERSION,
            # Relative to the project, as the Lambda archives are, and named after its bytes, so
            # that a changed script reaches the canary (docs/pitfalls.md item 27).
            zip_file=self._archive,
            schedule=aws.synthetics.CanaryScheduleArgs(expression=SCHEDULE),
            run_config=aws.synthetics.CanaryRunConfigArgs(
                timeout_in_seconds=timeout_seconds,
                active_tracing=True,
                environment_variables=environment,
            ),
            start_canary=True,
            success_retention_period=7,
            failure_retention_period=ARTIFACT_DAYS,
            tags=tags(settings, f"{name}-{journey}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
        )
        alarm_when_below(
            f"{name}-{journey}-success",
            settings,
            self._topic_arn,
            self._child,
            name=f"{PROJECT}-{settings.stack}-canary-{journey}-success",
            alarm_description=f"{settings.region}: {what_fails}",
            namespace="CloudWatchSynthetics",
            metric_name="SuccessPercent",
            dimensions={"CanaryName": canary.name},
            statistic="Average",
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            threshold=SUCCESS_PERCENT_THRESHOLD,
        )
        return canary

    @staticmethod
    def _artifacts(
        name: str, settings: Settings, key_arn: pulumi.Input[str], child: pulumi.ResourceOptions
    ) -> aws.s3.Bucket:
        """A bucket for the runs' screenshots and logs, kept 30 days: versioned, encrypted with
        the region's key, private and TLS-only, as every bucket of the stack."""
        # Run artifacts only: nothing to keep past their 30 days.
        bucket, _ = private_bucket(
            f"{name}-artifacts", settings, key_arn, child, force_destroy=True
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-artifacts-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=ARTIFACT_DAYS
                    ),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=1
                    ),
                )
            ],
            opts=child,
        )
        return bucket


def _run_statements(
    parent: pulumi.Resource,
    settings: Settings,
    bucket: aws.s3.Bucket,
    key_arn: pulumi.Input[str],
) -> list[dict[str, Any]]:
    """What every canary run needs: its artifacts, its logs, its metrics, its traces."""
    log_groups = pulumi.Output.concat(
        "arn:aws:logs:", settings.region, ":", account_id(parent), ":log-group:/aws/lambda/cwsyn-*"
    )
    return [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetBucketLocation"],
            "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
        },
        {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": "*"},
        kms_via(settings.region, key_arn, "s3"),
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_groups, pulumi.Output.concat(log_groups, ":*")],
        },
        {
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}},
        },
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"},
    ]

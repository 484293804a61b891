"""The write side's functions: one code archive, the VPC where Aurora is, one database login.

Every function of WriteOrchestrator is made here, so that each one that needs the database
gets the same placement, environment and IAM authentication, and nothing else does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.events import CONSUMER_TIMEOUT
from components.iam import db_user_arn
from components.lambdas import FunctionArgs, LambdaCode, LambdaFunction, VpcPlacement
from components.site import Site
from components.tags import tags
from functions.catalog import HandlerSpec, by_name

_SQS_CONSUMER_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


@dataclass(frozen=True)
class WriteData:
    """What the write path needs of GlobalData, in this region."""

    kms_key_arn: pulumi.Input[str]
    table_name: pulumi.Input[str]
    db_cluster_resource_id: pulumi.Input[str]
    db_endpoint: pulumi.Input[str]
    db_name: str
    db_user: str
    # The master user's secret in this region (GlobalData's dbSecretArn: in a secondary, its
    # replica of the primary's); only the migrator reads it.
    db_secret_arn: pulumi.Input[str]
    lake_bucket_arn: pulumi.Input[str]
    # The global database and this region's member of it: the migrator applies migrations
    # only while this cluster is the global database's writer.
    global_cluster_id: pulumi.Input[str]
    db_cluster_arn: pulumi.Input[str]
    # Resources the migrator must wait for (this region's instance): the invocation connects.
    database_ready: Sequence[pulumi.Resource] = ()


@dataclass(frozen=True)
class WriteFunctions:
    """Makes the write side's functions, each named ``<site>-<catalog name>``."""

    site: Site
    code: LambdaCode
    # The private subnets and the Lambda security group: Aurora is only reachable there.
    vpc: VpcPlacement
    data: WriteData

    def function(
        self,
        function: str,
        *,
        environment: Mapping[str, pulumi.Input[str]] | None = None,
        statements: Sequence[Mapping[str, Any]] = (),
        timeout: int = 30,
        as_master: bool = False,
        dead_letter_queue_arn: pulumi.Input[str] | None = None,
    ) -> LambdaFunction:
        """One write-side function; those that need the database get the VPC and IAM auth.

        ``as_master``: the function logs in as the master user with the password of its secret
        (the migrator), instead of as the IAM user.
        """
        spec: HandlerSpec = by_name()[function]
        env = dict(environment or {})
        all_statements = list(statements)
        if spec.needs_database:
            env |= self._database_environment(as_master)
            if not as_master:
                all_statements.append(self._db_connect())
        return self.site.function(
            function.replace("_", "-"),
            self.code,
            FunctionArgs(
                spec=spec,
                environment=env,
                statements=all_statements,
                vpc=self.vpc if spec.needs_vpc else None,
                dead_letter_queue_arn=dead_letter_queue_arn,
                timeout=timeout,
            ),
        )

    def consumer(
        self,
        label: str,
        function: str,
        queue: aws.sqs.Queue,
        environment: Mapping[str, pulumi.Input[str]],
        statements: Sequence[Mapping[str, Any]],
    ) -> LambdaFunction:
        """A function that drains ``queue`` in batches, with partial batch failures."""
        consumer = self.function(
            function,
            environment=environment,
            timeout=CONSUMER_TIMEOUT,
            statements=[
                *statements,
                {
                    "Sid": "ConsumeQueue",
                    "Effect": "Allow",
                    "Action": _SQS_CONSUMER_ACTIONS,
                    "Resource": queue.arn,
                },
                self.site.kms_via("sqs"),
            ],
        )
        name = f"{self.site.name}-{label}-source"
        aws.lambda_.EventSourceMapping(
            name,
            event_source_arn=queue.arn,
            function_name=consumer.arn,
            batch_size=10,
            maximum_batching_window_in_seconds=1,
            function_response_types=["ReportBatchItemFailures"],
            tags=tags(self.site.settings, name),
            opts=self.site.after(consumer),
        )
        return consumer

    def table_arn(self) -> pulumi.Output[str]:
        """This region's replica of the global table (never another region's)."""
        return pulumi.Output.format(
            "arn:aws:dynamodb:{0}:{1}:table/{2}",
            self.site.settings.region,
            self.site.account_id,
            self.data.table_name,
        )

    def _database_environment(self, as_master: bool = False) -> dict[str, pulumi.Input[str]]:
        """The variables of functions.orders.db: this region's cluster endpoint, and the IAM
        user or (``as_master``) the master user's secret."""
        data = self.data
        login: dict[str, pulumi.Input[str]] = (
            {"DB_SECRET_ARN": data.db_secret_arn} if as_master else {"DB_USER": data.db_user}
        )
        return {"DB_HOST": data.db_endpoint, "DB_PORT": "5432", "DB_NAME": data.db_name, **login}

    def _db_connect(self) -> dict[str, Any]:
        """IAM database authentication as the write path's user, on this region's cluster."""
        return {
            "Sid": "ConnectAsDatabaseUser",
            "Effect": "Allow",
            "Action": ["rds-db:connect"],
            "Resource": db_user_arn(
                self.site.settings.region,
                self.site.account_id,
                self.data.db_cluster_resource_id,
                self.data.db_user,
            ),
        }

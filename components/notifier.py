"""The notifier: this region's stream of the read model, pushed to this region's subscribers,
over WebSocket and through AppSync's ``publishOrderUpdate``."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import queues
from components.edge_inputs import EdgeData
from components.graphql import GraphqlApi
from components.lambdas import FunctionArgs, LambdaCode
from components.site import Site
from components.tags import tags
from components.websocket import WebsocketApi
from functions.catalog import by_name

# A notification older than this is no use to anyone; the record goes to the DLQ instead.
STREAM_MAX_RECORD_AGE_SECONDS = 3600
STREAM_MAX_RETRIES = 5


def notifier(
    site: Site, code: LambdaCode, data: EdgeData, websocket: WebsocketApi, graphql: GraphqlApi
) -> None:
    """The notifier function on the table's stream, with a dead-letter queue for what it could
    not push after every retry."""
    name, settings = site.name, site.settings
    dlq = queues.dead_letter_queue(
        site, "notifier", "order updates that could not be pushed after every retry"
    )
    function = site.function(
        "notifier",
        code,
        FunctionArgs(
            by_name()["notifier"],
            {
                "CONNECTIONS_TABLE_NAME": data.connections_table_name,
                "IDEMPOTENCY_TABLE_NAME": data.idempotency_table_name,
                "WEBSOCKET_ENDPOINT": websocket.connections_endpoint,
                "GRAPHQL_URL": graphql.url,
            },
            [
                {
                    "Sid": "Stream",
                    "Effect": "Allow",
                    "Action": [
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator",
                    ],
                    "Resource": data.table_stream_arn,
                },
                {
                    "Sid": "StreamList",
                    "Effect": "Allow",
                    "Action": "dynamodb:ListStreams",
                    "Resource": "*",
                },
                {
                    "Sid": "Subscribers",
                    "Effect": "Allow",
                    "Action": ["dynamodb:Query", "dynamodb:DeleteItem"],
                    "Resource": [
                        data.connections_table_arn,
                        pulumi.Output.concat(data.connections_table_arn, "/index/*"),
                    ],
                },
                {
                    # This region's table only: idempotency records are never replicated.
                    "Sid": "IdempotencyRecords",
                    "Effect": "Allow",
                    "Action": [
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                    ],
                    "Resource": data.idempotency_table_arn,
                },
                {
                    "Sid": "Push",
                    "Effect": "Allow",
                    "Action": "execute-api:ManageConnections",
                    "Resource": websocket.connections_arn,
                },
                {
                    "Sid": "PublishToGraphql",
                    "Effect": "Allow",
                    "Action": "appsync:GraphQL",
                    "Resource": pulumi.Output.concat(
                        graphql.api.arn, "/types/Mutation/fields/publishOrderUpdate"
                    ),
                },
                {
                    "Sid": "DeadLetters",
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": dlq.arn,
                },
                # The tables it reads and writes, and its dead-letter queue.
                site.kms_via("dynamodb"),
                site.kms_via("sqs"),
            ],
        ),
    )
    aws.lambda_.EventSourceMapping(
        f"{name}-notifier-stream",
        event_source_arn=data.table_stream_arn,
        function_name=function.arn,
        starting_position="LATEST",
        batch_size=100,
        maximum_batching_window_in_seconds=1,
        # A poison record is isolated by halving the batch, and the handler reports the
        # records that failed, so a good record is not pushed again for a bad one.
        bisect_batch_on_function_error=True,
        function_response_types=["ReportBatchItemFailures"],
        maximum_retry_attempts=STREAM_MAX_RETRIES,
        maximum_record_age_in_seconds=STREAM_MAX_RECORD_AGE_SECONDS,
        destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
            on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                destination_arn=dlq.arn
            )
        ),
        tags=tags(settings, f"{name}-notifier-stream"),
        opts=site.child,
    )

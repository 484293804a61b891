"""RegionalEdge: this region's HTTP API, WebSocket API and AppSync API, and its custom domain.

Every region serves the whole public API from its own data: reads go to the local replica of
the global table, writes to the write function (WriteOrchestrator's), which starts the saga in
the primary or forwards to the primary. With a ``domain``, the API hostname is one latency
record per region, each guarded by a Route 53 health check on that region's ``/health``.

Each API has its module (reads, http_api, graphql, websocket, notifier, api_domain); this one
composes them, in order, under one component. The notifier publishes through the GraphQL API
and pushes through the WebSocket API: both are built first and handed to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.api_domain import api_domain
from components.edge_inputs import EdgeData, WriteApi
from components.graphql import graphql_api
from components.http_api import http_api
from components.iam import account_id
from components.lambdas import LambdaCode, VpcPlacement
from components.notifier import notifier
from components.reads import read_access
from components.settings import Settings
from components.site import Site
from components.websocket import websocket_api

__all__ = ["EdgeData", "RegionalEdge", "RegionalEdgeArgs", "WriteApi"]


@dataclass(frozen=True)
class RegionalEdgeArgs:
    """What one region's edge needs."""

    settings: Settings
    code: LambdaCode
    data: EdgeData
    # Where the health function runs: it probes the Aurora reader, only reachable there.
    vpc: VpcPlacement
    # None until the write function exists: then there are no write routes, and placeOrder
    # answers with an error.
    write: WriteApi | None
    # The region's alarm topic (AlarmTopic's ARN): the notifier's dead-letter alarm notifies it.
    alarm_topic_arn: pulumi.Input[str]
    # The topic in us-east-1 (where Route 53 publishes) that the health-check alarm notifies.
    health_check_topic_arn: pulumi.Input[str] | None = None
    # Secondaries: the primary's page-token secret (`pageTokenSecretArn`), whose value this
    # region copies into its own secret. None in the primary, which makes the key.
    primary_page_token_secret_arn: pulumi.Input[str] | None = None


class RegionalEdge(pulumi.ComponentResource):
    """The HTTP, WebSocket and GraphQL APIs of one region, and its latency-routed domain."""

    http_api_url: pulumi.Output[str]
    internal_write_url: pulumi.Output[str]
    websocket_url: pulumi.Output[str]
    graphql_url: pulumi.Output[str]
    health_check_id: pulumi.Output[str] | None
    page_token_secret_arn: pulumi.Output[str]
    http_api_execution_arn: pulumi.Output[str]
    # The APIs themselves, for the alarms and dashboards of RegionalObservability.
    http_api: aws.apigatewayv2.Api
    graphql_api: aws.appsync.GraphQLApi
    websocket_api: aws.apigatewayv2.Api

    def __init__(
        self, name: str, args: RegionalEdgeArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("active-active:components:RegionalEdge", name, None, opts)
        settings, data = args.settings, args.data
        site = Site(name, settings, self, data.kms_key_arn, args.alarm_topic_arn, account_id(self))

        read = read_access(site, data, args.primary_page_token_secret_arn)
        self.page_token_secret_arn = read.page_token_secret_arn

        http = http_api(site, args.code, data, args.vpc, read, args.write)
        self.http_api = http.api
        self.http_api_execution_arn = http.api.execution_arn
        # Whether the write routes exist (POST /orders, the internal and synthetic ones).
        self.has_write_routes = args.write is not None
        self.http_api_url = http.url
        self.internal_write_url = http.internal_write_url

        graphql = graphql_api(site, args.code, read, args.write, http)
        self.graphql_api = graphql.api
        self.graphql_url = graphql.url

        websocket = websocket_api(site, args.code, data)
        self.websocket_api = websocket.api
        self.websocket_url = websocket.url

        notifier(site, args.code, data, websocket, graphql)
        self.dead_letter_queue_names = site.dead_letters

        self.health_check_id = (
            api_domain(site, http, args.health_check_topic_arn)
            if settings.domain is not None
            else None
        )

        self.register_outputs(
            {
                "http_api_url": self.http_api_url,
                "internal_write_url": self.internal_write_url,
                "websocket_url": self.websocket_url,
                "graphql_url": self.graphql_url,
                "health_check_id": self.health_check_id,
                "page_token_secret_arn": self.page_token_secret_arn,
            }
        )

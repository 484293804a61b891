"""RegionalEdge: this region's HTTP API, WebSocket API and AppSync API, and its custom domain.

Every region serves the whole public API from its own data: reads go to the local replica of
the global table, writes to the write function (WriteOrchestrator's), which starts the saga in
the primary or forwards to the primary. With a ``domain``, the API hostname is one latency
record per region, each guarded by a Route 53 health check on that region's ``/health``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import lifecycle, queues
from components.alarms import HEALTH_CHECK_REGION, metric_alarm
from components.certificates import dns_validated_certificate
from components.iam import assume_role_policy, kms_via, policy_document
from components.lambdas import (
    FunctionArgs,
    LambdaCode,
    LambdaFunction,
    VpcPlacement,
)
from components.settings import PROJECT, GraphqlAuth, Settings
from components.site import Site
from components.tags import tags
from functions.catalog import by_name

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "functions" / "graphql" / "schema.graphql"

# The HTTP API's routes, by the function that answers them. The write routes go to
# WriteOrchestrator's write function; `POST /internal/orders` is for writes a secondary
# forwards, signed with SigV4, so it takes IAM authorization.
READ_ROUTES = ("GET /orders/{orderId}", "GET /customers/{customerId}/orders")
HEALTH_ROUTE = "GET /health"
WRITE_ROUTE = "POST /orders"
INTERNAL_WRITE_ROUTE = "POST /internal/orders"
INTERNAL_WRITE_PATH = "/internal/orders"
# AppSync cannot share one custom domain between regions, so the latency-routed API hostname
# (and CloudFront's /graphql behaviour) reach this region's AppSync API through a proxy route.
GRAPHQL_ROUTE = "POST /graphql"
WEBSOCKET_ROUTES = ("$connect", "$disconnect", "subscribe", "$default")
# Routes whose answer goes back to the client (the subscription acknowledgement and errors).
WEBSOCKET_TWO_WAY_ROUTES = ("subscribe", "$default")
WEBSOCKET_STAGE = "prod"
# Direct Lambda resolvers on the one data source, as functions/graphql designs them; the
# subscription has none (AppSync fans publishOrderUpdate out to onOrderUpdated).
GRAPHQL_RESOLVERS = (
    ("Query", "getOrder"),
    ("Query", "listOrders"),
    ("Mutation", "placeOrder"),
    ("Mutation", "publishOrderUpdate"),
)
_AUTH_TYPES = {GraphqlAuth.API_KEY: "API_KEY", GraphqlAuth.IAM: "AWS_IAM"}
# Route 53 wants an answer within two seconds of connecting: the health function's own
# deadline for its checks stays below that, cold start included.
HEALTH_DEADLINE_MS = 1500
CONNECTION_TTL_SECONDS = 7200
# A notification older than this is no use to anyone; the record goes to the DLQ instead.
STREAM_MAX_RECORD_AGE_SECONDS = 3600
STREAM_MAX_RETRIES = 5

# Plain JSON: an Output made at import time would belong to the first stack run's loop.
_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
    }
)


@dataclass(frozen=True)
class EdgeData:
    """What the edge reads from this region's data layer (GlobalData's outputs)."""

    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    # This region's stream of the global table (a secondary's replica has its own).
    table_stream_arn: pulumi.Input[str]
    connections_table_name: pulumi.Input[str]
    connections_table_arn: pulumi.Input[str]
    # This region's idempotency table: the notifier records what it has pushed there.
    idempotency_table_name: pulumi.Input[str]
    idempotency_table_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    db_reader_endpoint: pulumi.Input[str]
    # For the `rds-db:connect` ARN of the health function's IAM database user.
    db_cluster_resource_id: pulumi.Input[str]
    db_name: pulumi.Input[str]
    db_user: pulumi.Input[str]
    db_port: int = 5432


@dataclass(frozen=True)
class WriteApi:
    """WriteOrchestrator's write function, and what it needs to run ``placeOrder`` too."""

    function_arn: pulumi.Input[str]
    function_name: pulumi.Input[str]
    # The write function's environment and permissions: the AppSync data source runs the
    # same write code for `placeOrder`, so it needs both.
    environment: Mapping[str, pulumi.Input[str]]
    statements: Sequence[Mapping[str, Any]]


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


def api_key_expiry(today: datetime.date) -> str:
    """When the AppSync API key expires: a year from the first of this month.

    AppSync caps a key at 365 days and defaults to 7; a date that only moves once a month
    keeps the key (updated in place) instead of a change on every deployment.
    """
    first = today.replace(day=1)
    return (first + datetime.timedelta(days=364)).strftime("%Y-%m-%dT00:00:00Z")


class RegionalEdge(pulumi.ComponentResource):
    """The HTTP, WebSocket and GraphQL APIs of one region, and its latency-routed domain."""

    http_api_url: pulumi.Output[str]
    internal_write_url: pulumi.Output[str]
    websocket_url: pulumi.Output[str]
    graphql_url: pulumi.Output[str]
    health_check_id: pulumi.Output[str] | None
    page_token_secret_arn: pulumi.Output[str]
    http_api_execution_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegionalEdgeArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("active-active:components:RegionalEdge", name, None, opts)
        self._name = name
        self._settings = settings = args.settings
        self._child = pulumi.ResourceOptions(parent=self)
        data = args.data
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        self._account = identity.account_id

        self.page_token_secret_arn = self._page_token_secret(args)
        read_env: dict[str, pulumi.Input[str]] = {
            # This region's table only: reads never leave the region.
            "TABLE_NAME": data.table_name,
            "PAGE_TOKEN_SECRET_ARN": self.page_token_secret_arn,
        }
        read_statements: list[Mapping[str, Any]] = [
            {
                "Sid": "ReadModel",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                "Resource": data.table_arn,
            },
            {
                "Sid": "PageTokenKey",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": self.page_token_secret_arn,
            },
            _table_key(settings.region, data.kms_key_arn),
        ]

        # --- HTTP API -------------------------------------------------------------------
        read = self._function(
            "read-api", args, FunctionArgs(by_name()["read_api"], read_env, read_statements)
        )
        health = self._function(
            "health",
            args,
            FunctionArgs(
                by_name()["health"],
                {
                    "ROLE": settings.role.value,
                    "TABLE_NAME": data.table_name,
                    "DB_READER_HOST": data.db_reader_endpoint,
                    "DB_PORT": str(data.db_port),
                    "DB_NAME": data.db_name,
                    "DB_USER": data.db_user,
                    "DB_IAM_AUTH": "true",
                    "HEALTH_DEADLINE_MS": str(HEALTH_DEADLINE_MS),
                },
                [
                    {
                        "Sid": "TableProbe",
                        "Effect": "Allow",
                        "Action": "dynamodb:GetItem",
                        "Resource": data.table_arn,
                    },
                    _table_key(settings.region, data.kms_key_arn),
                    {
                        "Sid": "DatabaseProbe",
                        "Effect": "Allow",
                        "Action": "rds-db:connect",
                        "Resource": pulumi.Output.format(
                            "arn:aws:rds-db:{0}:{1}:dbuser:{2}/{3}",
                            settings.region,
                            self._account,
                            data.db_cluster_resource_id,
                            data.db_user,
                        ),
                    },
                ],
                vpc=args.vpc,
                timeout=5,
            ),
        )

        self.http_api = aws.apigatewayv2.Api(
            f"{name}-http",
            name=f"{PROJECT}-{settings.stack}-http",
            protocol_type="HTTP",
            description="Orders API: local reads, writes to the primary, health",
            cors_configuration=(
                aws.apigatewayv2.ApiCorsConfigurationArgs(
                    allow_origins=list(settings.edge.cors_origins),
                    allow_methods=["GET", "POST", "OPTIONS"],
                    allow_headers=["content-type", "idempotency-key", "authorization"],
                    max_age=600,
                )
                if settings.edge.cors_origins
                else None
            ),
            tags=tags(settings, f"{name}-http"),
            opts=self._child,
        )
        self.http_api_execution_arn = self.http_api.execution_arn
        http_logs = self._log_group(
            "http-access", f"/aws/apigateway/{PROJECT}-{settings.stack}-http"
        )
        self.http_stage = aws.apigatewayv2.Stage(
            f"{name}-http-stage",
            api_id=self.http_api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=settings.edge.throttling_rate_limit,
                throttling_burst_limit=settings.edge.throttling_burst_limit,
                detailed_metrics_enabled=True,
            ),
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=http_logs.arn, format=_ACCESS_LOG_FORMAT
            ),
            tags=tags(settings, f"{name}-http-stage"),
            opts=self._child,
        )

        self._lambda_routes("read", read.arn, read.name, READ_ROUTES)
        self._lambda_routes("health", health.arn, health.name, (HEALTH_ROUTE,))
        if args.write is not None:
            self._lambda_routes(
                "write", args.write.function_arn, args.write.function_name, (WRITE_ROUTE,)
            )
            self._lambda_routes(
                "internal-write",
                args.write.function_arn,
                None,  # the write function's permission above covers every route
                (INTERNAL_WRITE_ROUTE,),
                authorization="AWS_IAM",
            )
        self.http_api_url = self.http_api.api_endpoint
        # The regional endpoint, never the latency-routed hostname: a secondary forwarding a
        # write must reach the primary, not the nearest region (which may be itself).
        self.internal_write_url = self.http_api.api_endpoint.apply(
            lambda endpoint: f"{endpoint}{INTERNAL_WRITE_PATH}"
        )

        # --- AppSync ----------------------------------------------------------------------
        self.graphql_url = self._graphql(args, read_env, read_statements)

        # --- WebSocket API and the stream notifier ----------------------------------------
        self.websocket_url = self._websocket(args)

        # --- Custom domain, latency record, health check --------------------------------
        self.health_check_id = self._domain(args) if settings.domain is not None else None

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

    # ------------------------------------------------------------------------------------
    def _function(self, role: str, args: RegionalEdgeArgs, spec: FunctionArgs) -> LambdaFunction:
        return LambdaFunction(
            f"{self._name}-{role}",
            self._settings,
            args.code,
            spec,
            args.alarm_topic_arn,
            opts=self._child,
        )

    def _log_group(self, role: str, log_name: str) -> aws.cloudwatch.LogGroup:
        return lifecycle.log_group(
            f"{self._name}-{role}-logs", self._settings, log_name, self._child
        )

    def _page_token_secret(self, args: RegionalEdgeArgs) -> pulumi.Output[str]:
        """The key that signs `nextToken`: one value in every region, or a client routed to
        another region mid-listing gets 400. Each region keeps its own copy, so the read path
        never calls another region."""
        settings = self._settings
        if settings.is_home:
            value: pulumi.Output[str] = random.RandomPassword(
                f"{self._name}-page-token-key", length=64, special=False, opts=self._child
            ).result
        else:
            if args.primary_page_token_secret_arn is None or settings.home_stack is None:
                raise ValueError(f"{settings.stack}: a secondary needs the primary's secret ARN")
            # Copied at deploy time rather than replicated by Secrets Manager: replicas would be
            # managed by the primary's converge pass, and its first pass (which omits the
            # replica stacks) would delete them on every deployment.
            value = aws.secretsmanager.get_secret_version_output(
                secret_id=args.primary_page_token_secret_arn,
                region=settings.peer(settings.home_stack).region,
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).secret_string
        secret = lifecycle.secret(
            f"{self._name}-page-token-secret",
            settings,
            self._child,
            name=f"{PROJECT}/{settings.stack}/page-token-key",
            description="HMAC key of the read API's nextToken; the same value in every region",
        )
        aws.secretsmanager.SecretVersion(
            f"{self._name}-page-token-value",
            secret_id=secret.id,
            secret_string=value,
            opts=self._child,
        )
        return secret.arn

    def _lambda_routes(
        self,
        role: str,
        function_arn: pulumi.Input[str],
        function_name: pulumi.Input[str] | None,
        route_keys: Sequence[str],
        authorization: str = "NONE",
    ) -> None:
        integration = aws.apigatewayv2.Integration(
            f"{self._name}-{role}-integration",
            api_id=self.http_api.id,
            integration_type="AWS_PROXY",
            integration_uri=function_arn,
            payload_format_version="2.0",
            opts=self._child,
        )
        for key in route_keys:
            aws.apigatewayv2.Route(
                f"{self._name}-{role}-route-{_slug(key)}",
                api_id=self.http_api.id,
                route_key=key,
                target=pulumi.Output.concat("integrations/", integration.id),
                authorization_type=authorization,
                opts=self._child,
            )
        if function_name is not None:
            aws.lambda_.Permission(
                f"{self._name}-{role}-invoke",
                action="lambda:InvokeFunction",
                function=function_name,
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(self.http_api.execution_arn, "/*/*"),
                opts=self._child,
            )

    def _graphql(
        self,
        args: RegionalEdgeArgs,
        read_env: Mapping[str, pulumi.Input[str]],
        read_statements: Sequence[Mapping[str, Any]],
    ) -> pulumi.Output[str]:
        name, settings = self._name, self._settings
        write_env = dict(args.write.environment) if args.write else {}
        write_statements = list(args.write.statements) if args.write else []
        resolver_fn = self._function(
            "graphql",
            args,
            FunctionArgs(
                by_name()["graphql"],
                {**write_env, **read_env},
                [*read_statements, *write_statements],
            ),
        )

        log_role = aws.iam.Role(
            f"{name}-graphql-logs-role",
            assume_role_policy=assume_role_policy("appsync.amazonaws.com"),
            tags=tags(settings, f"{name}-graphql-logs-role"),
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{name}-graphql-logs-policy",
            role=log_role.id,
            policy=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogGroup",
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                        ],
                        # The API id is only known once the API exists; its log group is
                        # named after it.
                        "Resource": pulumi.Output.format(
                            "arn:aws:logs:{0}:{1}:log-group:/aws/appsync/apis/*",
                            settings.region,
                            self._account,
                        ),
                    }
                ]
            ),
            opts=self._child,
        )
        default_auth = _AUTH_TYPES[settings.edge.graphql_auth]
        # Both providers always exist, because the schema names both (@aws_api_key @aws_iam)
        # and publishOrderUpdate must stay IAM-only; config chooses the default, and only
        # the API-key default gets a key.
        other_auth = next(a for a in _AUTH_TYPES.values() if a != default_auth)
        self.graphql_api = aws.appsync.GraphQLApi(
            f"{name}-graphql",
            name=f"{PROJECT}-{settings.stack}",
            authentication_type=default_auth,
            additional_authentication_providers=[
                aws.appsync.GraphQLApiAdditionalAuthenticationProviderArgs(
                    authentication_type=other_auth
                )
            ],
            schema=SCHEMA_PATH.read_text(),
            xray_enabled=True,
            log_config=aws.appsync.GraphQLApiLogConfigArgs(
                cloudwatch_logs_role_arn=log_role.arn,
                field_log_level="ERROR",
                exclude_verbose_content=True,
            ),
            tags=tags(settings, f"{name}-graphql"),
            opts=self._child,
        )
        if settings.edge.graphql_auth is GraphqlAuth.API_KEY:
            aws.appsync.ApiKey(
                f"{name}-graphql-key",
                api_id=self.graphql_api.id,
                description=f"{PROJECT} {settings.stack}: clients of the GraphQL API",
                expires=api_key_expiry(datetime.datetime.now(datetime.UTC).date()),
                opts=self._child,
            )

        source_role = aws.iam.Role(
            f"{name}-graphql-source-role",
            assume_role_policy=assume_role_policy("appsync.amazonaws.com"),
            tags=tags(settings, f"{name}-graphql-source-role"),
            opts=self._child,
        )
        source_policy = aws.iam.RolePolicy(
            f"{name}-graphql-source-policy",
            role=source_role.id,
            policy=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Action": "lambda:InvokeFunction",
                        "Resource": resolver_fn.arn,
                    }
                ]
            ),
            opts=self._child,
        )
        source = aws.appsync.DataSource(
            f"{name}-graphql-source",
            api_id=self.graphql_api.id,
            name="orders",
            description="getOrder, listOrders, placeOrder, publishOrderUpdate",
            type="AWS_LAMBDA",
            service_role_arn=source_role.arn,
            lambda_config=aws.appsync.DataSourceLambdaConfigArgs(function_arn=resolver_fn.arn),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[source_policy]),
        )
        for type_name, field_name in GRAPHQL_RESOLVERS:
            # No templates and no code: direct Lambda resolvers, one event per field.
            aws.appsync.Resolver(
                f"{name}-graphql-{type_name.lower()}-{field_name}",
                api_id=self.graphql_api.id,
                type=type_name,
                field=field_name,
                kind="UNIT",
                data_source=source.name,
                opts=self._child,
            )
        url = self.graphql_api.uris.apply(lambda uris: uris["GRAPHQL"])

        proxy = aws.apigatewayv2.Integration(
            f"{name}-graphql-integration",
            api_id=self.http_api.id,
            integration_type="HTTP_PROXY",
            integration_method="POST",
            integration_uri=url,
            payload_format_version="1.0",
            opts=self._child,
        )
        aws.apigatewayv2.Route(
            f"{name}-graphql-route",
            api_id=self.http_api.id,
            route_key=GRAPHQL_ROUTE,
            target=pulumi.Output.concat("integrations/", proxy.id),
            opts=self._child,
        )
        return url

    def _websocket(self, args: RegionalEdgeArgs) -> pulumi.Output[str]:
        name, settings, data = self._name, self._settings, args.data
        connections = {
            "Sid": "Connections",
            "Effect": "Allow",
            "Action": [
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
            ],
            "Resource": [
                data.connections_table_arn,
                pulumi.Output.concat(data.connections_table_arn, "/index/*"),
            ],
        }
        routes_fn = self._function(
            "websocket",
            args,
            FunctionArgs(
                by_name()["websocket"],
                {
                    "CONNECTIONS_TABLE_NAME": data.connections_table_name,
                    "CONNECTION_TTL_SECONDS": str(CONNECTION_TTL_SECONDS),
                },
                [connections, _table_key(settings.region, data.kms_key_arn)],
            ),
        )
        api = self.websocket_api = aws.apigatewayv2.Api(
            f"{name}-websocket",
            name=f"{PROJECT}-{settings.stack}-websocket",
            protocol_type="WEBSOCKET",
            route_selection_expression="$request.body.action",
            description="Order updates pushed to subscribed clients",
            tags=tags(settings, f"{name}-websocket"),
            opts=self._child,
        )
        integration = aws.apigatewayv2.Integration(
            f"{name}-websocket-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_uri=routes_fn.function.invoke_arn,
            opts=self._child,
        )
        routes = []
        for key in WEBSOCKET_ROUTES:
            two_way = key in WEBSOCKET_TWO_WAY_ROUTES
            route = aws.apigatewayv2.Route(
                f"{name}-websocket-route-{_slug(key)}",
                api_id=api.id,
                route_key=key,
                target=pulumi.Output.concat("integrations/", integration.id),
                route_response_selection_expression="$default" if two_way else None,
                opts=self._child,
            )
            if two_way:
                aws.apigatewayv2.RouteResponse(
                    f"{name}-websocket-response-{_slug(key)}",
                    api_id=api.id,
                    route_id=route.id,
                    route_response_key="$default",
                    opts=self._child,
                )
            routes.append(route)
        # No access logs here, unlike the HTTP stage: a WebSocket stage that logs needs the
        # account's API Gateway CloudWatch role (AWS answers "CloudWatch Logs role ARN must be
        # set in account settings to enable logging", sst/ion#373), which HTTP APIs never
        # use. That role is one setting per account and region, shared with whatever else
        # runs there, so a stack must not own it; an account that has it can add logs here.
        stage = aws.apigatewayv2.Stage(
            f"{name}-websocket-stage",
            api_id=api.id,
            name=WEBSOCKET_STAGE,
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=settings.edge.throttling_rate_limit,
                throttling_burst_limit=settings.edge.throttling_burst_limit,
            ),
            tags=tags(settings, f"{name}-websocket-stage"),
            # An auto-deployed stage made before the routes would deploy an empty API.
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )
        aws.lambda_.Permission(
            f"{name}-websocket-invoke",
            action="lambda:InvokeFunction",
            function=routes_fn.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(api.execution_arn, "/*"),
            opts=self._child,
        )

        # The notifier: this region's stream, pushed to this region's subscribers.
        dlq = queues.dead_letter_queue(
            Site(name, settings, self, data.kms_key_arn, args.alarm_topic_arn, self._account),
            "notifier",
            "order updates that could not be pushed after every retry",
        )
        notifier = self._function(
            "notifier",
            args,
            FunctionArgs(
                by_name()["notifier"],
                {
                    "CONNECTIONS_TABLE_NAME": data.connections_table_name,
                    "IDEMPOTENCY_TABLE_NAME": data.idempotency_table_name,
                    "WEBSOCKET_ENDPOINT": pulumi.Output.format(
                        "https://{0}.execute-api.{1}.amazonaws.com/{2}",
                        api.id,
                        settings.region,
                        WEBSOCKET_STAGE,
                    ),
                    "GRAPHQL_URL": self.graphql_url,
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
                        "Resource": pulumi.Output.concat(
                            api.execution_arn, f"/{WEBSOCKET_STAGE}/*/@connections/*"
                        ),
                    },
                    {
                        "Sid": "PublishToGraphql",
                        "Effect": "Allow",
                        "Action": "appsync:GraphQL",
                        "Resource": pulumi.Output.concat(
                            self.graphql_api.arn, "/types/Mutation/fields/publishOrderUpdate"
                        ),
                    },
                    {
                        "Sid": "DeadLetters",
                        "Effect": "Allow",
                        "Action": "sqs:SendMessage",
                        "Resource": dlq.arn,
                    },
                    # The tables it reads and writes, and its dead-letter queue.
                    kms_via(settings.region, data.kms_key_arn, "dynamodb"),
                    kms_via(settings.region, data.kms_key_arn, "sqs"),
                ],
            ),
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-notifier-stream",
            event_source_arn=data.table_stream_arn,
            function_name=notifier.arn,
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
            opts=self._child,
        )
        return pulumi.Output.concat(api.api_endpoint, "/", stage.name)

    def _domain(self, args: RegionalEdgeArgs) -> pulumi.Output[str]:
        name, settings = self._name, self._settings
        domain = settings.domain
        assert domain is not None
        # The same name in every region, each with its own regional certificate.
        certificate_arn = dns_validated_certificate(
            f"{name}-api-certificate",
            settings,
            domain_name=domain.api_hostname,
            zone_id=domain.zone_id,
            parent=self,
            shared_record=True,
        )
        custom = aws.apigatewayv2.DomainName(
            f"{name}-api-domain",
            domain_name=domain.api_hostname,
            domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
                certificate_arn=certificate_arn,
                endpoint_type="REGIONAL",
                security_policy="TLS_1_2",
            ),
            tags=tags(settings, f"{name}-api-domain"),
            opts=self._child,
        )
        aws.apigatewayv2.ApiMapping(
            f"{name}-api-mapping",
            api_id=self.http_api.id,
            domain_name=custom.id,
            stage=self.http_stage.id,
            opts=self._child,
        )
        # The regional endpoint itself, not the shared name: the check must see this region.
        health_check = aws.route53.HealthCheck(
            f"{name}-health-check",
            type="HTTPS",
            fqdn=self.http_api.api_endpoint.apply(lambda e: e.removeprefix("https://")),
            port=443,
            resource_path="/health",
            enable_sni=True,
            request_interval=30,
            failure_threshold=3,
            measure_latency=True,
            tags=tags(settings, f"{name}-health-check"),
            opts=self._child,
        )
        # 1 while Route 53 sees this region healthy: below 1 for 2 minutes, latency routing has
        # already sent its users elsewhere, and someone should know.
        metric_alarm(
            f"{name}-health-check-status",
            settings,
            args.health_check_topic_arn or args.alarm_topic_arn,
            self._child,
            region=HEALTH_CHECK_REGION,
            name=f"{PROJECT}-{settings.stack}-health-check",
            alarm_description=f"{settings.region}: Route 53 sees GET /health failing",
            namespace="AWS/Route53",
            metric_name="HealthCheckStatus",
            dimensions={"HealthCheckId": health_check.id},
            statistic="Minimum",
            period=60,
            evaluation_periods=2,
            threshold=1,
            comparison_operator="LessThanThreshold",
            treat_missing_data="breaching",
        )
        configuration = custom.domain_name_configuration
        aws.route53.Record(
            f"{name}-api-latency-record",
            zone_id=domain.zone_id,
            name=domain.api_hostname,
            type="A",
            set_identifier=settings.region,
            latency_routing_policies=[
                aws.route53.RecordLatencyRoutingPolicyArgs(region=settings.region)
            ],
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=configuration.target_domain_name,
                    zone_id=configuration.hosted_zone_id,
                    evaluate_target_health=True,
                )
            ],
            health_check_id=health_check.id,
            opts=self._child,
        )
        return health_check.id


def _table_key(region: str, kms_key_arn: pulumi.Input[str]) -> Mapping[str, Any]:
    """Items of a table encrypted with the region's key are read with the key, only through
    DynamoDB. A Sid of its own: AppSync's function also has the write path's key statement."""
    return kms_via(
        region, kms_key_arn, "dynamodb", actions=("kms:Decrypt", "kms:DescribeKey"), sid="TableKey"
    )


def _slug(route_key: str) -> str:
    """A resource-name-safe form of a route key: `GET /orders/{orderId}` -> `get-orders-orderid`."""
    cleaned = "".join(c if c.isalnum() else "-" for c in route_key.lower())
    return "-".join(part for part in cleaned.split("-") if part) or "default"

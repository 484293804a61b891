"""The region's HTTP API: local reads, writes to the write function, health, and the internal
route a secondary forwards writes to."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components import lifecycle
from components.edge_inputs import EdgeData, WriteApi
from components.iam import db_user_arn, table_key
from components.lambdas import FunctionArgs, LambdaCode, VpcPlacement
from components.reads import ReadAccess
from components.settings import PROJECT
from components.site import Site
from components.tags import tags
from functions import synthetic
from functions.catalog import by_name

# The HTTP API's routes, by the function that answers them. The write routes go to
# WriteOrchestrator's write function; `POST /internal/orders` is for writes a secondary
# forwards, signed with SigV4, so it takes IAM authorization; so does the write canary's
# `POST /synthetic/orders` (functions/synthetic.py), which only its role may call.
READ_ROUTES = ("GET /orders/{orderId}", "GET /customers/{customerId}/orders")
HEALTH_ROUTE = "GET /health"
WRITE_ROUTE = "POST /orders"
INTERNAL_WRITE_ROUTE = "POST /internal/orders"
INTERNAL_WRITE_PATH = "/internal/orders"
# Route 53 wants an answer within two seconds of connecting: the health function's own
# deadline for its checks stays below that, cold start included.
HEALTH_DEADLINE_MS = 1500

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


class HttpApi(NamedTuple):
    """The HTTP API, its stage, and its regional URLs."""

    api: aws.apigatewayv2.Api
    stage: aws.apigatewayv2.Stage
    url: pulumi.Output[str]
    # The regional endpoint, never the latency-routed hostname: a secondary forwarding a
    # write must reach the primary, not the nearest region (which may be itself).
    internal_write_url: pulumi.Output[str]


def http_api(
    site: Site,
    code: LambdaCode,
    data: EdgeData,
    vpc: VpcPlacement,
    read: ReadAccess,
    write: WriteApi | None,
) -> HttpApi:
    """The read and health functions, the API with its logged stage, and every route."""
    name, settings = site.name, site.settings
    reader = site.function(
        "read-api", code, FunctionArgs(by_name()["read_api"], read.environment, read.statements)
    )
    health = site.function(
        "health",
        code,
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
                table_key(settings.region, data.kms_key_arn),
                {
                    "Sid": "DatabaseProbe",
                    "Effect": "Allow",
                    "Action": "rds-db:connect",
                    "Resource": db_user_arn(
                        settings.region, site.account_id, data.db_cluster_resource_id, data.db_user
                    ),
                },
            ],
            vpc=vpc,
            timeout=5,
        ),
    )

    api = aws.apigatewayv2.Api(
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
        opts=site.child,
    )
    access_logs = lifecycle.log_group(
        f"{name}-http-access-logs",
        settings,
        f"/aws/apigateway/{PROJECT}-{settings.stack}-http",
        site.child,
    )
    stage = aws.apigatewayv2.Stage(
        f"{name}-http-stage",
        api_id=api.id,
        name="$default",
        auto_deploy=True,
        default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
            throttling_rate_limit=settings.edge.throttling_rate_limit,
            throttling_burst_limit=settings.edge.throttling_burst_limit,
            detailed_metrics_enabled=True,
        ),
        access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
            destination_arn=access_logs.arn, format=_ACCESS_LOG_FORMAT
        ),
        tags=tags(settings, f"{name}-http-stage"),
        opts=site.child,
    )

    lambda_routes(site, api, "read", reader.arn, reader.name, READ_ROUTES)
    lambda_routes(site, api, "health", health.arn, health.name, (HEALTH_ROUTE,))
    if write is not None:
        lambda_routes(site, api, "write", write.function_arn, write.function_name, (WRITE_ROUTE,))
        lambda_routes(
            site,
            api,
            "internal-write",
            write.function_arn,
            None,  # the write function's permission above covers every route
            (INTERNAL_WRITE_ROUTE, synthetic.ROUTE),
            authorization="AWS_IAM",
        )
    return HttpApi(
        api,
        stage,
        api.api_endpoint,
        api.api_endpoint.apply(lambda endpoint: f"{endpoint}{INTERNAL_WRITE_PATH}"),
    )


def lambda_routes(
    site: Site,
    api: aws.apigatewayv2.Api,
    role: str,
    function_arn: pulumi.Input[str],
    function_name: pulumi.Input[str] | None,
    route_keys: Sequence[str],
    authorization: str = "NONE",
) -> None:
    """Routes to one function, and (with its name) API Gateway's permission to invoke it."""
    integration = aws.apigatewayv2.Integration(
        f"{site.name}-{role}-integration",
        api_id=api.id,
        integration_type="AWS_PROXY",
        integration_uri=function_arn,
        payload_format_version="2.0",
        opts=site.child,
    )
    for key in route_keys:
        aws.apigatewayv2.Route(
            f"{site.name}-{role}-route-{route_slug(key)}",
            api_id=api.id,
            route_key=key,
            target=pulumi.Output.concat("integrations/", integration.id),
            authorization_type=authorization,
            opts=site.child,
        )
    if function_name is not None:
        aws.lambda_.Permission(
            f"{site.name}-{role}-invoke",
            action="lambda:InvokeFunction",
            function=function_name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(api.execution_arn, "/*/*"),
            opts=site.child,
        )


def route_slug(route_key: str) -> str:
    """A resource-name-safe form of a route key: `GET /orders/{orderId}` -> `get-orders-orderid`."""
    cleaned = "".join(c if c.isalnum() else "-" for c in route_key.lower())
    return "-".join(part for part in cleaned.split("-") if part) or "default"

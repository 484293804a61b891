"""The region's WebSocket API: clients subscribe to their orders; the notifier pushes to them."""

from __future__ import annotations

from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components.edge_inputs import EdgeData
from components.http_api import route_slug
from components.iam import table_key
from components.lambdas import FunctionArgs, LambdaCode
from components.settings import PROJECT
from components.site import Site
from components.tags import tags
from functions.catalog import by_name

WEBSOCKET_ROUTES = ("$connect", "$disconnect", "subscribe", "$default")
# Routes whose answer goes back to the client (the subscription acknowledgement and errors).
WEBSOCKET_TWO_WAY_ROUTES = ("subscribe", "$default")
WEBSOCKET_STAGE = "prod"
CONNECTION_TTL_SECONDS = 7200


class WebsocketApi(NamedTuple):
    """The WebSocket API, its client URL, and where a pusher posts to its connections."""

    api: aws.apigatewayv2.Api
    url: pulumi.Output[str]
    # The management endpoint of the stage (https, not wss), for @connections.
    connections_endpoint: pulumi.Output[str]
    # What execute-api:ManageConnections on this stage's connections names.
    connections_arn: pulumi.Output[str]


def websocket_api(site: Site, code: LambdaCode, data: EdgeData) -> WebsocketApi:
    """The routes' function, the API, its routes and stage, and the invoke permission."""
    name, settings = site.name, site.settings
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
    routes_fn = site.function(
        "websocket",
        code,
        FunctionArgs(
            by_name()["websocket"],
            {
                "CONNECTIONS_TABLE_NAME": data.connections_table_name,
                "CONNECTION_TTL_SECONDS": str(CONNECTION_TTL_SECONDS),
            },
            [connections, table_key(settings.region, data.kms_key_arn)],
        ),
    )
    api = aws.apigatewayv2.Api(
        f"{name}-websocket",
        name=f"{PROJECT}-{settings.stack}-websocket",
        protocol_type="WEBSOCKET",
        route_selection_expression="$request.body.action",
        description="Order updates pushed to subscribed clients",
        tags=tags(settings, f"{name}-websocket"),
        opts=site.child,
    )
    integration = aws.apigatewayv2.Integration(
        f"{name}-websocket-integration",
        api_id=api.id,
        integration_type="AWS_PROXY",
        integration_uri=routes_fn.function.invoke_arn,
        opts=site.child,
    )
    routes = []
    for key in WEBSOCKET_ROUTES:
        two_way = key in WEBSOCKET_TWO_WAY_ROUTES
        route = aws.apigatewayv2.Route(
            f"{name}-websocket-route-{route_slug(key)}",
            api_id=api.id,
            route_key=key,
            target=pulumi.Output.concat("integrations/", integration.id),
            route_response_selection_expression="$default" if two_way else None,
            opts=site.child,
        )
        if two_way:
            aws.apigatewayv2.RouteResponse(
                f"{name}-websocket-response-{route_slug(key)}",
                api_id=api.id,
                route_id=route.id,
                route_response_key="$default",
                opts=site.child,
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
        opts=site.after(*routes),
    )
    aws.lambda_.Permission(
        f"{name}-websocket-invoke",
        action="lambda:InvokeFunction",
        function=routes_fn.name,
        principal="apigateway.amazonaws.com",
        source_arn=pulumi.Output.concat(api.execution_arn, "/*"),
        opts=site.child,
    )
    return WebsocketApi(
        api,
        url=pulumi.Output.concat(api.api_endpoint, "/", stage.name),
        connections_endpoint=pulumi.Output.format(
            "https://{0}.execute-api.{1}.amazonaws.com/{2}",
            api.id,
            settings.region,
            WEBSOCKET_STAGE,
        ),
        connections_arn=pulumi.Output.concat(
            api.execution_arn, f"/{WEBSOCKET_STAGE}/*/@connections/*"
        ),
    )

"""The region's AppSync API: direct Lambda resolvers over the same read and write code as the
HTTP API, reached through the HTTP API's ``POST /graphql`` proxy route."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components.edge_inputs import WriteApi
from components.http_api import HttpApi
from components.iam import service_role
from components.lambdas import FunctionArgs, LambdaCode
from components.reads import ReadAccess
from components.settings import PROJECT, GraphqlAuth
from components.site import Site
from components.tags import tags
from functions.catalog import by_name

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "functions" / "graphql" / "schema.graphql"

# AppSync cannot share one custom domain between regions, so the latency-routed API hostname
# (and CloudFront's /graphql behaviour) reach this region's AppSync API through a proxy route.
GRAPHQL_ROUTE = "POST /graphql"
# Direct Lambda resolvers on the one data source, as functions/graphql designs them; the
# subscription has none (AppSync fans publishOrderUpdate out to onOrderUpdated).
GRAPHQL_RESOLVERS = (
    ("Query", "getOrder"),
    ("Query", "listOrders"),
    ("Mutation", "placeOrder"),
    ("Mutation", "publishOrderUpdate"),
)
_AUTH_TYPES = {GraphqlAuth.API_KEY: "API_KEY", GraphqlAuth.IAM: "AWS_IAM"}


class GraphqlApi(NamedTuple):
    """The AppSync API, and its URL."""

    api: aws.appsync.GraphQLApi
    url: pulumi.Output[str]


def api_key_expiry(today: datetime.date) -> str:
    """When the AppSync API key expires: a year from the first of this month.

    AppSync caps a key at 365 days and defaults to 7; a date that only moves once a month
    keeps the key (updated in place) instead of a change on every deployment.
    """
    first = today.replace(day=1)
    return (first + datetime.timedelta(days=364)).strftime("%Y-%m-%dT00:00:00Z")


def graphql_api(
    site: Site, code: LambdaCode, read: ReadAccess, write: WriteApi | None, http: HttpApi
) -> GraphqlApi:
    """The resolver function, the API with its logs and key, its data source and resolvers,
    and the proxy route on the HTTP API."""
    name, settings = site.name, site.settings
    write_env = dict(write.environment) if write else {}
    write_statements = list(write.statements) if write else []
    resolver_fn = site.function(
        "graphql",
        code,
        FunctionArgs(
            by_name()["graphql"],
            {**write_env, **read.environment},
            [*read.statements, *write_statements],
        ),
    )

    log_role, _ = service_role(
        f"{name}-graphql-logs",
        settings,
        "appsync.amazonaws.com",
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
                    site.account_id,
                ),
            }
        ],
        site.child,
    )
    default_auth = _AUTH_TYPES[settings.edge.graphql_auth]
    # Both providers always exist, because the schema names both (@aws_api_key @aws_iam)
    # and publishOrderUpdate must stay IAM-only; config chooses the default, and only
    # the API-key default gets a key.
    other_auth = next(a for a in _AUTH_TYPES.values() if a != default_auth)
    api = aws.appsync.GraphQLApi(
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
        opts=site.child,
    )
    if settings.edge.graphql_auth is GraphqlAuth.API_KEY:
        aws.appsync.ApiKey(
            f"{name}-graphql-key",
            api_id=api.id,
            description=f"{PROJECT} {settings.stack}: clients of the GraphQL API",
            expires=api_key_expiry(datetime.datetime.now(datetime.UTC).date()),
            opts=site.child,
        )

    source_role, source_policy = service_role(
        f"{name}-graphql-source",
        settings,
        "appsync.amazonaws.com",
        [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": resolver_fn.arn}],
        site.child,
    )
    source = aws.appsync.DataSource(
        f"{name}-graphql-source",
        api_id=api.id,
        name="orders",
        description="getOrder, listOrders, placeOrder, publishOrderUpdate",
        type="AWS_LAMBDA",
        service_role_arn=source_role.arn,
        lambda_config=aws.appsync.DataSourceLambdaConfigArgs(function_arn=resolver_fn.arn),
        opts=site.after(source_policy),
    )
    for type_name, field_name in GRAPHQL_RESOLVERS:
        # No templates and no code: direct Lambda resolvers, one event per field.
        aws.appsync.Resolver(
            f"{name}-graphql-{type_name.lower()}-{field_name}",
            api_id=api.id,
            type=type_name,
            field=field_name,
            kind="UNIT",
            data_source=source.name,
            opts=site.child,
        )
    url = api.uris.apply(lambda uris: uris["GRAPHQL"])

    proxy = aws.apigatewayv2.Integration(
        f"{name}-graphql-integration",
        api_id=http.api.id,
        integration_type="HTTP_PROXY",
        integration_method="POST",
        integration_uri=url,
        payload_format_version="1.0",
        opts=site.child,
    )
    aws.apigatewayv2.Route(
        f"{name}-graphql-route",
        api_id=http.api.id,
        route_key=GRAPHQL_ROUTE,
        target=pulumi.Output.concat("integrations/", proxy.id),
        opts=site.child,
    )
    return GraphqlApi(api, url)

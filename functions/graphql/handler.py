"""Lambda handler of the AppSync data source (direct Lambda resolvers, one event per field).

Environment: the read API's (``AWS_REGION``, ``TABLE_NAME``, ``PAGE_TOKEN_SECRET_ARN``) and,
for ``placeOrder``, the write API's (see :mod:`functions.orders.settings`).
"""

from __future__ import annotations

import functools
from typing import Any

from functions.graphql.resolvers import GraphQLApp, build_resolver, logger
from functions.observability import observed, service_tracer
from functions.read_api.handler import build_queries
from functions.write_api.handler import dependencies

# AppSync passes the caller's headers; without x-correlation-id, the Lambda request id.
APPSYNC = 'request.headers."x-correlation-id"'
tracer = service_tracer("graphql")


@functools.cache
def build_app() -> GraphQLApp:
    """The container's resolver app over this region's read side and the write path."""
    return build_resolver(build_queries, dependencies)


@observed(logger, tracer, APPSYNC, emits_metrics=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    """Lambda entry point."""
    return build_app().resolve(event, context)

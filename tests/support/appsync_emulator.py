"""Runs GraphQL documents against the AppSync schema with graphql-core, the way AppSync would.

Each Query and Mutation field calls the Lambda data source with a direct-resolver event
(``arguments``, ``info.fieldName``, ``info.parentTypeName``, ...), and the answer goes
through JSON as it does between Lambda and AppSync, so a resolver that returns something
AppSync could not send back (a Decimal, a missing non-null field) fails here too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from graphql import ExecutionResult, GraphQLObjectType, GraphQLSchema, build_schema, graphql_sync

from functions.graphql.schema import schema_with_prelude

LambdaDataSource = Callable[[dict[str, Any]], Any]


def appsync_event(
    type_name: str,
    field_name: str,
    arguments: dict[str, Any],
    identity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event AppSync sends a direct Lambda resolver for one field."""
    return {
        "arguments": arguments,
        "identity": identity,
        "source": None,
        "request": {"headers": {}, "domainName": None},
        "prev": None,
        "stash": {},
        "info": {
            "fieldName": field_name,
            "parentTypeName": type_name,
            "variables": {},
            "selectionSetList": [],
            "selectionSetGraphQL": "",
        },
    }


def executable_schema(data_source: LambdaDataSource) -> GraphQLSchema:
    """The AppSync schema with every Query and Mutation field resolved by ``data_source``."""
    schema = build_schema(schema_with_prelude())
    for type_name in ("Query", "Mutation"):
        parent = schema.get_type(type_name)
        assert isinstance(parent, GraphQLObjectType)
        for field_name, field in parent.fields.items():
            field.resolve = _resolver(data_source, type_name, field_name)
    return schema


def _resolver(data_source: LambdaDataSource, type_name: str, field_name: str) -> Any:
    def resolve(_source: Any, _info: Any, **arguments: Any) -> Any:
        answer = data_source(appsync_event(type_name, field_name, arguments))
        return json.loads(json.dumps(answer))

    return resolve


def run(schema: GraphQLSchema, document: str, **variables: Any) -> ExecutionResult:
    """Execute one query or mutation."""
    return graphql_sync(schema, document, variable_values=variables)

"""The notifier's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from functions.env import Env


@dataclass(frozen=True)
class NotifierSettings:
    """This region's connections table, WebSocket endpoint, AppSync URL and idempotency table."""

    region: str
    connections_table: str
    websocket_endpoint: str  # https://<api-id>.execute-api.<region>.amazonaws.com/<stage>
    graphql_url: str  # https://<id>.appsync-api.<region>.amazonaws.com/graphql
    idempotency_table: str  # remembers which deliveries succeeded, so retries skip them

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifierSettings:
        """Settings from the Lambda environment; names the missing variable when one is."""
        read = Env(env)
        return cls(
            region=read.required("AWS_REGION"),
            connections_table=read.required("CONNECTIONS_TABLE_NAME"),
            websocket_endpoint=read.required("WEBSOCKET_ENDPOINT"),
            graphql_url=read.required("GRAPHQL_URL"),
            idempotency_table=read.required("IDEMPOTENCY_TABLE_NAME"),
        )

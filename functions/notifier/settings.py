"""The notifier's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_REQUIRED = (
    "AWS_REGION",
    "CONNECTIONS_TABLE_NAME",
    "WEBSOCKET_ENDPOINT",
    "GRAPHQL_URL",
    "IDEMPOTENCY_TABLE_NAME",
)


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
        missing = [name for name in _REQUIRED if not env.get(name)]
        if missing:
            raise RuntimeError(f"notifier: missing environment variable(s) {', '.join(missing)}")
        return cls(
            region=env["AWS_REGION"],
            connections_table=env["CONNECTIONS_TABLE_NAME"],
            websocket_endpoint=env["WEBSOCKET_ENDPOINT"],
            graphql_url=env["GRAPHQL_URL"],
            idempotency_table=env["IDEMPOTENCY_TABLE_NAME"],
        )

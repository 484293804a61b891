"""The WebSocket function's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from functions.env import Env


@dataclass(frozen=True)
class WebSocketSettings:
    """Where connections are kept, and for how long."""

    region: str
    connections_table: str
    # API Gateway closes a WebSocket after two hours at most: keep the item no longer.
    ttl_seconds: int = 7200

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebSocketSettings:
        """Settings from the Lambda environment; names the missing variable when one is."""
        read = Env(env)
        return cls(
            region=read.required("AWS_REGION"),
            connections_table=read.required("CONNECTIONS_TABLE_NAME"),
            ttl_seconds=read.integer("CONNECTION_TTL_SECONDS", 7200, minimum=1),
        )

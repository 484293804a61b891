"""The WebSocket function's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


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
        missing = [n for n in ("AWS_REGION", "CONNECTIONS_TABLE_NAME") if not env.get(n)]
        if missing:
            raise RuntimeError(f"websocket: missing environment variable(s) {', '.join(missing)}")
        try:
            ttl = int(env.get("CONNECTION_TTL_SECONDS", "7200"))
        except ValueError as error:
            raise RuntimeError("websocket: CONNECTION_TTL_SECONDS must be an integer") from error
        return cls(
            region=env["AWS_REGION"],
            connections_table=env["CONNECTIONS_TABLE_NAME"],
            ttl_seconds=ttl,
        )

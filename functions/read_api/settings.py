"""The read API's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ReadApiSettings:
    """Where the read API reads: its own region's table and the page-token key."""

    region: str
    table_name: str
    page_token_secret_id: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReadApiSettings:
        """Settings from the Lambda environment; names the missing variable when one is."""
        missing = [
            n for n in ("AWS_REGION", "TABLE_NAME", "PAGE_TOKEN_SECRET_ARN") if not env.get(n)
        ]
        if missing:
            raise RuntimeError(f"read API: missing environment variable(s) {', '.join(missing)}")
        return cls(
            region=env["AWS_REGION"],
            table_name=env["TABLE_NAME"],
            page_token_secret_id=env["PAGE_TOKEN_SECRET_ARN"],
        )

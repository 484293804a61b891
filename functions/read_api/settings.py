"""The read API's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from functions.env import Env


@dataclass(frozen=True)
class ReadApiSettings:
    """Where the read API reads: its own region's table and the page-token key."""

    region: str
    table_name: str
    page_token_secret_id: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReadApiSettings:
        """Settings from the Lambda environment; names the missing variable when one is."""
        read = Env(env)
        return cls(
            region=read.required("AWS_REGION"),
            table_name=read.required("TABLE_NAME"),
            page_token_secret_id=read.required("PAGE_TOKEN_SECRET_ARN"),
        )

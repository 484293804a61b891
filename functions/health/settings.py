"""The health function's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from functions.env import Env


@dataclass(frozen=True)
class HealthSettings:
    """What the health check probes, and how long it may take."""

    region: str
    role: str
    table_name: str
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_iam_auth: bool
    db_ca_bundle: str | None  # None: the RDS CA bundle shipped with the functions
    deadline_seconds: float
    # False: the database check is reported but does not make /health answer 503.
    database_required: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HealthSettings:
        """Settings from the Lambda environment; names what is missing or malformed."""
        read = Env(env)
        return cls(
            region=read.required("AWS_REGION"),
            role=read.required("ROLE"),
            table_name=read.required("TABLE_NAME"),
            db_host=read.required("DB_READER_HOST"),
            db_port=read.integer("DB_PORT", 5432, minimum=1, maximum=65535),
            db_name=read.required("DB_NAME"),
            db_user=read.required("DB_USER"),
            db_iam_auth=read.flag("DB_IAM_AUTH", True),
            db_ca_bundle=read.optional("DB_CA_BUNDLE"),
            deadline_seconds=read.integer("HEALTH_DEADLINE_MS", 2000, minimum=1) / 1000,
            database_required=read.flag("HEALTH_DATABASE_REQUIRED", True),
        )

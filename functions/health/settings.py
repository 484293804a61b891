"""The health function's environment, parsed once per container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_REQUIRED = ("AWS_REGION", "ROLE", "TABLE_NAME", "DB_READER_HOST", "DB_NAME", "DB_USER")


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
        missing = [name for name in _REQUIRED if not env.get(name)]
        if missing:
            raise RuntimeError(f"health: missing environment variable(s) {', '.join(missing)}")
        iam = env.get("DB_IAM_AUTH", "true").lower()
        if iam not in ("true", "false"):
            raise RuntimeError("health: DB_IAM_AUTH must be 'true' or 'false'")
        required = env.get("HEALTH_DATABASE_REQUIRED", "true").lower()
        if required not in ("true", "false"):
            raise RuntimeError("health: HEALTH_DATABASE_REQUIRED must be 'true' or 'false'")
        try:
            port = int(env.get("DB_PORT", "5432"))
            deadline = int(env.get("HEALTH_DEADLINE_MS", "2000")) / 1000
        except ValueError as error:
            raise RuntimeError(
                f"health: DB_PORT and HEALTH_DEADLINE_MS must be integers: {error}"
            ) from error
        return cls(
            region=env["AWS_REGION"],
            role=env["ROLE"],
            table_name=env["TABLE_NAME"],
            db_host=env["DB_READER_HOST"],
            db_port=port,
            db_name=env["DB_NAME"],
            db_user=env["DB_USER"],
            db_iam_auth=iam == "true",
            db_ca_bundle=env.get("DB_CA_BUNDLE") or None,
            deadline_seconds=deadline,
            database_required=required == "true",
        )

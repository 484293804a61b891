"""Lambda handler of ``GET /health`` (HTTP API), also the target of the Route 53 health check."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from functions.health.checks import Check, HealthReport, run_checks
from functions.health.probes import DatabaseProbe, TableProbe, postgres_connector
from functions.health.settings import HealthSettings


class Health:
    """Runs the region's checks and maps the report to an HTTP response."""

    def __init__(
        self,
        checks: dict[str, Check],
        region: str,
        role: str,
        deadline_seconds: float,
        informational: frozenset[str] = frozenset(),
    ) -> None:
        self._checks = checks
        self._region = region
        self._role = role
        self._deadline = deadline_seconds
        self._informational = informational

    def handle(self) -> dict[str, Any]:
        """The HTTP response: 200 or 503 with ``{status, region, role, checks}``."""
        report: HealthReport = run_checks(
            self._checks, self._region, self._role, self._deadline, self._informational
        )
        return {
            "statusCode": report.status_code,
            "headers": {"content-type": "application/json", "cache-control": "no-store"},
            "body": json.dumps(report.body, separators=(",", ":")),
        }


@functools.cache
def build_health() -> Health:
    """The container's Health, built once from the environment."""
    settings = HealthSettings.from_env(os.environ)
    # Fail fast inside the deadline instead of retrying past it.
    quick = Config(
        connect_timeout=settings.deadline_seconds,
        read_timeout=settings.deadline_seconds,
        retries={"max_attempts": 1},
    )
    dynamodb = boto3.client("dynamodb", region_name=settings.region, config=quick)
    password: Callable[[], str | None] = lambda: None  # noqa: E731
    if settings.db_iam_auth:
        rds = boto3.client("rds", region_name=settings.region)
        password = functools.partial(
            rds.generate_db_auth_token,
            settings.db_host,
            settings.db_port,
            settings.db_user,
            settings.region,
        )
    connect = postgres_connector(
        settings.db_host,
        settings.db_port,
        settings.db_name,
        settings.db_user,
        password,
        settings.db_ca_bundle,
        use_tls=settings.db_iam_auth,
        timeout=settings.deadline_seconds,
    )
    checks: dict[str, Check] = {
        "table": TableProbe(dynamodb, settings.table_name),
        "database": DatabaseProbe(connect),
    }
    # HEALTH_DATABASE_REQUIRED=false: a failing reader no longer takes the region out of DNS
    # (reads come from the table); see docs/read-side.md for the trade-off.
    informational = frozenset() if settings.database_required else frozenset({"database"})
    return Health(checks, settings.region, settings.role, settings.deadline_seconds, informational)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return build_health().handle()

"""Lambda handler of ``GET /health`` (HTTP API), also the target of the Route 53 health check."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import boto3
from botocore.config import Config

from functions.health.checks import Check, HealthReport, run_checks
from functions.health.probes import DatabaseProbe, TableProbe
from functions.health.settings import HealthSettings
from functions.observability import API_GATEWAY, observed, service_logger, service_tracer
from functions.orders.db import RDS_CA_BUNDLE, Database, DatabaseSettings, iam_login


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


logger = service_logger("health")
tracer = service_tracer("health")


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
    # The reader is reached like every other database client of the app: an IAM token over
    # TLS verified against the shipped RDS CAs (DB_CA_BUNDLE overrides them); with
    # DB_IAM_AUTH=false (local runs and tests), a plain login without a password.
    database = DatabaseSettings(
        host=settings.db_host,
        port=settings.db_port,
        database=settings.db_name,
        user=settings.db_user,
        iam_region=settings.region if settings.db_iam_auth else None,
        ca_bundle=settings.db_ca_bundle or RDS_CA_BUNDLE,
    )
    login = None
    if settings.db_iam_auth:
        login = iam_login(boto3.client("rds", region_name=settings.region))
    checks: dict[str, Check] = {
        "table": TableProbe(dynamodb, settings.table_name),
        "database": DatabaseProbe(lambda: Database(database, login)),
    }
    # HEALTH_DATABASE_REQUIRED=false: a failing reader no longer takes the region out of DNS
    # (reads come from the table); see docs/read-side.md for the trade-off.
    informational = frozenset() if settings.database_required else frozenset({"database"})
    return Health(checks, settings.region, settings.role, settings.deadline_seconds, informational)


@observed(logger, tracer, API_GATEWAY)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return build_health().handle()

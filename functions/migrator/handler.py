"""Lambda: apply pending SQL migrations; invoked at deploy time in every region's stack.

Only the region whose Aurora cluster is the global database's writer applies them: the
schema replicates from there, and which region writes is run-time state (a failover moves
it). Environment:

- ``GLOBAL_CLUSTER_ID`` and ``DB_CLUSTER_ARN`` (:class:`functions.orders.settings.
  MigratorSettings`): the global database and this region's cluster. Before any secret is
  read or connection made, RDS ``DescribeGlobalClusters`` (in ``AWS_REGION``) says whether
  this cluster writes. Both absent (tests, local runs): migrate unconditionally.
- the database variables of :mod:`functions.orders.db`; in AWS, ``DB_SECRET_ARN``: the
  migrator logs in as the master user, the only one that may create the app role
  (``0002_app_role.sql``) and the tables.

Returns ``{"applied": [versions], "writer": True}`` in the writer's region (an empty list
when the schema was already current); ``{"applied": [], "writer": False, "skipped": why}``
elsewhere, without connecting; ``{"applied": [...]}`` without the writer check. Fails (so
does the deploy) when no cluster writes at all, or RDS cannot be asked.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3

from functions.migrator.rds import RdsGlobalDatabase
from functions.migrator.writer import GlobalDatabase, decide
from functions.observability import observed, service_logger, service_tracer
from functions.orders.db import Database, database_from_env
from functions.orders.migrations import migrate
from functions.orders.settings import MigratorSettings, WriterCheck

logger = service_logger("migrator")
tracer = service_tracer("migrator")


@cache
def _database() -> Database:
    return database_from_env()


def _global_database(check: WriterCheck) -> GlobalDatabase:
    return RdsGlobalDatabase(boto3.client("rds", region_name=check.region), check.global_cluster_id)


def apply(database: Callable[[], Database]) -> list[str]:
    """Connect, apply the pending migrations, disconnect; the versions applied."""
    db = database()
    try:
        return migrate(db)
    finally:
        # Deploy-time only: holding a connection open between deploys serves nothing.
        db.close()


def migrate_if_writer(
    cluster_arn: str, global_database: GlobalDatabase, database: Callable[[], Database]
) -> dict[str, Any]:
    """Apply the migrations if ``cluster_arn`` writes the global database, else say who does."""
    verdict = decide(cluster_arn, global_database.members())
    if not verdict.migrate:
        logger.info("not the writer: no migration here", extra={"reason": verdict.skipped})
        return {"applied": [], "writer": False, "skipped": verdict.skipped}
    return {"applied": apply(database), "writer": True}


@observed(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Apply the pending migrations where this region writes, and report what ran."""
    check = MigratorSettings.from_env().writer_check
    if check is None:
        return {"applied": apply(_database)}
    return migrate_if_writer(check.cluster_arn, _global_database(check), _database)

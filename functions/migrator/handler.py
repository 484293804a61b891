"""Lambda: apply pending SQL migrations; invoked at deploy time in the primary.

Environment: the database variables of :mod:`functions.orders.db`; in AWS, ``DB_SECRET_ARN``:
the migrator logs in as the master user, the only one that may create the app role
(``0002_app_role.sql``) and the tables. Returns ``{"applied": [versions]}``; an empty list
when the schema was already current.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from functions.orders.db import Database, database_from_env
from functions.orders.migrations import migrate


@cache
def _database() -> Database:
    return database_from_env()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Apply the pending migrations and report which ones ran."""
    db = _database()
    try:
        return {"applied": migrate(db)}
    finally:
        # Deploy-time only: holding a connection open between deploys serves nothing.
        db.close()

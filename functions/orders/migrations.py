"""Apply the SQL files of ``functions/migrations`` in order, once, under an advisory lock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from functions.orders.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant works; it only has to be the same for every migrator of this database.
ADVISORY_LOCK_KEY = 7_301_991_042


@dataclass(frozen=True)
class Migration:
    """One SQL file: its version (the file name without ``.sql``) and its text."""

    version: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every ``NNNN_name.sql`` file of ``directory``, in name order."""
    return [Migration(path.stem, path.read_text()) for path in sorted(directory.glob("*.sql"))]


def migrate(db: Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the pending migrations in one transaction; return the versions applied."""
    pending_source = load_migrations() if migrations is None else migrations
    with db.transaction() as conn:
        # The transaction-scoped lock makes a concurrent migrator wait here, then find
        # nothing pending; it is released by COMMIT or ROLLBACK, never leaked.
        conn.run(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
        conn.run(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {row[0] for row in conn.run("SELECT version FROM schema_migrations")}
        done = []
        for migration in pending_source:
            if migration.version in applied:
                continue
            conn.run(migration.sql)
            conn.run("INSERT INTO schema_migrations (version) VALUES (:v)", v=migration.version)
            done.append(migration.version)
        return done

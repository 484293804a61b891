"""PostgreSQL connections with pg8000: a DSN in tests, an IAM auth token in AWS.

Environment (read once into :class:`DatabaseSettings`):

- ``DATABASE_URL``: ``postgresql://user[:password]@host:port/db``; when set, it wins (tests,
  local runs).
- ``DB_HOST``, ``DB_PORT`` (default 5432), ``DB_NAME``, ``DB_USER``: the Aurora endpoint and the
  IAM-enabled database user; the password is a fresh IAM auth token
  (``rds.generate_db_auth_token``), which lasts 15 minutes, so every new connection makes one.
- ``DB_CA_BUNDLE``: optional path of the RDS CA bundle for TLS (IAM auth requires TLS).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pg8000.native


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the database is and how to authenticate."""

    host: str
    port: int
    database: str
    user: str
    password: str | None = None
    iam_region: str | None = None
    ca_bundle: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DatabaseSettings:
        """Read DATABASE_URL, or DB_HOST/DB_PORT/DB_NAME/DB_USER for IAM authentication."""
        url = env.get("DATABASE_URL")
        if url:
            parts = urlsplit(url)
            return cls(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                database=parts.path.lstrip("/") or "postgres",
                user=unquote(parts.username or "postgres"),
                password=unquote(parts.password) if parts.password else None,
            )
        try:
            return cls(
                host=env["DB_HOST"],
                port=int(env.get("DB_PORT", "5432")),
                database=env["DB_NAME"],
                user=env["DB_USER"],
                iam_region=env.get("AWS_REGION"),
                ca_bundle=env.get("DB_CA_BUNDLE"),
            )
        except KeyError as exc:
            raise RuntimeError(f"set DATABASE_URL or {exc.args[0]} for the database") from exc


TokenMaker = Callable[[DatabaseSettings], str]


def iam_token_maker(rds_client: Any) -> TokenMaker:
    """A token maker that asks RDS (``boto3.client("rds")``) for an IAM auth token."""

    def make(settings: DatabaseSettings) -> str:
        return str(
            rds_client.generate_db_auth_token(
                DBHostname=settings.host,
                Port=settings.port,
                DBUsername=settings.user,
                Region=settings.iam_region,
            )
        )

    return make


class Database:
    """One lazily opened connection, reopened after a failure; Lambda runs one event at a time."""

    def __init__(self, settings: DatabaseSettings, token_maker: TokenMaker | None = None):
        self._settings = settings
        self._token_maker = token_maker
        self._conn: pg8000.native.Connection | None = None

    def _connect(self) -> pg8000.native.Connection:
        s = self._settings
        password, context = s.password, None
        if s.iam_region is not None and self._token_maker is not None:
            password = self._token_maker(s)
            context = ssl.create_default_context(cafile=s.ca_bundle)
        return pg8000.native.Connection(
            user=s.user,
            host=s.host,
            port=s.port,
            database=s.database,
            password=password,
            ssl_context=context,
            timeout=10,
        )

    def connection(self) -> pg8000.native.Connection:
        """The open connection, opening it on first use."""
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[pg8000.native.Connection]:
        """A connection inside BEGIN ... COMMIT, rolled back (and dropped if broken) on error."""
        conn = self.connection()
        conn.run("BEGIN")
        try:
            yield conn
            conn.run("COMMIT")
        except BaseException:
            try:
                conn.run("ROLLBACK")
            except Exception:
                # The connection itself broke: forget it so the next call reconnects.
                self.close()
            raise

    def close(self) -> None:
        """Close the connection if one is open."""
        if self._conn is not None:
            with suppress(Exception):
                self._conn.close()
            self._conn = None


def database_from_env(env: Mapping[str, str] = os.environ) -> Database:
    """A Database from the environment, with an RDS token maker when IAM auth is used."""
    settings = DatabaseSettings.from_env(env)
    if settings.iam_region is None:
        return Database(settings)
    import boto3  # only in AWS: tests and local runs connect with a DSN

    return Database(settings, iam_token_maker(boto3.client("rds", region_name=settings.iam_region)))

"""PostgreSQL connections with pg8000: a DSN in tests; in AWS, an IAM token or the master secret.

Environment (read once into :class:`DatabaseSettings`):

- ``DATABASE_URL``: ``postgresql://user[:password]@host:port/db``; when set, it wins (tests,
  local runs).
- ``DB_HOST``, ``DB_PORT`` (default 5432), ``DB_NAME``: the Aurora endpoint, and then one of:
- ``DB_SECRET_ARN``: the master user's Secrets Manager secret, for the migrator alone (it
  creates the app role and the schema). The secret is the JSON components/data.py stores; its
  ``username`` and ``password`` are read for every new connection, so a rotated password is
  picked up by the next one.
- ``DB_USER``: the IAM-enabled database user (every other function); the password is a fresh
  IAM auth token (``rds.generate_db_auth_token``), which lasts 15 minutes, so every new
  connection makes one.
- ``DB_CA_BUNDLE``: optional path of another CA bundle. Both logins in AWS use TLS, always
  verified (certificate and host name) against :data:`RDS_CA_BUNDLE`, the Amazon RDS
  certificate authorities shipped with the functions (``functions/certs``), unless this names
  another file: RDS's CAs are in no default trust store.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pg8000.native

from functions.env import Env, SettingsError

# Re-exported: the database's TLS lives in the driver-free tls module, for the health probe.
from functions.orders.tls import RDS_CA_BUNDLE as RDS_CA_BUNDLE
from functions.orders.tls import tls_context as tls_context


class CredentialsUnavailable(RuntimeError):
    """The login could not be obtained: Secrets Manager refused, or the secret is malformed."""


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the database is and how to authenticate."""

    host: str
    port: int
    database: str
    # None only with ``secret_arn``: then the secret names the user.
    user: str | None
    password: str | None = None
    iam_region: str | None = None
    ca_bundle: str = RDS_CA_BUNDLE
    secret_arn: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DatabaseSettings:
        """Read DATABASE_URL, or DB_HOST/DB_PORT/DB_NAME with DB_SECRET_ARN or DB_USER."""
        read = Env(env)
        url = read.optional("DATABASE_URL")
        if url:
            parts = urlsplit(url)
            return cls(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                database=parts.path.lstrip("/") or "postgres",
                user=unquote(parts.username or "postgres"),
                password=unquote(parts.password) if parts.password else None,
            )
        secret_arn = read.optional("DB_SECRET_ARN")
        if secret_arn is not None and len(secret_arn.split(":")) < 7:
            raise SettingsError(f"DB_SECRET_ARN must be a Secrets Manager ARN, got {secret_arn!r}")
        return cls(
            host=read.required("DB_HOST", alternative="DATABASE_URL"),
            port=read.integer("DB_PORT", 5432, minimum=1, maximum=65535),
            database=read.required("DB_NAME", alternative="DATABASE_URL"),
            user=None if secret_arn else read.required("DB_USER", alternative="DB_SECRET_ARN"),
            iam_region=read.optional("AWS_REGION"),
            ca_bundle=read.optional("DB_CA_BUNDLE") or RDS_CA_BUNDLE,
            secret_arn=secret_arn,
        )


@dataclass(frozen=True)
class Credentials:
    """The user and password of one new connection (no password: trust authentication)."""

    user: str
    password: str | None


Login = Callable[[DatabaseSettings], Credentials]


def iam_login(rds_client: Any) -> Login:
    """Log in as ``settings.user`` with an IAM auth token from RDS (``boto3.client("rds")``)."""

    def login(settings: DatabaseSettings) -> Credentials:
        if settings.user is None:
            raise CredentialsUnavailable("IAM authentication needs DB_USER")
        token = rds_client.generate_db_auth_token(
            DBHostname=settings.host,
            Port=settings.port,
            DBUsername=settings.user,
            Region=settings.iam_region,
        )
        return Credentials(settings.user, str(token))

    return login


def master_secret_login(secrets_client: Any) -> Login:
    """Log in as the master user of ``settings.secret_arn`` (``boto3.client("secretsmanager")``).

    Only ``username`` and ``password`` are read: the secret's ``host`` is the primary's endpoint
    when it was written, while ``DB_HOST`` is this region's writer, right after a switchover too.
    """
    from botocore.exceptions import BotoCoreError, ClientError  # only in AWS, as boto3

    def login(settings: DatabaseSettings) -> Credentials:
        arn = settings.secret_arn
        try:
            text = secrets_client.get_secret_value(SecretId=arn)["SecretString"]
        except (ClientError, BotoCoreError) as exc:
            raise CredentialsUnavailable(f"cannot read the database secret {arn}: {exc}") from exc
        try:
            secret = json.loads(text)
            user, password = secret["username"], secret["password"]
        except (ValueError, TypeError, KeyError):
            # Never chained: the parse error would carry the secret's text into the logs.
            raise CredentialsUnavailable(
                f"the database secret {arn} is not JSON with a username and a password"
            ) from None
        if not (isinstance(user, str) and isinstance(password, str) and user and password):
            raise CredentialsUnavailable(
                f"the database secret {arn} has an empty or non-string username or password"
            )
        return Credentials(user, password)

    return login


class Database:
    """One lazily opened connection, reopened after a failure; Lambda runs one event at a time."""

    def __init__(self, settings: DatabaseSettings, login: Login | None = None):
        self._settings = settings
        self._login = login
        self._conn: pg8000.native.Connection | None = None

    def _connect(self) -> pg8000.native.Connection:
        s = self._settings
        if self._login is not None:
            # Both logins of AWS send a secret (a token or the master password): TLS only.
            credentials = self._login(s)
            context: ssl.SSLContext | None = tls_context(s.ca_bundle)
        elif s.user is not None:
            credentials, context = Credentials(s.user, s.password), None
        else:
            raise CredentialsUnavailable("DB_SECRET_ARN is set but no Secrets Manager login")
        return pg8000.native.Connection(
            user=credentials.user,
            host=s.host,
            port=s.port,
            database=s.database,
            password=credentials.password,
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
    """A Database from the environment, with the login its variables ask for."""
    settings = DatabaseSettings.from_env(env)
    if settings.secret_arn is None and settings.iam_region is None:
        return Database(settings)
    import boto3  # only in AWS: tests and local runs connect with a DSN

    if settings.secret_arn is not None:
        # The secret's own region (arn:aws:secretsmanager:<region>:...), wherever this runs.
        region = settings.secret_arn.split(":")[3]
        return Database(
            settings, master_secret_login(boto3.client("secretsmanager", region_name=region))
        )
    return Database(settings, iam_login(boto3.client("rds", region_name=settings.iam_region)))

"""Each handler's environment, parsed once into a frozen settings object.

Variables (all strings, as Lambda passes them):

- ``AWS_REGION``: set by Lambda; the region this copy of the function runs in.
- ``TABLE_NAME``: the global table (read model and control record).
- ``STATE_MACHINE_ARN``: the checkout saga in this region.
- ``EVENT_BUS_NAME``: this region's bus for domain events and OrderRequested.
- ``WRITE_MODE``: ``sync`` (default: forward writes to the primary over HTTPS) or ``async``
  (a secondary puts OrderRequested on its bus; the bus forwards to the primary's).
- ``PRIMARY_REGION``, ``PRIMARY_WRITE_URL``: optional; the primary as deployed, used while
  the control record does not exist yet (first deploy). ``PRIMARY_REGION`` is also where the
  bus rule forwards OrderRequested, so async mode publishes only while the control record
  names that region (after a failover, writes are forwarded synchronously until a redeploy).
- ``CONTROL_CACHE_SECONDS``: how long the control record is cached; at most 10 (default 10).
- ``FORWARD_TIMEOUT_SECONDS``: timeout of a forwarded write (default 3).
- ``RETRY_AFTER_SECONDS``: the ``Retry-After`` of a READ_ONLY answer (default 30).
- ``PAYMENT_BASE_URL``, and ``PAYMENT_API_KEY`` or ``PAYMENT_API_KEY_SECRET_ARN`` (Secrets
  Manager): the payment provider. ``PAYMENT_TIMEOUT_SECONDS`` (default 5). Without
  ``PAYMENT_BASE_URL`` (a stack with no ``payments.baseUrl``) the saga still runs, and its
  payment steps fail each order with ``PaymentNotConfigured``.
- ``CRM_URL``: optional on-premises CRM endpoint UpdateCustomer notifies (and RevertCustomer,
  of an order that failed after);
  ``CRM_TIMEOUT_SECONDS`` (default 3).
- ``GLOBAL_CLUSTER_ID``, ``DB_CLUSTER_ARN``: the migrator's; the Aurora global database and
  this region's cluster in it. Both set: the migrator applies migrations only while this
  cluster is the global database's writer. Both absent: it migrates unconditionally (tests,
  local runs).
- The database variables of :mod:`functions.orders.db`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# Re-exported: every settings module raises the one error of functions.env.
from functions.env import Env
from functions.env import SettingsError as SettingsError

MAX_CONTROL_CACHE_SECONDS = 10.0
# The database role the functions connect as with an IAM auth token (``rds_iam``). The infra
# imports it (through components/data.py) for ``DB_USER`` and ``rds-db:connect``;
# functions/migrations/0002_app_role.sql creates it, and a test checks the SQL names this role.
APP_USERNAME = "orders_app"


def _control_cache_seconds(read: Env) -> float:
    # A stale primary is what makes a write go to the wrong region after a failover.
    return min(read.seconds("CONTROL_CACHE_SECONDS", 10.0), MAX_CONTROL_CACHE_SECONDS)


@dataclass(frozen=True)
class WriteApiSettings:
    """What the write API needs: where it runs and how it reaches the primary."""

    region: str
    table_name: str
    state_machine_arn: str
    event_bus_name: str | None
    async_mode: bool
    fallback_primary_region: str | None
    fallback_write_url: str | None
    control_cache_seconds: float
    forward_timeout_seconds: float
    retry_after_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> WriteApiSettings:
        """Parse the write API's variables; raises SettingsError naming a bad one."""
        read = Env(env)
        mode = read.choice("WRITE_MODE", ("sync", "async"), "sync")
        bus = read.optional("EVENT_BUS_NAME")
        if mode == "async" and bus is None:
            raise SettingsError("WRITE_MODE=async needs EVENT_BUS_NAME")
        return cls(
            region=read.required("AWS_REGION"),
            table_name=read.required("TABLE_NAME"),
            state_machine_arn=read.required("STATE_MACHINE_ARN"),
            event_bus_name=bus,
            async_mode=mode == "async",
            fallback_primary_region=read.optional("PRIMARY_REGION"),
            fallback_write_url=read.optional("PRIMARY_WRITE_URL"),
            control_cache_seconds=_control_cache_seconds(read),
            forward_timeout_seconds=read.seconds("FORWARD_TIMEOUT_SECONDS", 3.0),
            retry_after_seconds=read.integer("RETRY_AFTER_SECONDS", 30, minimum=1),
        )


@dataclass(frozen=True)
class SagaSettings:
    """What the saga's step handlers need besides the database."""

    region: str
    event_bus_name: str
    # None: no provider is configured; the payment steps refuse every order.
    payment_base_url: str | None
    payment_api_key: str | None
    payment_api_key_secret_arn: str | None
    payment_timeout_seconds: float
    crm_url: str | None
    crm_timeout_seconds: float

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SagaSettings:
        """Parse the steps' variables; raises SettingsError naming a bad one."""
        read = Env(env)
        key = read.optional("PAYMENT_API_KEY")
        secret = read.optional("PAYMENT_API_KEY_SECRET_ARN")
        if key is None and secret is None:
            raise SettingsError("set PAYMENT_API_KEY or PAYMENT_API_KEY_SECRET_ARN")
        return cls(
            region=read.required("AWS_REGION"),
            event_bus_name=read.required("EVENT_BUS_NAME"),
            payment_base_url=(read.optional("PAYMENT_BASE_URL") or "").rstrip("/") or None,
            payment_api_key=key,
            payment_api_key_secret_arn=secret,
            payment_timeout_seconds=read.seconds("PAYMENT_TIMEOUT_SECONDS", 5.0),
            crm_url=read.optional("CRM_URL"),
            crm_timeout_seconds=read.seconds("CRM_TIMEOUT_SECONDS", 3.0),
        )


@dataclass(frozen=True)
class OutboxDrainSettings:
    """What the outbox drainer needs besides the database: the bus it publishes to, and how
    long a published event stays in the outbox (``OUTBOX_RETENTION_DAYS``, 1 to 365)."""

    region: str
    event_bus_name: str
    retention_days: int = 7

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> OutboxDrainSettings:
        """Parse the drainer's variables; raises SettingsError naming a bad one."""
        read = Env(env)
        return cls(
            region=read.required("AWS_REGION"),
            event_bus_name=read.required("EVENT_BUS_NAME"),
            retention_days=read.integer("OUTBOX_RETENTION_DAYS", 7, minimum=1, maximum=365),
        )


@dataclass(frozen=True)
class ProjectorSettings:
    """What the projector needs besides the database."""

    region: str
    table_name: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ProjectorSettings:
        """Parse the projector's variables."""
        read = Env(env)
        return cls(region=read.required("AWS_REGION"), table_name=read.required("TABLE_NAME"))


@dataclass(frozen=True)
class IntakeSettings:
    """What order_intake needs: this region's saga, the control record, the forwarding."""

    region: str
    table_name: str
    state_machine_arn: str
    control_cache_seconds: float
    forward_timeout_seconds: float

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> IntakeSettings:
        """Parse order_intake's variables; raises SettingsError naming a bad one."""
        read = Env(env)
        return cls(
            region=read.required("AWS_REGION"),
            table_name=read.required("TABLE_NAME"),
            state_machine_arn=read.required("STATE_MACHINE_ARN"),
            control_cache_seconds=_control_cache_seconds(read),
            forward_timeout_seconds=read.seconds("FORWARD_TIMEOUT_SECONDS", 3.0),
        )


@dataclass(frozen=True)
class WriterCheck:
    """The global database, and this region's cluster that must be its writer to migrate."""

    region: str
    global_cluster_id: str
    cluster_arn: str


@dataclass(frozen=True)
class MigratorSettings:
    """What the migrator needs besides the database; no writer check: migrate unconditionally."""

    writer_check: WriterCheck | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> MigratorSettings:
        """Parse GLOBAL_CLUSTER_ID and DB_CLUSTER_ARN (both or neither) and AWS_REGION."""
        read = Env(env)
        global_id = read.optional("GLOBAL_CLUSTER_ID")
        cluster_arn = read.optional("DB_CLUSTER_ARN")
        if not global_id and not cluster_arn:
            return cls(None)
        # One without the other is a broken deploy, not "no check": never guess who writes.
        if not global_id or not cluster_arn:
            given, missing = ("GLOBAL_CLUSTER_ID", "DB_CLUSTER_ARN")
            if not global_id:
                given, missing = missing, given
            raise SettingsError(f"environment variable {missing} is required with {given}")
        region = read.required("AWS_REGION")
        parts = cluster_arn.split(":")
        if len(parts) != 7 or parts[0] != "arn" or parts[2] != "rds" or parts[5] != "cluster":
            raise SettingsError(
                f"DB_CLUSTER_ARN must be an Aurora cluster ARN, got {cluster_arn!r}"
            )
        if parts[3] != region:
            # Another region's ARN would make this migrator act on that cluster's role.
            raise SettingsError(
                f"DB_CLUSTER_ARN names a cluster in {parts[3]}, but this is {region}"
            )
        return cls(WriterCheck(region, global_id, cluster_arn))

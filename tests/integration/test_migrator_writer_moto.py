"""The migrator in every region: only the writer of the global database migrates.

RDS is moto's, with a real PostgreSQL server standing in for the writer's Aurora. moto 5
implements neither FailoverGlobalCluster nor SwitchoverGlobalCluster: it reports IsWriter
True for the first cluster that joined the global cluster and False for the others, so "after
a failover" is modelled by the other region's cluster joining first. moto also ignores the
GlobalClusterIdentifier filter of DescribeGlobalClusters (the adapter matches it itself), and
its RemoveFromGlobalCluster does not detach a cross-region member, so a detached cluster is
modelled as a standalone cluster of the same region.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.migrator import handler as migrator
from functions.orders.db import Database, DatabaseSettings
from functions.orders.migrations import load_migrations
from tests.integration.orders_harness import (
    PRIMARY,
    SECONDARY,
)
from tests.support.lambda_context import lambda_context

GLOBAL_ID = "orders-global"


@pytest.fixture
def rds(aws_env: None) -> Iterator[None]:
    """moto's RDS, with an empty global cluster."""
    with mock_aws():
        boto3.client("rds", region_name=PRIMARY).create_global_cluster(
            GlobalClusterIdentifier=GLOBAL_ID, Engine="aurora-postgresql"
        )
        yield


def cluster(region: str, name: str, *, in_global: bool = True) -> str:
    """A cluster of ``region``, member of the global cluster unless told; its ARN."""
    extra: dict[str, Any] = {"GlobalClusterIdentifier": GLOBAL_ID} if in_global else {}
    return str(
        boto3.client("rds", region_name=region).create_db_cluster(
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            MasterUsername="orders_admin",
            MasterUserPassword="not-a-real-password",
            **extra,
        )["DBCluster"]["DBClusterArn"]
    )


class Connections:
    """The migrator's database factory, counting the times it is asked for a database."""

    def __init__(self, dsn: str | None = None):
        self.dsn = dsn
        self.calls = 0

    def __call__(self) -> Database:
        self.calls += 1
        if self.dsn is None:
            raise AssertionError("this region's migrator must not connect")
        return Database(DatabaseSettings.from_env({"DATABASE_URL": self.dsn}))


def invoke_in(
    region: str,
    cluster_arn: str,
    connections: Connections,
    monkeypatch: pytest.MonkeyPatch,
    global_id: str = GLOBAL_ID,
) -> dict[str, Any]:
    """The migrator of ``region``'s stack, invoked as the deploy does."""
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.setenv("GLOBAL_CLUSTER_ID", global_id)
    monkeypatch.setenv("DB_CLUSTER_ARN", cluster_arn)
    monkeypatch.setattr(migrator, "_database", connections)
    return migrator.handler({"source": "pulumi", "action": "migrate"}, lambda_context())


def test_a_reader_regions_migrator_never_connects(
    rds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the primary's cluster writes and the secondary's reads
    cluster(PRIMARY, "orders-primary")
    reader = cluster(SECONDARY, "orders-secondary")
    connections = Connections()
    # When the secondary's stack invokes its migrator
    result = invoke_in(SECONDARY, reader, connections, monkeypatch)
    # Then it never asked for a database, and says which region migrates
    assert connections.calls == 0
    assert result == {
        "applied": [],
        "writer": False,
        "skipped": f"{PRIMARY} writes; its stack's migrator applies migrations",
    }


@pytest.mark.postgres
def test_the_writer_regions_migrator_applies_the_migrations(
    rds: None, monkeypatch: pytest.MonkeyPatch, postgres_dsn: str
) -> None:
    # Given the primary's cluster writes (a real PostgreSQL stands in for it)
    writer = cluster(PRIMARY, "orders-primary")
    cluster(SECONDARY, "orders-secondary")
    # When the primary's stack invokes its migrator, twice
    first = invoke_in(PRIMARY, writer, Connections(postgres_dsn), monkeypatch)
    second = invoke_in(PRIMARY, writer, Connections(postgres_dsn), monkeypatch)
    # Then the first applied every migration and the second found nothing pending
    assert first == {"applied": [m.version for m in load_migrations()], "writer": True}
    assert second == {"applied": [], "writer": True}


@pytest.mark.postgres
def test_after_a_failover_the_home_region_skips_and_the_new_writer_migrates(
    rds: None, monkeypatch: pytest.MonkeyPatch, postgres_dsn: str
) -> None:
    # Given the secondary's cluster writes and the home region's (PRIMARY) reads
    new_writer = cluster(SECONDARY, "orders-secondary")
    home = cluster(PRIMARY, "orders-primary")
    home_connections = Connections()
    # When every stack's migrator runs, the home region's first (the deploy order)
    at_home = invoke_in(PRIMARY, home, home_connections, monkeypatch)
    at_writer = invoke_in(SECONDARY, new_writer, Connections(postgres_dsn), monkeypatch)
    # Then the home region skipped without connecting, and the new writer migrated
    assert home_connections.calls == 0
    assert at_home["writer"] is False and at_home["skipped"].startswith(f"{SECONDARY} writes")
    assert at_writer == {"applied": [m.version for m in load_migrations()], "writer": True}


def test_a_cluster_outside_the_global_database_is_not_migrated(
    rds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the secondary writes the global database, and the home region's cluster is
    # detached (a standalone cluster, which would accept the migration and fork the schema)
    cluster(SECONDARY, "orders-secondary")
    detached = cluster(PRIMARY, "orders-primary", in_global=False)
    connections = Connections()
    # When the home region's migrator runs
    result = invoke_in(PRIMARY, detached, connections, monkeypatch)
    # Then it never connected, and the reason points to the failback
    assert connections.calls == 0
    assert result["applied"] == [] and result["writer"] is False
    assert "not in the global database" in result["skipped"]
    assert "python -m ops failback" in result["skipped"]


def test_an_unknown_global_cluster_fails_the_deploy_without_connecting(
    rds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a migrator whose GLOBAL_CLUSTER_ID names no global cluster
    arn = cluster(PRIMARY, "orders-primary")
    connections = Connections()
    # When it runs / Then it fails (so does the deploy) and never connected
    with pytest.raises(RuntimeError, match="no-such-global"):
        invoke_in(PRIMARY, arn, connections, monkeypatch, global_id="no-such-global")
    assert connections.calls == 0

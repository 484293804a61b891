"""The migrator migrates only where this region's cluster writes the global database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.migrator.handler import migrate_if_writer
from functions.migrator.rds import GlobalClusterNotFound, RdsGlobalDatabase
from functions.migrator.writer import GlobalMember, NoWriter, decide
from functions.orders.db import Database
from functions.orders.settings import MigratorSettings, SettingsError, WriterCheck

HOME = "arn:aws:rds:us-east-1:123456789012:cluster:orders-home"
EU = "arn:aws:rds:eu-west-1:123456789012:cluster:orders-eu"
AP = "arn:aws:rds:ap-southeast-2:123456789012:cluster:orders-ap"


def global_database(writer: str | None, *members: str) -> list[GlobalMember]:
    return [GlobalMember(arn, arn == writer) for arn in members]


# -- the decision --------------------------------------------------------------------------


def test_the_writer_region_migrates() -> None:
    # Given the home region's cluster writes
    members = global_database(HOME, HOME, EU, AP)
    # When the home region's migrator decides / Then it migrates
    assert decide(HOME, members).migrate


def test_after_a_failover_the_home_region_skips_and_names_the_region_that_writes() -> None:
    # Given eu-west-1 writes after a failover, and the home cluster is a reader
    members = global_database(EU, HOME, EU, AP)
    # When the home region's migrator decides
    verdict = decide(HOME, members)
    # Then it does not migrate, and says eu-west-1's stack does
    assert not verdict.migrate
    assert verdict.skipped == "eu-west-1 writes; its stack's migrator applies migrations"


def test_a_cluster_detached_from_the_global_database_is_not_migrated() -> None:
    # Given an unplanned failover detached the home cluster: eu-west-1 and ap remain
    members = global_database(EU, EU, AP)
    # When the home region's migrator decides
    verdict = decide(HOME, members)
    # Then it does not migrate (that would fork the schema) and points to the failback
    assert not verdict.migrate
    assert verdict.skipped is not None
    assert "not in the global database" in verdict.skipped
    assert "python -m ops failback" in verdict.skipped


def test_no_writer_at_all_fails_rather_than_leave_the_migrations_applied_nowhere() -> None:
    # Given a failover under way: every member is a reader
    members = global_database(None, HOME, EU)
    # When a member's migrator decides / Then it fails, so the deploy fails and is run again
    with pytest.raises(NoWriter):
        decide(HOME, members)


def test_a_detached_cluster_is_skipped_even_while_no_member_writes() -> None:
    # Given a detached cluster and a global database in the middle of a failover
    members = global_database(None, EU, AP)
    # When the detached region's migrator decides / Then it skips, as it must never migrate
    assert not decide(HOME, members).migrate


# -- what the migrator does with it --------------------------------------------------------


@dataclass
class FakeGlobalDatabase:
    """The global database's members, held in memory."""

    listed: list[GlobalMember]

    def members(self) -> tuple[GlobalMember, ...]:
        return tuple(self.listed)


def never_connect() -> Database:
    raise AssertionError("the migrator connected to a database it must not migrate")


def test_a_reader_region_never_opens_the_database() -> None:
    # Given this region's cluster is a reader
    fake = FakeGlobalDatabase(global_database(EU, HOME, EU))
    # When the migrator runs (the database factory would fail the test if called)
    result = migrate_if_writer(HOME, fake, never_connect)
    # Then nothing is applied, and the answer says who migrates
    assert result == {
        "applied": [],
        "writer": False,
        "skipped": "eu-west-1 writes; its stack's migrator applies migrations",
    }


def test_a_detached_region_never_opens_the_database() -> None:
    # Given this region's cluster left the global database
    fake = FakeGlobalDatabase(global_database(EU, EU))
    # When the migrator runs
    result = migrate_if_writer(HOME, fake, never_connect)
    # Then nothing is applied
    assert result["applied"] == [] and result["writer"] is False


# -- reading the members from RDS ----------------------------------------------------------


@dataclass
class FakeRds:
    """DescribeGlobalClusters answering with ``clusters`` whatever the filter, as moto does."""

    clusters: list[dict[str, Any]]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def describe_global_clusters(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"GlobalClusters": self.clusters}


def test_the_members_are_those_of_the_global_cluster_asked_for() -> None:
    # Given RDS lists two global clusters, whatever the filter
    rds = FakeRds(
        [
            {"GlobalClusterIdentifier": "other", "GlobalClusterMembers": []},
            {
                "GlobalClusterIdentifier": "orders-global",
                "GlobalClusterMembers": [
                    {"DBClusterArn": HOME, "IsWriter": False},
                    {"DBClusterArn": EU, "IsWriter": True},
                ],
            },
        ]
    )
    # When the members of orders-global are read
    members = RdsGlobalDatabase(rds, "orders-global").members()
    # Then they are that cluster's, with the writer flag, asked for by identifier
    assert members == (GlobalMember(HOME, False), GlobalMember(EU, True))
    assert rds.calls == [{"GlobalClusterIdentifier": "orders-global"}]


def test_an_unknown_global_cluster_is_an_error_not_a_skip() -> None:
    # Given RDS knows no such global cluster
    rds = FakeRds([{"GlobalClusterIdentifier": "other", "GlobalClusterMembers": []}])
    # When its members are read / Then it fails loudly: a wrong id must not skip migrations
    with pytest.raises(GlobalClusterNotFound):
        RdsGlobalDatabase(rds, "orders-global").members()


# -- the environment -----------------------------------------------------------------------


def test_without_the_writer_variables_the_migrator_migrates_unconditionally() -> None:
    assert MigratorSettings.from_env({"AWS_REGION": "us-east-1"}).writer_check is None


def test_both_writer_variables_give_the_check() -> None:
    env = {"AWS_REGION": "us-east-1", "GLOBAL_CLUSTER_ID": "orders", "DB_CLUSTER_ARN": HOME}
    assert MigratorSettings.from_env(env).writer_check == WriterCheck("us-east-1", "orders", HOME)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GLOBAL_CLUSTER_ID": "orders"}, "DB_CLUSTER_ARN"),
        ({"DB_CLUSTER_ARN": HOME}, "GLOBAL_CLUSTER_ID"),
        ({"GLOBAL_CLUSTER_ID": "orders", "DB_CLUSTER_ARN": "orders-home"}, "DB_CLUSTER_ARN"),
        ({"GLOBAL_CLUSTER_ID": "orders", "DB_CLUSTER_ARN": EU}, "DB_CLUSTER_ARN"),
    ],
)
def test_half_or_wrong_writer_variables_are_refused_by_name(
    env: dict[str, str], named: str
) -> None:
    # Given one variable without the other, a non-ARN, or another region's cluster
    # When the settings are read / Then the error names the variable to fix
    with pytest.raises(SettingsError, match=named):
        MigratorSettings.from_env({"AWS_REGION": "us-east-1", **env})

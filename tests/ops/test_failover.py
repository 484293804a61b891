"""Failing over between regions: read-only first, then promotion, then writes reopen.

The control record lives in a real (moto) DynamoDB table. moto implements neither Aurora global
failover nor switchover, so the global database is modelled here: members with a writer flag
and a status, a replication lag that drains, and a promotion that takes a few polls. The boto3
adapter's calls are checked separately against botocore's Stubber.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from functions.orders.ports import ControlRecord, Mode
from ops.failover import (
    AuroraGlobalDatabase,
    ControlStore,
    Failover,
    FailoverError,
    RegionTarget,
    Topology,
)
from tests.support.read_side import create_order_table

PRIMARY_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:orders-primary"
SECONDARY_ARN = "arn:aws:rds:eu-west-1:123456789012:cluster:orders-secondary"
TOPOLOGY = Topology(
    global_cluster_id="orders-global",
    table_name="orders-read-model",
    regions={
        "primary": RegionTarget("primary", "us-east-1", PRIMARY_ARN, "https://a.example/internal/orders"),
        "secondary": RegionTarget("secondary", "eu-west-1", SECONDARY_ARN, "https://b.example/internal/orders"),
    },
)  # fmt: skip


class ModelledGlobalDatabase:
    """An Aurora global database as the failover sees it; promotion takes ``promote_polls``."""

    def __init__(self, lags: list[float] | None = None, promote_polls: int = 2) -> None:
        self.state = {
            PRIMARY_ARN: {"writer": True, "status": "available"},
            SECONDARY_ARN: {"writer": False, "status": "available"},
        }
        self.lags = list(lags or [0.0])
        self.promote_polls = promote_polls
        self.calls: list[tuple[str, str]] = []
        self._pending: str | None = None
        self._polls = 0

    def members(self) -> dict[str, dict[str, Any]]:
        if self._pending is not None:
            self._polls += 1
            if self._polls >= self.promote_polls:
                for arn in self.state:
                    self.state[arn]["writer"] = arn == self._pending
                self._pending = None
        return {arn: dict(m) for arn, m in self.state.items()}

    def switchover(self, target_arn: str) -> None:
        self.calls.append(("switchover", target_arn))
        self._pending = target_arn

    def failover(self, target_arn: str) -> None:
        self.calls.append(("failover", target_arn))
        self._pending = target_arn

    def replication_lag_ms(self, cluster_arn: str) -> float | None:
        self.calls.append(("lag", cluster_arn))
        return self.lags.pop(0) if len(self.lags) > 1 else self.lags[0]


@pytest.fixture
def control(monkeypatch: pytest.MonkeyPatch) -> Iterator[ControlStore]:
    """The control record in a moto table, starting as: us-east-1 is the primary, writes open."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_order_table(dynamodb, TOPOLOGY.table_name)
        store = ControlStore(dynamodb, TOPOLOGY.table_name)
        store.write(ControlRecord("us-east-1", "https://a.example/internal/orders", Mode.NORMAL))
        yield store


def failover(database: ModelledGlobalDatabase, control: ControlStore, **kw: Any) -> Failover:
    return Failover(TOPOLOGY, database, control, sleep=lambda s: None, poll_seconds=10,
                    log=lambda line: None, **kw)  # fmt: skip


class RecordingControl(ControlStore):
    """The real store, remembering every record written, in order."""

    def __init__(self, inner: ControlStore) -> None:
        self.__dict__.update(inner.__dict__)
        self.written: list[ControlRecord] = []

    def write(self, record: ControlRecord) -> None:
        self.written.append(record)
        super().write(record)


def test_an_unplanned_failover_goes_read_only_promotes_then_reopens_writes(
    control: ControlStore,
) -> None:
    # Given the primary region is lost
    database = ModelledGlobalDatabase()
    recording = RecordingControl(control)

    # When the secondary is promoted without a plan
    failover(database, recording).promote("secondary", planned=False)

    # Then writes stopped before the promotion, and reopened in the new primary after it
    assert [r.mode for r in recording.written] == [Mode.READ_ONLY, Mode.NORMAL]
    assert recording.written[0].primary_region == "us-east-1"
    assert database.calls == [("failover", SECONDARY_ARN)]
    assert control.read() == ControlRecord(
        "eu-west-1", "https://b.example/internal/orders", Mode.NORMAL
    )


def test_a_planned_switchover_is_refused_while_a_region_is_unhealthy(
    control: ControlStore,
) -> None:
    # docs/pitfalls.md item 6: a switchover needs every region healthy; an outage needs a failover.
    database = ModelledGlobalDatabase()
    database.state[PRIMARY_ARN]["status"] = "inaccessible-encryption-credentials"

    with pytest.raises(FailoverError, match="--unplanned"):
        failover(database, control).promote("secondary", planned=True)

    # Nothing changed: writes still go to the old primary
    assert database.calls == []
    assert control.read().mode is Mode.NORMAL


def test_a_planned_switchover_waits_for_the_replication_lag_to_reach_zero(
    control: ControlStore,
) -> None:
    # docs/pitfalls.md item 6: switch over only once the lag metric is 0, so no write is lost.
    database = ModelledGlobalDatabase(lags=[850.0, 120.0, 0.0])

    failover(database, control).promote("secondary", planned=True)

    lag_reads = [c for c in database.calls if c[0] == "lag"]
    assert len(lag_reads) == 3
    assert database.calls[-1] == ("switchover", SECONDARY_ARN)
    assert control.read().primary_region == "eu-west-1"


def test_a_promotion_that_never_completes_leaves_writes_closed(control: ControlStore) -> None:
    # Given a promotion that does not finish within the timeout
    database = ModelledGlobalDatabase(promote_polls=1_000)

    # When the failover gives up
    with pytest.raises(FailoverError, match="read-only"):
        failover(database, control, timeout_seconds=60).promote("secondary", planned=False)

    # Then no region accepts writes: the record is read-only, naming the old primary
    assert control.read() == ControlRecord(
        "us-east-1", "https://a.example/internal/orders", Mode.READ_ONLY
    )


def test_promoting_the_region_that_already_writes_only_reopens_writes(
    control: ControlStore,
) -> None:
    # Given an earlier failover that promoted the database but died before reopening writes
    database = ModelledGlobalDatabase()
    database.state[PRIMARY_ARN]["writer"] = False
    database.state[SECONDARY_ARN]["writer"] = True
    control.write(ControlRecord("us-east-1", None, Mode.READ_ONLY))

    # When it is run again
    failover(database, control).promote("secondary", planned=False)

    # Then the database is left alone and the record names the writer again
    assert database.calls == []
    assert control.read().mode is Mode.NORMAL
    assert control.read().primary_region == "eu-west-1"


def test_an_unknown_target_is_a_clear_error(control: ControlStore) -> None:
    with pytest.raises(FailoverError, match="no stack or region named"):
        failover(ModelledGlobalDatabase(), control).promote("ap-south-1", planned=False)


def _stubbed_rds() -> tuple[Any, Stubber]:
    client = boto3.client("rds", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="x")  # fmt: skip
    return client, Stubber(client)


def test_the_aurora_adapter_fails_over_with_data_loss_allowed() -> None:
    client, stub = _stubbed_rds()
    stub.add_response(
        "failover_global_cluster", {"GlobalCluster": {}},
        {"GlobalClusterIdentifier": "orders-global", "TargetDbClusterIdentifier": SECONDARY_ARN,
         "AllowDataLoss": True},
    )  # fmt: skip
    with stub:
        AuroraGlobalDatabase("orders-global", "eu-west-1", lambda s, r: client).failover(
            SECONDARY_ARN
        )
    stub.assert_no_pending_responses()


def test_the_aurora_adapter_switches_over_without_allowing_data_loss() -> None:
    client, stub = _stubbed_rds()
    stub.add_response(
        "switchover_global_cluster", {"GlobalCluster": {}},
        {"GlobalClusterIdentifier": "orders-global", "TargetDbClusterIdentifier": SECONDARY_ARN},
    )  # fmt: skip
    with stub:
        AuroraGlobalDatabase("orders-global", "eu-west-1", lambda s, r: client).switchover(
            SECONDARY_ARN
        )
    stub.assert_no_pending_responses()


def test_a_planned_switchover_never_starts_while_the_lag_metric_is_missing(
    control: ControlStore,
) -> None:
    # Given a secondary that has reported no lag datapoint at all
    database = ModelledGlobalDatabase(lags=[])
    database.lags = [None]  # type: ignore[list-item]

    # When a planned switchover waits for the lag
    with pytest.raises(FailoverError, match="timed out"):
        failover(database, control, timeout_seconds=30).promote("secondary", planned=True)

    # Then it never switched over on a missing figure, and writes stay closed
    assert ("switchover", SECONDARY_ARN) not in database.calls
    assert control.read().mode is Mode.READ_ONLY


def test_an_operator_may_accept_a_small_lag_for_a_planned_switchover(
    control: ControlStore,
) -> None:
    database = ModelledGlobalDatabase(lags=[250.0, 40.0])

    failover(database, control, max_lag_ms=50).promote("secondary", planned=True)

    assert [c for c in database.calls if c[0] == "lag"] == [("lag", SECONDARY_ARN)] * 2
    assert control.read().primary_region == "eu-west-1"


# -- failback ------------------------------------------------------------------------------


def after_an_unplanned_failover() -> ModelledGlobalDatabase:
    """The secondary writes; the old writer is back as a member, as AWS re-adds it."""
    database = ModelledGlobalDatabase(promote_polls=1)
    database.state[PRIMARY_ARN]["writer"] = False
    database.state[SECONDARY_ARN]["writer"] = True
    return database


def test_failback_switches_the_writer_home_with_no_data_loss(control: ControlStore) -> None:
    # Given an unplanned failover to the secondary, and the old region back as a member
    database = after_an_unplanned_failover()
    control.write(ControlRecord("eu-west-1", "https://b.example/internal/orders", Mode.NORMAL))

    # When it fails back
    record = failover(database, control).failback("primary")

    # Then the writer moved by a switchover after the lag drained, and writes go home
    assert ("switchover", PRIMARY_ARN) in database.calls
    assert not any(call[0] == "failover" for call in database.calls)
    assert database.calls.index(("lag", PRIMARY_ARN)) < database.calls.index(
        ("switchover", PRIMARY_ARN)
    )
    assert record == ControlRecord("us-east-1", "https://a.example/internal/orders", Mode.NORMAL)
    assert control.read() == record


def test_failback_to_a_cluster_aws_could_not_re_add_changes_nothing(control: ControlStore) -> None:
    # Given the old writer detached from the global database after the failover
    database = after_an_unplanned_failover()
    del database.state[PRIMARY_ARN]
    before = ControlRecord("eu-west-1", "https://b.example/internal/orders", Mode.NORMAL)
    control.write(before)

    # When it fails back / Then it stops, says what to do, and writes stay where they are
    with pytest.raises(FailoverError, match="not in the global database") as refused:
        failover(database, control).failback("primary")
    assert "docs/operations.md" in str(refused.value)
    assert database.calls == []
    assert control.read() == before


def test_failback_waits_while_aws_is_still_re_adding_the_old_writer(
    control: ControlStore,
) -> None:
    database = after_an_unplanned_failover()
    database.state[PRIMARY_ARN]["status"] = "modifying"

    with pytest.raises(FailoverError, match="still re-adding"):
        failover(database, control).failback("primary")
    assert database.calls == []


def test_read_write_reopens_writes_toward_the_region_that_holds_the_writer(
    control: ControlStore,
) -> None:
    # Given writes closed after a failover to the secondary
    database = after_an_unplanned_failover()
    control.write(ControlRecord("us-east-1", None, Mode.READ_ONLY))

    # When writes are reopened
    record = failover(database, control).read_write()

    # Then they go to the secondary, which holds Aurora's writer now
    assert record == ControlRecord("eu-west-1", "https://b.example/internal/orders", Mode.NORMAL)
    assert control.read() == record


@pytest.mark.parametrize(
    "record",
    [
        ControlRecord("", "https://b.example/internal/orders", Mode.NORMAL),
        ControlRecord("eu-west-1", "http://b.example/internal/orders", Mode.NORMAL),
        ControlRecord("eu-west-1", "b.example/internal/orders", Mode.NORMAL),
        ControlRecord("eu-west-1", "https://b.example/internal/orders", 1),  # type: ignore[arg-type]
        ControlRecord("eu-west-1", "https://b.example/internal/orders", True),  # type: ignore[arg-type]
        ControlRecord("unknown", "https://b.example/internal/orders", Mode.NORMAL),
    ],
)
def test_the_failover_tools_refuse_to_write_a_malformed_control_record(
    control: ControlStore, record: ControlRecord
) -> None:
    # Given the control record naming us-east-1, writes open
    before = control.read()
    # When a tool is asked to write a record no reader could use
    with pytest.raises(ValueError, match="malformed control record"):
        control.write(record)
    # Then it is refused and the record in the table is unchanged
    assert control.read() == before

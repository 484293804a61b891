"""Fail over between regions: read-only mode, then promote a secondary, then writes again.

A lost secondary needs nothing from here: Route 53 health checks route around it. A lost
primary needs three steps, in this order, each safe to repeat:

1. the control record (an item of the global table, written in a surviving region and carried
   everywhere by replication) goes to ``read-only``: every write API answers 503 READ_ONLY
   instead of forwarding to a primary that may be gone, so no write is silently lost;
2. the target region's Aurora cluster becomes the writer of the global database. A *planned*
   switchover only works while every region is healthy, and waits for the replication lag to
   reach 0 so no committed write is lost; a real outage needs the *unplanned* failover, which
   allows data loss (docs/pitfalls.md item 6);
3. the control record names the new primary region and its write URL, in ``normal`` mode.

If step 2 fails or times out the record stays ``read-only``: reads go on everywhere, writes
wait for an operator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from functions.orders import control
from functions.orders.aws import DynamoControlSource
from functions.orders.ports import ControlRecord, ControlUnavailable, Mode

# Aurora reports the lag of each secondary as this CloudWatch metric, in milliseconds.
LAG_METRIC = "AuroraGlobalDBReplicationLag"


class FailoverError(RuntimeError):
    """The failover cannot go on; the message says what to do instead."""


@dataclass(frozen=True)
class RegionTarget:
    """One region as the failover sees it, from its stack's outputs."""

    stack: str
    region: str
    db_cluster_arn: str
    write_url: str


@dataclass(frozen=True)
class Topology:
    """The global database and table every region shares, and each region's facts."""

    global_cluster_id: str
    table_name: str
    regions: Mapping[str, RegionTarget]

    def target(self, stack_or_region: str) -> RegionTarget:
        """A region by its stack name or its region name."""
        for target in self.regions.values():
            if stack_or_region in (target.stack, target.region):
                return target
        raise FailoverError(f"no stack or region named {stack_or_region}")


def topology_from_outputs(outputs: Mapping[str, Mapping[str, Any]]) -> Topology:
    """The failover's view of a deployment, from each stack's exported outputs."""
    if not outputs:
        raise FailoverError("the outputs name no deployed stack: run `python -m ops outputs`")
    needed = ("region", "dbClusterArn", "internalWriteUrl", "globalClusterId", "tableName")
    for stack, out in outputs.items():
        missing = [key for key in needed if not isinstance(out, Mapping) or key not in out]
        if missing:
            raise FailoverError(
                f"the saved outputs of {stack} lack {', '.join(missing)}: the file is not what "
                "`ops up` wrote, or the stack was not fully deployed; refresh it with "
                "`python -m ops outputs`"
            )
    regions = {
        stack: RegionTarget(
            stack=stack,
            region=str(out["region"]),
            db_cluster_arn=str(out["dbClusterArn"]),
            write_url=str(out["internalWriteUrl"]),
        )
        for stack, out in outputs.items()
    }
    global_ids = {str(out["globalClusterId"]) for out in outputs.values()}
    tables = {str(out["tableName"]) for out in outputs.values()}
    if len(global_ids) != 1 or len(tables) != 1:
        raise FailoverError(
            f"the stacks disagree on the global database {sorted(global_ids)} or the global "
            f"table {sorted(tables)}: deploy every stack before failing over"
        )
    return Topology(global_ids.pop(), tables.pop(), regions)


class GlobalDatabase(Protocol):
    """The Aurora global database operations a failover needs."""

    def members(self) -> Mapping[str, dict[str, Any]]:
        """Each member cluster ARN with ``writer`` (bool) and ``status`` (str)."""

    def switchover(self, target_arn: str) -> None:
        """Planned: make ``target_arn`` the writer with no data loss."""

    def failover(self, target_arn: str) -> None:
        """Unplanned: make ``target_arn`` the writer, allowing data loss."""

    def replication_lag_ms(self, cluster_arn: str) -> float | None:
        """The latest replication lag of a secondary, or None when no datapoint exists."""


class ControlStore:
    """Reads and writes the control record in one region's replica of the global table."""

    def __init__(self, dynamodb: Any, table_name: str):
        self._dynamodb = dynamodb
        self._table = table_name

    def read(self) -> ControlRecord:
        """The current control record (ControlUnavailable when it cannot be read)."""
        return DynamoControlSource(self._dynamodb, self._table).current()

    def write(self, record: ControlRecord) -> None:
        """Replace the control record; MalformedControlRecord (a ValueError) if no reader could
        use it, and then the record in the table stays as it was."""
        self._dynamodb.put_item(TableName=self._table, Item=control.to_item(record))


@dataclass
class Failover:
    """Carries out one failover, logging each step it takes."""

    topology: Topology
    database: GlobalDatabase
    control: ControlStore
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 10.0
    timeout_seconds: float = 900.0
    # Writes are closed before the wait, so the lag drains to 0 once in-flight sagas finish;
    # an operator may accept a small lag where the metric never settles at exactly 0.
    max_lag_ms: float = 0.0
    log: Callable[[str], None] = print

    def read_only(self) -> ControlRecord:
        """Step 1: stop accepting writes everywhere, keeping the current primary's name."""
        try:
            current = self.control.read()
        except ControlUnavailable:
            # No record yet: name the region that holds the writer now.
            writers = [arn for arn, m in self.database.members().items() if m.get("writer")]
            region = writers[0].split(":")[3] if writers else "unknown"
            current = ControlRecord(region, None, Mode.NORMAL)
        record = ControlRecord(current.primary_region, current.write_url, Mode.READ_ONLY)
        self.control.write(record)
        self.log(f"control record: {current.primary_region} in read-only mode")
        return record

    def promote(self, to: str, *, planned: bool) -> ControlRecord:
        """Steps 1 to 3: read-only, promote ``to``'s cluster, then writes go to ``to``."""
        target = self.topology.target(to)
        members = self.database.members()
        if target.db_cluster_arn not in members:
            raise FailoverError(f"{target.db_cluster_arn} is not in the global database")
        if members[target.db_cluster_arn].get("writer"):
            self.log(f"{target.region} already holds the writer")
        else:
            if planned:
                self._check_all_healthy(members)
            self.read_only()
            if planned:
                self._wait_for_zero_lag(target)
                self.log(f"switchover (planned, no data loss) to {target.db_cluster_arn}")
                self.database.switchover(target.db_cluster_arn)
            else:
                self.log(f"failover (unplanned, data loss allowed) to {target.db_cluster_arn}")
                self.database.failover(target.db_cluster_arn)
            self._wait_for_writer(target)
        record = ControlRecord(target.region, target.write_url, Mode.NORMAL)
        self.control.write(record)
        self.log(f"control record: {target.region} is the primary, writes open")
        return record

    def failback(self, to: str) -> ControlRecord:
        """After an unplanned failover, once ``to``'s region is back: writes go home again.

        AWS re-adds the old writer's cluster to the global database as a secondary where it
        can. Its membership is checked first; then, as a planned switchover, every region must
        be healthy, writes close, the lag drains, the writer moves and writes reopen.
        """
        target = self.topology.target(to)
        members = self.database.members()
        member = members.get(target.db_cluster_arn)
        if member is None:
            raise FailoverError(
                f"{target.db_cluster_arn} is not in the global database: AWS could not re-add "
                f"{target.region}'s old writer after the failover, so it is a standalone cluster "
                "holding only the writes that never replicated. Failing back to it would lose "
                "every write since the failover. Follow docs/operations.md, 'When AWS could not "
                "re-add the old writer', then run `ops failback` again"
            )
        if member.get("writer"):
            self.log(f"{target.region} already holds the writer")
            return self.read_write()
        if member.get("status") != "available":
            raise FailoverError(
                f"{target.region}'s cluster is {member.get('status')}: AWS is still re-adding "
                "it to the global database; run `ops failback` again once it is available"
            )
        return self.promote(to, planned=True)

    def read_write(self) -> ControlRecord:
        """Leave read-only mode: writes go to the region that holds Aurora's writer now."""
        writers = [arn for arn, m in self.database.members().items() if m.get("writer")]
        targets = [t for t in self.topology.regions.values() if t.db_cluster_arn in writers]
        if not targets:
            raise FailoverError(
                "no deployed region holds the global database's writer: finish the failover "
                "first (`ops failover --to STACK --unplanned`)"
            )
        target = targets[0]
        record = ControlRecord(target.region, target.write_url, Mode.NORMAL)
        self.control.write(record)
        self.log(f"control record: {target.region} is the primary, writes open")
        return record

    def _check_all_healthy(self, members: Mapping[str, dict[str, Any]]) -> None:
        unhealthy = {
            arn: m.get("status") for arn, m in members.items() if m.get("status") != "available"
        }
        if unhealthy:
            raise FailoverError(
                "a planned switchover needs every region healthy, and these are not: "
                + ", ".join(f"{arn} ({status})" for arn, status in sorted(unhealthy.items()))
                + "; for an outage use the unplanned failover (--unplanned), which may lose "
                "the writes not yet replicated"
            )

    def _deadline_loop(self, what: str) -> Any:
        waited = 0.0
        while waited <= self.timeout_seconds:
            yield
            self.sleep(self.poll_seconds)
            waited += self.poll_seconds
        raise FailoverError(
            f"timed out after {self.timeout_seconds:g} s waiting for {what}; the control record "
            "stays read-only until an operator finishes the failover"
        )

    def _wait_for_zero_lag(self, target: RegionTarget) -> None:
        for _ in self._deadline_loop(
            f"{target.region}'s replication lag to reach {self.max_lag_ms:g} ms"
        ):
            lag = self.database.replication_lag_ms(target.db_cluster_arn)
            self.log(f"replication lag of {target.region}: {lag} ms")
            if lag is not None and lag <= self.max_lag_ms:
                return

    def _wait_for_writer(self, target: RegionTarget) -> None:
        for _ in self._deadline_loop(f"{target.region} to become the writer"):
            member = self.database.members().get(target.db_cluster_arn, {})
            if member.get("writer") and member.get("status") == "available":
                return


class AuroraGlobalDatabase:
    """``GlobalDatabase`` over boto3: RDS for the global cluster, CloudWatch for the lag.

    ``clients(service, region)`` returns a boto3 client; failover calls go to the target's
    region, which is the one known to be up.
    """

    def __init__(self, global_cluster_id: str, region: str, clients: Callable[[str, str], Any]):
        self._id = global_cluster_id
        self._region = region
        self._clients = clients

    def members(self) -> Mapping[str, dict[str, Any]]:
        """Member clusters with their writer flag and their own status."""
        rds = self._clients("rds", self._region)
        (cluster,) = rds.describe_global_clusters(GlobalClusterIdentifier=self._id)[
            "GlobalClusters"
        ]
        members: dict[str, dict[str, Any]] = {}
        for member in cluster["GlobalClusterMembers"]:
            arn = member["DBClusterArn"]
            region = arn.split(":")[3]
            try:
                status = self._clients("rds", region).describe_db_clusters(DBClusterIdentifier=arn)[
                    "DBClusters"
                ][0]["Status"]
            except Exception as error:
                status = f"unreachable: {error}"
            members[arn] = {"writer": bool(member.get("IsWriter")), "status": status}
        return members

    def switchover(self, target_arn: str) -> None:
        """RDS SwitchoverGlobalCluster."""
        self._clients("rds", self._region).switchover_global_cluster(
            GlobalClusterIdentifier=self._id, TargetDbClusterIdentifier=target_arn
        )

    def failover(self, target_arn: str) -> None:
        """RDS FailoverGlobalCluster with AllowDataLoss."""
        self._clients("rds", self._region).failover_global_cluster(
            GlobalClusterIdentifier=self._id,
            TargetDbClusterIdentifier=target_arn,
            AllowDataLoss=True,
        )

    def replication_lag_ms(self, cluster_arn: str) -> float | None:
        """The latest one-minute maximum of AuroraGlobalDBReplicationLag."""
        region = cluster_arn.split(":")[3]
        now = time.time()
        datapoints = self._clients("cloudwatch", region).get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName=LAG_METRIC,
            Dimensions=[{"Name": "DBClusterIdentifier", "Value": cluster_arn.split(":")[-1]}],
            StartTime=now - 300,
            EndTime=now,
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        if not datapoints:
            return None
        return float(max(datapoints, key=lambda d: d["Timestamp"])["Maximum"])

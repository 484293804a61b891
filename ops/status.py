"""`ops status`: the deployment as it runs, region by region, from the saved outputs alone.

Per region: what its `GET /health` answers, whether its Aurora cluster is the global
database's writer and its member status, Aurora's recovery-point lag
(`AuroraGlobalDBRPOLag`, per secondary cluster), DynamoDB's `ReplicationLatency` into the
region (published by the region that writes), and when `ops up` last applied its stack; and
once, the control record (who writes, in which mode). Every probe is bounded and its failure
is reported, not raised: a status command is what an operator runs when things are broken.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from functions.orders.ports import ControlUnavailable
from ops.failover import ControlStore, topology_from_outputs

RPO_LAG_METRIC = "AuroraGlobalDBRPOLag"
REPLICATION_LATENCY_METRIC = "ReplicationLatency"
HEALTH_TIMEOUT_SECONDS = 5.0

Clients = Callable[[str, str], Any]
HttpGet = Callable[[str, float], tuple[int, dict[str, Any]]]


@dataclass
class RegionStatus:
    """One region as it runs."""

    stack: str
    region: str
    health: str
    writer: bool | None = None
    cluster_status: str | None = None
    rpo_lag_ms: float | None = None
    replication_latency_ms: float | None = None
    last_deployed: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Status:
    """The control record and every region."""

    writer_region: str | None
    mode: str | None
    regions: list[RegionStatus]
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The shape `ops status --json` prints."""
        return asdict(self)

    @property
    def healthy(self) -> bool:
        """Every region answers 200 and every probe worked."""
        return not self.problems and all(
            r.health.startswith("200") and not r.problems for r in self.regions
        )


def http_get(url: str, timeout: float) -> tuple[int, dict[str, Any]]:
    """GET a JSON document; the status code and body, also for 4xx and 5xx answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            body = json.loads(error.read() or b"{}")
        except json.JSONDecodeError:
            body = {}
        return error.code, body


def _latest(
    cloudwatch: Any, namespace: str, metric: str, dimensions: dict[str, str]
) -> float | None:
    now = time.time()
    points = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        # Through the minute under way: its datapoints are the latest there are.
        StartTime=now - 600,
        EndTime=now + 60,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    if not points:
        return None
    return float(max(points, key=lambda p: p["Timestamp"])["Maximum"])


def gather(
    outputs: Mapping[str, Mapping[str, Any]],
    clients: Clients,
    deployed_at: Mapping[str, str] | None = None,
    get: HttpGet = http_get,
) -> Status:
    """Probe every region named in the saved outputs."""
    topology = topology_from_outputs(outputs)
    deployed_at = deployed_at or {}
    regions = [
        RegionStatus(stack, str(out["region"]), "unknown", last_deployed=deployed_at.get(stack))
        for stack, out in sorted(outputs.items())
    ]
    status = Status(None, None, regions)

    for region in regions:
        url = str(outputs[region.stack].get("httpApiUrl", "")).rstrip("/") + "/health"
        try:
            code, body = get(url, HEALTH_TIMEOUT_SECONDS)
            region.health = f"{code} {body.get('status', '')}".strip()
        except urllib.error.URLError as error:
            region.health = f"unreachable: {error.reason}"
        except (OSError, ValueError) as error:
            region.health = f"unreachable: {error}"

    # The control record: from the first region that answers.
    for region in regions:
        try:
            record = ControlStore(clients("dynamodb", region.region), topology.table_name).read()
        except ControlUnavailable as error:
            status.problems.append(f"control record via {region.region}: {error}")
            continue
        except Exception as error:
            status.problems.append(f"control record via {region.region}: {error}")
            continue
        status.writer_region, status.mode = record.primary_region, record.mode.value
        break

    members: dict[str, dict[str, Any]] = {}
    for region in regions:
        try:
            (cluster,) = clients("rds", region.region).describe_global_clusters(
                GlobalClusterIdentifier=topology.global_cluster_id
            )["GlobalClusters"]
            members = {m["DBClusterArn"]: m for m in cluster["GlobalClusterMembers"]}
            break
        except Exception as error:
            status.problems.append(f"global database via {region.region}: {error}")

    for region in regions:
        arn = str(outputs[region.stack]["dbClusterArn"])
        member = members.get(arn)
        if members and member is None:
            region.problems.append("its Aurora cluster is not in the global database")
        if member is not None:
            region.writer = bool(member.get("IsWriter"))
        try:
            rds = clients("rds", region.region)
            region.cluster_status = rds.describe_db_clusters(DBClusterIdentifier=arn)["DBClusters"][
                0
            ]["Status"]
            cloudwatch = clients("cloudwatch", region.region)
            if region.writer is False:
                region.rpo_lag_ms = _latest(
                    cloudwatch,
                    "AWS/RDS",
                    RPO_LAG_METRIC,
                    {"DBClusterIdentifier": arn.split(":")[-1]},
                )
        except Exception as error:
            region.problems.append(f"Aurora in {region.region}: {error}")

    writer = status.writer_region
    if writer is not None:
        try:
            cloudwatch = clients("cloudwatch", writer)
            for region in regions:
                if region.region != writer:
                    region.replication_latency_ms = _latest(
                        cloudwatch,
                        "AWS/DynamoDB",
                        REPLICATION_LATENCY_METRIC,
                        {"TableName": topology.table_name, "ReceivingRegion": region.region},
                    )
        except Exception as error:
            status.problems.append(f"DynamoDB replication metrics in {writer}: {error}")
    return status


def render(status: Status) -> str:
    """The status for people: the control record, then a line per region."""
    lines = [
        f"writes: {status.writer_region or 'unknown'} ({status.mode or 'no control record'})",
        "",
        f"{'stack':<16}{'region':<16}{'health':<22}{'aurora':<22}{'rpo lag':>10}"
        f"{'ddb lag':>10}  last deployed",
    ]
    for r in status.regions:
        aurora = "writer" if r.writer else ("reader" if r.writer is False else "?")
        aurora += f", {r.cluster_status}" if r.cluster_status else ""
        rpo = f"{r.rpo_lag_ms:g} ms" if r.rpo_lag_ms is not None else "-"
        ddb = f"{r.replication_latency_ms:g} ms" if r.replication_latency_ms is not None else "-"
        lines.append(
            f"{r.stack:<16}{r.region:<16}{r.health[:21]:<22}{aurora[:21]:<22}{rpo:>10}{ddb:>10}"
            f"  {r.last_deployed or '-'}"
        )
        lines += [f"  ! {problem}" for problem in r.problems]
    lines += [f"! {problem}" for problem in status.problems]
    return "\n".join(lines)

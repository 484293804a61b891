"""The global database's members, from RDS ``DescribeGlobalClusters``. The client comes in."""

from __future__ import annotations

from typing import Any

from functions.migrator.writer import GlobalMember


class GlobalClusterNotFound(RuntimeError):
    """RDS knows no global cluster of that identifier."""


class RdsGlobalDatabase:
    """One Aurora global cluster, read through an RDS client (``boto3.client("rds")``)."""

    def __init__(self, rds: Any, global_cluster_id: str):
        self._rds = rds
        self._id = global_cluster_id

    def members(self) -> tuple[GlobalMember, ...]:
        """Every member cluster with its IsWriter flag; errors of the call propagate."""
        answer = self._rds.describe_global_clusters(GlobalClusterIdentifier=self._id)
        # Matched again here: moto lists every global cluster whatever the filter, and RDS
        # stores identifiers in lower case.
        wanted = self._id.lower()
        found = [
            cluster
            for cluster in answer.get("GlobalClusters", [])
            if wanted
            in (
                str(cluster.get("GlobalClusterIdentifier", "")).lower(),
                str(cluster.get("GlobalClusterArn", "")).lower(),
            )
        ]
        if not found:
            raise GlobalClusterNotFound(f"no global cluster {self._id}")
        return tuple(
            GlobalMember(str(member["DBClusterArn"]), bool(member.get("IsWriter")))
            for member in found[0].get("GlobalClusterMembers", [])
        )

"""Whether this region migrates: only the writer of the Aurora global database does.

Pure: the members come from a :class:`GlobalDatabase` (RDS in :mod:`functions.migrator.rds`,
in memory in tests). Every region's stack invokes its migrator at deploy time; the schema
replicates from the writer, so exactly one of them must apply it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GlobalMember:
    """One cluster of the global database: its ARN and whether it is the writer."""

    cluster_arn: str
    is_writer: bool


class GlobalDatabase(Protocol):
    """Lists the clusters of the global database, as Aurora sees them now."""

    def members(self) -> tuple[GlobalMember, ...]:
        """Every member cluster, the writer among them."""
        ...


class NoWriter(RuntimeError):
    """No member of the global database writes right now (a failover is under way)."""


@dataclass(frozen=True)
class Verdict:
    """Migrate here, or skip, and why."""

    migrate: bool
    skipped: str | None = None


def region_of(arn: str) -> str:
    """The region field of an ARN (``arn:aws:rds:<region>:...``)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def decide(cluster_arn: str, members: Iterable[GlobalMember]) -> Verdict:
    """Migrate as the writer; skip as a reader, or as a cluster the global database dropped.

    Raises NoWriter when this cluster is a member and no member writes: skipping would leave
    the migrations applied nowhere (the deploy-time invocation runs again only when a
    migration file changes), so the deploy must fail and be run again.
    """
    members = tuple(members)
    me = next((m for m in members if m.cluster_arn == cluster_arn), None)
    if me is None:
        # Detached by an unplanned failover, this cluster may still accept writes: a schema
        # change here would fork from the global database's.
        return Verdict(
            False,
            f"{cluster_arn} is not in the global database (detached by an unplanned "
            "failover?); its schema is not migrated: see `python -m ops failback`",
        )
    if me.is_writer:
        return Verdict(True)
    writer = next((m for m in members if m.is_writer), None)
    if writer is None:
        raise NoWriter(
            "no cluster of the global database is the writer right now (a failover or "
            "switchover under way?): deploy again once one writes"
        )
    return Verdict(
        False,
        f"{region_of(writer.cluster_arn)} writes; its stack's migrator applies migrations",
    )

"""What an `ops up` would change, pass by pass, and which of those changes lose data.

The offline plan says what each pass registers; what is deployed is what `ops up` saved of the
passes it applied (``deployment/plan.json``). Comparing the two by URN gives, per pass, the
resources created, updated (which inputs), replaced and deleted. Whether an update replaces is
decided from the provider's force-new properties for the stateful types (``FORCE_NEW``); for
other types a changed input is shown as an update, and `pulumi preview` has the last word.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.guards import STATEFUL_TYPES

CREATE, UPDATE, REPLACE, DELETE = "create", "update", "replace", "delete"

# Inputs whose change makes the provider replace the resource (`ForceNew: true` in the schema
# of hashicorp/terraform-provider-aws v6, which pulumi-aws v7 wraps), for the stateful types.
# Sources, under internal/service/: rds/global_cluster.go, rds/cluster.go, dynamodb/table.go,
# dynamodb/table_replica.go, secretsmanager/secret.go, kms/key.go, s3/bucket.go. In v6 every
# resource also takes `region`, and changing it replaces the resource
# (internal/provider/sdkv2/region.go, forceNewIfRegionChanges).
FORCE_NEW: Mapping[str, frozenset[str]] = {
    "aws:rds/globalCluster:GlobalCluster": frozenset(
        {
            "globalClusterIdentifier",
            "databaseName",
            "engine",
            "sourceDbClusterIdentifier",
            "storageEncrypted",
        }
    ),
    "aws:rds/cluster:Cluster": frozenset(
        {
            "availabilityZones",
            "clusterIdentifier",
            "clusterIdentifierPrefix",
            "clusterScalabilityType",
            "databaseName",
            "dbSubnetGroupName",
            "dbSystemId",
            "engine",
            "engineMode",
            "kmsKeyId",
            "masterUsername",
            "snapshotIdentifier",
            "sourceRegion",
            "storageEncrypted",
            "restoreToPointInTime",
            "s3Import",
        }
    ),
    "aws:dynamodb/table:Table": frozenset(
        {"name", "hashKey", "rangeKey", "localSecondaryIndexes", "restoreDateTime"}
    ),
    "aws:dynamodb/tableReplica:TableReplica": frozenset(
        {"globalTableArn", "kmsKeyArn", "tableClassOverride"}
    ),
    "aws:secretsmanager/secret:Secret": frozenset({"name", "namePrefix"}),
    "aws:kms/key:Key": frozenset(
        {"customKeyStoreId", "customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"}
    ),
    "aws:s3/bucket:Bucket": frozenset({"bucket", "bucketPrefix", "objectLockEnabled"}),
}
REPLACED_BY_ANY_TYPE = frozenset({"region"})


@dataclass(frozen=True)
class Change:
    """One resource a pass creates, updates, replaces or deletes."""

    urn: str
    type: str
    op: str
    # The inputs that differ (updates and replacements).
    inputs: tuple[str, ...] = ()

    @property
    def stateful(self) -> bool:
        """True for resources that hold data or a value an operator set."""
        return self.type in STATEFUL_TYPES

    @property
    def loses_data(self) -> bool:
        """A stateful resource deleted or replaced: what `ops up` refuses unless named."""
        return self.stateful and self.op in (DELETE, REPLACE)

    def to_json(self) -> dict[str, Any]:
        """The shape `ops diff --json` prints."""
        return {
            "urn": self.urn,
            "type": self.type,
            "op": self.op,
            "inputs": list(self.inputs),
            "stateful": self.stateful,
        }


@dataclass
class PassDiff:
    """What one pass changes in its stack, from the stack's state before the pass."""

    stack: str
    label: str
    changes: list[Change] = field(default_factory=list)

    def count(self, op: str) -> int:
        """How many resources this pass creates, updates, replaces or deletes."""
        return sum(1 for c in self.changes if c.op == op)

    def to_json(self) -> dict[str, Any]:
        """The shape `ops diff --json` prints for one pass."""
        return {
            "stack": self.stack,
            "pass": self.label,
            "summary": {op: self.count(op) for op in (CREATE, UPDATE, REPLACE, DELETE)},
            "changes": [c.to_json() for c in self.changes],
        }


def _top_level(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def _differing(before: Mapping[str, Any], after: Mapping[str, Any], ignored: set[str]) -> list[str]:
    keys = (set(before) | set(after)) - ignored - {"__defaults"}
    return sorted(
        k
        for k in keys
        if json.dumps(before.get(k), sort_keys=True) != json.dumps(after.get(k), sort_keys=True)
    )


def resource_changes(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[Change]:
    """Resources (as `ops plan --json` prints them) compared by URN, in URN order.

    Inputs named in the new resource's ``ignoreChanges`` are not compared, as the engine
    would not act on them.
    """
    old = {r["urn"]: r for r in before}
    new = {r["urn"]: r for r in after}
    changes: list[Change] = []
    for urn in sorted(old.keys() | new.keys()):
        if urn not in old:
            changes.append(Change(urn, new[urn]["type"], CREATE))
        elif urn not in new:
            changes.append(Change(urn, old[urn]["type"], DELETE))
        else:
            resource = new[urn]
            ignored = {_top_level(p) for p in resource.get("ignoreChanges") or ()}
            differing = _differing(old[urn].get("inputs") or {}, resource["inputs"] or {}, ignored)
            if not differing:
                continue
            forcing = FORCE_NEW.get(resource["type"], frozenset()) | REPLACED_BY_ANY_TYPE
            op = REPLACE if forcing & set(differing) else UPDATE
            changes.append(Change(urn, resource["type"], op, tuple(differing)))
    return changes


def deployment_changes(
    deployed: Mapping[str, Sequence[Mapping[str, Any]]], plan: Mapping[str, Any]
) -> list[PassDiff]:
    """Every pass of ``plan`` (an `ops plan --json` document) against what is deployed.

    ``deployed`` is each deployed stack's resources as of the last pass applied to it. A pass
    is compared with its stack's state before it: what is deployed for the stack's first pass,
    the previous pass after that. A deployed stack the plan no longer has is destroyed.
    """
    state = {stack: list(resources) for stack, resources in deployed.items()}
    diffs = []
    for step in plan["passes"]:
        stack = step["stack"]
        label = f"{stack} (converge)" if step.get("converge") else stack
        diffs.append(
            PassDiff(stack, label, resource_changes(state.get(stack, []), step["resources"]))
        )
        state[stack] = step["resources"]
    for stack in sorted(set(deployed) - set(plan["stacks"])):
        diffs.append(PassDiff(stack, f"{stack} (destroy)", resource_changes(deployed[stack], [])))
    return diffs


def refused(diffs: Iterable[PassDiff], allowed: Iterable[str] = ()) -> list[tuple[str, Change]]:
    """The stateful deletions and replacements not named in ``allowed``, with their pass."""
    named = set(allowed)
    return [
        (diff.label, change)
        for diff in diffs
        for change in diff.changes
        if change.loses_data and change.urn not in named
    ]


def render(diffs: Sequence[PassDiff]) -> str:
    """The diff for people: per pass a summary line, then each change, stateful ones marked."""
    symbols = {CREATE: "+", UPDATE: "~", REPLACE: "+-", DELETE: "-"}
    lines = []
    for i, diff in enumerate(diffs, 1):
        summary = ", ".join(f"{diff.count(op)} to {op}" for op in (CREATE, UPDATE, REPLACE, DELETE))
        lines.append(f"{i}. {diff.label}: {summary}")
        for change in diff.changes:
            mark = "  [STATEFUL: data would be lost]" if change.loses_data else ""
            mark = mark or ("  [stateful]" if change.stateful else "")
            what = f" ({', '.join(change.inputs)})" if change.inputs else ""
            lines.append(f"   {symbols[change.op]:>2} {change.urn}{what}{mark}")
    return "\n".join(lines)

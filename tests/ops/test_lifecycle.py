"""A deployment through its life: deployed, a region added, an unplanned failover, `ops up`
everywhere, failback, the region removed. At each step, pass by pass, no stateful resource is
deleted or replaced except the removed region's own.

The stacks are simulated (the real program under Pulumi's mocks) in a workspace that keeps
their state (tests/support/lifecycle.py). Aurora is modelled: moto has no global failover, so
the failover and failback run against an in-memory global database, and the fields AWS
changes on the clusters are written into the simulated state by hand, as a refresh would.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from components.guards import STATEFUL_TYPES
from functions.orders.ports import ControlRecord, ControlUnavailable, Mode
from ops import deploy
from ops.deployed import check_ownership
from ops.diff import DELETE, REPLACE, Change
from ops.failover import Failover, topology_from_outputs
from ops.regions import remove_region
from ops.rehome import rehome
from ops.simulate import simulate_deployment
from ops.stackfiles import DeploymentError, read_stack_files
from tests.support.deployments import PROJECT_DIR, generated_configs, write_stack_files
from tests.support.lifecycle import SimulatedWorkspace
from tests.support.plan import DB_CLUSTER, GLOBAL_CLUSTER, TABLE, TABLE_REPLICA

FOURTH = """# A fourth region, added to a live deployment.
config:
  aws:region: sa-east-1
  active-active:role: member
  active-active:environment: dev
  active-active:vpcCidr: 10.40.0.0/16
  active-active:homeStack: organization/active-active/primary
  active-active:peerStacks:
    - organization/active-active/primary
    - organization/active-active/secondary
    - organization/active-active/secondary-ap
"""


class ModelledGlobalDatabase:
    """Members by cluster ARN with a writer flag; promotion is immediate."""

    def __init__(self, writer: str, others: list[str]) -> None:
        self.state = {
            arn: {"writer": arn == writer, "status": "available"} for arn in [writer, *others]
        }

    def members(self) -> dict[str, dict[str, Any]]:
        return {arn: dict(m) for arn, m in self.state.items()}

    def switchover(self, target_arn: str) -> None:
        self.failover(target_arn)

    def failover(self, target_arn: str) -> None:
        for arn in self.state:
            self.state[arn]["writer"] = arn == target_arn

    def replication_lag_ms(self, cluster_arn: str) -> float | None:
        return 0.0


class MemoryControl:
    """The control record, as the global table would carry it everywhere."""

    def __init__(self) -> None:
        self.record: ControlRecord | None = None

    def read(self) -> ControlRecord:
        if self.record is None:
            raise ControlUnavailable("no record")
        return self.record

    def write(self, record: ControlRecord) -> None:
        self.record = record


@dataclass
class Walk:
    """What each step of the walk previewed, pass by pass, and what it ran."""

    directory: Path
    workspace: SimulatedWorkspace
    previews: dict[str, list[tuple[str, list[Change]]]] = field(default_factory=dict)
    calls: dict[str, list[tuple[str, str, tuple[str, ...]]]] = field(default_factory=dict)
    control: MemoryControl = field(default_factory=MemoryControl)
    results: dict[str, Any] = field(default_factory=dict)
    # Each stack's state right after each step.
    states: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def step(self, name: str, action: Any) -> Any:
        before_previews = len(self.workspace.previews)
        before_calls = len(self.workspace.calls)
        result = action()
        self.previews[name] = self.workspace.previews[before_previews:]
        self.calls[name] = self.workspace.calls[before_calls:]
        self.results[name] = result
        self.states[name] = copy.deepcopy(self.workspace.state)
        return result

    def up(self) -> None:
        deploy.up(read_stack_files(self.directory), self.workspace, build=lambda: None)

    def cluster(self, stack: str) -> dict[str, Any]:
        (found,) = [r for r in self.workspace.state[stack] if r["type"] == DB_CLUSTER]
        return found


def _add_fourth_region(directory: Path) -> None:
    (directory / "Pulumi.secondary-sa.yaml").write_text(FOURTH)
    home = directory / "Pulumi.primary.yaml"
    text = home.read_text()
    last = "    - organization/active-active/secondary-ap\n"
    home.write_text(text.replace(last, last + "    - organization/active-active/secondary-sa\n"))


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory, lambda_archives: Any) -> Walk:
    directory = tmp_path_factory.mktemp("lifecycle")
    for path in PROJECT_DIR.glob("Pulumi*.yaml"):
        shutil.copy(path, directory / path.name)
    walk = Walk(directory, SimulatedWorkspace(directory))

    walk.step("deploy", walk.up)
    walk.step("add a region", lambda: (_add_fourth_region(directory), walk.up()))

    # An unplanned failover to eu-west-1: no stack file changes.
    outputs = walk.workspace.outputs_of
    topology = topology_from_outputs(outputs)
    home_arn = outputs["primary"]["dbClusterArn"]
    database = ModelledGlobalDatabase(
        home_arn, [o["dbClusterArn"] for s, o in outputs.items() if s != "primary"]
    )
    failover = Failover(topology, database, walk.control, sleep=lambda s: None, log=lambda m: None)  # type: ignore[arg-type]
    walk.step("failover", lambda: failover.promote("secondary", planned=False))
    # What AWS changes, as a refresh reads it back: the old writer rejoins as a secondary
    # with a replication source; the new writer has none.
    walk.cluster("primary")["inputs"]["replicationSourceIdentifier"] = outputs["secondary"][
        "dbClusterArn"
    ]
    walk.step("up after the failover", walk.up)

    walk.step("failback", lambda: failover.failback("primary"))
    walk.cluster("primary")["inputs"].pop("replicationSourceIdentifier", None)
    walk.cluster("secondary")["inputs"]["replicationSourceIdentifier"] = home_arn
    walk.step("up after the failback", walk.up)

    walk.step(
        "remove the region",
        lambda: remove_region(
            directory, "secondary-sa", walk.workspace, outputs_file=directory / "d" / "out.json"
        ),
    )

    # The home region is lost for good, with the backend that held its stack's state: writes
    # fail over to eu-west-1, which then takes ownership.
    walk.step("lose the home region", lambda: failover.promote("secondary", planned=False))
    walk.workspace.lose_backend("primary")
    saved = {name: dict(out) for name, out in walk.workspace.outputs_of.items()}
    walk.step(
        "rehome",
        lambda: rehome(directory, "secondary", walk.workspace, saved, directory / "d" / "out.json"),
    )
    walk.step("up after the rehome", walk.up)
    return walk


def losses(previews: list[tuple[str, list[Change]]]) -> list[tuple[str, str, str]]:
    return [(stack, c.op, c.urn) for stack, changes in previews for c in changes if c.loses_data]


STEPS = [
    "deploy",
    "add a region",
    "up after the failover",
    "up after the failback",
    "up after the rehome",
]


@pytest.mark.parametrize("step", STEPS)
def test_no_pass_of_any_step_deletes_or_replaces_a_stateful_resource(walk: Walk, step: str) -> None:
    assert losses(walk.previews[step]) == []


def test_adding_a_region_never_drops_replication_to_the_regions_already_there(walk: Walk) -> None:
    # The home stack's first pass leaves out only the new stack, then converges
    calls = walk.calls["add a region"]
    assert calls[0] == ("up", "primary", ("secondary-sa",))
    assert calls[-1] == ("up", "primary", ())
    # And that first pass deletes nothing at all: no replication rule, no secret replica
    first_pass = walk.previews["add a region"][0]
    assert first_pass[0] == "primary"
    assert [c.urn for c in first_pass[1] if c.op == DELETE] == []


@pytest.mark.parametrize("step", ["up after the failover", "up after the failback"])
def test_after_a_failover_or_failback_ops_up_changes_nothing_anywhere(
    walk: Walk, step: str
) -> None:
    # Stack files untouched, and the fields AWS changed are ignored: every pass is empty
    assert [(stack, changes) for stack, changes in walk.previews[step] if changes] == []


def test_the_control_record_follows_the_writer_and_back(walk: Walk) -> None:
    urls = {name: out["internalWriteUrl"] for name, out in walk.workspace.outputs_of.items()}
    assert walk.results["failover"] == ControlRecord("eu-west-1", urls["secondary"], Mode.NORMAL)
    assert walk.results["failback"].primary_region == "us-east-1"
    assert walk.results["failback"].mode is Mode.NORMAL


def test_removing_a_region_touches_no_other_regions_data(walk: Walk) -> None:
    previews = walk.previews["remove the region"]
    # Only the stack that named it (the home stack, replicating to it) is updated first
    assert [stack for stack, _ in previews] == ["primary"]
    assert losses(previews) == []
    # Then its stack is destroyed, its file deleted, and no stack file names it any more
    assert walk.calls["remove the region"][-1] == ("destroy", "secondary-sa", ())
    assert "secondary-sa" not in walk.workspace.state
    assert not (walk.directory / "Pulumi.secondary-sa.yaml").exists()
    assert "secondary-sa" not in "".join(
        p.read_text() for p in walk.directory.glob("Pulumi.*.yaml")
    )


def test_removing_the_region_drops_its_replication_rule_and_secret_replica(walk: Walk) -> None:
    primary = walk.states["remove the region"]["primary"]
    (secret,) = [r for r in primary if r["name"] == "primary-db-secret"]
    assert "sa-east-1" not in str(secret["inputs"].get("replicas"))
    assert "secondary-sa" not in str(
        [r["inputs"] for r in primary if r["type"].endswith("BucketReplicationConfig")]
    )


def test_the_home_stack_cannot_be_removed(walk: Walk) -> None:
    with pytest.raises(DeploymentError, match="home stack"):
        remove_region(walk.directory, "secondary", walk.workspace)


def test_after_a_rehome_the_new_home_owns_the_global_cluster_and_every_stack_deploys(
    walk: Walk,
) -> None:
    # The global cluster was imported into the new home's state, by its id, and nothing else
    gid = walk.workspace.outputs_of["secondary"]["globalClusterId"]
    assert walk.calls["rehome"] == [("import", "secondary", (GLOBAL_CLUSTER, gid))]
    # Every surviving stack deployed again, in order, the new home first
    assert [c[1] for c in walk.calls["up after the rehome"]] == ["secondary", "secondary-ap"]
    # And the global cluster is now declared by the new home's program, updated in place
    (cluster,) = [r for r in walk.workspace.state["secondary"] if r["type"] == GLOBAL_CLUSTER]
    assert cluster["inputs"]["globalClusterIdentifier"] == gid
    assert walk.workspace.outputs_of["secondary"]["role"] == "home"


def test_after_a_rehome_the_table_replicas_keep_the_table_they_joined(walk: Walk) -> None:
    replace_or_delete = [
        (stack, c.op, c.urn)
        for stack, changes in walk.previews["up after the rehome"]
        for c in changes
        if c.type == TABLE_REPLICA and c.op in (DELETE, REPLACE)
    ]
    assert replace_or_delete == []


def test_after_a_rehome_no_stack_file_names_the_lost_stack(walk: Walk) -> None:
    assert not (walk.directory / "Pulumi.primary.yaml").exists()
    for path in walk.directory.glob("Pulumi.*.yaml"):
        assert "organization/active-active/primary" not in path.read_text(), path.name


def test_up_refuses_to_replace_a_stateful_resource_unless_the_operator_names_it(
    tmp_path: Path, lambda_archives: Any
) -> None:
    # Given two deployed stacks whose table, as deployed, has another key than the program's
    directory = write_stack_files(tmp_path, generated_configs(2))
    workspace = SimulatedWorkspace(directory)
    deploy.up(read_stack_files(directory), workspace, build=lambda: None)
    (table,) = [
        r for r in workspace.state["primary"] if r["type"] == TABLE and "orders" in r["name"]
    ]
    table["inputs"]["hashKey"] = "old"

    # When `ops up` runs, Then it refuses before applying the pass, naming the table
    with pytest.raises(deploy.DataLossRefused) as refused:
        deploy.up(read_stack_files(directory), workspace, build=lambda: None)
    assert [(c.op, c.urn) for _, c in refused.value.refusals] == [(REPLACE, table["urn"])]
    assert "--allow-data-loss" in str(refused.value)

    # And named, it goes ahead
    deploy.up(
        read_stack_files(directory), workspace, build=lambda: None, allow_data_loss=[table["urn"]]
    )
    (table,) = [r for r in workspace.state["primary"] if r["urn"] == table["urn"]]
    assert table["inputs"]["hashKey"] != "old"


def test_swapping_the_home_role_in_the_stack_files_is_refused(tmp_path: Path) -> None:
    # Given a deployment whose home stack is primary, and stack files that swap the roles
    configs = generated_configs(2)
    primary, secondary = configs["primary"], configs["secondary-1"]
    primary["active-active:role"], secondary["active-active:role"] = "member", "home"
    primary["active-active:homeStack"] = "organization/active-active/secondary-1"
    secondary["active-active:replicaStacks"] = primary.pop("active-active:replicaStacks")
    secondary["active-active:replicaStacks"] = ["organization/active-active/primary"]
    secondary.pop("active-active:homeStack")
    stacks = read_stack_files(write_stack_files(tmp_path, configs))
    outputs = {"primary": {"role": "home"}, "secondary-1": {"role": "member"}}

    # Then nothing is planned: the message says to fail over instead
    with pytest.raises(DeploymentError, match="ops failover"):
        check_ownership(stacks, outputs)


@pytest.mark.parametrize(("environment", "protected"), [("prod", True), ("dev", False)])
def test_every_stateful_resource_is_protected_in_prod_only(
    tmp_path: Path, lambda_archives: Any, environment: str, protected: bool
) -> None:
    directory = write_stack_files(tmp_path, generated_configs(2, environment=environment))
    result = simulate_deployment(read_stack_files(directory))

    stateful = [r for s in result.stacks.values() for r in s.resources if r.type in STATEFUL_TYPES]
    assert {r.type for r in stateful} == STATEFUL_TYPES
    assert {r.urn: r.protect for r in stateful} == {r.urn: protected for r in stateful}


def test_in_prod_a_removed_regions_own_protected_resources_go_and_no_one_elses(
    tmp_path: Path, lambda_archives: Any
) -> None:
    # Given three prod stacks, every stateful resource protected
    directory = write_stack_files(tmp_path, generated_configs(3, environment="prod"))
    workspace = SimulatedWorkspace(directory)
    deploy.up(read_stack_files(directory), workspace, build=lambda: None)

    # When the last one is removed
    remove_region(directory, "secondary-2", workspace, outputs_file=tmp_path / "d" / "o.json")

    # Then only its own protection was lifted, and it is gone
    assert workspace.unprotected == {"secondary-2"}
    assert set(workspace.state) == {"primary", "secondary-1"}

"""`ops up` and `ops destroy` drive Pulumi in the order the stack files give.

The Automation API needs the Pulumi CLI, which is not on this machine, so these run against a
workspace that records what it is asked to do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops import deploy
from ops.diff import Change
from ops.failover import topology_from_outputs
from ops.simulate import DeploymentResult
from ops.stackfiles import DeploymentError, read_stack_files
from tests.support.deployments import PROJECT_DIR, generated_configs, write_stack_files
from tests.support.plan import TABLE


class RecordingWorkspace:
    """Remembers every call instead of running Pulumi; stacks exist once deployed."""

    def __init__(self, existing: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []
        self.existing = set(existing)

    def exists(self, stack: str) -> bool:
        return stack.rsplit("/", 1)[-1] in self.existing

    def preview(self, stack: str, *, skip_replicas: tuple[str, ...]) -> list[Change]:
        return []

    def up(self, stack: str, *, skip_replicas: tuple[str, ...]) -> None:
        self.calls.append(("up", stack, skip_replicas))
        self.existing.add(stack)

    def destroy(self, stack: str) -> None:
        self.calls.append(("destroy", stack, ()))


def test_up_builds_first_then_deploys_primary_secondaries_and_converges() -> None:
    # Given the example stacks and a workspace that records
    workspace = RecordingWorkspace()
    built: list[str] = []

    # When everything is deployed
    deploy.up(read_stack_files(PROJECT_DIR), workspace, build=lambda: built.append("build"))

    # Then the archives were built, and the primary ran first without replicas, last with them
    assert built == ["build"]
    assert workspace.calls == [
        ("up", "primary", ("secondary", "secondary-ap")),
        ("up", "secondary", ()),
        ("up", "secondary-ap", ()),
        ("up", "primary", ()),
    ]


def test_a_redeploy_keeps_replication_on_the_primary_first_pass() -> None:
    # Given every stack deployed before
    workspace = RecordingWorkspace(existing=("primary", "secondary", "secondary-ap"))

    # When everything is deployed again
    deploy.up(read_stack_files(PROJECT_DIR), workspace, build=lambda: None)

    # Then each stack runs once and no pass drops the replication configuration
    assert workspace.calls == [
        ("up", "primary", ()),
        ("up", "secondary", ()),
        ("up", "secondary-ap", ()),
    ]


def test_a_new_replica_stack_is_the_only_one_the_first_pass_leaves_out() -> None:
    # Given a deployment where secondary-ap is being added
    workspace = RecordingWorkspace(existing=("primary", "secondary"))

    deploy.up(read_stack_files(PROJECT_DIR), workspace, build=lambda: None)

    # Then the home stack's first pass leaves out only the stack that does not exist yet, so
    # secondary keeps its replication throughout, and the converge pass adds secondary-ap
    assert workspace.calls[0] == ("up", "primary", ("secondary-ap",))
    assert workspace.calls[-1] == ("up", "primary", ())


def test_destroy_runs_in_reverse_with_the_primary_last() -> None:
    workspace = RecordingWorkspace()

    deploy.destroy(read_stack_files(PROJECT_DIR), workspace)

    assert [stack for _, stack, _ in workspace.calls] == ["secondary-ap", "secondary", "primary"]


def test_a_primary_without_replicas_is_deployed_once(tmp_path: Path) -> None:
    # A home stack alone: every member must be a replica stack, so only one region has none
    configs = generated_configs(1)
    workspace = RecordingWorkspace()

    deploy.up(read_stack_files(write_stack_files(tmp_path, configs)), workspace, build=lambda: None)

    assert workspace.calls == [("up", "primary", ())]


def test_the_outputs_file_holds_what_a_failover_needs_from_every_stack(
    tmp_path: Path, example_deployment: DeploymentResult
) -> None:
    # Given the outputs of every deployed stack (here, the simulated ones)
    stacks = read_stack_files(PROJECT_DIR)
    path = tmp_path / "outputs.json"

    # When they are saved, as `ops up` does after deploying
    deploy.save_outputs(stacks, lambda name: example_deployment.stacks[name].outputs, path)

    # Then the failover's topology can be read back from the file alone
    topology = topology_from_outputs(json.loads(path.read_text()))
    assert {t.region for t in topology.regions.values()} == {
        "us-east-1",
        "eu-west-1",
        "ap-southeast-2",
    }
    assert all(t.db_cluster_arn.startswith("arn:aws:rds:") for t in topology.regions.values())
    assert all(t.write_url.startswith("https://") for t in topology.regions.values())


def test_one_stack_can_be_deployed_alone_once_what_it_references_is_deployed() -> None:
    workspace = RecordingWorkspace(existing=("primary", "secondary", "secondary-ap"))

    deploy.up(read_stack_files(PROJECT_DIR), workspace, build=lambda: None, only=["secondary"])

    assert workspace.calls == [("up", "secondary", ())]


def test_one_stack_is_refused_while_a_stack_it_references_is_not_deployed() -> None:
    workspace = RecordingWorkspace(existing=("secondary",))

    with pytest.raises(
        DeploymentError, match="secondary references primary, which is not deployed"
    ):
        deploy.up(read_stack_files(PROJECT_DIR), workspace, build=lambda: None, only=["secondary"])
    assert workspace.calls == []


class RefusingWorkspace(RecordingWorkspace):
    """Its previews say the primary's table would be replaced."""

    def preview(self, stack: str, *, skip_replicas: tuple[str, ...]) -> list[Change]:
        if stack != "primary":
            return []
        return [Change("urn:table", TABLE, "replace", ("hashKey",))]


def test_a_pass_that_would_lose_data_is_not_applied_and_nothing_after_it_runs() -> None:
    workspace = RefusingWorkspace()

    with pytest.raises(deploy.DataLossRefused, match="urn:table"):
        deploy.up(read_stack_files(PROJECT_DIR), workspace, build=lambda: None)
    assert workspace.calls == []


def test_ops_up_records_what_it_applied_and_ops_diff_then_shows_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ops.__main__ import main
    from tests.support.lifecycle import SimulatedWorkspace

    # Given two stacks and a backend made of simulated stacks
    directory = write_stack_files(tmp_path / "stacks", generated_configs(2))
    monkeypatch.setattr(deploy, "AutomationWorkspace", lambda d, org: SimulatedWorkspace(d))
    outputs = tmp_path / "deployment" / "outputs.json"

    # When `ops up` deploys them
    assert main(["--dir", str(directory), "up", "--yes", "--outputs", str(outputs)]) == 0

    # Then every stack's outputs and the resources of its last pass are saved
    assert set(json.loads(outputs.read_text())) == {"primary", "secondary-1"}
    plan = json.loads((outputs.parent / "plan.json").read_text())
    assert {name: entry["pass"] for name, entry in plan.items()} == {
        "primary": "primary (converge)",
        "secondary-1": "secondary-1",
    }
    # And `ops diff` of the unchanged stack files changes nothing in any pass
    capsys.readouterr()
    assert main(["--dir", str(directory), "diff", "--json", "--outputs", str(outputs)]) == 0
    passes = json.loads(capsys.readouterr().out)
    assert [p["pass"] for p in passes] == ["primary", "secondary-1"]
    assert all(not p["changes"] for p in passes)

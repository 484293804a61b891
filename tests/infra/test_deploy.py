"""`ops up` and `ops destroy` drive Pulumi in the order the stack files give.

The Automation API needs the Pulumi CLI, which is not on this machine, so these run against a
workspace that records what it is asked to do.
"""

from __future__ import annotations

from pathlib import Path

from ops import deploy
from ops.stackfiles import read_stack_files
from tests.support.deployments import PROJECT_DIR, generated_configs, write_stack_files


class RecordingWorkspace:
    """Remembers every call instead of running Pulumi."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool]] = []

    def up(self, stack: str, *, skip_replicas: bool) -> None:
        self.calls.append(("up", stack, skip_replicas))

    def destroy(self, stack: str) -> None:
        self.calls.append(("destroy", stack, False))


def test_up_builds_first_then_deploys_primary_secondaries_and_converges() -> None:
    # Given the example stacks and a workspace that records
    workspace = RecordingWorkspace()
    built: list[str] = []

    # When everything is deployed
    deploy.up(read_stack_files(PROJECT_DIR), workspace, build=lambda: built.append("build"))

    # Then the archives were built, and the primary ran first without replicas, last with them
    assert built == ["build"]
    assert workspace.calls == [
        ("up", "primary", True),
        ("up", "secondary", False),
        ("up", "secondary-ap", False),
        ("up", "primary", False),
    ]


def test_destroy_runs_in_reverse_with_the_primary_last() -> None:
    workspace = RecordingWorkspace()

    deploy.destroy(read_stack_files(PROJECT_DIR), workspace)

    assert [stack for _, stack, _ in workspace.calls] == ["secondary-ap", "secondary", "primary"]


def test_a_primary_without_replicas_is_deployed_once(tmp_path: Path) -> None:
    configs = generated_configs(2)
    del configs["primary"]["active-active:replicaStacks"]
    workspace = RecordingWorkspace()

    deploy.up(read_stack_files(write_stack_files(tmp_path, configs)), workspace, build=lambda: None)

    assert workspace.calls == [("up", "primary", False), ("up", "secondary-1", False)]

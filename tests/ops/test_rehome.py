"""`ops rehome`: ownership moves into a surviving stack's state; nothing in AWS is touched.

The lifecycle suite (test_lifecycle.py) rehomes with the lost stack's backend gone and then
deploys every surviving stack; these cover the calls and the stack files around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ops.rehome import GLOBAL_CLUSTER, Import, rehome
from ops.stackfiles import DeploymentError, deploy_order, read_stack_files
from tests.support.deployments import generated_configs, write_stack_files

TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/active-active-orders"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:active-active-db-AbCdEf"
OUTPUTS = {
    "primary": {"role": "home", "globalClusterId": "active-active-dev", "tableArn": TABLE_ARN,
                "dbSecretArn": SECRET_ARN},
    "secondary-1": {"role": "member"},
    "secondary-2": {"role": "member"},
}  # fmt: skip


class RecordingWorkspace:
    """Remembers the state operations; the lost stack's backend answers or not."""

    def __init__(self, reachable: bool) -> None:
        self.reachable = reachable
        self.calls: list[tuple[Any, ...]] = []

    def exists(self, stack: str) -> bool:
        return self.reachable

    def import_resources(self, stack: str, resources: Sequence[Import], *, protect: bool) -> None:
        self.calls.append(("import", stack, tuple(resources), protect))

    def state_delete(self, stack: str, urn: str) -> None:
        self.calls.append(("state delete", stack, urn))

    def state_move(self, source: str, dest: str, urns: Sequence[str]) -> None:
        self.calls.append(("state move", source, dest, tuple(urns)))


def deployment(tmp_path: Path, **extra: Any) -> Path:
    return write_stack_files(tmp_path, generated_configs(3, **extra))


def test_the_global_cluster_is_imported_under_the_new_homes_data_layer(tmp_path: Path) -> None:
    directory = deployment(tmp_path)
    workspace = RecordingWorkspace(reachable=False)

    rehome(directory, "secondary-1", workspace, OUTPUTS, tmp_path / "d" / "outputs.json")

    assert workspace.calls == [
        (
            "import",
            "secondary-1",
            (
                Import(
                    GLOBAL_CLUSTER,
                    "secondary-1-global-db",
                    "active-active-dev",
                    "urn:pulumi:secondary-1::active-active::"
                    "active-active:components:GlobalData::secondary-1",
                ),
            ),
            False,
        )
    ]


def test_a_reachable_lost_backend_forgets_the_global_cluster_and_hands_over_the_entry(
    tmp_path: Path,
) -> None:
    # Given a home stack with a custom domain (so a CloudFront entry) whose backend answers
    domain = {"zoneId": "Z123", "apiHostname": "api.example.com", "publicHostname": "example.com"}
    directory = deployment(tmp_path, domain=domain)
    workspace = RecordingWorkspace(reachable=True)

    rehome(directory, "secondary-1", workspace, OUTPUTS, tmp_path / "d" / "outputs.json")

    # Then the entry moves whole, and the lost stack forgets the global cluster
    assert workspace.calls[1:] == [
        ("state move", "primary", "secondary-1",
         ("urn:pulumi:primary::active-active::active-active:components:GlobalEntry::primary-entry",)),
        ("state delete", "primary",
         "urn:pulumi:primary::active-active::active-active:components:GlobalData$"
         "aws:rds/globalCluster:GlobalCluster::primary-global-db"),
    ]  # fmt: skip


def test_the_stack_files_make_the_survivor_home_and_forget_the_lost_stack(tmp_path: Path) -> None:
    directory = deployment(tmp_path)

    rehome(directory, "secondary-1", RecordingWorkspace(False), OUTPUTS, tmp_path / "o.json")

    stacks = read_stack_files(directory)
    assert set(stacks) == {"secondary-1", "secondary-2"}
    home = stacks["secondary-1"].settings
    assert home.is_home and home.adopted is not None
    assert home.adopted.from_stack == "primary"
    assert home.adopted.table_arn == TABLE_ARN
    # This region's copy of the master secret, which it already read as a member
    assert home.adopted.master_secret_arn == SECRET_ARN.replace("us-east-1", "eu-west-1")
    assert home.replica_stacks == ("organization/active-active/secondary-2",)
    member = stacks["secondary-2"].settings
    assert member.home_stack == "organization/active-active/secondary-1"
    assert member.peer_stacks == ("organization/active-active/secondary-1",)


@pytest.mark.parametrize("to", ["primary", "nowhere"])
def test_only_a_surviving_member_can_take_over(tmp_path: Path, to: str) -> None:
    directory = deployment(tmp_path)
    workspace = RecordingWorkspace(False)

    with pytest.raises(DeploymentError, match="surviving member"):
        rehome(directory, to, workspace, OUTPUTS, tmp_path / "o.json")
    assert workspace.calls == []
    assert (directory / "Pulumi.primary.yaml").exists()


def test_rehoming_to_the_last_stack_hands_its_peerings_over_so_the_order_has_no_cycle(
    tmp_path: Path,
) -> None:
    # Given three stacks under another organization; secondary-2 peers with both others
    configs = generated_configs(3)
    for config in configs.values():
        for key, value in list(config.items()):
            if isinstance(value, str) and value.startswith("organization/"):
                config[key] = value.replace("organization/", "acme/")
            elif isinstance(value, list):
                config[key] = [v.replace("organization/", "acme/") for v in value]
    directory = write_stack_files(tmp_path, configs)

    # When secondary-2 takes over
    rehome(directory, "secondary-2", RecordingWorkspace(False), OUTPUTS, tmp_path / "o.json")

    # Then it deploys first, secondary-1 takes the peering over, and the organization stays
    stacks = read_stack_files(directory)
    settings = {n: f.settings for n, f in stacks.items()}
    order = [p.stack for p in deploy_order(settings, deployed=list(settings))]
    assert order == ["secondary-2", "secondary-1"]
    assert stacks["secondary-2"].settings.peer_stacks == ()
    member = stacks["secondary-1"].settings
    assert member.home_stack == "acme/active-active/secondary-2"
    assert member.peer_stacks == ("acme/active-active/secondary-2",)

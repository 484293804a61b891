"""Removing a region edits the stack files that name it, and nothing else in them."""

from __future__ import annotations

from pathlib import Path

import yaml

from ops.regions import drop_reference

HOME = """# The writer's home. Comments stay.
config:
  aws:region: us-east-1
  active-active:role: home
  active-active:vpcCidr: 10.10.0.0/16
  active-active:replicaStacks:
    - organization/active-active/secondary
    - organization/active-active/secondary-sa
  active-active:database:
    minCapacity: 0.5
"""


def config(path: Path) -> dict:
    return yaml.safe_load(path.read_text())["config"]


def test_the_removed_stack_leaves_the_list_and_everything_else_stays(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.primary.yaml"
    path.write_text(HOME)

    assert drop_reference(path, "replicaStacks", "secondary-sa")

    assert config(path)["active-active:replicaStacks"] == ["organization/active-active/secondary"]
    assert config(path)["active-active:database"] == {"minCapacity": 0.5}
    assert path.read_text().startswith("# The writer's home. Comments stay.\n")


def test_the_last_name_leaves_an_empty_list(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.primary.yaml"
    path.write_text(HOME)

    drop_reference(path, "replicaStacks", "secondary-sa")
    drop_reference(path, "replicaStacks", "secondary")

    assert config(path)["active-active:replicaStacks"] == []
    assert config(path)["active-active:database"] == {"minCapacity": 0.5}


def test_a_flow_style_list_is_edited_too(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.secondary-ap.yaml"
    path.write_text(
        "config:\n  active-active:peerStacks: [organization/active-active/primary, secondary-sa]\n"
    )

    assert drop_reference(path, "peerStacks", "secondary-sa")

    assert config(path)["active-active:peerStacks"] == ["organization/active-active/primary"]


def test_a_file_that_does_not_name_the_stack_is_left_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.primary.yaml"
    path.write_text(HOME)

    assert not drop_reference(path, "peerStacks", "secondary-sa")
    assert path.read_text() == HOME

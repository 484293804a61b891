"""The offline multi-stack plan: order, references, the JSON document and the CLI's errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ops.simulate import DeploymentResult
from ops.stackfiles import DeploymentError, deploy_order, read_stack_files
from tests.support.deployments import PROJECT_DIR, generated_configs, write_stack_files
from tests.support.plan import BUCKET_REPLICATION, STACK_REFERENCE
from tests.support.simulation import Simulate


def run_ops(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_examples_deploy_primary_first_then_secondaries_then_the_converge_pass(
    example_deployment: DeploymentResult,
) -> None:
    order = [(p.stack, p.converge) for p in example_deployment.order]

    assert order == [
        ("primary", False),
        ("secondary", False),
        ("secondary-ap", False),
        ("primary", True),
    ]


def test_the_primary_first_pass_skips_replicas_and_the_converge_pass_does_not(
    example_deployment: DeploymentResult,
) -> None:
    first, *_, converge = example_deployment.order

    assert first.skip_replicas == ("secondary", "secondary-ap")
    assert not converge.skip_replicas


def test_the_json_plan_has_every_pass_in_order_the_home_first_pass_included(
    example_deployment: DeploymentResult,
) -> None:
    # Given the plan of a fresh deployment
    document = example_deployment.to_json()

    # Then each pass is there with what it registers
    passes = document["passes"]
    assert [(p["stack"], p["converge"]) for p in passes] == [
        ("primary", False),
        ("secondary", False),
        ("secondary-ap", False),
        ("primary", True),
    ]
    first, converge = passes[0], passes[-1]
    assert first["skipReplicas"] == ["secondary", "secondary-ap"]
    assert not any(r["type"] == BUCKET_REPLICATION for r in first["resources"])
    assert any(r["type"] == BUCKET_REPLICATION for r in converge["resources"])


def test_a_secondary_that_peers_with_a_later_stack_waits_for_it(tmp_path: Path) -> None:
    # Given secondary-1 that peers with secondary-2, which only peers with the primary
    configs = generated_configs(3)
    configs["secondary-1"]["active-active:peerStacks"] = [
        "organization/active-active/primary",
        "organization/active-active/secondary-2",
    ]
    configs["secondary-2"]["active-active:peerStacks"] = ["organization/active-active/primary"]
    stacks = read_stack_files(write_stack_files(tmp_path, configs))

    # When the order is derived
    order = [p.stack for p in deploy_order({n: f.settings for n, f in stacks.items()})]

    # Then the stack it peers with comes first
    assert order == ["primary", "secondary-2", "secondary-1", "primary"]


def test_a_peering_cycle_is_a_clear_error(tmp_path: Path) -> None:
    configs = generated_configs(3)
    configs["secondary-1"]["active-active:peerStacks"] = ["organization/active-active/secondary-2"]
    stacks = read_stack_files(write_stack_files(tmp_path, configs))

    with pytest.raises(DeploymentError, match="cycle"):
        deploy_order({n: f.settings for n, f in stacks.items()})


def test_each_stack_reads_the_outputs_of_the_stacks_before_it(
    example_deployment: DeploymentResult,
) -> None:
    # Given secondary-ap, which references the primary and secondary
    stack = example_deployment.stacks["secondary-ap"]
    refs = {r.name: r for r in stack.of_type(STACK_REFERENCE)}

    # Then its references resolved to exactly those stacks' simulated outputs
    assert set(refs) == {
        "organization/active-active/primary",
        "organization/active-active/secondary",
    }
    for name, ref in refs.items():
        assert ref.outputs["outputs"] == example_deployment.stacks[name.rsplit("/", 1)[-1]].outputs


def test_every_stack_exports_the_same_shape(example_deployment: DeploymentResult) -> None:
    shapes = {name: set(s.outputs) for name, s in example_deployment.stacks.items()}

    assert len({frozenset(s) for s in shapes.values()}) == 1
    assert {"region", "role", "vpcCidr"} <= shapes["primary"]


def test_plan_json_has_the_documented_fields() -> None:
    # When the plan is printed as JSON
    done = run_ops("plan", "--json")

    # Then it parses and carries the order and every stack's resources with their options
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["order"] == ["primary", "secondary", "secondary-ap", "primary"]
    assert set(document["stacks"]) == {"primary", "secondary", "secondary-ap"}
    for stack in document["stacks"].values():
        assert {"region", "role", "outputs", "resources"} <= set(stack)
        for resource in stack["resources"]:
            assert set(resource) == {
                "urn",
                "type",
                "name",
                "parent",
                "region",
                "inputs",
                "dependsOn",
                "ignoreChanges",
                "protect",
                "aliases",
            }


def test_plan_prints_the_order_and_a_tree_per_stack() -> None:
    done = run_ops("plan")

    assert done.returncode == 0, done.stderr
    assert (
        "1. primary (without secondary, secondary-ap, not deployed yet)\n  2. secondary\n"
        "  3. secondary-ap\n  4. primary (converge)"
    ) in done.stdout
    for name in ("primary", "secondary", "secondary-ap"):
        assert f"Stack {name} (" in done.stdout


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"secondary": {"active-active:vpcCidr": "10.10.0.0/16"}}, "vpcCidr"),
        ({"secondary": {"active-active:homeStack": None}}, "homeStack"),
        (
            {"secondary": {"active-active:peerStacks": ["organization/active-active/ghost"]}},
            "peerStacks",
        ),
    ],
)
def test_bad_stack_files_make_the_plan_exit_non_zero_naming_the_key(
    tmp_path: Path, change: dict[str, dict[str, object]], key: str
) -> None:
    # Given stack files where one stack breaks a rule
    configs = generated_configs(2)
    configs["secondary"] = configs.pop("secondary-1")
    configs["primary"]["active-active:replicaStacks"] = ["organization/active-active/secondary"]
    for stack, values in change.items():
        for k, v in values.items():
            if v is None:
                configs[stack].pop(k)
            else:
                configs[stack][k] = v
    write_stack_files(tmp_path, configs)

    # When the plan runs on them
    done = run_ops("--dir", str(tmp_path), "plan")

    # Then it fails with the stack file and the key named
    assert done.returncode != 0
    assert f"active-active:{key}" in done.stderr
    assert "Pulumi.secondary.yaml" in done.stderr


def test_a_reference_to_a_stack_with_no_file_fails_the_plan(tmp_path: Path) -> None:
    configs = generated_configs(2)
    configs["secondary-1"]["active-active:homeStack"] = "organization/active-active/main"
    write_stack_files(tmp_path, configs)

    done = run_ops("--dir", str(tmp_path), "plan")

    assert done.returncode != 0
    assert "Pulumi.main.yaml" in done.stderr


def test_a_generated_ten_region_deployment_plans(simulate: Simulate) -> None:
    result = simulate(generated_configs(10))

    assert len(result.stacks) == 10
    assert result.order[-1].converge


def test_two_plans_of_the_same_tree_are_byte_identical() -> None:
    # Given an unchanged tree, when the plan is printed twice
    first, second = run_ops("plan", "--json"), run_ops("plan", "--json")

    # Then the documents can be diffed: the same bytes, whatever order the SDK worked in
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


def test_plan_refuses_stack_files_that_move_ownership_of_a_deployed_home(tmp_path: Path) -> None:
    # Given a deployment whose home stack is primary, and stack files swapped afterwards
    configs = generated_configs(2)
    primary, member = configs["primary"], configs["secondary-1"]
    primary["active-active:role"], member["active-active:role"] = "member", "home"
    primary["active-active:homeStack"] = "organization/active-active/secondary-1"
    member["active-active:replicaStacks"] = ["organization/active-active/primary"]
    del primary["active-active:replicaStacks"], member["active-active:homeStack"]
    write_stack_files(tmp_path / "stacks", configs)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"primary": {"role": "home"}, "secondary-1": {"role": "member"}}))

    # When the plan is asked for
    done = run_ops("--dir", str(tmp_path / "stacks"), "plan", "--outputs", str(outputs))

    # Then it stops, naming the home stack and the command to use instead
    assert done.returncode == 2
    assert "Pulumi.primary.yaml" in done.stderr
    assert "ops failover" in done.stderr
    assert "Traceback" not in done.stderr

"""`ops diff`: what an `ops up` would change, pass by pass, against what is deployed, offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ops.simulate import DeploymentResult
from tests.support.deployments import PROJECT_DIR
from tests.support.plan import TABLE


def ops_diff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", "diff", "--json", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def save_deployed(directory: Path, deployment: DeploymentResult) -> Path:
    """The files `ops up` writes after deploying ``deployment``; returns the outputs file."""
    outputs = directory / "outputs.json"
    outputs.write_text(json.dumps({n: s.outputs for n, s in deployment.stacks.items()}))
    plan = {
        name: {"pass": name, "resources": [r.to_json() for r in stack.resources]}
        for name, stack in deployment.stacks.items()
    }
    (directory / "plan.json").write_text(json.dumps(plan))
    return outputs


def summaries(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, int]]:
    return {p["pass"]: p["summary"] for p in json.loads(done.stdout)}


def test_an_unchanged_working_tree_changes_nothing_in_any_pass(
    tmp_path: Path, example_deployment: DeploymentResult
) -> None:
    # Given the example stacks deployed as they are
    outputs = save_deployed(tmp_path, example_deployment)

    # When the working tree is compared with them
    done = ops_diff("--outputs", str(outputs))

    # Then every stack runs once (all replica stacks exist: no converge) and changes nothing
    assert done.returncode == 0, done.stderr
    nothing = {"create": 0, "update": 0, "replace": 0, "delete": 0}
    assert summaries(done) == {name: nothing for name in ("primary", "secondary", "secondary-ap")}


def test_a_stateful_replacement_is_flagged_and_exits_3(
    tmp_path: Path, example_deployment: DeploymentResult
) -> None:
    # Given a deployed orders table whose key differs from the program's
    outputs = save_deployed(tmp_path, example_deployment)
    plan = json.loads((tmp_path / "plan.json").read_text())
    (table,) = [
        r
        for r in plan["primary"]["resources"]
        if r["type"] == TABLE and r["name"].endswith("orders-table")
    ]
    table["inputs"]["hashKey"] = "old"
    (tmp_path / "plan.json").write_text(json.dumps(plan))

    # When compared
    done = ops_diff("--outputs", str(outputs))

    # Then the table is replaced, marked stateful, and the command says so by its exit code
    assert done.returncode == 3, done.stderr
    changes: list[dict[str, Any]] = [c for p in json.loads(done.stdout) for c in p["changes"]]
    assert changes == [
        {
            "urn": table["urn"],
            "type": TABLE,
            "op": "replace",
            "inputs": ["hashKey"],
            "stateful": True,
        }
    ]


def test_against_the_committed_revision_the_working_tree_changes_nothing() -> None:
    # Given HEAD, whose stack files and program this working tree holds (CI's clean clone)
    # When compared with the plan of HEAD, every stack of which counts as deployed
    done = ops_diff("--against", "HEAD")

    # Then nothing changes, unless the working tree itself was edited
    assert done.returncode == 0, done.stderr
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "components", "functions", "Pulumi.*.yaml"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if not dirty:
        assert all(not p["changes"] for p in json.loads(done.stdout))


def test_an_unknown_revision_is_a_clear_error() -> None:
    done = ops_diff("--against", "no-such-revision")

    assert done.returncode == 2
    assert "no-such-revision" in done.stderr
    assert "Traceback" not in done.stderr

"""`python -m ops` as an operator meets it: previews, confirmations, one-line failures.

The Pulumi CLI is not on this machine: the commands run in process against a backend made of
simulated stacks (tests/support/lifecycle.py) where a command needs one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ops import deploy
from ops.__main__ import main, parser
from ops.deploy import changes_from_events, drift_from_events
from tests.support.deployments import PROJECT_DIR, generated_configs, write_stack_files
from tests.support.lifecycle import SimulatedWorkspace


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Two stack files, a simulated backend shared by every command, and a tty answer."""
    directory = write_stack_files(tmp_path / "stacks", generated_configs(2))
    workspace = SimulatedWorkspace(directory)
    monkeypatch.setattr(deploy, "AutomationWorkspace", lambda d, org: workspace)
    answers: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt="": answers.pop(0))
    outputs = tmp_path / "deployment" / "outputs.json"
    return SimpleNamespace(dir=directory, workspace=workspace, answers=answers, outputs=outputs)


def ops(backend: SimpleNamespace, *args: str) -> int:
    return main(
        ["--dir", str(backend.dir), *args[:1], "--outputs", str(backend.outputs), *args[1:]]
    )


def test_preview_before_anything_is_deployed_comes_from_the_offline_plan(
    backend: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ops(backend, "preview", "--json") == 0

    passes = json.loads(capsys.readouterr().out)
    assert [p["pass"] for p in passes] == [
        "primary (without secondary-1, not deployed yet)",
        "secondary-1",
        "primary (converge)",
    ]
    # Nothing exists, so Pulumi cannot preview any pass: each says why it is offline
    assert all(p["offline"] and "not deployed yet" in p["offline"] for p in passes)
    assert all(c["op"] == "create" for c in passes[0]["changes"])
    assert not any(c["op"] == "delete" for p in passes for c in p["changes"])
    # And previewing deployed nothing
    assert backend.workspace.state == {}


def test_preview_of_a_deployed_deployment_asks_pulumi_and_changes_nothing(
    backend: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ops(backend, "up", "--yes") == 0
    capsys.readouterr()

    assert ops(backend, "preview", "--json") == 0

    passes = json.loads(capsys.readouterr().out)
    assert [(p["pass"], p["offline"], p["changes"]) for p in passes] == [
        ("primary", None, []),
        ("secondary-1", None, []),
    ]


def test_up_asks_before_each_pass_and_a_no_stops_before_it(backend: SimpleNamespace) -> None:
    # Given an operator who agrees to the first pass and refuses the second
    backend.answers += ["y", "n"]

    # When everything is deployed / Then it stops before the second pass, saying so
    assert ops(backend, "up") == 2
    assert [c[1] for c in backend.workspace.calls] == ["primary"]


def test_up_without_a_terminal_and_without_yes_refuses_before_anything(
    backend: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)

    assert ops(backend, "up") == 2

    assert "--yes" in capsys.readouterr().err
    assert backend.workspace.calls == []


def test_destroy_with_yes_needs_the_stacks_named(
    backend: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ops(backend, "up", "--yes") == 0

    assert ops(backend, "destroy", "--yes") == 2
    assert "--stack" in capsys.readouterr().err
    assert set(backend.workspace.state) == {"primary", "secondary-1"}


def test_destroy_refuses_a_stack_that_another_still_references(
    backend: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ops(backend, "up", "--yes") == 0

    assert ops(backend, "destroy", "--yes", "--stack", "primary") == 2
    assert "referenced by secondary-1" in capsys.readouterr().err
    assert set(backend.workspace.state) == {"primary", "secondary-1"}


def test_destroy_takes_the_typed_names_in_reverse_order_and_forgets_them(
    backend: SimpleNamespace,
) -> None:
    assert ops(backend, "up", "--yes") == 0
    backend.answers.append("primary secondary-1")

    assert ops(backend, "destroy") == 0

    assert [c[1] for c in backend.workspace.calls if c[0] == "destroy"] == [
        "secondary-1",
        "primary",
    ]
    assert json.loads(backend.outputs.read_text()) == {}


def test_remove_region_dry_run_shows_the_removed_stack_destroyed_and_changes_nothing(
    backend: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ops(backend, "up", "--yes") == 0
    files = {p.name: p.read_text() for p in backend.dir.glob("Pulumi.*.yaml")}
    capsys.readouterr()

    assert ops(backend, "remove-region", "secondary-1", "--dry-run") == 0

    shown = capsys.readouterr().out
    assert "secondary-1 (destroy)" in shown
    assert {p.name: p.read_text() for p in backend.dir.glob("Pulumi.*.yaml")} == files
    assert set(backend.workspace.state) == {"primary", "secondary-1"}


def event(op: str, urn: str, diffs: list[str] | None = None) -> Any:
    meta = SimpleNamespace(op=SimpleNamespace(value=op), urn=urn, type="aws:t:T", diffs=diffs,
                           detailed_diff=None)  # fmt: skip
    return SimpleNamespace(resource_pre_event=SimpleNamespace(metadata=meta))


def test_a_preview_replacement_counts_once_as_a_replace() -> None:
    events = [
        event("create-replacement", "u1", ["name"]),
        event("replace", "u1", ["name"]),
        event("delete-replaced", "u1"),
        event("same", "u2"),
        event("update", "u3", ["tags"]),
        SimpleNamespace(resource_pre_event=None),
    ]

    assert [(c.urn, c.op) for c in changes_from_events(events)] == [
        ("u1", "replace"),
        ("u3", "update"),
    ]


def test_drift_names_what_changed_or_went_outside_pulumi() -> None:
    events = [event("refresh", "u1", ["tags"]), event("refresh", "u2", []), event("delete", "u3")]

    assert [(c.urn, c.op, c.inputs) for c in drift_from_events(events)] == [
        ("u1", "update", ("tags",)),
        ("u3", "delete", ()),
    ]


@pytest.mark.parametrize("command", ["up --yes", "preview", "destroy --yes --stack primary --stack secondary --stack secondary-ap",
                                     "outputs", "drift", "rehome --to secondary --yes"])  # fmt: skip
def test_without_the_pulumi_cli_each_command_says_so_in_one_line(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ops", *command.split()],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
        check=False,
    )

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Pulumi CLI" in done.stderr or "missing" in done.stderr


def test_every_command_says_what_it_is_for_in_its_help() -> None:
    sub = next(a for a in parser()._actions if a.dest == "command")
    for name, command in sub.choices.items():  # type: ignore[attr-defined]
        assert command.description and len(command.description) > 60, name


def test_failover_commands_need_only_the_outputs_file_not_the_stack_files(
    tmp_path: Path, example_deployment: Any
) -> None:
    # Given a half-edited stack file, and the outputs `ops up` saved
    (tmp_path / "Pulumi.primary.yaml").write_text("config:\n  active-active:role: [\n")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({n: s.outputs for n, s in example_deployment.stacks.items()}))

    # When an operator closes writes, with no AWS credentials on this machine
    done = subprocess.run(
        [sys.executable, "-m", "ops", "--dir", str(tmp_path), "read-only", "--via", "secondary",
         "--outputs", str(outputs)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true"},
    )  # fmt: skip

    # Then the stack file was never read: it got as far as AWS, and says what is missing
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: no AWS credentials: set AWS_PROFILE or the AWS_* variables (check with "
        "`aws sts get-caller-identity`) and run again"
    )


def test_every_preview_and_up_runs_the_policy_pack_with_the_stacks_own_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the real workspace (its Pulumi CLI check satisfied)
    monkeypatch.setattr(deploy.shutil, "which", lambda name: "/usr/bin/pulumi")
    workspace = deploy.AutomationWorkspace(PROJECT_DIR, "organization")

    # When the policy arguments of a pass are made
    policy = workspace._policy("secondary")

    # Then the pack is the project's, and its config says the stack's environment and engine
    assert policy["policy_packs"] == [str(PROJECT_DIR / "policy")]
    (config_file,) = policy["policy_pack_configs"]
    config = json.loads(Path(config_file).read_text())
    assert config["protected-in-prod"] == {"environment": "dev", "engineVersion": "16.6"}

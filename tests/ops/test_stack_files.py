"""Stack files as a new user writes them: every mistake is refused before anything runs, with
the file, the line where known and the key, and never a traceback."""

from __future__ import annotations

import contextvars
import shutil
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest

from components.settings import (
    ConfigError,
    ConfigRunError,
    Settings,
    load_settings,
    read_stack_file,
)
from ops.__main__ import main
from ops.stackfiles import deploy_order, read_stack_files
from tests.support.deployments import PROJECT_DIR, generated_configs, write_stack_files

DOMAIN = """  active-active:domain:
    zoneId: {zone}
    apiHostname: {api}
    publicHostname: shop.example.com
"""


def examples(tmp_path: Path) -> Path:
    """A copy of the project's three example stack files."""
    directory = tmp_path / "stacks"
    directory.mkdir()
    for path in PROJECT_DIR.glob("Pulumi*.yaml"):
        shutil.copy(path, directory / path.name)
    return directory


def edit(directory: Path, stack: str, old: str, new: str) -> None:
    """Replace text in one stack file, as a user would in an editor."""
    path = directory / f"Pulumi.{stack}.yaml"
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def add_domain(zone: str, api: str) -> Callable[[Path], None]:
    def change(directory: Path) -> None:
        for path in directory.glob("Pulumi.*.yaml"):
            path.write_text(path.read_text() + DOMAIN.format(zone=zone, api=api))

    return change


def ops_order(directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`python -m ops order` on ``directory``: its exit code and what it wrote to stderr."""
    code = main(["--dir", str(directory), "order", "--outputs", str(directory / "none.json")])
    return code, capsys.readouterr().err


# The mistakes of issue 14, tried as a new user would: what to change, then the file, the key
# and words the message must have.
MISTAKES = {
    "a namespace typo": (
        lambda d: edit(d, "secondary", "config:\n", "config:\n  active_active:writeMode: async\n"),
        "Pulumi.secondary.yaml:3: active_active:writeMode:",
        "did you mean active-active:writeMode?",
    ),
    "a region that does not exist": (
        lambda d: edit(d, "secondary", "eu-west-1", "eu-west1"),
        "Pulumi.secondary.yaml:3: aws:region:",
        "did you mean eu-west-1?",
    ),
    "aws:regoin": (
        lambda d: edit(d, "secondary", "aws:region", "aws:regoin"),
        "Pulumi.secondary.yaml:3: aws:regoin:",
        "did you mean aws:region?",
    ),
    "a YAML syntax error": (
        lambda d: edit(d, "secondary", "  active-active:role", " active-active:role"),
        "Pulumi.secondary.yaml:4: not valid YAML",
        "indented differently",
    ),
    "engineVersion: 16.10 unquoted": (
        lambda d: edit(d, "primary", 'engineVersion: "16.6"', "engineVersion: 16.10"),
        "Pulumi.primary.yaml:15: active-active:database.engineVersion:",
        'YAML reads 16.10 as the number 16.1: write it in quotes, "16.10"',
    ),
    "engineVersion: sixteen": (
        lambda d: edit(d, "primary", 'engineVersion: "16.6"', 'engineVersion: "sixteen"'),
        "Pulumi.primary.yaml:15: active-active:database.engineVersion:",
        "is not an Aurora PostgreSQL version",
    ),
    "a zone name for domain.zoneId": (
        add_domain("example.com", "api.shop.example.com"),
        "Pulumi.primary.yaml:17: active-active:domain.zoneId:",
        "is the zone's name; write its id",
    ),
    "a URL for domain.apiHostname": (
        add_domain("Z0123456789ABCDEFGHIJ", "https://api.shop.example.com/"),
        "Pulumi.primary.yaml:18: active-active:domain.apiHostname:",
        "write the host name alone: api.shop.example.com",
    ),
    "homeStack naming a member": (
        lambda d: edit(
            d, "secondary-ap", "homeStack: organization/active-active/primary",
            "homeStack: organization/active-active/secondary",
        ),
        "Pulumi.secondary-ap.yaml:8: active-active:homeStack:",
        "a member stack; name the home stack, organization/active-active/primary",
    ),
    "two stacks in one region": (
        lambda d: edit(d, "secondary-ap", "ap-southeast-2", "eu-west-1"),
        "Pulumi.secondary-ap.yaml:3: aws:region:",
        "is the region of stack secondary already: one stack per region",
    ),
    "a member missing from replicaStacks": (
        lambda d: edit(d, "primary", "    - organization/active-active/secondary-ap\n", ""),
        "Pulumi.primary.yaml:9: active-active:replicaStacks:",
        "does not name secondary-ap",
    ),
}  # fmt: skip


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_of_the_issue_is_refused_naming_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mistake: str
) -> None:
    # Given the example stack files with one mistake a new user makes
    change, where, says = MISTAKES[mistake]
    directory = examples(tmp_path)
    change(directory)

    # When the deploy order is asked for
    code, stderr = ops_order(directory, capsys)

    # Then it stops with one line naming the file, the line and the key, and what is right
    assert code == 2
    assert where in stderr
    assert says in stderr
    assert "Traceback" not in stderr


def test_mistakes_in_several_files_are_listed_together(tmp_path: Path) -> None:
    # Given two stack files, each with its own mistake
    directory = examples(tmp_path)
    edit(directory, "secondary", "10.20.0.0/16", "10.20.0.0/33")
    edit(directory, "secondary-ap", "natGateways: single", "natGateways: many")

    # When they are read
    with pytest.raises(ConfigError) as caught:
        read_stack_files(directory)

    # Then one error lists both, each with its file, line and key
    message = str(caught.value)
    assert "Pulumi.secondary.yaml:6: active-active:vpcCidr:" in message
    assert (
        "Pulumi.secondary-ap.yaml:7: active-active:natGateways: 'many' is not single or perAz"
        in (message)
    )


def test_a_key_written_twice_is_refused_as_pulumi_refuses_it(tmp_path: Path) -> None:
    # Given a stack file that sets natGateways twice (PyYAML alone would keep the last)
    directory = examples(tmp_path)
    edit(directory, "secondary", "  active-active:natGateways: single\n",
         "  active-active:natGateways: single\n  active-active:natGateways: perAz\n")  # fmt: skip

    # When it is read, Then both lines are named
    with pytest.raises(ConfigError, match=r"natGateways is written twice \(lines 7 and 8\)"):
        read_stack_file("secondary", directory / "Pulumi.secondary.yaml")


@pytest.mark.parametrize("word", ["yes", "on", "Yes"])
def test_yaml_11_booleans_are_strings_as_pulumi_reads_them_and_refused(
    tmp_path: Path, word: str
) -> None:
    # Given writeForwarding written with a word YAML 1.1 would read as true
    directory = examples(tmp_path)
    edit(directory, "secondary", "natGateways: single", f"writeForwarding: {word}")

    # When the files are read, Then it is refused rather than taken for true
    with pytest.raises(ConfigError) as caught:
        read_stack_files(directory)
    assert f"active-active:writeForwarding: must be true or false, not the string '{word}'" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "the file is empty"),
        ("confg:\n  aws:region: eu-west-1\n", "unknown top-level key 'confg'"),
        ("active-active:role: member\n", "indent it under config:"),
        ("config:\n  role: member\n", "has no namespace: write active-active:role"),
        ("config:\n\taws:region: eu-west-1\n", "indent with spaces, not tabs"),
        ("config: [aws:region]\n", "config: must be a mapping"),
    ],
)
def test_a_stack_file_of_the_wrong_shape_is_refused_saying_what_to_write(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "Pulumi.secondary.yaml"
    path.write_text(text)

    with pytest.raises(ConfigError) as caught:
        read_stack_file("secondary", path)

    assert str(caught.value).startswith("Pulumi.secondary.yaml")
    assert says in str(caught.value)


def test_a_region_half_removed_can_still_be_read_but_not_deployed(tmp_path: Path) -> None:
    # Given the state an interrupted `ops remove-region secondary-2` leaves: no stack names it,
    # its file is still there
    configs = generated_configs(3)
    configs["primary"]["active-active:replicaStacks"].remove(
        "organization/active-active/secondary-2"
    )
    stacks = read_stack_files(write_stack_files(tmp_path, configs))

    # When the deploy order is derived, Then the home stack's missing replica is named
    with pytest.raises(ConfigError) as caught:
        deploy_order({n: f.settings for n, f in stacks.items()})
    assert "Pulumi.primary.yaml" in str(caught.value)
    assert "active-active:replicaStacks: does not name secondary-2" in str(caught.value)
    assert "remove-region" in str(caught.value)


def test_two_stacks_that_nobody_peers_are_refused_naming_the_later_one(tmp_path: Path) -> None:
    # Given secondary-2 that forgot to peer with secondary-1, which does not name it either
    configs = generated_configs(3)
    configs["secondary-2"]["active-active:peerStacks"] = ["organization/active-active/primary"]
    stacks = read_stack_files(write_stack_files(tmp_path, configs))

    # When the order is derived
    with pytest.raises(ConfigError) as caught:
        deploy_order({n: f.settings for n, f in stacks.items()})

    # Then the later stack's peerStacks is named, with what to add
    assert "Pulumi.secondary-2.yaml" in str(caught.value)
    assert "active-active:peerStacks: does not name secondary-1" in str(caught.value)
    assert "add organization/active-active/secondary-1" in str(caught.value)


def test_every_reference_names_one_organization(tmp_path: Path) -> None:
    configs = generated_configs(2)
    configs["secondary-1"]["active-active:homeStack"] = "acme/active-active/primary"

    with pytest.raises(ConfigError) as caught:
        read_stack_files(write_stack_files(tmp_path, configs))

    assert "Pulumi.secondary-1.yaml" in str(caught.value)
    assert "active-active:homeStack: names organization 'acme'" in str(caught.value)


def run_program_settings(config: dict[str, str]) -> Settings:
    """``load_settings`` as the Pulumi program calls it, in a context of its own."""

    def run() -> Settings:
        pulumi.runtime.set_mocks(_NoMocks(), project="active-active", stack="primary")
        pulumi.runtime.set_all_config(config)
        return load_settings()

    return contextvars.copy_context().run(run)


HOME_CONFIG = {
    "aws:region": "us-east-1",
    "active-active:role": "home",
    "active-active:vpcCidr": "10.10.0.0/16",
    "active-active:replicaStacks": '["organization/active-active/secondary-1"]',
}


def test_the_program_stops_on_a_mistake_with_the_message_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack whose config, as the Pulumi runtime holds it, has a namespace typo
    monkeypatch.chdir(write_stack_files(tmp_path, generated_configs(2)))
    config = {**HOME_CONFIG, "active_active:writeMode": "async"}

    # When the program loads its settings, Then it stops with a RunError, which Pulumi shows
    # without a traceback, naming the file and the key
    with pytest.raises(ConfigRunError) as caught:
        run_program_settings(config)
    assert isinstance(caught.value, pulumi.RunError)
    assert "Pulumi.primary.yaml: active_active:writeMode: unknown namespace" in str(caught.value)


def test_the_program_reads_top_level_values_from_the_strings_pulumi_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the home stack's first pass, its replica not deployed yet, and config as strings
    monkeypatch.chdir(write_stack_files(tmp_path, generated_configs(2)))
    monkeypatch.setenv("ACTIVE_ACTIVE_MISSING_STACKS", "secondary-1")
    config = {**HOME_CONFIG, "active-active:availabilityZones": "3"}

    # When the program loads its settings
    settings = run_program_settings(config)

    # Then the number is a number, and the missing replica is left out
    assert settings.availability_zones == 3
    assert settings.replica_stacks == ()


class _NoMocks(pulumi.runtime.Mocks):
    """Mocks for a program that registers nothing."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        raise AssertionError("no resource expected")

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        raise AssertionError("no call expected")

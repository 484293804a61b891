"""Runs the program under the mocks: the only place that touches Pulumi's private runtime."""

from __future__ import annotations

import asyncio
import os
import runpy
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi

from components.settings import MISSING_STACKS_ENV, PROJECT
from ops.simulation.fake_aws import PlanMocks
from ops.simulation.monitor import RecordingMonitor
from ops.simulation.results import DeploymentResult, StackResult, unwrap_secrets
from ops.stackfiles import StackFile, deploy_order, pulumi_config

PROGRAM = Path(__file__).resolve().parent.parent.parent / "__main__.py"


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


@contextmanager
def _environment(name: str, value: str | None) -> Iterator[None]:
    previous = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _in_fresh_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a new thread: Pulumi keeps its state in context variables, which a new
    thread starts without, so each stack starts from a clean runtime."""
    result: dict[str, Any] = {}

    def target() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            result["value"] = fn()
        except BaseException as error:
            result["error"] = error
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    thread = threading.Thread(target=target, name="pulumi-simulation")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def simulate_stack(
    stack: StackFile,
    references: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    skip_replicas: tuple[str, ...] = (),
    program: Path = PROGRAM,
) -> StackResult:
    """Run the program for one stack under the mocks and return what it registered."""
    references = references or {}
    settings = stack.settings

    def run() -> StackResult:
        from pulumi.runtime.settings import SETTINGS
        from pulumi.runtime.stack import run_pulumi_func
        from pulumi.runtime.sync_await import _sync_await

        mocks = PlanMocks(settings, references)
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(
            mocks, project=PROJECT, stack=stack.name, preview=False, monitor=monitor
        )
        # The set of pending outputs defaults to one set shared by every context; a run that
        # failed would leave tasks of its closed event loop in it.
        SETTINGS.outputs = set()
        pulumi.runtime.set_all_config(pulumi_config(stack.config))

        def program_run() -> None:
            runpy.run_path(str(program), run_name="__main__")

        _sync_await(run_pulumi_func(program_run))
        root = pulumi.runtime.get_root_resource()
        exported = getattr(root, "outputs", {})
        outputs = _sync_await(pulumi.Output.from_input(exported).future()) or {}
        return StackResult(
            stack=stack.name,
            region=settings.region,
            role=settings.role.value,
            outputs=unwrap_secrets(dict(outputs)),
            resources=sorted(monitor.records.values(), key=lambda r: r.urn),
        )

    if str(program.parent) not in sys.path:
        sys.path.insert(0, str(program.parent))
    with (
        _working_directory(stack.path.parent),
        _environment(MISSING_STACKS_ENV, ",".join(skip_replicas) or None),
    ):
        return _in_fresh_thread(run)


def simulate_deployment(
    stacks: Mapping[str, StackFile],
    program: Path = PROGRAM,
    deployed: Mapping[str, Mapping[str, Any]] | None = None,
) -> DeploymentResult:
    """Simulate every stack in deploy order, each reading the outputs of those before it.

    ``deployed`` are the saved outputs of the stacks that exist already (what `ops up` last
    wrote): their outputs feed references until the stack's own pass runs, and the home
    stack's first pass leaves out only the replica stacks that are not among them.
    """
    deployed = deployed or {}
    order = deploy_order({name: f.settings for name, f in stacks.items()}, deployed=deployed)
    result = DeploymentResult(order=order, deployed=tuple(sorted(deployed)))
    outputs: dict[str, dict[str, Any]] = {name: dict(out) for name, out in deployed.items()}
    for step in order:
        simulated = simulate_stack(
            stacks[step.stack], outputs, skip_replicas=step.skip_replicas, program=program
        )
        outputs[step.stack] = simulated.outputs
        result.stacks[step.stack] = simulated
        result.passes.append((step, simulated))
    return result

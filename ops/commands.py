"""What each `python -m ops` command does, once its arguments are parsed.

Commands that change a deployment ask before they do, unless `--yes`; without a terminal to
ask on and without `--yes` they refuse. Failover commands need only the saved outputs file,
never the stack files, so a half-edited stack file cannot block them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ops import deploy, deployed
from ops.build import build_archives
from ops.deploy import AutomationWorkspace, PassPreview
from ops.deployed import PLAN_FILE
from ops.diff import CREATE, DELETE, REPLACE, UPDATE, Change, deployment_changes, refused, render
from ops.plan import render_tree
from ops.simulate import DeploymentResult, simulate_deployment
from ops.stackfiles import DeploymentError, Pass, StackFile, deploy_order, read_stack_files


def plan_file(args: argparse.Namespace) -> Path:
    """The saved plan, next to the saved outputs."""
    return Path(args.outputs).parent / PLAN_FILE.name


def workspace(args: argparse.Namespace) -> AutomationWorkspace:
    """The Automation API workspace (fails with one line when the Pulumi CLI is missing)."""
    return deploy.AutomationWorkspace(args.dir, args.organization)


def save_deployed_outputs(
    ws: AutomationWorkspace, stacks: dict[str, StackFile], path: Path
) -> dict[str, dict[str, Any]]:
    """Save the outputs of the stacks that are deployed (a stack not deployed has none)."""
    existing = {name: f for name, f in stacks.items() if ws.exists(name)}
    return deploy.save_outputs(existing, ws.outputs, path)


def ask(args: argparse.Namespace, question: str, expected: str = "y") -> bool:
    """Whether the operator agrees: `--yes`, or ``expected`` typed at the terminal."""
    if getattr(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        raise DeploymentError("no terminal to ask on: run again with --yes")
    return input(question).strip().lower() == expected.lower()


def offline_plan(args: argparse.Namespace, stacks: dict[str, StackFile]) -> DeploymentResult:
    """The offline plan of the stack files against what is deployed (the saved outputs)."""
    # The program references the archives; the plan fails on a path that is missing.
    build_archives()
    outputs = deployed.load_outputs(args.outputs)
    deployed.check_ownership(stacks, outputs)
    return simulate_deployment(stacks, deployed=outputs)


# -- offline ------------------------------------------------------------------------------


def order(args: argparse.Namespace) -> int:
    """`ops order`."""
    stacks = read_stack_files(args.dir)
    steps = deploy_order(
        {n: f.settings for n, f in stacks.items()}, deployed=deployed.load_outputs(args.outputs)
    )
    print("\n".join(step.label for step in steps))
    return 0


def build(args: argparse.Namespace) -> int:
    """`ops build`."""
    for name, path in build_archives().items():
        print(f"{name}: {path} ({path.stat().st_size} bytes)")
    return 0


def plan(args: argparse.Namespace) -> int:
    """`ops plan`."""
    result = offline_plan(args, read_stack_files(args.dir))
    print(
        json.dumps(result.to_json(), indent=2, sort_keys=True) if args.json else render_tree(result)
    )
    return 0


def diff(args: argparse.Namespace) -> int:
    """`ops diff`: the plan of the working tree against what is deployed; 3 on data loss."""
    stacks = read_stack_files(args.dir)
    if args.against:
        build_archives()
        before = plan_at_revision(args.against, args.dir)
        # Every stack of that revision counts as deployed, with the outputs it planned.
        resources = {n: s["resources"] for n, s in before["stacks"].items()}
        outputs = {n: s["outputs"] for n, s in before["stacks"].items()}
        document = simulate_deployment(stacks, deployed=outputs).to_json()
    else:
        resources = deployed.load_resources(plan_file(args))
        document = offline_plan(args, stacks).to_json()
    diffs = deployment_changes(resources, document)
    if args.json:
        print(json.dumps([d.to_json() for d in diffs], indent=2, sort_keys=True))
    else:
        print(render(diffs))
    return 3 if refused(diffs) else 0


def plan_at_revision(revision: str, directory: Path) -> dict[str, Any]:
    """`ops plan --json` of another git revision, run from a temporary worktree."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        git = ["git", "-C", str(directory)]
        added = subprocess.run(
            [*git, "worktree", "add", "--detach", str(tree), revision],
            capture_output=True,
            text=True,
        )
        if added.returncode != 0:
            raise DeploymentError(f"git revision {revision}: {added.stderr.strip()}")
        try:
            ran = subprocess.run(
                [sys.executable, "-m", "ops", "plan", "--json"],
                cwd=tree,
                capture_output=True,
                text=True,
            )
            if ran.returncode != 0:
                raise DeploymentError(f"the plan of {revision} failed: {ran.stderr.strip()}")
            return dict(json.loads(ran.stdout))
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)


# -- against the Pulumi backend -----------------------------------------------------------


def summary(changes: list[Change]) -> str:
    """`2 to create, 1 to update, 0 to replace, 0 to delete`."""
    return ", ".join(
        f"{sum(1 for c in changes if c.op == op)} to {op}"
        for op in (CREATE, UPDATE, REPLACE, DELETE)
    )


def render_previews(previews: list[PassPreview], details: bool) -> str:
    """One line per pass, and with ``details`` its changes, stateful ones marked."""
    lines = []
    for i, p in enumerate(previews, 1):
        source = f"  [offline plan: {p.offline}]" if p.offline else ""
        lines.append(f"{i}. {p.step.label}: {summary(p.changes)}{source}")
        if details:
            lines += [
                f"   {c.op:>7} {c.urn}"
                + (f" ({', '.join(c.inputs)})" if c.inputs else "")
                + ("  [STATEFUL: data would be lost]" if c.loses_data else "")
                for c in p.changes
            ]
    return "\n".join(lines)


def preview(args: argparse.Namespace) -> int:
    """`ops preview`: `pulumi preview` of every pass; 3 when one would lose data."""
    stacks = read_stack_files(args.dir)
    result = offline_plan(args, stacks)
    offline = deployment_changes(deployed.load_resources(plan_file(args)), result.to_json())
    by_pass = {(d.stack, d.label.endswith("(converge)")): d.changes for d in offline}

    def from_plan(step: Pass) -> list[Change]:
        return by_pass.get((step.stack, step.converge), [])

    previews = deploy.preview(stacks, workspace(args), offline=from_plan)
    if args.json:
        document = [
            {
                "pass": p.step.label,
                "offline": p.offline,
                "changes": [c.to_json() for c in p.changes],
            }
            for p in previews
        ]
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        print(render_previews(previews, args.diff))
    losses = [c for p in previews for c in p.changes if c.loses_data]
    return 3 if losses else 0


def up(args: argparse.Namespace) -> int:
    """`ops up`: refuse offline what would lose data, then preview, ask and apply pass by
    pass, recording each applied pass and, at the end, every deployed stack's outputs."""
    if not args.yes and not sys.stdin.isatty():
        raise DeploymentError("no terminal to ask on: run again with --yes")
    stacks = read_stack_files(args.dir)
    result = offline_plan(args, stacks)
    resources = deployed.load_resources(plan_file(args))
    orphans = sorted(set(resources) - set(stacks))
    if orphans:
        raise DeploymentError(
            f"{', '.join(orphans)} deployed but without a stack file: `ops up` never destroys "
            "a stack. Restore the file, then `python -m ops remove-region STACK` to remove it"
        )
    only = set(args.stack) if args.stack else None
    blocked = [
        (label, c)
        for label, c in refused(
            deployment_changes(resources, result.to_json()), args.allow_data_loss
        )
        if only is None or label.split(" ")[0] in only
    ]
    if blocked:
        raise deploy.DataLossRefused(blocked)
    simulated = {(step.stack, step.converge): r for step, r in result.passes}

    def applied(step: Pass) -> None:
        pass_result = simulated.get((step.stack, step.converge)) or result.stacks[step.stack]
        entries = [r.to_json() for r in pass_result.resources]
        deployed.record_pass(step.stack, step.label, entries, plan_file(args))

    def confirm(step: Pass, changes: list[Change]) -> bool:
        print(f"{step.label}: {summary(changes)}")
        if not changes:
            return True
        for c in changes:
            print(f"   {c.op:>7} {c.urn}" + (f" ({', '.join(c.inputs)})" if c.inputs else ""))
        return ask(args, f"Apply {step.label}? [y/N] ")

    ws = workspace(args)
    deploy.up(
        stacks,
        ws,
        build=lambda: None,
        allow_data_loss=args.allow_data_loss,
        only=only,
        applied=applied,
        confirm=confirm,
    )
    save_deployed_outputs(ws, stacks, args.outputs)
    print(f"deployed; outputs saved to {args.outputs}: copy it out of the home region")
    return 0


def destroy(args: argparse.Namespace) -> int:
    """`ops destroy`: the stacks typed at the prompt, or `--yes --stack NAME...`."""
    stacks = read_stack_files(args.dir)
    order = [
        s for s in deploy.destroy_order(deploy_order({n: f.settings for n, f in stacks.items()}))
    ]
    if args.yes:
        if not args.stack:
            raise DeploymentError("--yes needs every stack to destroy named: --stack NAME ...")
        named = set(args.stack)
    else:
        if not sys.stdin.isatty():
            raise DeploymentError("no terminal to ask on: run again with --yes --stack NAME ...")
        print(f"This destroys {', '.join(order)} and every resource in them, data included.")
        typed = input("Type the names of the stacks to destroy, separated by spaces: ").split()
        named = set(typed)
    unknown = named - set(stacks)
    if unknown:
        raise DeploymentError(f"no stack file for {', '.join(sorted(unknown))}")
    # A stack that others reference goes only with them: their references would fail.
    for name in sorted(named):
        users = [
            other
            for other, f in stacks.items()
            if other not in named
            and name in {r.rsplit("/", 1)[-1] for r in f.settings.referenced_stacks()}
        ]
        if users:
            raise DeploymentError(
                f"{name} is referenced by {', '.join(users)}: destroy those too, or remove "
                f"{name} with `python -m ops remove-region {name}`"
            )
    ws = workspace(args)
    for stack in [s for s in order if s in named]:
        ws.destroy(stack)
        deployed.forget_stack(stack, args.outputs, plan_file(args))
        print(f"destroyed {stack}")
    return 0


def outputs(args: argparse.Namespace) -> int:
    """`ops outputs`."""
    stacks = read_stack_files(args.dir)
    ws = workspace(args)
    saved = save_deployed_outputs(ws, stacks, args.outputs)
    print(f"saved the outputs of {len(saved)} stacks to {args.outputs}")
    return 0


def drift(args: argparse.Namespace) -> int:
    """`ops drift`: `pulumi refresh --preview-only` of every deployed stack; 4 on drift."""
    stacks = read_stack_files(args.dir)
    ws = workspace(args)
    drifted = 0
    for name in stacks:
        if not ws.exists(name):
            continue
        changes = ws.drift(name)
        drifted += len(changes)
        print(f"{name}: {len(changes)} drifted")
        for c in changes:
            print(f"   {c.op:>7} {c.urn}" + (f" ({', '.join(c.inputs)})" if c.inputs else ""))
    return 4 if drifted else 0


def remove_region(args: argparse.Namespace) -> int:
    """`ops remove-region STACK`: shown first (`--dry-run` stops there), asked, applied."""
    from ops.regions import remove_region as remove

    if args.dry_run:
        return _remove_region_dry_run(args)

    _refuse_removing_the_writer(args)

    def confirm(referencing: list[str]) -> bool:
        print(
            f"{args.stack} will be destroyed with its data (its Aurora cluster leaves the global "
            f"cluster; its table replica, lake bucket, keys and secrets go). First "
            f"{', '.join(referencing) or 'no stack'} will stop replicating and peering to it."
        )
        return ask(args, f"Type {args.stack} to go on: ", args.stack)

    build_archives()
    ws = workspace(args)
    updated = remove(args.dir, args.stack, ws, confirm=confirm, outputs_file=args.outputs)
    # What the updated stacks now hold, as `ops up` would have recorded it.
    stacks = read_stack_files(args.dir)
    result = simulate_deployment(stacks, deployed=deployed.load_outputs(args.outputs))
    for name in updated:
        entries = [r.to_json() for r in result.stacks[name].resources]
        deployed.record_pass(name, name, entries, plan_file(args))
    save_deployed_outputs(ws, stacks, args.outputs)
    print(f"{args.stack} removed; {', '.join(updated) or 'no stack'} updated")
    return 0


def _refuse_removing_the_writer(args: argparse.Namespace) -> None:
    """Removing the region that writes would take the writer with it: fail over first."""
    import boto3

    from ops.failover import ControlStore, topology_from_outputs

    saved = deployed.load_outputs(args.outputs)
    region = str(saved.get(args.stack, {}).get("region", ""))
    try:
        topology = topology_from_outputs(saved)
        reader = next(t for t in topology.regions.values() if t.stack != args.stack)
        client = boto3.client("dynamodb", region_name=reader.region)
        writer: str | None = ControlStore(client, topology.table_name).read().primary_region
    except Exception as error:
        print(f"warning: could not read the control record ({error}); make sure {args.stack} "
              "does not hold the writer (`python -m ops status`)")  # fmt: skip
        writer = None
    if writer is not None and writer == region:
        raise DeploymentError(
            f"{args.stack} ({region}) is where writes go now: fail over first "
            f"(`python -m ops failover --to STACK --planned`), then remove it"
        )


def _remove_region_dry_run(args: argparse.Namespace) -> int:
    """The diff of removing a region, planned on a copy of the stack files."""
    from ops.regions import REFERENCE_KEYS, drop_reference

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        for path in Path(args.dir).glob("Pulumi*.yaml"):
            shutil.copy(path, copy / path.name)
        if not (copy / f"Pulumi.{args.stack}.yaml").exists():
            raise DeploymentError(f"no Pulumi.{args.stack}.yaml in {args.dir}")
        for path in copy.glob("Pulumi.*.yaml"):
            for key in REFERENCE_KEYS:
                drop_reference(path, key, args.stack)
        (copy / f"Pulumi.{args.stack}.yaml").unlink()
        stacks = read_stack_files(copy)
        result = offline_plan(args, stacks)
    diffs = deployment_changes(deployed.load_resources(plan_file(args)), result.to_json())
    print(render(diffs))
    return 0


def rehome(args: argparse.Namespace) -> int:
    """`ops rehome --to STACK`: asks first unless --yes."""
    from ops.rehome import rehome as take_over

    saved = deployed.load_outputs(args.outputs)
    if not saved:
        raise DeploymentError(f"{args.outputs} is missing: rehoming reads the lost stack there")
    print(
        f"{args.to} becomes the home stack: its state takes the Aurora global cluster, and the "
        "stack files are rewritten. Nothing in AWS changes."
    )
    if not ask(args, f"Type {args.to} to go on: ", args.to):
        raise DeploymentError("stopped before changing anything")
    lost = take_over(args.dir, args.to, workspace(args), saved, args.outputs)
    print(f"{args.to} is the home stack in place of {lost}; now `ops diff`, then `ops up`")
    return 0


# -- at run time, against AWS -------------------------------------------------------------


def _failover_outputs(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The saved outputs; only without them, the backend's (which needs the stack files)."""
    if Path(args.outputs).exists():
        return deployed.load_outputs(args.outputs)
    try:
        stacks = read_stack_files(args.dir)
        ws = workspace(args)
        return {name: ws.outputs(name) for name in stacks if ws.exists(name)}
    except DeploymentError as error:
        raise DeploymentError(
            f"{args.outputs} does not exist, and the backend could not be read instead: "
            f"{error}. Pass --outputs with a copy of the file `ops up` saved"
        ) from None


def failover(args: argparse.Namespace) -> int:
    """`ops failover`, `failback`, `read-only`, `read-write`."""
    import boto3

    from ops.failover import AuroraGlobalDatabase, ControlStore, Failover, topology_from_outputs

    topology = topology_from_outputs(_failover_outputs(args))
    # Everything is done from the region that survives: the target, or the one named.
    region = topology.target(
        args.to if args.command in ("failover", "failback") else args.via
    ).region
    database = AuroraGlobalDatabase(
        topology.global_cluster_id, region, lambda service, r: boto3.client(service, region_name=r)
    )
    control = ControlStore(boto3.client("dynamodb", region_name=region), topology.table_name)
    run = Failover(topology, database, control, max_lag_ms=getattr(args, "max_lag_ms", 0.0))
    if args.command == "read-only":
        run.read_only()
    elif args.command == "read-write":
        run.read_write()
    elif args.command == "failback":
        run.failback(args.to)
    else:
        run.promote(args.to, planned=args.planned)
    return 0


def status(args: argparse.Namespace) -> int:
    """`ops status`."""
    import boto3

    from ops.status import gather
    from ops.status import render as render_status

    saved = _failover_outputs(args)
    result = gather(
        saved,
        lambda service, region: boto3.client(service, region_name=region),
        deployed.applied_at(plan_file(args)),
    )
    print(json.dumps(result.to_json(), indent=2) if args.json else render_status(result))
    return 0 if result.healthy else 3


# -- what it costs ------------------------------------------------------------------------


def cost(args: argparse.Namespace) -> int:
    """`ops cost`: the offline plan priced at a usage profile, per stack and in total."""
    from ops.cost import PRICES_FILE, PriceTable, Usage, estimate
    from ops.cost import render as render_cost

    # Both read first: a bad usage file or a missing price fails before the slow plan.
    usage = Usage.load(args.usage, idle=args.idle)
    prices = PriceTable.load(args.prices or PRICES_FILE)
    document = offline_plan(args, read_stack_files(args.dir)).to_json()
    result = estimate(document, usage, prices)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        print(render_cost(result, details=args.lines))
    return 0

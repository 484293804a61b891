"""`python -m ops`: plan, order, build, deploy, destroy and fail over the whole deployment."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from components.settings import DEFAULT_ORGANIZATION, ConfigError
from ops import deployed
from ops.build import BuildError, build_archives
from ops.deployed import OUTPUTS_FILE, PLAN_FILE, PROJECT_DIR
from ops.diff import deployment_changes, refused, render
from ops.failover import FailoverError
from ops.plan import render_tree
from ops.simulate import SimulationError, simulate_deployment
from ops.stackfiles import DeploymentError, Pass, StackFile, deploy_order, read_stack_files

if TYPE_CHECKING:
    from ops.deploy import AutomationWorkspace


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    parser.add_argument(
        "--dir",
        type=Path,
        default=PROJECT_DIR,
        help="directory holding Pulumi.<stack>.yaml files (default: the project)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="simulate every stack offline, in deploy order")
    plan.add_argument("--json", action="store_true", help="print one JSON document")
    diff = commands.add_parser(
        "diff",
        help="what `ops up` would change, pass by pass, against what is deployed (offline)",
        description="The offline plan of the working tree against what `ops up` last applied "
        f"({PLAN_FILE.relative_to(PROJECT_DIR)}), or against the plan of another git revision: "
        "per stack and pass, what is created, updated (which inputs), replaced and deleted, "
        "stateful resources marked. Exits 3 when a stateful resource would be deleted or "
        "replaced.",
    )
    diff.add_argument("--json", action="store_true", help="print one JSON document")
    diff.add_argument(
        "--against", metavar="REV", help="compare with the plan of this git revision instead"
    )
    commands.add_parser("order", help="print the deploy order")
    commands.add_parser("build", help="build the Lambda archives under build/lambda")
    failover = commands.add_parser(
        "failover", help="promote a secondary: read-only, Aurora promotion, writes reopen"
    )
    failover.add_argument("--to", required=True, help="stack or region to promote")
    kind = failover.add_mutually_exclusive_group(required=True)
    kind.add_argument(
        "--planned",
        action="store_true",
        help="switchover: every region healthy, waits for zero lag, no data loss",
    )
    kind.add_argument(
        "--unplanned",
        action="store_true",
        help="failover after an outage: may lose writes not yet replicated",
    )
    read_only = commands.add_parser(
        "read-only", help="stop accepting writes everywhere (first step of a failover)"
    )
    read_only.add_argument("--via", required=True, help="a surviving stack or region to write in")
    read_write = commands.add_parser(
        "read-write",
        help="leave read-only mode: writes go to the region that holds Aurora's writer",
    )
    read_write.add_argument("--via", required=True, help="a reachable stack or region")
    failback = commands.add_parser(
        "failback",
        help="after an unplanned failover, once the old region is back: writes go home again",
        description="Checks that AWS re-added the old writer's cluster to the global database, "
        "waits for every region to be healthy and the lag to drain, switches the writer over "
        "(no data loss) and points the control record at it. No stack file changes.",
    )
    failback.add_argument("--to", required=True, help="the stack or region to give the writer")
    failback.add_argument(
        "--max-lag-ms", type=float, default=0.0, help="the lag to wait for (default 0)"
    )
    remove = commands.add_parser(
        "remove-region",
        help="take a member region out of the deployment and destroy its stack",
        description="Edits the stack files that name STACK (replicaStacks, peerStacks), deploys "
        "those stacks (replication, secret replica and peering to STACK go; no data resource "
        "of theirs changes), destroys STACK and deletes its stack file. Preview it with "
        "`ops diff` after `--dry-run`.",
    )
    rehome = commands.add_parser(
        "rehome",
        help="the home region is lost for good: a surviving stack takes ownership",
        description="Imports the Aurora global cluster into STACK's state (and moves the "
        "CloudFront entry where the lost stack's backend still answers), forgets it in the "
        "lost stack, and rewrites the stack files: STACK becomes the home stack, every member "
        "names it, nobody names the lost stack. Changes nothing in AWS. Run after "
        "`ops failover --to STACK --unplanned`; then `ops diff` and `ops up`.",
    )
    rehome.add_argument("--to", required=True, help="the surviving stack that takes ownership")
    rehome.add_argument("--yes", action="store_true", help="do not ask before changing state")
    remove.add_argument("stack", help="the member stack to remove")
    remove.add_argument("--yes", action="store_true", help="do not ask before applying")
    failover.add_argument(
        "--max-lag-ms",
        type=float,
        default=0.0,
        help="planned: the replication lag to wait for before switching over (default 0)",
    )
    outputs = commands.add_parser(
        "outputs", help="save every stack's outputs to a file (ops up does it after deploying)"
    )
    up = commands.add_parser("up", help="build, then deploy every stack in order (Pulumi CLI)")
    up.add_argument(
        "--allow-data-loss",
        metavar="URN",
        action="append",
        default=[],
        help="let a pass delete or replace this stateful resource (repeat for each)",
    )
    up.add_argument(
        "--stack",
        action="append",
        help="deploy only this stack (repeatable); what it references must be deployed",
    )
    destroy = commands.add_parser("destroy", help="destroy every stack in reverse (Pulumi CLI)")
    for command in (
        up,
        destroy,
        failover,
        read_only,
        read_write,
        failback,
        remove,
        rehome,
        outputs,
    ):
        command.add_argument(
            "--organization",
            default=DEFAULT_ORGANIZATION,
            help="organization part of fully qualified stack names",
        )
    for command in (
        plan, diff, up, failover, read_only, read_write, failback, remove, rehome, outputs
    ):  # fmt: skip
        command.add_argument(
            "--outputs",
            type=Path,
            default=OUTPUTS_FILE,
            help="what is deployed: every stack's outputs as `ops up` saved them (default: "
            "%(default)s); failover reads the Pulumi backend only when this file does not exist",
        )
    args = parser.parse_args(argv)

    try:
        stacks = read_stack_files(args.dir)
        if args.command == "order":
            order = deploy_order(
                {n: f.settings for n, f in stacks.items()}, deployed=deployed.load_outputs()
            )
            print("\n".join(step.label for step in order))
        elif args.command == "build":
            for name, path in build_archives().items():
                print(f"{name}: {path} ({path.stat().st_size} bytes)")
        elif args.command == "plan":
            # The program references the archives; the plan fails on a path that is missing.
            build_archives()
            outputs_by_stack = deployed.load_outputs(args.outputs)
            deployed.check_ownership(stacks, outputs_by_stack)
            result = simulate_deployment(stacks, deployed=outputs_by_stack)
            print(
                json.dumps(result.to_json(), indent=2, sort_keys=True)
                if args.json
                else render_tree(result)
            )
        elif args.command == "diff":
            return run_diff(args, stacks)
        else:
            from ops import deploy

            workspace = deploy.AutomationWorkspace(args.dir, args.organization)
            if args.command == "up":
                run_up(args, stacks, workspace)
            elif args.command == "destroy":
                deploy.destroy(stacks, workspace, destroyed=deployed.forget_stack)
            elif args.command == "remove-region":
                run_remove_region(args, workspace)
            elif args.command == "rehome":
                run_rehome(args, workspace)
            elif args.command == "outputs":
                deploy.save_outputs(stacks, workspace.outputs, args.outputs)
                print(f"saved the outputs of {len(stacks)} stacks to {args.outputs}")
            else:
                saved = args.outputs.exists()
                outputs_by_stack = (
                    json.loads(args.outputs.read_text())
                    if saved
                    else {name: workspace.outputs(name) for name in stacks}
                )
                run_failover(args, outputs_by_stack)
    except (ConfigError, DeploymentError, SimulationError, BuildError, FailoverError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def run_diff(args: argparse.Namespace, stacks: dict[str, StackFile]) -> int:
    """`ops diff`: the plan of the working tree against what is deployed; 3 on data loss."""
    build_archives()
    outputs_by_stack = deployed.load_outputs(args.outputs)
    if args.against:
        before = plan_at_revision(args.against, args.dir)
        # Every stack of that revision counts as deployed, with the outputs it planned.
        deployed_resources = {n: s["resources"] for n, s in before["stacks"].items()}
        outputs_by_stack = {n: s["outputs"] for n, s in before["stacks"].items()}
    else:
        deployed_resources = deployed.load_resources(args.outputs.parent / PLAN_FILE.name)
        deployed.check_ownership(stacks, outputs_by_stack)
    plan = simulate_deployment(stacks, deployed=outputs_by_stack).to_json()
    diffs = deployment_changes(deployed_resources, plan)
    if args.json:
        print(json.dumps([d.to_json() for d in diffs], indent=2, sort_keys=True))
    else:
        print(render(diffs))
    return 3 if refused(diffs) else 0


def plan_at_revision(revision: str, directory: Path) -> dict:
    """`ops plan --json` of another git revision, run from a temporary worktree."""
    import subprocess
    import tempfile

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


def run_up(
    args: argparse.Namespace, stacks: dict[str, StackFile], workspace: AutomationWorkspace
) -> None:
    """`ops up`: refuse offline what would lose data, then preview and apply pass by pass,
    recording each applied pass and, at the end, every stack's outputs."""
    from ops import deploy

    outputs_by_stack = deployed.load_outputs(args.outputs)
    deployed.check_ownership(stacks, outputs_by_stack)
    plan_file = args.outputs.parent / PLAN_FILE.name
    build_archives()
    result = simulate_deployment(stacks, deployed=outputs_by_stack)
    deployed_resources = deployed.load_resources(plan_file)
    orphans = sorted(set(deployed_resources) - set(stacks))
    if orphans:
        raise DeploymentError(
            f"{', '.join(orphans)} deployed but without a stack file: `ops up` never destroys "
            "a stack. Restore the file, then `python -m ops remove-region STACK` to remove it"
        )
    diffs = deployment_changes(deployed_resources, result.to_json())
    only = set(args.stack) if args.stack else None
    blocked = [
        (label, c)
        for label, c in refused(diffs, args.allow_data_loss)
        if only is None or label.split(" ")[0] in only
    ]
    if blocked:
        raise deploy.DataLossRefused(blocked)
    simulated = {(step.stack, step.converge): r for step, r in result.passes}

    def applied(step: Pass) -> None:
        pass_result = simulated.get((step.stack, step.converge)) or result.stacks[step.stack]
        resources = [r.to_json() for r in pass_result.resources]
        deployed.record_pass(step.stack, step.label, resources, plan_file)

    deploy.up(
        stacks,
        workspace,
        build=lambda: None,
        allow_data_loss=args.allow_data_loss,
        only=only,
        applied=applied,
    )
    existing = {name: f for name, f in stacks.items() if workspace.exists(name)}
    deploy.save_outputs(existing, workspace.outputs, args.outputs)


def run_remove_region(args: argparse.Namespace, workspace: AutomationWorkspace) -> None:
    """`ops remove-region STACK`: asks first unless --yes, then records what it applied."""
    from ops.regions import remove_region

    plan_file = args.outputs.parent / PLAN_FILE.name

    def confirm(referencing: list[str]) -> bool:
        print(
            f"{args.stack} will be destroyed with its data (its Aurora cluster leaves the global "
            f"cluster; its table replica, lake bucket, keys and secrets go). First "
            f"{', '.join(referencing) or 'no stack'} will stop replicating and peering to it."
        )
        if args.yes:
            return True
        if not sys.stdin.isatty():
            raise DeploymentError("no terminal to ask on: run again with --yes")
        return input(f"Type {args.stack} to go on: ").strip() == args.stack

    build_archives()
    updated = remove_region(
        args.dir, args.stack, workspace, confirm=confirm, outputs_file=args.outputs
    )
    # What the updated stacks now hold, as `ops up` would have recorded it.
    stacks = read_stack_files(args.dir)
    result = simulate_deployment(stacks, deployed=deployed.load_outputs(args.outputs))
    for name in updated:
        resources = [r.to_json() for r in result.stacks[name].resources]
        deployed.record_pass(name, name, resources, plan_file)
    deploy_outputs = {name: workspace.outputs(name) for name in stacks if workspace.exists(name)}
    deployed.save_outputs(deploy_outputs, args.outputs)
    print(f"{args.stack} removed; {', '.join(updated) or 'no stack'} updated")


def run_rehome(args: argparse.Namespace, workspace: AutomationWorkspace) -> None:
    """`ops rehome --to STACK`: asks first unless --yes."""
    from ops.rehome import rehome

    outputs_by_stack = deployed.load_outputs(args.outputs)
    if not outputs_by_stack:
        raise DeploymentError(f"{args.outputs} is missing: rehoming reads the lost stack there")
    print(
        f"{args.to} becomes the home stack: its state takes the Aurora global cluster, and the "
        "stack files are rewritten. Nothing in AWS changes."
    )
    if not args.yes:
        if not sys.stdin.isatty():
            raise DeploymentError("no terminal to ask on: run again with --yes")
        if input(f"Type {args.to} to go on: ").strip() != args.to:
            raise DeploymentError("stopped before changing anything")
    lost = rehome(args.dir, args.to, workspace, outputs_by_stack, args.outputs)
    print(f"{args.to} is the home stack in place of {lost}; now `ops diff`, then `ops up`")


def run_failover(args: argparse.Namespace, outputs: dict[str, dict[str, object]]) -> None:
    """Read-only mode or a promotion, against the deployed stacks' outputs."""
    import boto3

    from ops.failover import AuroraGlobalDatabase, ControlStore, Failover, topology_from_outputs

    topology = topology_from_outputs(outputs)
    # Everything is done from the region that survives: the target, or the one named.
    region = topology.target(
        args.to if args.command in ("failover", "failback") else args.via
    ).region
    database = AuroraGlobalDatabase(
        topology.global_cluster_id, region, lambda service, r: boto3.client(service, region_name=r)
    )
    control = ControlStore(boto3.client("dynamodb", region_name=region), topology.table_name)
    failover = Failover(topology, database, control, max_lag_ms=getattr(args, "max_lag_ms", 0.0))
    if args.command == "read-only":
        failover.read_only()
    elif args.command == "read-write":
        failover.read_write()
    elif args.command == "failback":
        failover.failback(args.to)
    else:
        failover.promote(args.to, planned=args.planned)


if __name__ == "__main__":
    sys.exit(main())

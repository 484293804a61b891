"""`python -m ops`: plan, order, build, deploy, destroy and fail over the whole deployment."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components.settings import DEFAULT_ORGANIZATION, ConfigError
from ops.build import BuildError, build_archives
from ops.failover import FailoverError
from ops.plan import render_tree
from ops.simulate import SimulationError, simulate_deployment
from ops.stackfiles import DeploymentError, deploy_order, read_stack_files

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Where `ops up` keeps every stack's outputs; copy it out of the primary's region.
OUTPUTS_FILE = PROJECT_DIR / "build" / "deployment-outputs.json"


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
    failover.add_argument(
        "--max-lag-ms",
        type=float,
        default=0.0,
        help="planned: the replication lag to wait for before switching over (default 0)",
    )
    outputs = commands.add_parser(
        "outputs", help="save every stack's outputs to a file (ops up does it after deploying)"
    )
    for command in (failover, read_only, outputs):
        command.add_argument(
            "--outputs",
            type=Path,
            default=OUTPUTS_FILE,
            help="the stacks' outputs as saved by `ops outputs` (default: %(default)s); "
            "failover reads the Pulumi backend only when this file does not exist",
        )
    up = commands.add_parser("up", help="build, then deploy every stack in order (Pulumi CLI)")
    destroy = commands.add_parser("destroy", help="destroy every stack in reverse (Pulumi CLI)")
    for command in (up, destroy, failover, read_only, outputs):
        command.add_argument(
            "--organization",
            default=DEFAULT_ORGANIZATION,
            help="organization part of fully qualified stack names",
        )
    args = parser.parse_args(argv)

    try:
        stacks = read_stack_files(args.dir)
        if args.command == "order":
            order = deploy_order({n: f.settings for n, f in stacks.items()})
            print("\n".join(step.label for step in order))
        elif args.command == "build":
            for name, path in build_archives().items():
                print(f"{name}: {path} ({path.stat().st_size} bytes)")
        elif args.command == "plan":
            # The program references the archives; the plan fails on a path that is missing.
            build_archives()
            result = simulate_deployment(stacks)
            print(
                json.dumps(result.to_json(), indent=2, sort_keys=True)
                if args.json
                else render_tree(result)
            )
        else:
            from ops import deploy

            workspace = deploy.AutomationWorkspace(args.dir, args.organization)
            if args.command == "up":
                deploy.up(stacks, workspace, build=build_archives)
                deploy.save_outputs(stacks, workspace.outputs, OUTPUTS_FILE)
            elif args.command == "destroy":
                deploy.destroy(stacks, workspace)
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


def run_failover(args: argparse.Namespace, outputs: dict[str, dict[str, object]]) -> None:
    """Read-only mode or a promotion, against the deployed stacks' outputs."""
    import boto3

    from ops.failover import AuroraGlobalDatabase, ControlStore, Failover, topology_from_outputs

    topology = topology_from_outputs(outputs)
    # Everything is done from the region that survives: the target, or the one named.
    region = topology.target(args.to if args.command == "failover" else args.via).region
    database = AuroraGlobalDatabase(
        topology.global_cluster_id, region, lambda service, r: boto3.client(service, region_name=r)
    )
    control = ControlStore(boto3.client("dynamodb", region_name=region), topology.table_name)
    failover = Failover(topology, database, control, max_lag_ms=getattr(args, "max_lag_ms", 0.0))
    if args.command == "read-only":
        failover.read_only()
    else:
        failover.promote(args.to, planned=args.planned)


if __name__ == "__main__":
    sys.exit(main())

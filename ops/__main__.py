"""`python -m ops`: plan, order, up and destroy the whole multi-stack deployment."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components.settings import DEFAULT_ORGANIZATION, ConfigError
from ops.build import BuildError, build_archives
from ops.plan import render_tree
from ops.simulate import SimulationError, simulate_deployment
from ops.stackfiles import DeploymentError, deploy_order, read_stack_files

PROJECT_DIR = Path(__file__).resolve().parent.parent


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
    for name in ("up", "destroy"):
        command = commands.add_parser(name, help=f"{name} every stack (needs the Pulumi CLI)")
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
            print(json.dumps(result.to_json(), indent=2) if args.json else render_tree(result))
        else:
            from ops import deploy

            workspace = deploy.AutomationWorkspace(args.dir, args.organization)
            if args.command == "up":
                deploy.up(stacks, workspace, build=build_archives)
            else:
                deploy.destroy(stacks, workspace)
    except (ConfigError, DeploymentError, SimulationError, BuildError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

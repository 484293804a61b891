"""`python -m ops`: plan, deploy and operate every stack of the deployment, in order.

Offline, with neither a cloud account nor the Pulumi CLI: plan, cost, diff, order, build.
Against the Pulumi backend (Pulumi CLI, a backend, AWS credentials): preview, up, destroy,
outputs, drift, remove-region, rehome. At run time, against AWS, from the saved outputs alone:
status, failover, failback, read-only, read-write. docs/operations.md is the runbook.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from components.settings import DEFAULT_ORGANIZATION, ConfigError
from ops import commands
from ops.build import BuildError
from ops.deployed import OUTPUTS_FILE, PROJECT_DIR
from ops.failover import FailoverError
from ops.simulate import SimulationError
from ops.stackfiles import DeploymentError

EXPECTED = (ConfigError, DeploymentError, SimulationError, BuildError, FailoverError)
Command = Callable[[argparse.Namespace], int]


def parser() -> argparse.ArgumentParser:
    """Every command, with what it is for and when to use it."""
    top = argparse.ArgumentParser(
        prog="python -m ops", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    top.add_argument(
        "--dir",
        type=Path,
        default=PROJECT_DIR,
        help="directory holding the Pulumi.<stack>.yaml files (default: the project)",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Command, summary: str, when: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=summary, description=f"{summary}.\n\n{when}")
        cmd.set_defaults(run=run)
        cmd.add_argument(
            "--outputs",
            type=Path,
            default=OUTPUTS_FILE,
            help="what is deployed: every stack's outputs as `ops up` saved them, with the "
            "saved plan beside it (default: deployment/outputs.json in the project)",
        )
        return cmd

    def backend(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument(
            "--organization",
            default=DEFAULT_ORGANIZATION,
            help="organization part of fully qualified stack names (default: %(default)s)",
        )

    def yes(cmd: argparse.ArgumentParser, what: str) -> None:
        cmd.add_argument("--yes", action="store_true", help=f"do not ask before {what}")

    plan = command(
        "plan",
        commands.plan,
        "simulate every stack offline, in deploy order",
        "Runs the real program of each stack under Pulumi's mocks, reading what is deployed "
        "from the saved outputs. Needs no cloud account and no Pulumi CLI.",
    )
    plan.add_argument("--json", action="store_true", help="print one JSON document")

    cost = command(
        "cost",
        commands.cost,
        "the monthly cost of each stack and in total, from the offline plan",
        "Prices the offline plan at a usage profile (usage.yaml; --usage FILE overrides its "
        "keys) with the dated, sourced prices of ops/prices.json. Needs no cloud account.",
    )
    cost.add_argument("--json", action="store_true", help="print one JSON document")
    cost.add_argument("--usage", type=Path, metavar="FILE", help="usage figures to use instead")
    cost.add_argument("--idle", action="store_true", help="no traffic and nothing stored")
    cost.add_argument("--lines", action="store_true", help="every priced line of every stack")
    cost.add_argument("--prices", type=Path, metavar="FILE", help="another price table")

    diff = command(
        "diff",
        commands.diff,
        "what `ops up` would change, pass by pass, against what is deployed",
        "Before every `ops up`: the offline plan of the working tree against the plan `ops up` "
        "saved, or against another git revision. Created, updated (which inputs), replaced, "
        "deleted; stateful resources marked. Exits 3 when one would be deleted or replaced.",
    )
    diff.add_argument("--json", action="store_true", help="print one JSON document")
    diff.add_argument("--against", metavar="REV", help="compare with the plan of this revision")

    command(
        "order",
        commands.order,
        "print the deploy order",
        "The passes `ops up` would run, from the stack files and the saved outputs.",
    )
    command(
        "build",
        commands.build,
        "build the Lambda archives under build/lambda",
        "`ops plan` and `ops up` build them first; this is for looking at them.",
    )

    preview = command(
        "preview",
        commands.preview,
        "`pulumi preview` of every pass in deploy order, changing nothing",
        "Before `ops up` against the real backend, and on every pull request. A pass that "
        "needs a stack not deployed yet is shown from the offline plan, marked. Exits 3 when "
        "a stateful resource would be deleted or replaced.",
    )
    backend(preview)
    preview.add_argument("--diff", action="store_true", help="list each pass's changes")
    preview.add_argument("--json", action="store_true", help="print one JSON document")

    up = command(
        "up",
        commands.up,
        "build, then preview, confirm and deploy every pass in order",
        "Refuses a pass that would delete or replace a stateful resource unless it is named "
        "with --allow-data-loss. Saves each applied pass and every stack's outputs.",
    )
    backend(up)
    yes(up, "applying each pass")
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

    destroy = command(
        "destroy",
        commands.destroy,
        "destroy stacks in reverse deploy order, data included",
        "Asks for the stack names to be typed, or takes --yes with --stack for each. To take "
        "one region out of a live deployment use `remove-region` instead.",
    )
    backend(destroy)
    yes(destroy, "destroying (needs --stack)")
    destroy.add_argument("--stack", action="append", help="a stack to destroy (repeatable)")

    outputs = command(
        "outputs",
        commands.outputs,
        "save every deployed stack's outputs (ops up does it after deploying)",
        "When the outputs file was lost or is stale; copy it out of the home region.",
    )
    backend(outputs)

    drift = command(
        "drift",
        commands.drift,
        "`pulumi refresh --preview-only` of every deployed stack",
        "On a schedule: names what was changed outside Pulumi. Exits 4 on drift.",
    )
    backend(drift)

    remove = command(
        "remove-region",
        commands.remove_region,
        "take a member region out of the deployment and destroy its stack",
        "Edits the stack files that name STACK, deploys those stacks (replication, secret "
        "replica and peering to STACK go; none of their data), destroys STACK and deletes its "
        "file. --dry-run shows the diff and changes nothing.",
    )
    backend(remove)
    yes(remove, "applying")
    remove.add_argument("stack", help="the member stack to remove")
    remove.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")

    rehome = command(
        "rehome",
        commands.rehome,
        "the home region is lost for good: a surviving stack takes ownership",
        "After `ops failover --to STACK --unplanned`. Imports the global cluster into STACK's "
        "state and rewrites the stack files; changes nothing in AWS. Then `diff` and `up`.",
    )
    backend(rehome)
    yes(rehome, "changing state")
    rehome.add_argument("--to", required=True, help="the surviving stack that takes ownership")

    status = command(
        "status",
        commands.status,
        "each region's health, the writer, the control record and replication lags",
        "From the saved outputs alone; every probe bounded, every failure reported.",
    )
    backend(status)
    status.add_argument("--json", action="store_true", help="print one JSON document")

    failover = command(
        "failover",
        commands.failover,
        "move writes to another region: read-only, Aurora promotion, writes reopen",
        "--planned while every region is healthy (no data loss); --unplanned when the writer's "
        "region is down (writes not yet replicated are lost). No stack file changes.",
    )
    backend(failover)
    failover.add_argument("--to", required=True, help="stack or region to promote")
    kind = failover.add_mutually_exclusive_group(required=True)
    kind.add_argument("--planned", action="store_true", help="switchover, waits for zero lag")
    kind.add_argument("--unplanned", action="store_true", help="failover, allows data loss")
    failover.add_argument(
        "--max-lag-ms", type=float, default=0.0, help="planned: the lag to wait for (default 0)"
    )

    failback = command(
        "failback",
        commands.failover,
        "after an unplanned failover, once the old region is back: writes go home again",
        "Checks that AWS re-added the old writer's cluster to the global database, waits for "
        "every region to be healthy and the lag to drain, switches over (no data loss) and "
        "points the control record at it.",
    )
    backend(failback)
    failback.add_argument("--to", required=True, help="the stack or region to give the writer")
    failback.add_argument(
        "--max-lag-ms", type=float, default=0.0, help="the lag to wait for (default 0)"
    )

    read_only = command(
        "read-only",
        commands.failover,
        "stop accepting writes everywhere",
        "The first step of a failover, or on its own while the writer is in doubt: every "
        "write API answers 503 READ_ONLY; reads go on.",
    )
    backend(read_only)
    read_only.add_argument("--via", required=True, help="a reachable stack or region")

    read_write = command(
        "read-write",
        commands.failover,
        "leave read-only mode: writes go to the region that holds Aurora's writer",
        "After `read-only`, once the writer is known to be healthy.",
    )
    backend(read_write)
    read_write.add_argument("--via", required=True, help="a reachable stack or region")
    return top


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit code.

    What an operator can fix (bad config, no Pulumi CLI, no credentials, an unreachable
    backend or region) is one line on stderr and exit code 2, never a traceback.
    """
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except EXPECTED as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return _fail("interrupted", code=130)
    except Exception as error:
        message = _known(error)
        if message is None:
            raise
        return _fail(message)


def _known(error: Exception) -> str | None:
    """A one-line message for failures outside the program's control, else None."""
    kind = f"{type(error).__module__}.{type(error).__name__}"
    if kind.startswith("botocore.exceptions."):
        if type(error).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
            return (
                "no AWS credentials: set AWS_PROFILE or the AWS_* variables (check with "
                "`aws sts get-caller-identity`) and run again"
            )
        return f"AWS: {error}"
    if kind.startswith("pulumi.automation.errors."):
        lines = [line for line in str(error).splitlines() if line.strip()]
        detail = next((line for line in reversed(lines) if "error" in line.lower()), None)
        return f"pulumi: {(detail or (lines[-1] if lines else kind)).strip()}"
    if isinstance(error, FileNotFoundError) and "pulumi" in str(error):
        return "the Pulumi CLI is not on PATH: install it and run again"
    return None


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())

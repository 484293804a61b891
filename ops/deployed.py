"""What is deployed, as `ops up` last recorded it: every stack's outputs and resources.

Two files under ``deployment/`` (which `make clean` leaves alone): ``outputs.json``, the
outputs of every deployed stack, which a failover reads when the Pulumi backend is out of
reach; and ``plan.json``, each deployed stack's resources as of the last pass applied to it,
which `ops diff` and `ops up` compare the working tree with. Copy both out of the home region.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ops.stackfiles import DeploymentError, StackFile

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEPLOYMENT_DIR = PROJECT_DIR / "deployment"
OUTPUTS_FILE = DEPLOYMENT_DIR / "outputs.json"
PLAN_FILE = DEPLOYMENT_DIR / "plan.json"
# Roles as deployed stacks export them: older deployments say primary and secondary.
HOME_ROLES = frozenset({"home", "primary"})


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DeploymentError(f"{path}: not JSON ({error}); restore it from its copy") from None
    if not isinstance(document, dict):
        raise DeploymentError(f"{path}: expected an object keyed by stack name")
    return document


def _write(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def load_outputs(path: Path = OUTPUTS_FILE) -> dict[str, dict[str, Any]]:
    """Every deployed stack's outputs; empty when nothing has been deployed."""
    document = _read(path)
    for stack, outputs in document.items():
        if not isinstance(outputs, dict):
            raise DeploymentError(f"{path}: the outputs of {stack} are not an object")
    return document


def save_outputs(outputs: Mapping[str, Mapping[str, Any]], path: Path = OUTPUTS_FILE) -> None:
    """Replace the saved outputs."""
    _write(path, outputs)


def _plan_entries(path: Path) -> dict[str, dict[str, Any]]:
    document = _read(path)
    for stack, entry in document.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("resources"), list):
            raise DeploymentError(
                f"{path}: {stack} is not what `ops up` records (a pass and its resources); "
                "restore the file from its copy"
            )
    return document


def load_resources(path: Path = PLAN_FILE) -> dict[str, list[dict[str, Any]]]:
    """Every deployed stack's resources as of the last pass applied to it."""
    return {stack: entry["resources"] for stack, entry in _plan_entries(path).items()}


def record_pass(
    stack: str, label: str, resources: Sequence[Mapping[str, Any]], path: Path = PLAN_FILE
) -> None:
    """Remember what one applied pass left in its stack."""
    document = _read(path)
    document[stack] = {
        "pass": label,
        "appliedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "resources": list(resources),
    }
    _write(path, document)


def applied_at(path: Path = PLAN_FILE) -> dict[str, str]:
    """When `ops up` last applied a pass to each deployed stack (UTC, ISO 8601)."""
    return {stack: str(entry.get("appliedAt", "")) for stack, entry in _plan_entries(path).items()}


def forget_stack(stack: str, *paths: Path) -> None:
    """A destroyed stack is no longer deployed: drop it from the saved files."""
    for path in paths or (OUTPUTS_FILE, PLAN_FILE):
        document = _read(path)
        if document.pop(stack, None) is not None:
            _write(path, document)


def deployed_home(outputs: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The stack that owns the global resources as deployed, from the saved outputs."""
    homes = [stack for stack, out in outputs.items() if out.get("role") in HOME_ROLES]
    return homes[0] if homes else None


def check_ownership(
    stacks: Mapping[str, StackFile], outputs: Mapping[str, Mapping[str, Any]]
) -> None:
    """Refuse stack files that move ownership of the global resources to another stack.

    Swapping `role: home` between stack files would make the old home delete the global
    cluster, the table and the master secret, and the new one create empty ones. Which region
    writes is changed at run time by `ops failover` and `ops failback`.
    """
    home = deployed_home(outputs)
    if home is None or home not in stacks or stacks[home].settings.is_home:
        return
    new = next((name for name, f in stacks.items() if f.settings.is_home), None)
    raise DeploymentError(
        f"Pulumi.{home}.yaml: {home} owns the deployed global resources (Aurora global "
        f"cluster, global table, master secret), but the stack files now make "
        f"{new or 'no stack'} the home stack: applying that would delete them and create empty "
        "ones. Put `role: home` back on "
        f"{home}. To move writes to another region use `python -m ops failover --to STACK`; "
        "if the home region is lost for good, `python -m ops rehome --to STACK` "
        "(docs/operations.md)"
    )

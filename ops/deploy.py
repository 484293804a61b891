"""Deploy and destroy every stack in order, through the Pulumi Automation API.

The Automation API drives the Pulumi CLI, which this repository's CI machines do not have;
the order and the calls are tested against recording and simulated workspaces instead.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from components.archives import BUILD_DIR
from components.settings import MISSING_STACKS_ENV, qualified_name
from ops import deployed
from ops.diff import CREATE, DELETE, REPLACE, UPDATE, Change, PassDiff, refused
from ops.stackfiles import DeploymentError, Pass, StackFile, deploy_order, read_stack_files

# The policy pack every preview and update runs (`pulumi preview --policy-pack policy`).
POLICY_PACK = Path(__file__).resolve().parent.parent / "policy"

if TYPE_CHECKING:
    from ops.rehome import Import


class DataLossRefused(DeploymentError):
    """A pass would delete or replace a stateful resource the operator did not name."""

    def __init__(self, refusals: list[tuple[str, Change]]):
        self.refusals = refusals
        listed = "\n".join(f"  {label}: {c.op} {c.urn}" for label, c in refusals)
        super().__init__(
            "refusing to apply: these stateful resources would be deleted or replaced, and "
            f"their data lost:\n{listed}\nNothing of that pass was applied. If it is intended, "
            "run again naming each one: --allow-data-loss URN (docs/operations.md)"
        )


class Workspace(Protocol):
    """What deploying needs from Pulumi: whether a stack exists, preview, `up`, `destroy`."""

    def exists(self, stack: str) -> bool:
        """Whether the stack has been created in the backend."""

    def preview(self, stack: str, *, skip_replicas: tuple[str, ...]) -> list[Change]:
        """What `up` of one pass would change, resource by resource."""

    def up(self, stack: str, *, skip_replicas: tuple[str, ...]) -> None:
        """Deploy one stack; ``skip_replicas`` on the home stack's first pass."""

    def destroy(self, stack: str) -> None:
        """Destroy one stack."""


def destroy_order(order: list[Pass]) -> list[str]:
    """Stacks to destroy: the reverse of the deploy order, each stack once.

    Members go before the home stack, so their Aurora clusters leave the global cluster
    before the home stack's cluster is deleted (docs/pitfalls.md item 4).
    """
    first_deployed = list(dict.fromkeys(step.stack for step in order))
    return first_deployed[::-1]


def up(
    stacks: dict[str, StackFile],
    workspace: Workspace,
    build: Callable[[], object],
    *,
    allow_data_loss: Collection[str] = (),
    only: Iterable[str] | None = None,
    applied: Callable[[Pass], None] = lambda step: None,
    confirm: Callable[[Pass, list[Change]], bool] = lambda step, changes: True,
) -> list[Pass]:
    """Build the Lambda archives, then preview and deploy every pass in order.

    The home stack's first pass leaves out only the replica stacks that do not exist yet (a
    reference to them would fail); replication to the others is kept on every pass, so adding
    a region never drops it for the regions already there. Each pass is previewed first, and
    refused (nothing of it applied) when it would delete or replace a stateful resource that
    is not in ``allow_data_loss``. ``only`` limits the run to some stacks, each checked to
    reference only deployed stacks. ``confirm`` sees each pass's preview and may stop the
    run before that pass. ``applied`` is told of each pass once it is applied. Returns the
    passes run.
    """
    build()
    settings = {name: f.settings for name, f in stacks.items()}
    order = deploy_order(settings, deployed=[name for name in stacks if workspace.exists(name)])
    if only is not None:
        order = _only(order, set(only), settings, workspace)
    passes: list[Pass] = []
    for step in order:
        changes = workspace.preview(step.stack, skip_replicas=step.skip_replicas)
        blocked = refused([PassDiff(step.stack, step.label, changes)], allow_data_loss)
        if blocked:
            raise DataLossRefused(blocked)
        if not confirm(step, changes):
            raise DeploymentError(
                f"stopped before {step.label}: nothing of it was applied"
                + (f"; {', '.join(p.label for p in passes)} were" if passes else "")
            )
        workspace.up(step.stack, skip_replicas=step.skip_replicas)
        applied(step)
        passes.append(step)
    return passes


@dataclass(frozen=True)
class PassPreview:
    """One pass as `ops preview` shows it: from `pulumi preview`, or from the offline plan
    when a stack it needs is not deployed yet (a preview of it would fail)."""

    step: Pass
    changes: list[Change]
    # Why the offline plan stands in for `pulumi preview`; None for a real preview.
    offline: str | None = None


def preview(
    stacks: dict[str, StackFile],
    workspace: Workspace,
    offline: Callable[[Pass], list[Change]],
) -> list[PassPreview]:
    """`pulumi preview` of every pass in deploy order, changing nothing.

    A pass whose stack, or a stack it references, is not deployed yet cannot be previewed by
    Pulumi (a StackReference to a missing stack fails): ``offline`` gives its changes from the
    offline plan instead, and the pass says so.
    """
    settings = {name: f.settings for name, f in stacks.items()}
    existing = {name for name in stacks if workspace.exists(name)}
    previews = []
    for step in deploy_order(settings, deployed=existing):
        needed = [step.stack] + [
            short
            for short in (r.rsplit("/", 1)[-1] for r in settings[step.stack].referenced_stacks())
            if short not in step.skip_replicas
        ]
        missing = [name for name in needed if name not in existing]
        if missing:
            why = f"{', '.join(missing)} not deployed yet"
            previews.append(PassPreview(step, offline(step), why))
        else:
            changes = workspace.preview(step.stack, skip_replicas=step.skip_replicas)
            previews.append(PassPreview(step, changes))
    return previews


def _only(
    order: list[Pass], names: set[str], settings: dict[str, Any], workspace: Workspace
) -> list[Pass]:
    unknown = names - set(settings)
    if unknown:
        raise DeploymentError(f"no stack file for {', '.join(sorted(unknown))}")
    for name in sorted(names):
        for ref in settings[name].referenced_stacks():
            short = ref.rsplit("/", 1)[-1]
            if short not in names and not workspace.exists(short):
                raise DeploymentError(
                    f"{name} references {short}, which is not deployed: deploy it first"
                )
    return [step for step in order if step.stack in names]


def save_outputs(
    stacks: dict[str, StackFile], outputs: Callable[[str], dict[str, Any]], path: Path
) -> dict[str, dict[str, Any]]:
    """Write every stack's outputs to ``path``, for a failover that cannot reach the backend.

    A self-managed backend in the primary's region is gone with that region; this file, kept
    elsewhere, is all `ops failover --outputs` needs.
    """
    document = {name: outputs(name) for name in stacks}
    deployed.save_outputs(document, path)
    return document


def destroy(
    stacks: dict[str, StackFile],
    workspace: Workspace,
    destroyed: Callable[[str], None] = lambda stack: None,
) -> list[str]:
    """Destroy every stack in reverse deploy order, telling ``destroyed`` of each one as it
    goes; returns the stacks destroyed."""
    order = destroy_order(deploy_order({name: f.settings for name, f in stacks.items()}))
    for stack in order:
        workspace.destroy(stack)
        destroyed(stack)
    return order


@dataclass
class AutomationWorkspace:
    """The real thing: the Pulumi Automation API on the project directory."""

    directory: Path
    organization: str

    def __post_init__(self) -> None:
        if shutil.which("pulumi") is None:
            raise DeploymentError(
                "the Pulumi CLI is not on PATH; this command drives it through the Automation "
                "API. Install it (https://www.pulumi.com/docs/iac/download-install/), log in to "
                "your backend (`pulumi login`), and run again. `ops plan` and `ops diff` need "
                "neither"
            )

    def _select(self, stack: str, env: dict[str, str], *, create: bool = False) -> Any:
        # Only `up` may create a stack: reading or destroying a missing one is an error, not
        # an empty new stack.
        from pulumi import automation as auto

        select = auto.create_or_select_stack if create else auto.select_stack
        try:
            return select(
                stack_name=qualified_name(stack, self.organization),
                work_dir=str(self.directory),
                opts=auto.LocalWorkspaceOptions(env_vars=env),
            )
        except auto.StackNotFoundError:
            raise DeploymentError(
                f"stack {qualified_name(stack, self.organization)} does not exist"
            ) from None

    def exists(self, stack: str) -> bool:
        """Whether the stack is deployed: it is in the backend and exports its outputs (a
        stack created by a preview or a failed first `up` exports nothing, and a reference to
        it would fail)."""
        try:
            return bool(self._select(stack, {}).outputs())
        except DeploymentError:
            return False

    def preview(self, stack: str, *, skip_replicas: tuple[str, ...]) -> list[Change]:
        """`pulumi preview --refresh` of one pass, with the policy pack, as its changes."""
        events: list[Any] = []
        self._select(stack, self._env(skip_replicas), create=True).preview(
            refresh=True, on_event=events.append, **self._policy(stack)
        )
        return changes_from_events(events)

    def _policy(self, stack: str) -> dict[str, list[str]]:
        """The policy pack (policy/) and its config for this stack: a violation stops the
        preview or the update before anything is changed."""
        from policy.pack import config_for

        settings = read_stack_files(self.directory)[stack].settings
        config = config_for(settings.environment.value, settings.database.engine_version)
        # Beside the archives, one file per stack, rewritten each time (no temp dir left over).
        path = BUILD_DIR.parent / "policy" / f"{stack}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config))
        return {"policy_packs": [str(POLICY_PACK)], "policy_pack_configs": [str(path)]}

    def up(self, stack: str, *, skip_replicas: tuple[str, ...]) -> None:
        """`pulumi up --refresh` on one stack, streaming its output.

        Refreshed first: `ignoreChanges` keeps the value in state, not the live one, so after a
        failover an unrefreshed update could push a stale value back (pulumi/pulumi-aws#2524).
        """
        self._select(stack, self._env(skip_replicas), create=True).up(
            on_output=print, refresh=True, **self._policy(stack)
        )

    def destroy(self, stack: str) -> None:
        """`pulumi destroy` on one stack, streaming its output."""
        self._select(stack, {}).destroy(on_output=print)

    def drift(self, stack: str) -> list[Change]:
        """`pulumi refresh --preview-only`: what differs between the cloud and the state."""
        events: list[Any] = []
        self._select(stack, {}).preview_refresh(on_event=events.append)
        return drift_from_events(events)

    def unprotect_all(self, stack: str) -> None:
        """`pulumi state unprotect --all`: a removed region's own resources may go."""
        self._select(stack, {})._run_pulumi_cmd_sync(["state", "unprotect", "--all", "--yes"])

    def outputs(self, stack: str) -> dict[str, Any]:
        """The outputs of one deployed stack."""
        return {k: v.value for k, v in self._select(stack, {}).outputs().items()}

    def import_resources(self, stack: str, resources: Sequence[Import], *, protect: bool) -> None:
        """`pulumi import --generate-code=false`, each resource under its component."""
        table = {f"parent{i}": r.parent_urn for i, r in enumerate(resources)}
        self._select(stack, {}).import_resources(
            # pulumi.automation's ImportResource is a TypedDict of these keys.
            resources=[
                {"type": r.type, "name": r.name, "id": r.id, "parent": f"parent{i}"}
                for i, r in enumerate(resources)
            ],
            name_table=table,
            protect=protect,
            generate_code=False,
            on_output=print,
        )

    def state_delete(self, stack: str, urn: str) -> None:
        """`pulumi state delete URN`: the resource is forgotten, not deleted."""
        self._select(stack, {})._run_pulumi_cmd_sync(["state", "delete", urn, "--yes"])

    def state_move(self, source: str, dest: str, urns: Sequence[str]) -> None:
        """`pulumi state move`: the resources and their children, between two stacks."""
        workspace = self._select(dest, {}).workspace
        # `state move` takes no --stack, which the stack's own runner would add.
        workspace.pulumi_command.run(
            [
                "state",
                "move",
                "--source",
                qualified_name(source, self.organization),
                "--dest",
                qualified_name(dest, self.organization),
                "--yes",
                *urns,
            ],
            str(self.directory),
            dict(workspace.env_vars),
        )

    @staticmethod
    def _env(skip_replicas: tuple[str, ...]) -> dict[str, str]:
        return {MISSING_STACKS_ENV: ",".join(skip_replicas)} if skip_replicas else {}


# The engine's step operations (pulumi.automation.events.OpType), as the changes they make.
_OPS = {
    "create": CREATE,
    "update": UPDATE,
    "replace": REPLACE,
    "create-replacement": REPLACE,
    "delete-replaced": REPLACE,
    "delete": DELETE,
    "discard": DELETE,
}


def changes_from_events(events: Iterable[Any]) -> list[Change]:
    """The per-resource changes of a preview, from its engine events (one per URN)."""
    found: dict[str, Change] = {}
    for event in events:
        pre = getattr(event, "resource_pre_event", None)
        if pre is None:
            continue
        meta = pre.metadata
        op = _OPS.get(getattr(meta.op, "value", str(meta.op)))
        if op is None or (found.get(meta.urn) and found[meta.urn].op == REPLACE):
            continue
        found[meta.urn] = Change(meta.urn, meta.type, op, tuple(meta.diffs or ()))
    return list(found.values())


def drift_from_events(events: Iterable[Any]) -> list[Change]:
    """The resources a refresh preview found changed or gone, from its engine events.

    A refresh step carries the properties that differ between the state and the cloud in
    ``diffs``; a resource deleted outside Pulumi shows as a delete.
    """
    found: dict[str, Change] = {}
    for event in events:
        pre = getattr(event, "resource_pre_event", None)
        if pre is None:
            continue
        meta = pre.metadata
        op = getattr(meta.op, "value", str(meta.op))
        diffs = tuple(meta.diffs or ()) or tuple(meta.detailed_diff or ())
        if op in ("delete", "discard"):
            found[meta.urn] = Change(meta.urn, meta.type, DELETE)
        elif op in ("refresh", "update") and diffs:
            found[meta.urn] = Change(meta.urn, meta.type, UPDATE, diffs)
    return list(found.values())

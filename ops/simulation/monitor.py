"""A mock monitor that records every resource with its options, and refuses duplicates."""

from __future__ import annotations

import threading
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from ops.simulation.fake_aws import PlanMocks
from ops.simulation.results import Resource, SimulationError


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Pulumi's mock monitor, plus a record of every registration and its options."""

    def __init__(self, mocks: PlanMocks):
        super().__init__(mocks)
        self.records: dict[str, Resource] = {}
        self.plan_mocks = mocks
        # Registrations arrive on several executor threads at once.
        self._lock = threading.Lock()
        self._taken: set[str] = set()

    def _claim(self, urn: str) -> None:
        with self._lock:
            if urn in self._taken:
                raise SimulationError(f"duplicate resource URN {urn}: two resources share a name")
            self._taken.add(urn)

    def _record(
        self,
        request: Any,
        urn: str,
        inputs: dict[str, Any],
        *,
        region: str | None,
        ignore_changes: list[str],
        protect: bool,
        custom: bool,
        retain_on_delete: bool = False,
        aliases: list[str] | None = None,
    ) -> None:
        self.records[urn] = Resource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            region=region,
            inputs=inputs,
            outputs=dict(self.resources[urn].state),
            # The SDK gathers dependencies in a set; sorted, two plans of one tree compare equal.
            depends_on=sorted(request.dependencies),
            ignore_changes=ignore_changes,
            protect=protect,
            provider=request.provider or None,
            custom=custom,
            retain_on_delete=retain_on_delete,
            aliases=aliases or [],
        )

    def _alias_urns(self, request: Any) -> list[str]:
        """The old URNs a registration names in its aliases, resolved as the engine resolves
        them: what an alias spec leaves out is the resource's own name, type or parent."""
        urns = []
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            head, project, rest = self.make_urn(
                parent, spec.type or request.type, spec.name or request.name
            ).split("::", 2)
            stack = spec.stack or head.removeprefix("urn:pulumi:")
            urns.append(f"urn:pulumi:{stack}::{spec.project or project}::{rest}")
        return sorted(set(urns))

    def ReadResource(self, request: Any) -> Any:
        # StackReferences and `get` lookups arrive as reads.
        response = super().ReadResource(request)
        self._claim(response.urn)
        inputs = rpc.deserialize_properties(request.properties)
        self._record(request, response.urn, inputs, region=None, ignore_changes=[],
                     protect=False, custom=True)  # fmt: skip
        return response

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        self._claim(urn)
        response = super().RegisterResource(request)
        inputs = rpc.deserialize_properties(request.object)
        if request.type.startswith("pulumi:providers:") and isinstance(inputs.get("region"), str):
            self.plan_mocks.provider_regions[urn] = inputs["region"]
        region = (
            None
            if request.type.startswith("pulumi:")
            else self.plan_mocks.region_of(inputs, request.provider or None)
        )
        self._record(request, urn, inputs, region=region,
                     ignore_changes=list(request.ignoreChanges), protect=bool(request.protect),
                     custom=bool(request.custom),
                     retain_on_delete=bool(request.retainOnDelete),
                     aliases=self._alias_urns(request))  # fmt: skip
        return response

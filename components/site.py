"""Where a component's pieces put what they make: under the component, named from its name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.iam import kms_via
from components.lambdas import FunctionArgs, LambdaCode, LambdaFunction
from components.settings import Settings


@dataclass(frozen=True)
class Site:
    """One component as its pieces see it: each piece is a function of a Site, and every
    resource it makes is a child of ``parent`` named ``<name>-<label>``, as if the component
    had made it itself (so splitting a component into pieces moves no URN)."""

    name: str
    settings: Settings
    parent: pulumi.ComponentResource
    # The region's key (GlobalData's) and alarm topic (AlarmTopic's).
    kms_key_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    # The account, looked up once for the ARNs AWS does not return.
    account_id: pulumi.Output[str]
    # The names of the dead-letter queues made for this component (queues.dead_letter_queue),
    # which the region's dashboard shows.
    dead_letters: list[pulumi.Output[str]] = field(default_factory=list)

    @property
    def child(self) -> pulumi.ResourceOptions:
        """Options of a resource of this component."""
        return pulumi.ResourceOptions(parent=self.parent)

    def after(self, *resources: Any) -> pulumi.ResourceOptions:
        """Options of a resource of this component that must wait for ``resources``."""
        return pulumi.ResourceOptions(parent=self.parent, depends_on=list(resources))

    def kms_via(
        self, service: str, actions: Sequence[str] = ("kms:Decrypt", "kms:GenerateDataKey")
    ) -> dict[str, Any]:
        """Use of the region's key, only through one service of this region."""
        return kms_via(self.settings.region, self.kms_key_arn, service, actions)

    def function(self, label: str, code: LambdaCode, args: FunctionArgs) -> LambdaFunction:
        """A function of this component, alarmed to the region's topic."""
        return LambdaFunction(
            f"{self.name}-{label}",
            self.settings,
            code,
            args,
            self.alarm_topic_arn,
            opts=self.child,
        )

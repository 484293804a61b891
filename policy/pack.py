"""The rules of policy/rules.py as Pulumi policies, for `pulumi preview --policy-pack policy`.

Kept apart from `__main__.py`, which serves the pack to the Pulumi engine and never returns,
so that tests can build and run these policies in process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.rules import REGISTRY, PackConfig, Resource, Rule, StackRule

NAME = "active-active"
# Each policy reads the stack's environment and the deployment's engine version; `ops preview`
# and `ops up` pass them from the stack files (`--policy-pack-config`).
CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "environment": {"type": "string", "enum": ["dev", "prod"]},
        "engineVersion": {"type": "string"},
    }
)


def pack_config(config: Mapping[str, Any]) -> PackConfig:
    """The rules' view of a policy's config."""
    return PackConfig(str(config.get("environment", "dev")), config.get("engineVersion"))


def _resource_policy(rule: Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: Any) -> None:
        if rule.types and args.resource_type not in rule.types:
            return
        resource = Resource(args.resource_type, args.name, args.props, args.opts.protect, args.urn)
        for message in rule.check(resource, pack_config(args.get_config())):
            report(f"{args.name}: {message}", args.urn)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
        config_schema=CONFIG_SCHEMA,
    )


def _stack_policy(rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: Any) -> None:
        resources = [
            Resource(r.resource_type, r.name, r.props, r.opts.protect, r.urn)
            for r in args.resources
        ]
        for message in rule.check(resources, pack_config(args.get_config())):
            report(message)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
        config_schema=CONFIG_SCHEMA,
    )


def policies() -> list[Policy]:
    """Every rule, as the policy the engine runs."""
    found: list[Policy] = [_resource_policy(r) for r in REGISTRY.rules]
    return found + [_stack_policy(s) for s in REGISTRY.stack_rules]


def config_for(environment: str, engine_version: str) -> dict[str, dict[str, str]]:
    """The `--policy-pack-config` document for one stack: every policy gets the same values."""
    values = {"environment": environment, "engineVersion": engine_version}
    names = [r.name for r in REGISTRY.rules] + [s.name for s in REGISTRY.stack_rules]
    return {name: dict(values) for name in names}

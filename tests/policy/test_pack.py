"""The policy pack (policy/): no rule fires on any simulated stack, and each one fires, saying
what to change, on a resource or stack made bad on purpose."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

from ops.simulate import DeploymentResult, StackResult
from policy.pack import config_for, policies
from policy.rules import REGISTRY, PackConfig, Resource, violations
from tests.support.plan import (
    ALARM,
    API_ROUTE,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    DB_CLUSTER,
    FUNCTION,
    LOG_GROUP,
    QUEUE,
    ROLE_POLICY,
    SECRET,
    TABLE,
)

ENGINE = "16.6"


def as_rule_resources(stack: StackResult) -> list[Resource]:
    """A simulated stack as the policy engine would hand it over: inputs and `protect`."""
    return [
        Resource(r.type, r.name, copy.deepcopy(r.inputs), r.protect, r.urn) for r in stack.resources
    ]


def test_no_rule_fires_on_any_example_stack(stack: StackResult) -> None:
    assert violations(as_rule_resources(stack), PackConfig("dev", ENGINE)) == []


def test_no_rule_fires_on_a_prod_deployment(prod_deployment: DeploymentResult) -> None:
    for stack in prod_deployment.stacks.values():
        assert violations(as_rule_resources(stack), PackConfig("prod", ENGINE)) == [], stack.stack


# -- each rule, broken on purpose ---------------------------------------------------------

Mutation = Callable[[list[Resource]], list[Resource]]


def changed(type_: str, change: Callable[[dict[str, Any]], None], pick: str = "") -> Mutation:
    """Break the first resource of ``type_`` (whose name contains ``pick``) with ``change``."""

    def mutate(resources: list[Resource]) -> list[Resource]:
        out, done = [], False
        for r in resources:
            if not done and r.type == type_ and pick in r.name:
                props = copy.deepcopy(dict(r.props))
                change(props)
                r, done = Resource(r.type, r.name, props, r.protect, r.urn), True
            out.append(r)
        assert done, f"no {type_} named *{pick}* to break"
        return out

    return mutate


def unprotected(type_: str) -> Mutation:
    def mutate(resources: list[Resource]) -> list[Resource]:
        return [
            Resource(r.type, r.name, r.props, False, r.urn) if r.type == type_ else r
            for r in resources
        ]

    return mutate


def without(type_: str, pick: str = "") -> Mutation:
    def mutate(resources: list[Resource]) -> list[Resource]:
        return [r for r in resources if not (r.type == type_ and pick in r.name)]

    return mutate


def wildcard_policy(props: dict[str, Any]) -> None:
    props["policy"] = '{"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]}'


def unscoped_kms(props: dict[str, Any]) -> None:
    props["policy"] = (
        '{"Statement": [{"Effect": "Allow", "Action": ["kms:Decrypt"], '
        '"Resource": "arn:aws:kms:us-east-1:123456789012:key/abc"}]}'
    )


# rule -> (environment, how to break it, what the message must say)
BROKEN: dict[str, tuple[str, Mutation, str]] = {
    "house-tags": ("dev", changed(QUEUE, lambda p: p.update(tags={"Name": "x"})),
                   "add the tags service, stack, region"),
    "protected-in-prod": ("prod", unprotected(DB_CLUSTER), "set protect=True"),
    "log-retention": ("prod", changed(LOG_GROUP, lambda p: p.update(retentionInDays=14)),
                      "90 days"),
    "lambda-runtime": ("dev", changed(FUNCTION, lambda p: p.update(architectures=["x86_64"])),
                       "arm64"),
    "iam-least-privilege": ("dev", changed(ROLE_POLICY, wildcard_policy),
                            "name the actions instead of s3:*"),
    "kms-through-a-service": ("dev", changed(ROLE_POLICY, unscoped_kms), "kms:ViaService"),
    "secret-recovery-window": ("prod", changed(SECRET, lambda p: p.update(recoveryWindowInDays=0)),
                               "recoveryWindowInDays 30"),
    "encrypted-with-a-managed-key": ("dev", changed(QUEUE, lambda p: p.pop("kmsMasterKeyId")),
                                     "kmsMasterKeyId"),
    "encrypted-tables": ("dev", changed(TABLE, lambda p: p.pop("serverSideEncryption")),
                         "serverSideEncryption"),
    "aurora-encrypted-with-iam-auth": ("dev", changed(
        DB_CLUSTER, lambda p: p.update(iamDatabaseAuthenticationEnabled=False)),
        "iamDatabaseAuthenticationEnabled"),
    "private-buckets": ("dev", changed(BUCKET_PUBLIC_ACCESS_BLOCK,
                                       lambda p: p.update(blockPublicPolicy=False)),
                        "blockPublicPolicy"),
    "iam-only-routes": ("dev", changed(API_ROUTE, lambda p: p.update(authorizationType="NONE"),
                                       "synthetic"), "set authorizationType AWS_IAM"),
    "prod-deletion-protection": ("prod", changed(TABLE,
                                                 lambda p: p.update(deletionProtectionEnabled=False)),
                                 "deletionProtectionEnabled true"),
    "prod-backups": ("prod", changed(DB_CLUSTER, lambda p: p.update(backupRetentionPeriod=1)),
                     "backupRetentionPeriod"),
    "read-model-pitr": ("dev", changed(TABLE,
                                       lambda p: p.update(pointInTimeRecovery={"enabled": False}),
                                       "orders-table"), "pointInTimeRecovery"),
    "region-complete": ("dev", without(TABLE, "orders-table"), "read model"),
    "every-function-and-queue-alarmed": (
        "dev",
        lambda rs: without(ALARM, "-throttles")(without(ALARM, "-errors")(rs)),
        "Errors alarm",
    ),
    "one-engine-version": ("dev", changed(DB_CLUSTER, lambda p: p.update(engineVersion="15.10")),
                           "16.6 like every region"),
}  # fmt: skip


def test_every_rule_has_a_case_that_breaks_it() -> None:
    names = {r.name for r in REGISTRY.rules} | {s.name for s in REGISTRY.stack_rules}
    assert names == set(BROKEN)


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_a_rule_fires_on_what_breaks_it_and_says_what_to_change(
    rule: str, example_deployment: DeploymentResult, prod_deployment: DeploymentResult
) -> None:
    environment, mutate, says = BROKEN[rule]
    # Given a good home stack of that environment, broken in one place
    deployment = prod_deployment if environment == "prod" else example_deployment
    resources = mutate(as_rule_resources(deployment.stacks["primary"]))

    # When the pack runs
    found = violations(resources, PackConfig(environment, ENGINE))

    # Then that rule, and only it, fires, with the fix in its message
    assert {name for name, _, _ in found} == {rule}
    assert any(says in message for _, _, message in found), found


# -- the pack as Pulumi's engine runs it -----------------------------------------------------


def policy_args(
    resource: Any, config: dict[str, Any], protect: bool = False
) -> ResourceValidationArgs:
    options = PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return ResourceValidationArgs(
        resource.type, resource.inputs, resource.urn, resource.name, options, None, config
    )


def test_the_engine_policies_report_through_pulumi_policy_with_the_stack_config(
    prod_deployment: DeploymentResult,
) -> None:
    # Given the prod home stack's cluster, unprotected, and the pack config ops passes for it
    cluster = prod_deployment.stacks["primary"].one(DB_CLUSTER)
    config = config_for("prod", ENGINE)["protected-in-prod"]
    (policy,) = [p for p in policies() if p.name == "protected-in-prod"]
    reported: list[str] = []

    # When the engine validates it
    policy.validate(
        policy_args(cluster, config, protect=False), lambda m, urn=None: reported.append(m)
    )

    # Then the violation names the resource and the fix
    assert reported == [f"{cluster.name}: set protect=True (components/lifecycle.py `guarded`)"]


def test_the_pack_config_names_every_policy() -> None:
    document = config_for("dev", ENGINE)

    assert set(document) == {p.name for p in policies()}
    assert all(v == {"environment": "dev", "engineVersion": ENGINE} for v in document.values())


def test_the_readme_lists_every_rule_with_what_it_asks() -> None:
    from tests.support.deployments import PROJECT_DIR

    readme = (PROJECT_DIR / "README.md").read_text()
    for r in REGISTRY.rules:
        assert f"| `{r.name}` | {r.description} |" in readme, r.name
    for s in REGISTRY.stack_rules:
        assert f"| `{s.name}` (stack) | {s.description} |" in readme, s.name

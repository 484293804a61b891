"""Rules that hold for every resource of every simulated stack, whichever component made it.

Each rule first checks that the stack has resources it applies to, so that a rule can never
pass by having nothing to look at.
"""

from __future__ import annotations

import importlib
import inspect
import json
from functools import cache
from typing import Any

import pytest

from components.lambdas import WILDCARD_ACTIONS
from ops.simulate import DeploymentResult, Resource, StackResult

HOUSE_TAGS = {"service", "stack", "region", "Name"}
SECRET = "aws:secretsmanager/secret:Secret"


@cache
def accepts_tags(type_: str) -> bool:
    """Whether a pulumi-aws resource type takes a ``tags`` argument."""
    package, module, name = (
        type_.split(":")[0],
        type_.split(":")[1].split("/")[0],
        type_.split(":")[2],
    )
    if package != "aws":
        return False
    python_module = {"lambda": "lambda_"}.get(module, module)
    cls = getattr(importlib.import_module(f"pulumi_aws.{python_module}"), name)
    return "tags" in inspect.signature(cls._internal_init).parameters


def applicable(stack: StackResult, type_: str) -> list[Resource]:
    found = stack.of_type(type_)
    assert found, f"{stack.stack} has no {type_}: the rule would check nothing"
    return found


def test_every_resource_that_takes_tags_carries_the_house_tags(stack: StackResult) -> None:
    taggable = [r for r in stack.resources if r.custom and accepts_tags(r.type)]

    assert len(taggable) > 20
    untagged = [
        f"{r.type} {r.name}" for r in taggable if not set(r.inputs.get("tags") or {}) >= HOUSE_TAGS
    ]
    assert not untagged, f"missing tags {sorted(HOUSE_TAGS)}: {untagged}"


def test_every_tag_names_the_stack_and_region_that_own_the_resource(
    stack: StackResult,
) -> None:
    for resource in stack.resources:
        tags = resource.inputs.get("tags") or {}
        if "stack" in tags:
            assert tags["stack"] == stack.stack
            assert tags["region"] == stack.region


def test_every_secret_of_a_dev_stack_is_deleted_at_once_so_the_stack_can_be_made_again(
    stack: StackResult,
) -> None:
    # The example stacks are dev. A deleted secret kept for its recovery window keeps its name
    # taken, and `make destroy && make up` would fail to create the fixed-name secrets.
    for secret in applicable(stack, SECRET):
        assert secret.inputs.get("recoveryWindowInDays") == 0, secret.name


def test_every_secret_of_a_prod_stack_is_kept_thirty_days_after_a_destroy(
    prod_deployment: DeploymentResult,
) -> None:
    for stack in prod_deployment.stacks.values():
        for secret in applicable(stack, SECRET):
            assert secret.inputs.get("recoveryWindowInDays") == 30, (stack.stack, secret.name)


def test_every_log_group_expires_its_logs(stack: StackResult) -> None:
    for group in applicable(stack, "aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs.get("retentionInDays", 0) > 0, group.name


def test_every_log_group_of_a_prod_stack_keeps_its_logs_ninety_days(
    stack: StackResult, prod_deployment: DeploymentResult
) -> None:
    # Given the dev example stacks and a prod deployment
    for group in applicable(stack, "aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["retentionInDays"] == 14, group.name
    for prod in prod_deployment.stacks.values():
        for group in applicable(prod, "aws:cloudwatch/logGroup:LogGroup"):
            assert group.inputs["retentionInDays"] == 90, (prod.stack, group.name)


def test_every_dead_letter_queue_raises_an_alarm_as_soon_as_a_letter_arrives(
    stack: StackResult,
) -> None:
    dead_letter_queues = [
        q for q in applicable(stack, "aws:sqs/queue:Queue") if q.outputs["name"].endswith("-dlq")
    ]
    watched = {
        a.inputs["dimensions"].get("QueueName")
        for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs.get("metricName") == "ApproximateNumberOfMessagesVisible"
        and a.inputs.get("threshold") == 0
    }
    assert dead_letter_queues
    assert not [q.outputs["name"] for q in dead_letter_queues if q.outputs["name"] not in watched]


def test_every_queue_is_encrypted_with_the_region_key(stack: StackResult) -> None:
    (key,) = stack.of_type("aws:kms/key:Key")
    for queue in applicable(stack, "aws:sqs/queue:Queue"):
        assert queue.inputs.get("kmsMasterKeyId") in (key.outputs["arn"], key.outputs["id"]), (
            queue.name
        )


def test_every_topic_is_encrypted_with_the_region_key(stack: StackResult) -> None:
    (key,) = stack.of_type("aws:kms/key:Key")
    for topic in applicable(stack, "aws:sns/topic:Topic"):
        assert topic.inputs.get("kmsMasterKeyId") in (key.outputs["arn"], key.outputs["id"]), (
            topic.name
        )


def test_every_alarm_notifies_its_regions_alarm_topic_when_it_fires_and_recovers(
    stack: StackResult,
) -> None:
    # One alarm topic per region: an alarm that notifies another region's topic pages for the
    # wrong region, and one with no actions pages no one.
    (topic,) = applicable(stack, "aws:sns/topic:Topic")
    assert topic.outputs["arn"].split(":")[3] == stack.region
    alarms = applicable(stack, "aws:cloudwatch/metricAlarm:MetricAlarm")
    silent = [
        a.name
        for a in alarms
        if a.inputs.get("alarmActions") != [topic.outputs["arn"]]
        or a.inputs.get("okActions") != [topic.outputs["arn"]]
    ]
    assert not silent, f"alarms that do not notify {topic.outputs['arn']}: {silent}"


def test_every_function_runs_python_3_12_or_newer_on_arm64_with_tracing(stack: StackResult) -> None:
    for function in applicable(stack, "aws:lambda/function:Function"):
        runtime = function.inputs["runtime"]
        assert runtime.startswith("python3.") and int(runtime.split(".")[1]) >= 12, function.name
        assert function.inputs["architectures"] == ["arm64"]
        assert function.inputs["tracingConfig"] == {"mode": "Active"}


def test_every_dynamodb_table_is_encrypted_with_the_region_key(stack: StackResult) -> None:
    (key,) = stack.of_type("aws:kms/key:Key")
    tables = stack.of_type("aws:dynamodb/table:Table") + stack.of_type(
        "aws:dynamodb/tableReplica:TableReplica"
    )
    assert tables
    for table in tables:
        encryption = table.inputs.get("serverSideEncryption") or {}
        key_arn = encryption.get("kmsKeyArn") if encryption.get("enabled") else None
        assert (key_arn or table.inputs.get("kmsKeyArn")) == key.outputs["arn"], table.name


def test_the_read_model_can_be_restored_to_any_point_in_time(stack: StackResult) -> None:
    # The regional tables (connections, idempotency) hold minutes-long records under a TTL;
    # the read model is what a restore would be for.
    tables = [t for t in stack.of_type("aws:dynamodb/table:Table") if t.inputs.get("streamEnabled")]
    replicas = stack.of_type("aws:dynamodb/tableReplica:TableReplica")
    assert len(tables) + len(replicas) == 1
    for table in tables:
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    for replica in replicas:
        assert replica.inputs["pointInTimeRecovery"] is True


def _statements(policy: Any) -> list[dict[str, Any]]:
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_no_role_allows_every_action(stack: StackResult) -> None:
    for policy in applicable(stack, "aws:iam/rolePolicy:RolePolicy"):
        for statement in _statements(policy.inputs["policy"]):
            actions = _listed(statement.get("Action", []))
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), policy.name


def test_wildcard_resources_are_only_for_the_listed_actions(stack: StackResult) -> None:
    for policy in applicable(stack, "aws:iam/rolePolicy:RolePolicy"):
        for statement in _statements(policy.inputs["policy"]):
            if "*" in _listed(statement.get("Resource", [])):
                unlisted = set(_listed(statement["Action"])) - set(WILDCARD_ACTIONS)
                assert not unlisted, f"{policy.name}: {sorted(unlisted)} on Resource *"


def test_roles_use_a_key_only_through_a_service_of_the_keys_own_region(
    stack: StackResult,
) -> None:
    # A role that may call KMS directly could decrypt anything encrypted with the key.
    key_statements = [
        (policy.name, statement)
        for policy in applicable(stack, "aws:iam/rolePolicy:RolePolicy")
        for statement in _statements(policy.inputs["policy"])
        if any(a.startswith("kms:") for a in _listed(statement.get("Action", [])))
    ]
    assert key_statements
    for name, statement in key_statements:
        via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        for key in _listed(statement["Resource"]):
            assert via and via.endswith(f".{key.split(':')[3]}.amazonaws.com"), (name, statement)


@pytest.mark.parametrize("type_", ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"])
def test_nothing_is_public(stack: StackResult, type_: str) -> None:
    for block in applicable(stack, type_):
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        ):
            assert block.inputs[flag] is True, f"{block.name}: {flag}"

"""AlarmTopic in the simulated stacks: one encrypted topic per region that CloudWatch can
publish to, and an email subscription only where the stack file asks for one."""

from __future__ import annotations

import pytest

from ops.simulate import DeploymentResult, StackResult, simulate_deployment
from ops.stackfiles import read_stack_files
from tests.support.deployments import generated_configs, write_stack_files
from tests.support.plan import KMS_KEY, TOPIC, TOPIC_SUBSCRIPTION, as_list, statements

EMAIL = "ops@example.com"


@pytest.fixture(scope="module")
def with_alarm_email(tmp_path_factory: pytest.TempPathFactory) -> DeploymentResult:
    """Two generated regions whose stack files both set ``alarmEmail``."""
    directory = write_stack_files(
        tmp_path_factory.mktemp("alarm-email"), generated_configs(2, alarmEmail=EMAIL)
    )
    return simulate_deployment(read_stack_files(directory))


def test_with_an_alarm_email_each_region_mails_it_from_its_own_topic(
    with_alarm_email: DeploymentResult,
) -> None:
    for stack in with_alarm_email.stacks.values():
        # Given the region's one alarm topic
        topic = stack.one(TOPIC)
        # Then exactly one subscription mails the configured address from it
        (subscription,) = stack.of_type(TOPIC_SUBSCRIPTION)
        assert subscription.inputs["topic"] == topic.outputs["arn"]
        assert subscription.inputs["protocol"] == "email"
        assert subscription.inputs["endpoint"] == EMAIL
        assert topic.outputs["arn"].split(":")[3] == stack.region


def test_without_an_alarm_email_no_region_subscribes_anyone(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        assert stack.one(TOPIC)
        assert stack.of_type(TOPIC_SUBSCRIPTION) == []


def _key_grants(stack: StackResult, principal: str) -> set[str]:
    """The KMS actions the region key's policy grants a service principal."""
    actions: set[str] = set()
    for statement in statements(stack.one(KMS_KEY)):
        if principal in as_list(statement.get("Principal", {}).get("Service", [])):
            actions |= set(as_list(statement["Action"]))
    return actions


def test_cloudwatch_may_use_the_region_key_so_alarms_reach_the_encrypted_topic(
    example_deployment: DeploymentResult,
) -> None:
    # Without this grant, alarms change state but SNS never delivers their notifications.
    for stack in example_deployment.stacks.values():
        assert {"kms:GenerateDataKey", "kms:Decrypt"} <= _key_grants(
            stack, "cloudwatch.amazonaws.com"
        )

"""Checks of the simulated stacks that compare one resource with another (the key, the topic,
the stack a resource belongs to); the rules that judge a resource alone are the policy pack's
(policy/rules.py, tested in test_pack.py), which guards real deploys too.

Each check first asserts that the stack has resources it applies to, so that it can never pass
by having nothing to look at.
"""

from __future__ import annotations

from ops.simulate import Resource, StackResult
from tests.support.plan import ALARM, KMS_KEY, QUEUE, TOPIC


def applicable(stack: StackResult, type_: str) -> list[Resource]:
    found = stack.of_type(type_)
    assert found, f"{stack.stack} has no {type_}: the rule would check nothing"
    return found


def test_every_tag_names_the_stack_and_region_that_own_the_resource(
    stack: StackResult,
) -> None:
    for resource in stack.resources:
        tags = resource.inputs.get("tags") or {}
        if "stack" in tags:
            assert tags["stack"] == stack.stack
            assert tags["region"] == stack.region


def test_every_dead_letter_queue_raises_an_alarm_as_soon_as_a_letter_arrives(
    stack: StackResult,
) -> None:
    dead_letter_queues = [q for q in applicable(stack, QUEUE) if q.outputs["name"].endswith("-dlq")]
    watched = {
        a.inputs["dimensions"].get("QueueName")
        for a in stack.of_type(ALARM)
        if a.inputs.get("metricName") == "ApproximateNumberOfMessagesVisible"
        and a.inputs.get("threshold") == 0
    }
    assert dead_letter_queues
    assert not [q.outputs["name"] for q in dead_letter_queues if q.outputs["name"] not in watched]


def test_every_queue_is_encrypted_with_the_region_key(stack: StackResult) -> None:
    (key,) = stack.of_type(KMS_KEY)
    for queue in applicable(stack, QUEUE):
        assert queue.inputs.get("kmsMasterKeyId") in (key.outputs["arn"], key.outputs["id"]), (
            queue.name
        )


def test_every_topic_is_encrypted_with_the_region_key(stack: StackResult) -> None:
    (key,) = stack.of_type(KMS_KEY)
    for topic in applicable(stack, TOPIC):
        assert topic.inputs.get("kmsMasterKeyId") in (key.outputs["arn"], key.outputs["id"]), (
            topic.name
        )


def test_every_alarm_notifies_its_regions_alarm_topic_when_it_fires_and_recovers(
    stack: StackResult,
) -> None:
    # One alarm topic per region: an alarm that notifies another region's topic pages for the
    # wrong region, and one with no actions pages no one.
    (topic,) = applicable(stack, TOPIC)
    assert topic.outputs["arn"].split(":")[3] == stack.region
    alarms = applicable(stack, ALARM)
    silent = [
        a.name
        for a in alarms
        if a.inputs.get("alarmActions") != [topic.outputs["arn"]]
        or a.inputs.get("okActions") != [topic.outputs["arn"]]
    ]
    assert not silent, f"alarms that do not notify {topic.outputs['arn']}: {silent}"

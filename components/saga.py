"""The checkout saga: its steps, the state machine that runs them, and the outbox they publish
through.

The steps are the functions ``functions.catalog`` names for the saga, and the state machine
definition is generated from the same declaration (functions/orders/saga.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import lifecycle, queues
from components.alarms import alarm_when_above
from components.events import dead_lettered_target, put_events
from components.guards import WILDCARD_ACTIONS
from components.iam import service_role
from components.lambdas import LambdaFunction
from components.settings import PROJECT
from components.site import Site
from components.tags import tags
from components.write_functions import WriteFunctions
from functions.catalog import saga_function_names
from functions.orders import saga

# Step Functions' log delivery and tracing: actions AWS offers no narrower resource for.
_SFN_LOG_DELIVERY_ACTIONS = [a for a in WILDCARD_ACTIONS if a.startswith("logs:")]
_SFN_TRACING_ACTIONS = [a for a in WILDCARD_ACTIONS if a.startswith("xray:")]


@dataclass(frozen=True)
class Saga:
    """The state machine, and what starting and following its executions needs."""

    machine: aws.sfn.StateMachine
    start: dict[str, Any]
    describe: dict[str, Any]


def checkout_saga(
    functions: WriteFunctions, bus: aws.cloudwatch.EventBus, crm_url: str | None
) -> Saga:
    """The payment secret, a function per step, and the state machine over them."""
    site = functions.site
    secret = payment_secret(site)
    steps = {
        function: functions.function(
            function,
            environment=_saga_environment(site, bus, secret, crm_url),
            statements=[
                put_events(bus.arn),
                {
                    "Sid": "PaymentApiKey",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": secret.arn,
                },
                site.kms_via("secretsmanager"),
            ],
        )
        for function in saga_function_names()
    }
    machine = _state_machine(site, steps)
    executions = machine.arn.apply(
        lambda arn: arn.replace(":stateMachine:", ":execution:", 1) + ":*"
    )
    return Saga(
        machine,
        start={
            "Sid": "StartSaga",
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": machine.arn,
        },
        describe={
            "Sid": "DescribeSagaExecutions",
            "Effect": "Allow",
            "Action": ["states:DescribeExecution"],
            "Resource": executions,
        },
    )


def payment_secret(site: Site) -> aws.secretsmanager.Secret:
    """The payment provider's API key, whose value is set out of band."""
    settings = site.settings
    # A fixed name, so `make destroy && make up` needs dev's recovery window of 0.
    return lifecycle.secret(
        f"{site.name}-payment-api-key",
        settings,
        site.child,
        name=f"{PROJECT}/{settings.stack}/payment-api-key",
        description="the payment provider's API key: set its value out of band",
        kms_key_id=site.kms_key_arn,
    )


def _saga_environment(
    site: Site,
    bus: aws.cloudwatch.EventBus,
    secret: aws.secretsmanager.Secret,
    crm_url: str | None,
) -> dict[str, pulumi.Input[str]]:
    """SagaSettings in functions.orders.settings."""
    env: dict[str, pulumi.Input[str]] = {
        "EVENT_BUS_NAME": bus.name,
        "PAYMENT_API_KEY_SECRET_ARN": secret.arn,
    }
    # Without `payments.baseUrl` the variable is absent, and the payment steps fail each
    # order with PaymentNotConfigured rather than call a provider that is not there.
    if site.settings.payments.base_url is not None:
        env["PAYMENT_BASE_URL"] = site.settings.payments.base_url
    if crm_url:
        env["CRM_URL"] = crm_url
    return env


def _state_machine(site: Site, steps: Mapping[str, LambdaFunction]) -> aws.sfn.StateMachine:
    """The checkout saga, from the definition functions/orders/saga.py generates."""
    name, settings = site.name, site.settings
    machine_name = f"{PROJECT}-{settings.stack}-checkout"
    # The vendedlogs prefix keeps the logs resource policy small as machines add up.
    log_group = lifecycle.log_group(
        f"{name}-saga-logs", settings, f"/aws/vendedlogs/states/{machine_name}", site.child
    )
    arns = [step.arn for step in steps.values()]
    role, _ = service_role(
        f"{name}-saga",
        settings,
        "states.amazonaws.com",
        [
            {
                # Only the steps of this stack's saga, and their versions.
                "Sid": "InvokeOwnSteps",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": pulumi.Output.all(*arns).apply(
                    lambda resolved: [a for arn in resolved for a in (arn, f"{arn}:*")]
                ),
            },
            {
                "Sid": "LogDelivery",
                "Effect": "Allow",
                "Action": _SFN_LOG_DELIVERY_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "Tracing",
                "Effect": "Allow",
                "Action": _SFN_TRACING_ACTIONS,
                "Resource": "*",
            },
        ],
        site.child,
    )
    definition = pulumi.Output.all(**{f: step.arn for f, step in steps.items()}).apply(
        lambda resolved: json.dumps(saga.definition(resolved), indent=2, sort_keys=True)
    )
    machine = aws.sfn.StateMachine(
        f"{name}-saga",
        name=machine_name,
        type="STANDARD",
        role_arn=role.arn,
        definition=definition,
        logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
            log_destination=log_group.arn.apply(lambda arn: f"{arn}:*"),
            level="ERROR" if settings.is_prod else "ALL",
            # The execution input carries the payment token: never in the logs.
            include_execution_data=False,
        ),
        tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
        tags=tags(settings, machine_name),
        opts=site.child,
    )
    # CompensationFailed is a Fail state: a failed execution means an order needs a person.
    alarm_when_above(
        f"{name}-saga-failed",
        settings,
        site.alarm_topic_arn,
        site.child,
        alarm_description="a checkout saga failed (a compensation kept failing)",
        namespace="AWS/States",
        metric_name="ExecutionsFailed",
        dimensions={"StateMachineArn": machine.arn},
        statistic="Sum",
        period=60,
        evaluation_periods=1,
    )
    return machine


def outbox_drain(functions: WriteFunctions, bus: aws.cloudwatch.EventBus) -> None:
    """Every minute, the drainer publishes the events waiting in the outbox.

    The saga's steps write their events with their changes and publish them after their
    commit; what the bus did not take then waits in the outbox for this. A schedule on
    the region's default bus (schedules live only there) invokes the drainer, which does
    nothing where the cluster does not write. A delivery that fails, and an invocation
    that still fails after Lambda's two retries, land in a watched dead-letter queue: the
    drainer fails while events stay unpublished or a FAILED order still holds money.
    """
    site = functions.site
    label = "outbox-drain"
    dlq = queues.dead_letter_queue(
        site, label, "outbox drains that failed: events unpublished, or FAILED orders holding money"
    )
    drainer = functions.function(
        "outbox_drain",
        environment={"EVENT_BUS_NAME": bus.name},
        timeout=60,
        statements=[
            put_events(bus.arn),
            {
                "Sid": "FailedDrainsToDeadLetters",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": dlq.arn,
            },
            site.kms_via("sqs"),
        ],
        dead_letter_queue_arn=dlq.arn,
    )
    rule = aws.cloudwatch.EventRule(
        f"{site.name}-{label}",
        # On the default bus, which every stack of the account shares in this region.
        name=f"{PROJECT}-{site.settings.stack}-{label}",
        description="every minute: publish the domain events waiting in the outbox",
        schedule_expression="rate(1 minute)",
        tags=tags(site.settings, f"{site.name}-{label}"),
        opts=site.child,
    )
    permission = aws.lambda_.Permission(
        f"{site.name}-{label}-permission",
        action="lambda:InvokeFunction",
        function=drainer.name,
        principal="events.amazonaws.com",
        source_arn=rule.arn,
        opts=site.child,
    )
    dead_lettered_target(
        site,
        label,
        rule,
        drainer.arn,
        dlq,
        depends_on=[permission],
        # A tick that cannot be delivered within two minutes is superseded by the next.
        max_event_age_seconds=120,
        max_retry_attempts=2,
    )

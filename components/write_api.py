"""The write function behind ``POST /orders``, and the environment and permissions it exports:
AppSync's ``placeOrder`` runs the same code, so RegionalEdge gives its resolver both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.events import put_events
from components.lambdas import LambdaFunction
from components.saga import Saga
from components.write_functions import WriteFunctions


@dataclass(frozen=True)
class WriteFunction:
    """The write function, with what another function needs to run the same code."""

    function: LambdaFunction
    environment: dict[str, pulumi.Input[str]]
    statements: list[dict[str, Any]]


def write_function(
    functions: WriteFunctions,
    bus: aws.cloudwatch.EventBus,
    checkout: Saga,
    primary_write_url: pulumi.Input[str] | None,
) -> WriteFunction:
    """The write API: it starts the saga where this region writes, and forwards elsewhere."""
    environment = _write_environment(functions, bus, checkout.machine, primary_write_url)
    statements = [
        *follow_the_writer(functions),
        checkout.start,
        checkout.describe,
        put_events(bus.arn),
    ]
    function = functions.function("write_api", environment=environment, statements=statements)
    return WriteFunction(function, environment, statements)


def follow_the_writer(functions: WriteFunctions) -> list[dict[str, Any]]:
    """Reading the control record, and forwarding a write to the region it names."""
    return [
        {
            "Sid": "ReadControlRecord",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem"],
            "Resource": functions.table_arn(),
        },
        functions.site.kms_via("dynamodb"),
        {
            # The primary is whichever region the control record names, possibly one
            # added after this stack: only the internal route is allowed, anywhere.
            "Sid": "ForwardToPrimary",
            "Effect": "Allow",
            "Action": ["execute-api:Invoke"],
            "Resource": functions.site.account_id.apply(
                lambda account: f"arn:aws:execute-api:*:{account}:*/*/POST/internal/orders"
            ),
        },
    ]


def _write_environment(
    functions: WriteFunctions,
    bus: aws.cloudwatch.EventBus,
    machine: aws.sfn.StateMachine,
    primary_write_url: pulumi.Input[str] | None,
) -> dict[str, pulumi.Input[str]]:
    """WriteApiSettings in functions.orders.settings."""
    settings = functions.site.settings
    primary = (
        settings
        if settings.is_home or settings.home_stack is None
        else settings.peer(settings.home_stack)
    )
    env: dict[str, pulumi.Input[str]] = {
        "TABLE_NAME": functions.data.table_name,
        "STATE_MACHINE_ARN": machine.arn,
        "EVENT_BUS_NAME": bus.name,
        "WRITE_MODE": settings.write_mode.value,
        "PRIMARY_REGION": primary.region,
    }
    if primary_write_url is not None:
        env["PRIMARY_WRITE_URL"] = primary_write_url
    return env

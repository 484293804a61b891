"""WriteOrchestrator: the write path's functions, the checkout saga, the bus and its routes.

Deployed in every region, so that promoting a secondary needs no deploy: the control record
in the global table decides which region's write API starts sagas. What differs by role:

- the primary routes ``OrderRequested`` (async mode) from its bus to an intake queue whose
  consumer starts the saga, and runs the migrations at deploy time;
- a secondary forwards ``OrderRequested`` from its bus to the primary's bus.

Every region projects domain events into its replica of the global table (idle until it is
the primary) and archives them in its lake bucket through Firehose. Every asynchronous hop
has an encrypted dead-letter queue with an alarm on its depth.

Each concern has its module (events, saga, write_api, order_requests, projection, lake,
migrations); this one composes them, in order, under one component.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.events import orders_bus
from components.iam import account_id
from components.lake import lake_feed
from components.lambdas import LambdaCode, VpcPlacement, lambda_code
from components.migrations import migrations
from components.order_requests import forward, intake
from components.projection import projection
from components.saga import checkout_saga, outbox_drain
from components.settings import Settings
from components.site import Site
from components.write_api import write_function
from components.write_functions import WriteData, WriteFunctions

__all__ = ["WriteData", "WriteOrchestrator", "WriteOrchestratorArgs"]


@dataclass(frozen=True)
class WriteOrchestratorArgs:
    """What one region's write path needs."""

    settings: Settings
    # The private subnets and the Lambda security group: Aurora is only reachable there.
    vpc: VpcPlacement
    data: WriteData
    # The region's alarm topic (AlarmTopic's ARN): the dead-letter and saga alarms notify it.
    alarm_topic_arn: pulumi.Input[str]
    # The stack's shared archives and layer; made here (and exposed as ``code``) when None.
    code: LambdaCode | None = None
    # Secondaries: the primary's bus, from the primary's outputs; None in the primary.
    primary_event_bus_arn: pulumi.Input[str] | None = None
    # Used only until the control record exists (first deploy): the primary's internal route.
    primary_write_url: pulumi.Input[str] | None = None
    # Optional on-premises CRM endpoint that UpdateCustomer notifies.
    crm_url: str | None = None


class WriteOrchestrator(pulumi.ComponentResource):
    """The saga's state machine and Lambdas, the regional bus and its routes, DLQs, the lake feed."""

    state_machine_arn: pulumi.Output[str]
    event_bus_arn: pulumi.Output[str]
    event_bus_name: pulumi.Output[str]
    write_function_arn: pulumi.Output[str]
    write_function_name: pulumi.Output[str]
    # The write function's environment and statements: AppSync's placeOrder runs the same code.
    write_environment: dict[str, pulumi.Input[str]]
    write_statements: list[dict[str, Any]]
    code: LambdaCode
    # The rules on this region's bus, for their FailedInvocations alarms.
    rule_names: list[str]

    def __init__(
        self, name: str, args: WriteOrchestratorArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("active-active:components:WriteOrchestrator", name, None, opts)
        settings = args.settings
        site = Site(
            name, settings, self, args.data.kms_key_arn, args.alarm_topic_arn, account_id(self)
        )
        self.code = args.code or lambda_code(name, settings, self)
        functions = WriteFunctions(site, self.code, args.vpc, args.data)

        bus = orders_bus(site)
        self.event_bus_arn = bus.arn
        self.event_bus_name = bus.name

        checkout = checkout_saga(functions, bus, args.crm_url)
        self.state_machine_arn = checkout.machine.arn

        write = write_function(functions, bus, checkout, args.primary_write_url)
        self.write_function_arn = write.function.arn
        self.write_function_name = write.function.name
        self.write_environment = write.environment
        self.write_statements = write.statements

        # OrderRequested: the primary starts sagas from it, a secondary forwards it.
        requests = (
            intake(functions, bus, checkout)
            if settings.is_home
            else forward(functions, bus, args.primary_event_bus_arn)
        )
        self.rule_names = [
            requests,
            projection(functions, bus),
            lake_feed(site, bus, args.data.lake_bucket_arn),
        ]
        outbox_drain(functions, bus)

        migrations(functions)
        self.dead_letter_queue_names = site.dead_letters

        self.register_outputs(
            {
                "stateMachineArn": self.state_machine_arn,
                "eventBusArn": self.event_bus_arn,
                "eventBusName": self.event_bus_name,
                "writeFunctionArn": self.write_function_arn,
            }
        )

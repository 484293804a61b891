"""WriteOrchestrator: the write path's functions, the checkout saga, the bus and its routes.

Deployed in every region, so that promoting a secondary needs no deploy: the control record
in the global table decides which region's write API starts sagas. What differs by role:

- the primary routes ``OrderRequested`` (async mode) from its bus to an intake queue whose
  consumer starts the saga, and runs the migrations at deploy time;
- a secondary forwards ``OrderRequested`` from its bus to the primary's bus.

Every region projects domain events into its replica of the global table (idle until it is
the primary) and archives them in its lake bucket through Firehose. Every asynchronous hop
has an encrypted dead-letter queue with an alarm on its depth.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components import lifecycle, queues
from components.alarms import metric_alarm
from components.data import EVENTS_PARTITION, EVENTS_PREFIX
from components.lambdas import (
    WILDCARD_ACTIONS,
    FunctionArgs,
    LambdaCode,
    LambdaFunction,
    VpcPlacement,
    assume_role_policy,
    kms_via,
    lambda_code,
    policy_document,
)
from components.settings import PROJECT, Settings
from components.tags import tags
from functions.catalog import HandlerSpec, by_name, saga_function_names
from functions.orders import saga
from functions.orders.events import EVENT_SOURCE, ORDER_REQUESTED

# What functions.orders.migrations applies; the same directory, checked by a test.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "functions" / "migrations"

# Every function of the write side, by catalog name; the saga's steps come from the saga.
WRITE_FUNCTIONS: tuple[str, ...] = (
    "write_api",
    "order_intake",
    "projector",
    "migrator",
    "outbox_drain",
    *saga_function_names(),
)


# The layout the Glue table of GlobalData expects: events/dt=YYYY-MM-DD/, by the UTC arrival
# time of the event (Firehose's timestamp namespace).
EVENTS_DELIVERY_PREFIX = f"{EVENTS_PREFIX}{EVENTS_PARTITION}=!{{timestamp:yyyy-MM-dd}}/"
# Outside events/, so that a query of the events table never reads a failed record.
EVENTS_ERROR_PREFIX = "errors/events/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/"

# Step Functions' log delivery and tracing: actions AWS offers no narrower resource for.
_SFN_LOG_DELIVERY_ACTIONS = [a for a in WILDCARD_ACTIONS if a.startswith("logs:")]
_SFN_TRACING_ACTIONS = [a for a in WILDCARD_ACTIONS if a.startswith("xray:")]
_SQS_CONSUMER_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]

# The Lambda timeout of an SQS consumer; the queue hides a message six times as long, as
# AWS advises, so a retry never overlaps a running attempt.
_CONSUMER_TIMEOUT = 30
_MAX_RECEIVES = 5


def bus_name(settings: Settings) -> str:
    """The orders bus's name: the same in every region, as EventBridge global endpoints need
    (docs/pitfalls.md item 21), and one per environment, as the global cluster and Glue names are,
    so that a dev and a prod deployment can share an account."""
    return f"{PROJECT}-{settings.environment.value}-orders"


def migrations_hash(directory: Path = MIGRATIONS_DIR) -> str:
    """SHA-256 over the migration files, names and contents: changes when a migration does."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def order_requested_pattern() -> str:
    """The event pattern of write requests put on a bus by a secondary's write API."""
    return json.dumps({"source": [EVENT_SOURCE], "detail-type": [ORDER_REQUESTED]})


def domain_events_pattern() -> str:
    """The event pattern of the saga's domain events: every order event but a request."""
    return json.dumps(
        {"source": [EVENT_SOURCE], "detail-type": [{"anything-but": [ORDER_REQUESTED]}]}
    )


@dataclass(frozen=True)
class WriteData:
    """What the write path needs of GlobalData, in this region."""

    kms_key_arn: pulumi.Input[str]
    table_name: pulumi.Input[str]
    db_cluster_resource_id: pulumi.Input[str]
    db_endpoint: pulumi.Input[str]
    db_name: str
    db_user: str
    # The master user's secret in this region (GlobalData's dbSecretArn: in a secondary, its
    # replica of the primary's); only the migrator reads it.
    db_secret_arn: pulumi.Input[str]
    lake_bucket_arn: pulumi.Input[str]
    # The global database and this region's member of it: the migrator applies migrations
    # only while this cluster is the global database's writer.
    global_cluster_id: pulumi.Input[str]
    db_cluster_arn: pulumi.Input[str]
    # Resources the migrator must wait for (this region's instance): the invocation connects.
    database_ready: Sequence[pulumi.Resource] = ()


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

    def __init__(
        self, name: str, args: WriteOrchestratorArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("active-active:components:WriteOrchestrator", name, None, opts)
        self._name = name
        self._args = args
        self._settings = settings = args.settings
        self._child = pulumi.ResourceOptions(parent=self)
        # The rules on this region's bus, as they are made.
        self.rule_names: list[str] = []
        self._account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id

        code = args.code or lambda_code(name, settings, self)
        self.code = code
        bus = aws.cloudwatch.EventBus(
            f"{name}-bus",
            name=bus_name(settings),
            description="order requests and the checkout saga's domain events",
            tags=tags(settings, f"{name}-bus"),
            opts=self._child,
        )
        aws.cloudwatch.EventArchive(
            f"{name}-archive",
            name=bus_name(settings),
            description="every event of the orders bus, for replay",
            event_source_arn=bus.arn,
            retention_days=365 if settings.is_prod else 30,
            opts=self._child,
        )
        self.event_bus_arn = bus.arn
        self.event_bus_name = bus.name

        # A fixed name, so `make destroy && make up` needs dev's recovery window of 0.
        payment_secret = lifecycle.secret(
            f"{name}-payment-api-key",
            settings,
            self._child,
            name=f"{PROJECT}/{settings.stack}/payment-api-key",
            description="the payment provider's API key: set its value out of band",
            kms_key_id=args.data.kms_key_arn,
        )

        steps = {
            function: self._function(
                code,
                function,
                environment=self._saga_environment(bus, payment_secret),
                statements=[
                    self._put_events(bus.arn),
                    {
                        "Sid": "PaymentApiKey",
                        "Effect": "Allow",
                        "Action": ["secretsmanager:GetSecretValue"],
                        "Resource": payment_secret.arn,
                    },
                    self._kms_via("secretsmanager"),
                ],
            )
            for function in saga_function_names()
        }
        machine = self._state_machine(steps)
        self.state_machine_arn = machine.arn
        executions = machine.arn.apply(
            lambda arn: arn.replace(":stateMachine:", ":execution:", 1) + ":*"
        )
        start_saga = {
            "Sid": "StartSaga",
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": machine.arn,
        }
        describe_saga = {
            "Sid": "DescribeSagaExecutions",
            "Effect": "Allow",
            "Action": ["states:DescribeExecution"],
            "Resource": executions,
        }

        self.write_environment = self._write_environment(bus, machine)
        self.write_statements = [
            *self._follow_the_writer(),
            start_saga,
            describe_saga,
            self._put_events(bus.arn),
        ]
        write_api = self._function(
            code, "write_api", environment=self.write_environment, statements=self.write_statements
        )
        self.write_function_arn = write_api.arn
        self.write_function_name = write_api.name

        # OrderRequested: the primary starts sagas from it, a secondary forwards it.
        if settings.is_home:
            self._intake(code, bus, machine, start_saga, describe_saga)
        else:
            self._forward(bus)

        self._projection(code, bus)
        self._lake(bus)
        self._outbox_drain(code, bus)

        self._migrations(code)

        self.register_outputs(
            {
                "stateMachineArn": self.state_machine_arn,
                "eventBusArn": self.event_bus_arn,
                "eventBusName": self.event_bus_name,
                "writeFunctionArn": self.write_function_arn,
            }
        )

    def _migrations(self, code: LambdaCode) -> None:
        """The migrator, invoked at deploy time in every region.

        Which region writes is run-time state: after a failover the home region's cluster is a
        reader. Every stack invokes its migrator; each one asks the global database whether its
        own cluster is the writer, and only the writer's applies the migrations (the others
        answer ``skipped`` without connecting). Runs on create and whenever a migration file
        changes; a failure fails the deploy. The migrator is idempotent and locks, so a re-run
        is harmless.
        """
        data = self._args.data
        migrator = self._function(
            code,
            "migrator",
            timeout=300,
            environment={
                "GLOBAL_CLUSTER_ID": data.global_cluster_id,
                "DB_CLUSTER_ARN": data.db_cluster_arn,
            },
            statements=[*self._master_secret(), self._describe_global_cluster()],
            as_master=True,
        )
        aws.lambda_.Invocation(
            f"{self._name}-migrations",
            function_name=migrator.name,
            input=json.dumps({"source": "pulumi", "action": "migrate"}),
            triggers={"migrations": migrations_hash()},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[migrator, *data.database_ready]),
        )

    def _describe_global_cluster(self) -> dict[str, Any]:
        """Reading the global database's membership: which member cluster writes."""
        return {
            "Sid": "FindTheWriter",
            "Effect": "Allow",
            "Action": ["rds:DescribeGlobalClusters"],
            "Resource": pulumi.Output.all(self._account, self._args.data.global_cluster_id).apply(
                lambda v: f"arn:aws:rds::{v[0]}:global-cluster:{v[1]}"
            ),
        }

    # -- functions -------------------------------------------------------------------------

    def _function(
        self,
        code: LambdaCode,
        function: str,
        *,
        environment: Mapping[str, pulumi.Input[str]] | None = None,
        statements: Sequence[Mapping[str, Any]] = (),
        timeout: int = 30,
        as_master: bool = False,
        dead_letter_queue_arn: pulumi.Input[str] | None = None,
    ) -> LambdaFunction:
        """One write-side function; those that need the database get the VPC and IAM auth.

        ``as_master``: the function logs in as the master user with the password of its secret
        (the migrator), instead of as the IAM user.
        """
        spec: HandlerSpec = by_name()[function]
        env = dict(environment or {})
        all_statements = list(statements)
        if spec.needs_database:
            env |= self._database_environment(as_master)
            if not as_master:
                all_statements.append(self._db_connect())
        return LambdaFunction(
            f"{self._name}-{function.replace('_', '-')}",
            self._settings,
            code,
            FunctionArgs(
                spec=spec,
                environment=env,
                statements=all_statements,
                vpc=self._args.vpc if spec.needs_vpc else None,
                dead_letter_queue_arn=dead_letter_queue_arn,
                timeout=timeout,
            ),
            self._args.alarm_topic_arn,
            opts=self._child,
        )

    def _database_environment(self, as_master: bool = False) -> dict[str, pulumi.Input[str]]:
        """The variables of functions.orders.db: this region's cluster endpoint, and the IAM
        user or (``as_master``) the master user's secret."""
        data = self._args.data
        login: dict[str, pulumi.Input[str]] = (
            {"DB_SECRET_ARN": data.db_secret_arn} if as_master else {"DB_USER": data.db_user}
        )
        return {"DB_HOST": data.db_endpoint, "DB_PORT": "5432", "DB_NAME": data.db_name, **login}

    def _saga_environment(
        self, bus: aws.cloudwatch.EventBus, secret: aws.secretsmanager.Secret
    ) -> dict[str, pulumi.Input[str]]:
        """SagaSettings in functions.orders.settings."""
        env: dict[str, pulumi.Input[str]] = {
            "EVENT_BUS_NAME": bus.name,
            "PAYMENT_API_KEY_SECRET_ARN": secret.arn,
        }
        # Without `payments.baseUrl` the variable is absent, and the payment steps fail each
        # order with PaymentNotConfigured rather than call a provider that is not there.
        if self._settings.payments.base_url is not None:
            env["PAYMENT_BASE_URL"] = self._settings.payments.base_url
        if self._args.crm_url:
            env["CRM_URL"] = self._args.crm_url
        return env

    def _write_environment(
        self, bus: aws.cloudwatch.EventBus, machine: aws.sfn.StateMachine
    ) -> dict[str, pulumi.Input[str]]:
        """WriteApiSettings in functions.orders.settings."""
        settings = self._settings
        primary = (
            settings
            if settings.is_home or settings.home_stack is None
            else settings.peer(settings.home_stack)
        )
        env: dict[str, pulumi.Input[str]] = {
            "TABLE_NAME": self._args.data.table_name,
            "STATE_MACHINE_ARN": machine.arn,
            "EVENT_BUS_NAME": bus.name,
            "WRITE_MODE": settings.write_mode.value,
            "PRIMARY_REGION": primary.region,
        }
        if self._args.primary_write_url is not None:
            env["PRIMARY_WRITE_URL"] = self._args.primary_write_url
        return env

    # -- IAM statements ---------------------------------------------------------------------

    def _db_connect(self) -> dict[str, Any]:
        """IAM database authentication as the write path's user, on this region's cluster."""
        data = self._args.data
        region = self._settings.region
        return {
            "Sid": "ConnectAsDatabaseUser",
            "Effect": "Allow",
            "Action": ["rds-db:connect"],
            "Resource": pulumi.Output.all(self._account, data.db_cluster_resource_id).apply(
                lambda v: f"arn:aws:rds-db:{region}:{v[0]}:dbuser:{v[1]}/{data.db_user}"
            ),
        }

    def _master_secret(self) -> list[dict[str, Any]]:
        """Reading the master user's secret in this region, and no other: the primary's own, or
        in a secondary the replica of it that this region's key encrypts, so that the migrator
        of a promoted secondary needs nothing from the region it replaces."""
        return [
            {
                "Sid": "ReadMasterSecret",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": self._args.data.db_secret_arn,
            },
            # Reading a secret only decrypts it.
            self._kms_via("secretsmanager", actions=["kms:Decrypt"]),
        ]

    def _table_arn(self) -> pulumi.Output[str]:
        """This region's replica of the global table (never another region's)."""
        region = self._settings.region
        return pulumi.Output.all(self._account, self._args.data.table_name).apply(
            lambda v: f"arn:aws:dynamodb:{region}:{v[0]}:table/{v[1]}"
        )

    def _kms_via(
        self, service: str, actions: Sequence[str] = ("kms:Decrypt", "kms:GenerateDataKey")
    ) -> dict[str, Any]:
        """Use of the region's key, only through one service of this region."""
        return kms_via(self._settings.region, self._args.data.kms_key_arn, service, actions)

    @staticmethod
    def _put_events(bus_arn: pulumi.Input[str]) -> dict[str, Any]:
        return {
            "Sid": "PutEventsOnRegionalBus",
            "Effect": "Allow",
            "Action": ["events:PutEvents"],
            "Resource": bus_arn,
        }

    def _service_role(
        self, label: str, service: str, statements: Sequence[Mapping[str, Any]]
    ) -> aws.iam.Role:
        """A role one AWS service assumes, with one inline policy."""
        role = aws.iam.Role(
            f"{self._name}-{label}-role",
            assume_role_policy=assume_role_policy(service),
            tags=tags(self._settings, f"{self._name}-{label}-role"),
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-{label}-policy",
            role=role.id,
            policy=policy_document(statements),
            opts=self._child,
        )
        return role

    # -- state machine ----------------------------------------------------------------------

    def _state_machine(self, steps: Mapping[str, LambdaFunction]) -> aws.sfn.StateMachine:
        """The checkout saga, from the definition functions/orders/saga.py generates."""
        name, settings = self._name, self._settings
        machine_name = f"{PROJECT}-{settings.stack}-checkout"
        # The vendedlogs prefix keeps the logs resource policy small as machines add up.
        log_group = lifecycle.log_group(
            f"{name}-saga-logs", settings, f"/aws/vendedlogs/states/{machine_name}", self._child
        )
        arns = [step.arn for step in steps.values()]
        role = self._service_role(
            "saga",
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
            opts=self._child,
        )
        # CompensationFailed is a Fail state: a failed execution means an order needs a person.
        metric_alarm(
            f"{name}-saga-failed",
            settings,
            self._args.alarm_topic_arn,
            self._child,
            alarm_description="a checkout saga failed (a compensation kept failing)",
            namespace="AWS/States",
            metric_name="ExecutionsFailed",
            dimensions={"StateMachineArn": machine.arn},
            statistic="Sum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
        )
        return machine

    # -- queues -----------------------------------------------------------------------------

    def _queue(self, label: str, **extra: Any) -> aws.sqs.Queue:
        """An SQS queue encrypted with the region's key, alarmed when messages wait."""
        return queues.work_queue(
            f"{self._name}-{label}",
            self._settings,
            f"{PROJECT}-{self._settings.stack}-{label}",
            self._args.data.kms_key_arn,
            self._args.alarm_topic_arn,
            self._child,
            **extra,
        )

    def _dead_letter_queue(self, label: str, purpose: str) -> aws.sqs.Queue:
        """A DLQ kept 14 days, with an alarm as soon as anything is in it."""
        return queues.dead_letter_queue(
            f"{self._name}-{label}-dlq",
            self._settings,
            f"{PROJECT}-{self._settings.stack}-{label}-dlq",
            self._args.data.kms_key_arn,
            self._args.alarm_topic_arn,
            purpose,
            self._child,
        )

    def _allow_rule_to_send(
        self, label: str, queue: aws.sqs.Queue, rules: Sequence[aws.cloudwatch.EventRule]
    ) -> aws.sqs.QueuePolicy:
        """Only these rules of this bus may put messages on ``queue``."""
        return aws.sqs.QueuePolicy(
            f"{self._name}-{label}-policy",
            queue_url=queue.url,
            policy=policy_document(
                [
                    {
                        "Sid": "FromRule",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue.arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": [r.arn for r in rules]}},
                    }
                ]
            ),
            opts=self._child,
        )

    def _rule(
        self, label: str, bus: aws.cloudwatch.EventBus, pattern: str, description: str
    ) -> aws.cloudwatch.EventRule:
        """A rule on this region's bus (its name kept for its FailedInvocations alarm)."""
        self.rule_names.append(f"{PROJECT}-{label}")
        return aws.cloudwatch.EventRule(
            f"{self._name}-{label}",
            name=f"{PROJECT}-{label}",
            description=description,
            event_bus_name=bus.name,
            event_pattern=pattern,
            tags=tags(self._settings, f"{self._name}-{label}"),
            opts=self._child,
        )

    def _consumer(
        self,
        code: LambdaCode,
        label: str,
        function: str,
        bus: aws.cloudwatch.EventBus,
        pattern: str,
        description: str,
        environment: Mapping[str, pulumi.Input[str]],
        statements: Sequence[Mapping[str, Any]],
    ) -> aws.cloudwatch.EventRule:
        """Rule -> SQS (with DLQ) -> function with partial batch failures."""
        dlq = self._dead_letter_queue(label, description)
        queue = self._queue(
            label,
            visibility_timeout_seconds=6 * _CONSUMER_TIMEOUT,
            message_retention_seconds=4 * 24 * 3600,
            redrive_policy=dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": _MAX_RECEIVES}
                )
            ),
        )
        rule = self._rule(label, bus, pattern, description)
        policies = [
            self._allow_rule_to_send(label, queue, [rule]),
            self._allow_rule_to_send(f"{label}-dlq", dlq, [rule]),
        ]
        aws.cloudwatch.EventTarget(
            f"{self._name}-{label}-target",
            rule=rule.name,
            event_bus_name=bus.name,
            arn=queue.arn,
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dlq.arn),
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=24 * 3600, maximum_retry_attempts=185
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=policies),
        )
        consumer = self._function(
            code,
            function,
            environment=environment,
            timeout=_CONSUMER_TIMEOUT,
            statements=[
                *statements,
                {
                    "Sid": "ConsumeQueue",
                    "Effect": "Allow",
                    "Action": _SQS_CONSUMER_ACTIONS,
                    "Resource": queue.arn,
                },
                self._kms_via("sqs"),
            ],
        )
        aws.lambda_.EventSourceMapping(
            f"{self._name}-{label}-source",
            event_source_arn=queue.arn,
            function_name=consumer.arn,
            batch_size=10,
            maximum_batching_window_in_seconds=1,
            function_response_types=["ReportBatchItemFailures"],
            tags=tags(self._settings, f"{self._name}-{label}-source"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[consumer]),
        )
        return rule

    # -- routes -----------------------------------------------------------------------------

    def _intake(
        self,
        code: LambdaCode,
        bus: aws.cloudwatch.EventBus,
        machine: aws.sfn.StateMachine,
        start_saga: Mapping[str, Any],
        describe_saga: Mapping[str, Any],
    ) -> None:
        """Primary: OrderRequested -> intake queue -> order_intake -> the saga.

        Not a direct Step Functions target: EventBridge would name each execution at random,
        and it delivers at least once, so a redelivered request would start a second saga.
        order_intake names the execution after the order id, exactly as the write API does.
        """
        self._consumer(
            code,
            "order-requests",
            "order_intake",
            bus,
            order_requested_pattern(),
            "OrderRequested from any region's write API, into the checkout saga",
            environment={
                "STATE_MACHINE_ARN": machine.arn,
                "TABLE_NAME": self._args.data.table_name,
            },
            # After a failover the writer is elsewhere: intake forwards there, as the write
            # API does, instead of starting a saga against this region's reader.
            statements=[start_saga, describe_saga, *self._follow_the_writer()],
        )

    def _follow_the_writer(self) -> list[dict[str, Any]]:
        """Reading the control record, and forwarding a write to the region it names."""
        return [
            {
                "Sid": "ReadControlRecord",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem"],
                "Resource": self._table_arn(),
            },
            self._kms_via("dynamodb"),
            {
                # The primary is whichever region the control record names, possibly one
                # added after this stack: only the internal route is allowed, anywhere.
                "Sid": "ForwardToPrimary",
                "Effect": "Allow",
                "Action": ["execute-api:Invoke"],
                "Resource": self._account.apply(
                    lambda account: f"arn:aws:execute-api:*:{account}:*/*/POST/internal/orders"
                ),
            },
        ]

    def _forward(self, bus: aws.cloudwatch.EventBus) -> None:
        """Secondary: OrderRequested -> the primary's bus (a cross-region bus target)."""
        primary_bus = self._args.primary_event_bus_arn
        if primary_bus is None:
            raise ValueError(f"{self._settings.stack}: a secondary needs the primary's bus ARN")
        label = "forward-orders"
        dlq = self._dead_letter_queue(label, "OrderRequested the primary's bus did not take")
        rule = self._rule(
            label, bus, order_requested_pattern(), "OrderRequested, forwarded to the primary's bus"
        )
        role = self._service_role(
            label,
            "events.amazonaws.com",
            [
                {
                    "Sid": "PutOnPrimaryBus",
                    "Effect": "Allow",
                    "Action": ["events:PutEvents"],
                    "Resource": primary_bus,
                }
            ],
        )
        policy = self._allow_rule_to_send(f"{label}-dlq", dlq, [rule])
        aws.cloudwatch.EventTarget(
            f"{self._name}-{label}-target",
            rule=rule.name,
            event_bus_name=bus.name,
            arn=primary_bus,
            role_arn=role.arn,
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dlq.arn),
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=24 * 3600, maximum_retry_attempts=185
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _projection(self, code: LambdaCode, bus: aws.cloudwatch.EventBus) -> None:
        """Domain events -> projector queue -> projector -> this region's table."""
        self._consumer(
            code,
            "projection",
            "projector",
            bus,
            domain_events_pattern(),
            "domain events, projected into the order views",
            environment={"TABLE_NAME": self._args.data.table_name},
            statements=[
                {
                    "Sid": "WriteOrderViews",
                    "Effect": "Allow",
                    "Action": ["dynamodb:PutItem"],
                    "Resource": self._table_arn(),
                },
                self._kms_via("dynamodb"),
            ],
        )

    def _outbox_drain(self, code: LambdaCode, bus: aws.cloudwatch.EventBus) -> None:
        """Every minute, the drainer publishes the events waiting in the outbox.

        The saga's steps write their events with their changes and publish them after their
        commit; what the bus did not take then waits in the outbox for this. A schedule on
        the region's default bus (schedules live only there) invokes the drainer, which does
        nothing where the cluster does not write. A delivery that fails, and an invocation
        that still fails after Lambda's two retries, land in a watched dead-letter queue: the
        drainer fails while events stay unpublished or a FAILED order still holds money.
        """
        label = "outbox-drain"
        dlq = self._dead_letter_queue(
            label, "outbox drains that failed: events unpublished, or FAILED orders holding money"
        )
        drainer = self._function(
            code,
            "outbox_drain",
            environment={"EVENT_BUS_NAME": bus.name},
            timeout=60,
            statements=[
                self._put_events(bus.arn),
                {
                    "Sid": "FailedDrainsToDeadLetters",
                    "Effect": "Allow",
                    "Action": ["sqs:SendMessage"],
                    "Resource": dlq.arn,
                },
                self._kms_via("sqs"),
            ],
            dead_letter_queue_arn=dlq.arn,
        )
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-{label}",
            # On the default bus, which every stack of the account shares in this region.
            name=f"{PROJECT}-{self._settings.stack}-{label}",
            description="every minute: publish the domain events waiting in the outbox",
            schedule_expression="rate(1 minute)",
            tags=tags(self._settings, f"{self._name}-{label}"),
            opts=self._child,
        )
        permission = aws.lambda_.Permission(
            f"{self._name}-{label}-permission",
            action="lambda:InvokeFunction",
            function=drainer.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=self._child,
        )
        policy = self._allow_rule_to_send(f"{label}-dlq", dlq, [rule])
        aws.cloudwatch.EventTarget(
            f"{self._name}-{label}-target",
            rule=rule.name,
            arn=drainer.arn,
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dlq.arn),
            # A tick that cannot be delivered within two minutes is superseded by the next.
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=120, maximum_retry_attempts=2
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission, policy]),
        )

    def _lake(self, bus: aws.cloudwatch.EventBus) -> None:
        """Domain events -> Firehose -> the lake bucket under events/, by date, encrypted."""
        name, settings, data = self._name, self._settings, self._args.data
        stream_name = f"{PROJECT}-{settings.stack}-events"
        log_group = lifecycle.log_group(
            f"{name}-lake-logs", settings, f"/aws/kinesisfirehose/{stream_name}", self._child
        )
        bucket_objects = pulumi.Output.from_input(data.lake_bucket_arn).apply(
            lambda arn: [f"{arn}/{EVENTS_PREFIX}*", f"{arn}/errors/events/*"]
        )
        delivery_role = self._service_role(
            "lake-delivery",
            "firehose.amazonaws.com",
            [
                {
                    "Sid": "Bucket",
                    "Effect": "Allow",
                    "Action": [
                        "s3:GetBucketLocation",
                        "s3:ListBucket",
                        "s3:ListBucketMultipartUploads",
                    ],
                    "Resource": data.lake_bucket_arn,
                },
                {
                    "Sid": "EventObjects",
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                    "Resource": bucket_objects,
                },
                self._kms_via("s3"),
                {
                    "Sid": "DeliveryLogs",
                    "Effect": "Allow",
                    "Action": ["logs:PutLogEvents"],
                    "Resource": log_group.arn.apply(lambda arn: f"{arn}:*"),
                },
            ],
        )
        log_stream = aws.cloudwatch.LogStream(
            f"{name}-lake-delivery-log",
            name="S3Delivery",
            log_group_name=log_group.name,
            opts=self._child,
        )
        stream = aws.kinesis.FirehoseDeliveryStream(
            f"{name}-lake",
            name=stream_name,
            destination="extended_s3",
            server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
                enabled=True, key_type="AWS_OWNED_CMK"
            ),
            extended_s3_configuration=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationArgs(
                bucket_arn=data.lake_bucket_arn,
                role_arn=delivery_role.arn,
                prefix=EVENTS_DELIVERY_PREFIX,
                error_output_prefix=EVENTS_ERROR_PREFIX,
                # Objects encrypted with the region's key, as the rest of the bucket.
                kms_key_arn=data.kms_key_arn,
                compression_format="GZIP",
                buffering_interval=300 if settings.is_prod else 60,
                buffering_size=64,
                # One JSON event a line: what the Glue table's JSON SerDe reads.
                processing_configuration=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationArgs(
                    enabled=True,
                    processors=[
                        aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorArgs(
                            type="AppendDelimiterToRecord"
                        )
                    ],
                ),
                cloudwatch_logging_options=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationCloudwatchLoggingOptionsArgs(
                    enabled=True,
                    log_group_name=log_group.name,
                    log_stream_name=log_stream.name,
                ),
            ),
            tags=tags(settings, stream_name),
            opts=self._child,
        )  # fmt: skip

        label = "lake"
        dlq = self._dead_letter_queue(label, "domain events Firehose did not take")
        rule = self._rule(label, bus, domain_events_pattern(), "domain events, into the lake")
        put_role = self._service_role(
            "lake-put",
            "events.amazonaws.com",
            [
                {
                    "Sid": "PutIntoStream",
                    "Effect": "Allow",
                    "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                    "Resource": stream.arn,
                }
            ],
        )
        policy = self._allow_rule_to_send(f"{label}-dlq", dlq, [rule])
        aws.cloudwatch.EventTarget(
            f"{name}-{label}-target",
            rule=rule.name,
            event_bus_name=bus.name,
            arn=stream.arn,
            role_arn=put_role.arn,
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dlq.arn),
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=24 * 3600, maximum_retry_attempts=185
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

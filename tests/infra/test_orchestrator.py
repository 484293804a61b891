"""WriteOrchestrator as simulated: the saga, the bus and its routes, dead letters, least privilege.

Each test reads the example deployment (primary us-east-1, secondaries eu-west-1 and
ap-southeast-2) the way the plan shows it: resource inputs with every output resolved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from statelint.linter import Linter

from components.guards import WILDCARD_ACTIONS
from components.lake import EVENTS_PREFIX
from components.migrations import MIGRATIONS_DIR, migrations_hash
from functions.catalog import by_name, saga_function_names
from functions.orders.events import EVENT_SOURCE, ORDER_REQUESTED
from ops.simulate import DeploymentResult, Resource, StackResult
from tests.infra.conftest import Simulate, SimulateOne
from tests.support.deployments import generated_configs
from tests.support.plan import (
    ALARM,
    EVENT_ARCHIVE,
    EVENT_BUS,
    EVENT_RULE,
    EVENT_SOURCE_MAPPING,
    EVENT_TARGET,
    FIREHOSE,
    FUNCTION,
    GLUE_TABLE,
    INVOCATION,
    INVOKE_CONFIG,
    LAMBDA_PERMISSION,
    QUEUE,
    ROLE_POLICY,
    SECRET_VERSION,
    STATE_MACHINE,
    as_list,
    function_running,
    one_with,
    primary,
    resources_of,
    role_statements,
    secondaries,
    statements,
)

WRITE_SIDE = ("write_api", "projector", "migrator", "outbox_drain", *saga_function_names())
# Services that invoke a Lambda function asynchronously (events are queued by Lambda).
ASYNC_INVOKERS = {"events.amazonaws.com", "s3.amazonaws.com", "sns.amazonaws.com"}


def stacks(deployment: DeploymentResult) -> Iterator[StackResult]:
    yield from deployment.stacks.values()


def write_side(stack: StackResult) -> tuple[str, ...]:
    """The write-side functions a stack runs: order_intake only where requests arrive."""
    return (*WRITE_SIDE, "order_intake") if stack.role == "home" else WRITE_SIDE


def function(stack: StackResult, catalog_name: str) -> Resource:
    """The stack's one function of this catalog name."""
    return function_running(stack, by_name()[catalog_name].handler)


def environment(fn: Resource) -> dict[str, str]:
    return dict(fn.inputs.get("environment", {}).get("variables", {}))


def rules_matching(stack: StackResult, detail_type: str) -> list[Resource]:
    """Rules whose pattern lets an event of this detail type from the orders source through."""
    found = []
    for rule in stack.of_type(EVENT_RULE):
        # A schedule has no pattern: it matches no event.
        pattern = json.loads(rule.inputs.get("eventPattern") or "{}")
        if pattern.get("source") != [EVENT_SOURCE]:
            continue
        types = pattern.get("detail-type", [])
        allows = detail_type in types or any(
            isinstance(t, dict) and detail_type not in t.get("anything-but", [detail_type])
            for t in types
        )
        if allows:
            found.append(rule)
    return found


def targets_of(stack: StackResult, rule: Resource) -> list[Resource]:
    return [t for t in stack.of_type(EVENT_TARGET) if t.inputs["rule"] == rule.outputs["name"]]


def resource_with_arn(stack: StackResult, arn: str) -> Resource:
    # A target or a mapping carries the ARN it points at as an input, not as its own.
    found = [
        r
        for r in stack.resources
        if r.custom and r.outputs.get("arn") == arn and r.inputs.get("arn") != arn
    ]
    assert len(found) == 1, f"{stack.stack}: {len(found)} resources with ARN {arn}"
    return found[0]


def consumer_of(stack: StackResult, queue_arn: str) -> Resource:
    """The function an event source mapping feeds from this queue."""
    mappings = [
        m for m in stack.of_type(EVENT_SOURCE_MAPPING) if m.inputs["eventSourceArn"] == queue_arn
    ]
    assert len(mappings) == 1
    return resource_with_arn(stack, mappings[0].inputs["functionName"])


# -- every stack --------------------------------------------------------------------------


def test_every_stack_has_a_traced_logged_standard_state_machine_and_a_bus(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        machine = stack.one(STATE_MACHINE)
        bus = stack.one(EVENT_BUS)

        assert machine.inputs["type"] == "STANDARD"
        assert machine.inputs["tracingConfiguration"]["enabled"] is True
        logging = machine.inputs["loggingConfiguration"]
        assert logging["level"] in {"ERROR", "ALL"}
        assert logging["logDestination"].startswith(f"arn:aws:logs:{stack.region}:")
        # The execution input carries the payment token.
        assert logging["includeExecutionData"] is False
        assert stack.outputs["stateMachineArn"] == machine.outputs["arn"]
        assert stack.outputs["eventBusArn"] == bus.outputs["arn"]
        assert stack.outputs["eventBusName"] == bus.outputs["name"]
        assert stack.outputs["writeFunctionArn"] == function(stack, "write_api").outputs["arn"]


def test_every_bus_is_archived_for_replay(example_deployment: DeploymentResult) -> None:
    for stack in stacks(example_deployment):
        archive = stack.one(EVENT_ARCHIVE)

        assert archive.inputs["eventSourceArn"] == stack.one(EVENT_BUS).outputs["arn"]
        assert archive.inputs["retentionDays"] > 0


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_every_regions_bus_has_one_name_that_names_the_environment(
    simulate: Simulate, environment: str
) -> None:
    # Given two regions of one environment
    deployment = simulate(generated_configs(2, environment=environment))

    # When the names of their buses and archives are gathered
    buses = {s.stack: s.one(EVENT_BUS).inputs["name"] for s in stacks(deployment)}
    archives = {s.stack: s.one(EVENT_ARCHIVE).inputs["name"] for s in stacks(deployment)}

    # Then every region's bus has the same name, as a global endpoint pairs two buses of the
    # same name (docs/pitfalls.md item 21), and so does every archive
    assert len(set(buses.values())) == 1, buses
    assert len(set(archives.values())) == 1, archives
    # And the name is the environment's, so that a dev and a prod deployment never share one
    (name,) = set(buses.values())
    assert environment in name.split("-")
    assert {s.outputs["eventBusName"] for s in stacks(deployment)} == {name}


def test_the_definition_with_arns_resolved_passes_statelint_and_names_only_own_lambdas(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        # Given the definition as the plan resolved it
        definition = json.loads(stack.one(STATE_MACHINE).inputs["definition"])
        own = {f.outputs["arn"] for f in stack.of_type(FUNCTION)}

        # When statelint validates it / Then it finds nothing
        assert Linter.validate(definition) == []
        tasks = [s for s in definition["States"].values() if s["Type"] == "Task"]
        resources = {t["Resource"] for t in tasks}
        # And every task invokes a function of this very stack, one per saga action
        assert resources <= own, resources - own
        assert len(resources) == len(saga_function_names())
        assert all(f":lambda:{stack.region}:" in r for r in resources)


def test_the_state_machine_role_may_invoke_only_its_own_steps(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        machine = stack.one(STATE_MACHINE)
        steps = {function(stack, name).outputs["arn"] for name in saga_function_names()}
        invokable = {
            resource
            for statement in role_statements(stack, machine.inputs["roleArn"])
            if "lambda:InvokeFunction" in as_list(statement["Action"])
            for resource in as_list(statement["Resource"])
        }

        assert {r.removesuffix(":*") for r in invokable} == steps


def test_every_stack_projects_domain_events_through_a_queue_into_the_projector(
    example_deployment: DeploymentResult,
) -> None:
    projector = by_name()["projector"].handler
    for stack in stacks(example_deployment):
        # Given the rules an OrderConfirmed event reaches
        rules = rules_matching(stack, "OrderConfirmed")
        consumers = {
            consumer_of(stack, target.inputs["arn"]).inputs["handler"]
            for rule in rules
            for target in targets_of(stack, rule)
            if target.inputs["arn"].startswith("arn:aws:sqs:")
        }

        # Then one of them feeds the projector
        assert projector in consumers


def test_domain_events_are_never_routed_as_order_requests(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        for rule in rules_matching(stack, "OrderConfirmed"):
            assert rule not in rules_matching(stack, ORDER_REQUESTED)


def test_write_side_functions_that_need_the_database_run_in_the_private_subnets(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        for name in write_side(stack):
            fn = function(stack, name)
            if by_name()[name].needs_database:
                vpc = fn.inputs["vpcConfig"]
                assert vpc["subnetIds"] == stack.outputs["privateSubnetIds"]
                assert vpc["securityGroupIds"] == [stack.outputs["lambdaSecurityGroupId"]]
            else:
                assert not fn.inputs.get("vpcConfig")


def test_each_write_side_function_has_the_environment_its_settings_module_reads(
    example_deployment: DeploymentResult,
) -> None:
    from functions.orders.db import DatabaseSettings
    from functions.orders.settings import (
        MigratorSettings,
        OutboxDrainSettings,
        ProjectorSettings,
        SagaSettings,
        WriteApiSettings,
    )

    parsers = {
        "write_api": [WriteApiSettings.from_env],
        "projector": [ProjectorSettings.from_env, DatabaseSettings.from_env],
        "migrator": [DatabaseSettings.from_env, MigratorSettings.from_env],
        "outbox_drain": [OutboxDrainSettings.from_env, DatabaseSettings.from_env],
        **{
            name: [SagaSettings.from_env, DatabaseSettings.from_env]
            for name in saga_function_names()
        },
    }
    for stack in stacks(example_deployment):
        for name, parse in parsers.items():
            # Given the function's environment, as Lambda would pass it
            env = environment(function(stack, name)) | {"AWS_REGION": stack.region}
            # When its settings are parsed / Then nothing is missing or malformed
            for parser in parse:
                parser(env)
        if stack.role == "home":
            from functions.orders.settings import IntakeSettings

            IntakeSettings.from_env(
                environment(function(stack, "order_intake")) | {"AWS_REGION": stack.region}
            )
        write = environment(function(stack, "write_api"))
        assert write["STATE_MACHINE_ARN"] == stack.outputs["stateMachineArn"]
        assert write["EVENT_BUS_NAME"] == stack.outputs["eventBusName"]
        assert write["PRIMARY_REGION"] == primary(example_deployment).region


def test_the_migrations_invoked_at_deploy_are_those_the_migrator_applies() -> None:
    from functions.orders import migrations

    assert MIGRATIONS_DIR == migrations.MIGRATIONS_DIR


# -- the payment provider ------------------------------------------------------------------


def test_the_saga_calls_the_payment_provider_the_stack_file_names(
    simulate_one: SimulateOne,
) -> None:
    from functions.orders.settings import SagaSettings

    # Given a stack file that names the provider
    configs = generated_configs(1, payments={"baseUrl": "https://api.payments.example/"})
    stack = simulate_one("primary", configs)

    # Then every saga function calls it, as its settings module reads it
    for name in saga_function_names():
        env = environment(function(stack, name)) | {"AWS_REGION": stack.region}
        assert SagaSettings.from_env(env).payment_base_url == "https://api.payments.example"


def test_the_saga_notifies_the_on_prem_crm_the_stack_file_names(simulate_one: SimulateOne) -> None:
    from functions.orders.settings import SagaSettings

    # Given a stack file whose on-premises network has a CRM
    crm = "https://crm.corp.example/api/customers"
    on_prem = {"cidrs": ["192.168.0.0/16"], "directConnectGatewayId": "dxgw-1", "crmUrl": crm}
    stack = simulate_one("primary", generated_configs(1, onPrem=on_prem))

    # Then every saga function is told it, as its settings module reads it
    for name in saga_function_names():
        env = environment(function(stack, name)) | {"AWS_REGION": stack.region}
        assert SagaSettings.from_env(env).crm_url == crm


def test_without_a_crm_url_no_saga_function_calls_a_crm(
    example_deployment: DeploymentResult,
) -> None:
    from functions.orders.settings import SagaSettings

    for stack in stacks(example_deployment):
        for name in saga_function_names():
            env = environment(function(stack, name)) | {"AWS_REGION": stack.region}
            assert SagaSettings.from_env(env).crm_url is None


def test_without_a_payment_provider_no_saga_function_is_given_a_made_up_one(
    example_deployment: DeploymentResult,
) -> None:
    from functions.orders.settings import SagaSettings

    # Given the example stacks, which name no provider
    for stack in stacks(example_deployment):
        for name in saga_function_names():
            env = environment(function(stack, name)) | {"AWS_REGION": stack.region}
            # Then the functions know there is none (and refuse payments with a clear error)
            assert SagaSettings.from_env(env).payment_base_url is None


def test_the_payment_api_key_secret_has_the_documented_name_and_no_value_in_state(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        # Given the secret the saga functions read the key from
        (arn,) = {
            environment(function(stack, n))["PAYMENT_API_KEY_SECRET_ARN"]
            for n in saga_function_names()
        }
        secret = resource_with_arn(stack, arn)
        # Then it is named as the README tells an operator to find it
        assert secret.inputs["name"] == f"active-active/{stack.stack}/payment-api-key"
        # And its value is set out of band, never by the program (so never in Pulumi state)
        assert not [v for v in stack.of_type(SECRET_VERSION) if v.inputs["secretId"] == arn]


# -- primary and secondaries ---------------------------------------------------------------


def test_the_primary_routes_order_requests_through_intake_into_its_state_machine(
    example_deployment: DeploymentResult,
) -> None:
    stack = primary(example_deployment)
    # Given the one rule an OrderRequested event reaches in the primary
    [rule] = rules_matching(stack, ORDER_REQUESTED)
    [target] = targets_of(stack, rule)

    # Then it goes to a queue whose consumer starts this stack's saga
    consumer = consumer_of(stack, target.inputs["arn"])
    assert consumer.inputs["handler"] == by_name()["order_intake"].handler
    assert environment(consumer)["STATE_MACHINE_ARN"] == stack.one(STATE_MACHINE).outputs["arn"]


def test_secondaries_forward_order_requests_to_the_primary_bus_from_its_outputs(
    example_deployment: DeploymentResult,
) -> None:
    primary_bus = primary(example_deployment).outputs["eventBusArn"]
    for stack in secondaries(example_deployment):
        # Given the one rule an OrderRequested event reaches in a secondary
        [rule] = rules_matching(stack, ORDER_REQUESTED)
        [target] = targets_of(stack, rule)

        # Then its target is the primary's bus, in the primary's region, with a role for it
        assert target.inputs["arn"] == primary_bus
        assert primary_bus != stack.outputs["eventBusArn"]
        allowed = role_statements(stack, target.inputs["roleArn"])
        assert allowed == [
            {
                "Sid": "PutOnPrimaryBus",
                "Effect": "Allow",
                "Action": ["events:PutEvents"],
                "Resource": primary_bus,
            }
        ]
        # And nothing in a secondary starts a saga from a request
        assert not [
            t
            for t in targets_of(stack, rule)
            if t.inputs["arn"].startswith(("arn:aws:sqs:", "arn:aws:states:"))
        ]


def test_every_region_invokes_its_migrator_which_finds_out_if_it_writes(
    example_deployment: DeploymentResult,
) -> None:
    # Which region writes is run-time state: each stack invokes its own migrator, told its
    # global database and its own cluster, and allowed to ask which member writes
    for stack in example_deployment.stacks.values():
        invocation = stack.one(INVOCATION)
        migrator = function(stack, "migrator")
        assert invocation.inputs["functionName"] == migrator.outputs["name"]
        assert invocation.inputs["triggers"] == {"migrations": migrations_hash()}
        env = environment(migrator)
        assert env["GLOBAL_CLUSTER_ID"] == stack.outputs["globalClusterId"]
        assert env["DB_CLUSTER_ARN"] == stack.outputs["dbClusterArn"]
        assert env["DB_HOST"] == stack.outputs["dbWriterEndpoint"]
        (describe,) = [
            s
            for s in role_statements(stack, migrator.inputs["role"])
            if s["Sid"] == "FindTheWriter"
        ]
        assert describe["Action"] == ["rds:DescribeGlobalClusters"]
        assert describe["Resource"].endswith(f":global-cluster:{stack.outputs['globalClusterId']}")


def test_the_migrations_trigger_changes_with_a_migration_file(tmp_path: Any) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x int);")
    before = migrations_hash(tmp_path)

    (tmp_path / "0002_b.sql").write_text("CREATE TABLE b (x int);")

    assert migrations_hash(tmp_path) != before


# -- failures ------------------------------------------------------------------------------


def dead_letter_queue_is_watched(stack: StackResult, arn: str) -> None:
    queue = resource_with_arn(stack, arn)
    assert queue.type == QUEUE
    assert queue.inputs["kmsMasterKeyId"].startswith(f"arn:aws:kms:{stack.region}:")
    alarms = [
        a
        for a in stack.of_type(ALARM)
        if a.inputs["namespace"] == "AWS/SQS"
        and a.inputs["metricName"] == "ApproximateNumberOfMessagesVisible"
        and a.inputs["dimensions"] == {"QueueName": queue.outputs["name"]}
    ]
    assert alarms, f"{stack.stack}: no depth alarm on {queue.name}"


def test_every_rule_target_has_an_encrypted_watched_dead_letter_queue(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        assert stack.of_type(EVENT_TARGET)
        for target in stack.of_type(EVENT_TARGET):
            dlq = target.inputs.get("deadLetterConfig", {}).get("arn")
            assert dlq, f"{stack.stack}: {target.name} has no dead-letter queue"
            dead_letter_queue_is_watched(stack, dlq)


def test_every_queue_a_function_consumes_redrives_to_a_watched_dead_letter_queue(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        sources = [
            m for m in stack.of_type(EVENT_SOURCE_MAPPING) if ":sqs:" in m.inputs["eventSourceArn"]
        ]
        assert sources
        for mapping in sources:
            queue = resource_with_arn(stack, mapping.inputs["eventSourceArn"])
            assert queue.inputs["kmsMasterKeyId"].startswith(f"arn:aws:kms:{stack.region}:")
            redrive = json.loads(queue.inputs["redrivePolicy"])
            dead_letter_queue_is_watched(stack, redrive["deadLetterTargetArn"])
            assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]


def test_every_asynchronously_invoked_function_has_a_dead_letter_destination(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        invoked_async = {
            p.inputs["function"]
            for p in stack.of_type(LAMBDA_PERMISSION)
            if p.inputs.get("principal") in ASYNC_INVOKERS
        }
        # An on-failure destination, or the function's own dead-letter queue, both watched.
        destinations = {
            c.inputs["functionName"]: c.inputs["destinationConfig"]["onFailure"]["destination"]
            for c in stack.of_type(INVOKE_CONFIG)
            if c.inputs.get("destinationConfig", {}).get("onFailure", {}).get("destination")
        }
        for fn in stack.of_type(FUNCTION):
            if fn.inputs.get("deadLetterConfig", {}).get("targetArn"):
                destinations[fn.outputs["name"]] = fn.inputs["deadLetterConfig"]["targetArn"]
        assert invoked_async <= destinations.keys(), invoked_async - destinations.keys()
        for name in invoked_async:
            dead_letter_queue_is_watched(stack, destinations[name])


def test_the_saga_alarms_on_failed_executions(example_deployment: DeploymentResult) -> None:
    for stack in stacks(example_deployment):
        machine = stack.one(STATE_MACHINE)
        assert [
            a
            for a in stack.of_type(ALARM)
            if a.inputs["metricName"] == "ExecutionsFailed"
            and a.inputs["dimensions"] == {"StateMachineArn": machine.outputs["arn"]}
        ]


# -- IAM -----------------------------------------------------------------------------------


def test_no_role_allows_a_wildcard_beyond_the_listed_exceptions(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        for policy in stack.of_type(ROLE_POLICY):
            for statement in statements(policy):
                actions = as_list(statement["Action"])
                resources = as_list(statement["Resource"])
                where = f"{stack.stack}: {policy.name} {statement.get('Sid')}"
                # No action is a wildcard
                assert not [a for a in actions if "*" in a], where
                # "*" resources only for the actions AWS offers nothing narrower for
                if "*" in resources:
                    assert resources == ["*"], where
                    assert set(actions) <= set(WILDCARD_ACTIONS), where


def test_lambda_roles_reach_only_this_regions_resources(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        for name in write_side(stack):
            role = function(stack, name).inputs["role"]
            for resource in resources_of(role_statements(stack, role)):
                if resource == "*" or resource.startswith("arn:aws:execute-api:*:"):
                    continue
                region = resource.split(":")[3]
                assert region in {"", stack.region}, f"{stack.stack} {name}: {resource}"


def test_database_functions_connect_as_the_iam_user_of_their_own_cluster(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        for name in write_side(stack):
            # The migrator logs in as the master user instead: see the master secret's tests.
            if not by_name()[name].needs_database or name == "migrator":
                continue
            fn = function(stack, name)
            env = environment(fn)
            connects = [
                resource
                for statement in role_statements(stack, fn.inputs["role"])
                if statement["Action"] == ["rds-db:connect"]
                for resource in as_list(statement["Resource"])
            ]
            assert len(connects) == 1
            prefix, _, user = connects[0].rpartition("/")
            assert (
                prefix.startswith(f"arn:aws:rds-db:{stack.region}:")
                and ":dbuser:cluster-" in prefix
            )
            assert user == env["DB_USER"]


def test_every_migrator_may_read_only_its_own_regions_copy_of_the_master_secret(
    example_deployment: DeploymentResult,
) -> None:
    # Given the master secret's copy of every region (the primary's, and each replica)
    copies = {s.outputs["dbSecretArn"] for s in stacks(example_deployment)}
    assert len(copies) == len(example_deployment.stacks)
    for stack in stacks(example_deployment):
        own = stack.outputs["dbSecretArn"]
        assert own.split(":")[3] == stack.region

        # When the roles of the stack that may read any copy are gathered
        readers = {
            (policy.inputs["role"], resource)
            for policy in stack.of_type(ROLE_POLICY)
            for statement in statements(policy)
            if statement["Effect"] == "Allow"
            and {"secretsmanager:GetSecretValue", "secretsmanager:*", "*"}
            & set(as_list(statement["Action"]))
            for resource in as_list(statement["Resource"])
            if resource in copies or resource == "*"
        }

        # Then only its migrator may, and only this region's copy: after a failover it logs
        # in as the master user without reaching into the lost region
        migrator = function(stack, "migrator")
        role_id = resource_with_arn(stack, migrator.inputs["role"]).outputs["id"]
        assert readers == {(role_id, own)}, stack.stack
        assert environment(migrator)["DB_SECRET_ARN"] == own


def test_the_migrator_logs_in_as_the_master_user_never_as_the_app_user(
    example_deployment: DeploymentResult,
) -> None:
    stack = primary(example_deployment)
    # Given the primary's migrator and what its role allows
    migrator = function(stack, "migrator")
    allowed = role_statements(stack, migrator.inputs["role"])
    secret = resource_with_arn(stack, stack.outputs["dbSecretArn"])

    # Then it is told the master secret, and no IAM database user to connect as
    env = environment(migrator)
    assert env["DB_SECRET_ARN"] == secret.outputs["arn"]
    assert "DB_USER" not in env
    assert not [s for s in allowed if "rds-db:connect" in as_list(s["Action"])]
    # And it may decrypt with the key that encrypts the secret, only through Secrets Manager
    decrypts = [s for s in allowed if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    assert decrypts == [
        {
            "Sid": "RegionKeyViaSecretsmanager",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": secret.inputs["kmsKeyId"],
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}
            },
        }
    ]


# -- lake ----------------------------------------------------------------------------------


def test_domain_events_reach_firehose_writing_under_the_glue_tables_location(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        stream = stack.one(FIREHOSE)
        s3 = stream.inputs["extendedS3Configuration"]
        table = next(
            t
            for t in stack.of_type(GLUE_TABLE)
            if t.inputs["storageDescriptor"]["location"].endswith(f"/{EVENTS_PREFIX}")
        )
        location = table.inputs["storageDescriptor"]["location"]
        [partition] = [k["name"] for k in table.inputs["partitionKeys"]]
        date_format = table.inputs["parameters"][f"projection.{partition}.format"]

        # The stream writes into the table's bucket, under its location, in the layout of
        # its partition projection (events/dt=<date in the projection's format>/)
        bucket, _, key = location.removeprefix("s3://").partition("/")
        assert s3["bucketArn"] == f"arn:aws:s3:::{bucket}"
        assert s3["prefix"] == f"{key}{partition}=!{{timestamp:{date_format}}}/"
        assert table.inputs["parameters"]["storage.location.template"] == (
            f"{location}{partition}=${{{partition}}}/"
        )
        assert not s3["errorOutputPrefix"].startswith(EVENTS_PREFIX)
        assert s3["kmsKeyArn"].startswith(f"arn:aws:kms:{stack.region}:")
        # And the lake rule delivers to it
        rules = rules_matching(stack, "OrderConfirmed")
        assert stream.outputs["arn"] in {
            t.inputs["arn"] for r in rules for t in targets_of(stack, r)
        }


@pytest.mark.parametrize("detail_type", ["OrderPlaced", "PaymentDeclined", "OrderFailed"])
def test_domain_events_go_to_the_lake_and_the_projector_but_not_the_request_route(
    example_deployment: DeploymentResult, detail_type: str
) -> None:
    stack = primary(example_deployment)

    reached = {r.name for r in rules_matching(stack, detail_type)}

    assert reached == {r.name for r in rules_matching(stack, "OrderConfirmed")}
    assert len(reached) == 2


def test_in_five_regions_every_secondary_forwards_to_the_one_primary_bus(
    five_region_deployment: DeploymentResult,
) -> None:
    primary_bus = primary(five_region_deployment).outputs["eventBusArn"]

    forwarded = [
        target.inputs["arn"]
        for stack in secondaries(five_region_deployment)
        for rule in rules_matching(stack, ORDER_REQUESTED)
        for target in targets_of(stack, rule)
    ]

    assert forwarded == [primary_bus] * 4
    assert len(primary(five_region_deployment).of_type(INVOCATION)) == 1


def test_every_region_drains_its_outbox_every_minute_onto_its_own_bus(
    example_deployment: DeploymentResult,
) -> None:
    for stack in stacks(example_deployment):
        drainer = function(stack, "outbox_drain")
        # Given the rule that invokes the drainer
        [rule] = [
            r
            for r in stack.of_type(EVENT_RULE)
            for t in targets_of(stack, r)
            if t.inputs["arn"] == drainer.outputs["arn"]
        ]
        # Then it is a schedule on the default bus, every minute, and only it may invoke
        assert rule.inputs["scheduleExpression"] == "rate(1 minute)"
        assert not rule.inputs.get("eventBusName")
        permission = one_with(stack, LAMBDA_PERMISSION, function=drainer.outputs["name"])
        assert permission.inputs["sourceArn"] == rule.outputs["arn"]
        # And the drainer publishes on this region's bus only, which its environment names
        assert environment(drainer)["EVENT_BUS_NAME"] == stack.outputs["eventBusName"]
        [put] = [
            s
            for s in role_statements(stack, drainer.inputs["role"])
            if "events:PutEvents" in as_list(s["Action"])
        ]
        assert put["Resource"] == stack.outputs["eventBusArn"]
        # And a failed invocation lands in a watched dead-letter queue it may send to
        dlq = drainer.inputs["deadLetterConfig"]["targetArn"]
        dead_letter_queue_is_watched(stack, dlq)
        assert any(
            "sqs:SendMessage" in as_list(s["Action"]) and s["Resource"] == dlq
            for s in role_statements(stack, drainer.inputs["role"])
        )

"""What pages the on-call: every alarm reads a metric AWS documents, about a resource of its
own stack, and every dashboard reads only such metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.observability import METRICS
from functions import business_metrics
from functions.observability import count, observed, record_ms, service_logger, service_tracer
from ops.simulate import DeploymentResult, StackResult, simulate_deployment
from ops.stackfiles import read_stack_files
from tests.support.deployments import generated_configs, write_stack_files
from tests.support.lambda_context import lambda_context
from tests.support.plan import (
    ALARM,
    API,
    CANARY,
    COMPOSITE_ALARM,
    DASHBOARD,
    EVENT_RULE,
    FUNCTION,
    GRAPHQL_API,
    HEALTH_CHECK,
    QUEUE,
    TOPIC,
    one_with,
    output_values,
)
from tests.support.telemetry import emf_metrics


def known_values(stack: StackResult, deployment: DeploymentResult) -> dict[str, set[str]]:
    """For each dimension, the values that name a resource of this stack."""
    peers = {s.region for n, s in deployment.stacks.items() if n != stack.stack}
    replica_buckets = {
        str(s.outputs["lakeBucketName"]) for n, s in deployment.stacks.items() if n != stack.stack
    }
    return {
        "FunctionName": output_values(stack, FUNCTION, "name"),
        "QueueName": output_values(stack, QUEUE, "name"),
        "ApiId": output_values(stack, API),
        "GraphQLAPIId": output_values(stack, GRAPHQL_API),
        "StateMachineArn": {str(stack.outputs["stateMachineArn"])},
        "TableName": {str(stack.outputs["tableName"])},
        "ReceivingRegion": peers,
        "DBClusterIdentifier": {str(stack.outputs["dbClusterArn"]).split(":")[-1]},
        "EventBusName": {str(stack.outputs["eventBusName"])},
        "RuleName": output_values(stack, EVENT_RULE, "name"),
        "SourceBucket": {str(stack.outputs["lakeBucketName"])},
        "DestinationBucket": replica_buckets,
        "RuleId": {f"to-{n}" for n in deployment.stacks if n != stack.stack},
        # The business metrics' one dimension names the service the functions emit them as.
        "service": {business_metrics.SERVICE},
        "CanaryName": output_values(stack, CANARY, "name"),
    }


def test_every_alarm_reads_a_documented_metric_about_its_own_stack(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        values = known_values(stack, example_deployment)
        alarms = stack.of_type(ALARM)
        assert len(alarms) > 40, stack.stack
        for alarm in alarms:
            metric = (alarm.inputs["namespace"], alarm.inputs["metricName"])
            assert metric in METRICS, f"{alarm.name}: {metric} is not in the catalog"
            dimensions = alarm.inputs["dimensions"]
            assert set(dimensions) == METRICS[metric][0], alarm.name
            for key, value in dimensions.items():
                assert value in values[key], f"{stack.stack} {alarm.name}: {key}={value}"


def test_the_alarms_on_replication_cover_every_region_this_one_replicates_to(
    example_deployment: DeploymentResult,
) -> None:
    home = example_deployment.stacks["primary"]
    receiving = {
        a.inputs["dimensions"]["ReceivingRegion"]
        for a in home.of_type(ALARM)
        if a.inputs["metricName"] == "ReplicationLatency"
    }
    assert receiving == {"eu-west-1", "ap-southeast-2"}
    rules = {
        a.inputs["dimensions"]["RuleId"]
        for a in home.of_type(ALARM)
        if a.inputs["metricName"] == "OperationsFailedReplication"
    }
    assert rules == {"to-secondary", "to-secondary-ap"}


def test_region_unhealthy_is_one_alarm_over_what_users_feel(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        (composite,) = stack.of_type(COMPOSITE_ALARM)
        names = {a.inputs.get("name") for a in stack.of_type(ALARM)}
        referenced = {part.split('"')[1] for part in composite.inputs["alarmRule"].split(" OR ")}
        assert referenced <= names
        assert {n.rsplit("-", 1)[-1] for n in referenced} == {"5xx", "p99"}
        topic = stack.one(TOPIC).outputs["arn"]
        assert composite.inputs["alarmActions"] == [topic] == composite.inputs["okActions"]


def dashboard_metrics(body: dict[str, Any]) -> list[list[Any]]:
    """Every metric line of every widget of a dashboard's body."""
    return [m for w in body["widgets"] for m in w["properties"]["metrics"]]


def test_every_dashboard_reads_documented_metrics_of_resources_it_knows(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        values = known_values(stack, example_deployment)
        dashboards = stack.of_type(DASHBOARD)
        assert len(dashboards) == (2 if stack.role == "home" else 1)
        for dashboard in dashboards:
            body = json.loads(dashboard.inputs["dashboardBody"])
            for metric in dashboard_metrics(body):
                namespace, name, *rest = metric
                options = rest.pop() if rest and isinstance(rest[-1], dict) else {}
                assert (namespace, name) in METRICS, metric
                dimensions = dict(zip(rest[::2], rest[1::2], strict=True))
                assert set(dimensions) == METRICS[(namespace, name)][0], metric
                if dashboard.inputs["dashboardName"].endswith("all-regions"):
                    continue  # other regions' resources: checked below
                for key, value in dimensions.items():
                    assert value in values[key], (dashboard.name, metric, options)


def regional_dashboard(stack: StackResult) -> dict[str, Any]:
    """The body of the stack's own dashboard (not the home stack's across regions)."""
    (own,) = [
        d for d in stack.of_type(DASHBOARD) if not d.inputs["dashboardName"].endswith("all-regions")
    ]
    return dict(json.loads(own.inputs["dashboardBody"]))


def test_each_regions_dashboard_shows_every_dead_letter_queue_and_canary_of_its_stack(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        lines = dashboard_metrics(regional_dashboard(stack))
        shown = {(m[1], m[3]) for m in lines}
        # Then every queue that holds dead letters is on it, and every canary
        dead_letter_queues = {
            q.inputs["name"] for q in stack.of_type(QUEUE) if q.inputs["name"].endswith("-dlq")
        }
        assert len(dead_letter_queues) >= 4
        assert {n for m, n in shown if m == "ApproximateNumberOfMessagesVisible"} == (
            dead_letter_queues
        )
        canaries = output_values(stack, CANARY, "name")
        assert len(canaries) == 2
        assert {n for m, n in shown if m == "SuccessPercent"} == canaries


def test_the_home_dashboard_shows_every_region(example_deployment: DeploymentResult) -> None:
    home = example_deployment.stacks["primary"]
    (everywhere,) = [
        d for d in home.of_type(DASHBOARD) if d.inputs["dashboardName"].endswith("all-regions")
    ]
    body = json.loads(everywhere.inputs["dashboardBody"])
    assert {w["properties"]["region"] for w in body["widgets"]} == {
        s.region for s in example_deployment.stacks.values()
    }
    clusters = {m[3] for m in dashboard_metrics(body) if m[1] == "AuroraGlobalDBRPOLag"}
    assert clusters == {
        str(s.outputs["dbClusterArn"]).split(":")[-1] for s in example_deployment.stacks.values()
    }


def test_each_regions_health_check_pages_from_us_east_1_where_route_53_publishes(
    tmp_path: Path, lambda_archives: Any
) -> None:
    # Given two regions with a domain, so a latency record and a health check each
    domain = {"zoneId": "Z0EXAMPLE", "apiHostname": "api.shop.example.com",
              "publicHostname": "shop.example.com"}  # fmt: skip
    directory = write_stack_files(tmp_path, generated_configs(2, domain=domain))
    deployment = simulate_deployment(read_stack_files(directory))

    for stack in deployment.stacks.values():
        (check,) = stack.of_type(HEALTH_CHECK)
        alarm = one_with(stack, ALARM, namespace="AWS/Route53")
        # Then the alarm watches this region's check, in us-east-1, and notifies a topic there
        assert alarm.inputs["dimensions"] == {"HealthCheckId": check.outputs["id"]}
        assert alarm.region == "us-east-1"
        (topic_arn,) = alarm.inputs["alarmActions"]
        assert topic_arn.split(":")[3] == "us-east-1"
        assert topic_arn in output_values(stack, TOPIC, "arn")
        # And the region's dashboard shows the check, read in us-east-1
        (widget,) = [
            w
            for w in regional_dashboard(stack)["widgets"]
            if w["properties"]["metrics"][0][1] == "HealthCheckStatus"
        ]
        assert widget["properties"]["region"] == "us-east-1"
        assert widget["properties"]["metrics"] == [
            ["AWS/Route53", "HealthCheckStatus", "HealthCheckId", check.outputs["id"]]
        ]


def business_lines(body: dict[str, Any]) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """The dashboard's lines in the business metrics' namespace: (namespace, name, dims)."""
    found = set()
    for namespace, name, *rest in dashboard_metrics(body):
        if namespace != business_metrics.NAMESPACE:
            continue
        if rest and isinstance(rest[-1], dict):
            rest.pop()
        found.add((namespace, name, tuple(sorted(zip(rest[::2], rest[1::2], strict=True)))))
    return found


def emitted_by_the_functions(capsys: pytest.CaptureFixture[str]) -> set[Any]:
    """What functions.observability prints (EMF) when a handler counts every business metric."""
    logger, tracer = service_logger("emf-test"), service_tracer("emf-test")

    @observed(logger, tracer, emits_metrics=True)
    def handler(event: dict[str, Any], context: Any) -> None:
        for metric in business_metrics.ALL:
            if metric.unit == "Milliseconds":
                record_ms(metric, 12.5)
            else:
                count(metric)

    capsys.readouterr()
    handler({}, lambda_context())
    return {
        (e.namespace, e.name, tuple(sorted(e.dimensions.items())))
        for e in emf_metrics(capsys.readouterr().out)
    }


def test_each_regions_dashboard_reads_exactly_the_business_metrics_the_functions_emit(
    example_deployment: DeploymentResult, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given what the functions emit: names, namespace and dimensions as CloudWatch files them
    emitted = emitted_by_the_functions(capsys)
    assert {name for _, name, _ in emitted} == {
        "OrdersPlaced",
        "OrdersConfirmed",
        "OrdersFailed",
        "ForwardLatency",
    }
    for stack in example_deployment.stacks.values():
        body = regional_dashboard(stack)
        # Then the region's dashboard reads exactly those, with the same dimensions
        assert business_lines(body) == emitted, stack.stack
        titles = {w["properties"]["title"] for w in body["widgets"]}
        assert {"Orders", "Forwarding latency to the writer (ms)"} <= titles


def test_every_business_metric_is_emitted_by_the_code_its_catalog_entry_names() -> None:
    # Given the catalog's business metrics and the source of the functions
    root = Path(__file__).resolve().parents[2]
    for metric in business_metrics.ALL:
        (_, source) = METRICS[(business_metrics.NAMESPACE, metric.name)]
        # Then the entry says who emits it, and that package really counts it
        emitter = root / source.removeprefix("emitted by ").split()[0]
        assert emitter.is_relative_to(root / "functions") and emitter.exists(), source
        constant = next(k for k, v in vars(business_metrics).items() if v is metric)
        files = [emitter] if emitter.is_file() else list(emitter.rglob("*.py"))
        uses = [path for path in files if f"business_metrics.{constant}" in path.read_text()]
        assert uses, f"{metric.name}: nothing in {emitter} emits it"

"""RegionalObservability: what one region's on-call watches, and what pages them.

Alarms on the metrics AWS publishes for what users and replication feel (every metric from
``METRICS``, the catalog of what AWS documents, with its source), a composite "region
unhealthy" alarm over the ones that mean users suffer, and the region's dashboard; the home
stack also gets a dashboard across every region it knows. Per-function (Errors, Throttles) and
per-queue alarms are made with the functions and queues themselves (components/lambdas.py,
components/queues.py); every alarm goes through ``metric_alarm``, so it notifies the region's
alarm topic when it fires and when it recovers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import alarm_when_above
from components.settings import PROJECT, Settings
from components.tags import tags
from functions import business_metrics

DOCS = "https://docs.aws.amazon.com"
# Every metric an alarm or a dashboard of this project reads: (namespace, name) -> the
# dimensions AWS publishes it with, and where AWS documents it; for the business metrics the
# functions emit (CloudWatch embedded metric format, functions/business_metrics.py), the
# dimensions they are emitted with and which function emits them.
METRICS: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("AWS/RDS", "AuroraGlobalDBRPOLag"): (
        frozenset({"DBClusterIdentifier"}),
        f"{DOCS}/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-monitoring.html",
    ),
    ("AWS/DynamoDB", "ReplicationLatency"): (
        frozenset({"TableName", "ReceivingRegion"}),
        f"{DOCS}/amazondynamodb/latest/developerguide/metrics-dimensions.html",
    ),
    ("AWS/S3", "OperationsFailedReplication"): (
        frozenset({"SourceBucket", "DestinationBucket", "RuleId"}),
        f"{DOCS}/AmazonS3/latest/userguide/metrics-dimensions.html",
    ),
    ("AWS/ApiGateway", "5xx"): (
        frozenset({"ApiId"}),
        f"{DOCS}/apigateway/latest/developerguide/http-api-metrics.html",
    ),
    ("AWS/ApiGateway", "Latency"): (
        frozenset({"ApiId"}),
        f"{DOCS}/apigateway/latest/developerguide/http-api-metrics.html",
    ),
    ("AWS/ApiGateway", "ExecutionError"): (
        frozenset({"ApiId"}),
        f"{DOCS}/apigateway/latest/developerguide/apigateway-websocket-api-logging.html",
    ),
    ("AWS/AppSync", "5XXError"): (
        frozenset({"GraphQLAPIId"}),
        f"{DOCS}/appsync/latest/devguide/monitoring.html",
    ),
    ("AWS/States", "ExecutionsFailed"): (
        frozenset({"StateMachineArn"}),
        f"{DOCS}/step-functions/latest/dg/procedure-cw-metrics.html",
    ),
    ("AWS/States", "ExecutionsTimedOut"): (
        frozenset({"StateMachineArn"}),
        f"{DOCS}/step-functions/latest/dg/procedure-cw-metrics.html",
    ),
    ("AWS/States", "ExecutionThrottled"): (
        frozenset({"StateMachineArn"}),
        f"{DOCS}/step-functions/latest/dg/procedure-cw-metrics.html",
    ),
    ("AWS/Events", "FailedInvocations"): (
        frozenset({"EventBusName", "RuleName"}),
        f"{DOCS}/eventbridge/latest/userguide/eb-monitoring.html",
    ),
    ("AWS/Lambda", "Errors"): (
        frozenset({"FunctionName"}),
        f"{DOCS}/lambda/latest/dg/monitoring-metrics-types.html",
    ),
    ("AWS/Lambda", "Throttles"): (
        frozenset({"FunctionName"}),
        f"{DOCS}/lambda/latest/dg/monitoring-metrics-types.html",
    ),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): (
        frozenset({"QueueName"}),
        f"{DOCS}/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html",
    ),
    ("AWS/Route53", "HealthCheckStatus"): (
        frozenset({"HealthCheckId"}),
        f"{DOCS}/Route53/latest/DeveloperGuide/monitoring-health-check-status.html",
    ),
    ("AWS/SQS", "ApproximateAgeOfOldestMessage"): (
        frozenset({"QueueName"}),
        f"{DOCS}/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html",
    ),
    ("CloudWatchSynthetics", "SuccessPercent"): (
        frozenset({"CanaryName"}),
        f"{DOCS}/AmazonCloudWatch/latest/monitoring/CloudWatch_Synthetics_Canaries_metrics.html",
    ),
    **{
        (business_metrics.NAMESPACE, metric.name): (
            frozenset(business_metrics.DIMENSIONS),
            f"emitted by {metric.emitted_by}; EMF: "
            f"{DOCS}/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format.html",
        )
        for metric in business_metrics.ALL
    },
}

# Thresholds, with where they come from. Aurora: the aws-samples multi-region microservice
# alarms at 5 s of replication lag over 2 x 60 s (the AWS observability guide's KPI is < 30 s).
RPO_LAG_THRESHOLD_MS = 5_000
# DynamoDB global tables replicate in about a second (DynamoDB developer guide, global tables);
# 10 s over 2 x 60 s means a region reads stale data users notice.
REPLICATION_LATENCY_THRESHOLD_MS = 10_000
# The read and write APIs answer well under a second; p99 above 2 s for 5 minutes is felt.
API_P99_THRESHOLD_MS = 2_000


@dataclass(frozen=True)
class Watched:
    """What one region runs that its on-call watches: the identifiers of its resources."""

    db_cluster_arn: pulumi.Input[str]
    table_name: pulumi.Input[str]
    http_api_id: pulumi.Input[str]
    websocket_api_id: pulumi.Input[str]
    graphql_api_id: pulumi.Input[str]
    state_machine_arn: pulumi.Input[str]
    event_bus_name: pulumi.Input[str]
    rule_names: Sequence[str]
    # Home stack: its lake bucket and each replication rule (id, destination bucket ARN).
    lake_bucket_name: pulumi.Input[str]
    replication_rules: Sequence[tuple[str, pulumi.Input[str]]] = ()
    # The regions this region's writes replicate to (the stacks it references).
    receiving_regions: Sequence[str] = field(default_factory=tuple)
    # Every dead-letter queue of the region, its canaries, and (with a domain) its Route 53
    # health check, whose metrics live in us-east-1.
    dead_letter_queue_names: Sequence[pulumi.Input[str]] = ()
    canary_names: Sequence[pulumi.Input[str]] = ()
    health_check_id: pulumi.Input[str] | None = None


def business_metric(
    metric: business_metrics.BusinessMetric, options: dict[str, str] | None = None
) -> list[Any]:
    """A dashboard line for a metric the functions emit, with the dimensions they emit."""
    dimensions = [part for pair in business_metrics.DIMENSIONS.items() for part in pair]
    return [business_metrics.NAMESPACE, metric.name, *dimensions, *([options] if options else [])]


@dataclass(frozen=True)
class PeerRegion:
    """Another region, as the home stack's dashboard across regions shows it."""

    region: str
    http_api_url: pulumi.Input[str]
    db_cluster_arn: pulumi.Input[str]


@dataclass(frozen=True)
class RegionalObservabilityArgs:
    """One region's alarms and dashboard need its settings, its topic and what it runs."""

    settings: Settings
    alarm_topic_arn: pulumi.Input[str]
    watched: Watched
    # Home stack: the other regions, for the dashboard across regions; empty elsewhere.
    peer_regions: Sequence[PeerRegion] = ()


class RegionalObservability(pulumi.ComponentResource):
    """Alarms on replication, APIs, the saga and the bus; a composite; the dashboard."""

    def __init__(
        self, name: str, args: RegionalObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("active-active:components:RegionalObservability", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        w, settings = args.watched, args.settings
        cluster_id = pulumi.Output.from_input(w.db_cluster_arn).apply(lambda a: a.split(":")[-1])

        # Replication: Aurora (this cluster, while it is a secondary), DynamoDB (into each
        # region this one replicates to), S3 (each rule of the home stack's lake).
        self._alarm("aurora-rpo-lag", "AWS/RDS", "AuroraGlobalDBRPOLag",
                    {"DBClusterIdentifier": cluster_id}, "Maximum", RPO_LAG_THRESHOLD_MS,
                    "this region's Aurora copy lags the writer: a failover here loses more")  # fmt: skip
        for region in w.receiving_regions:
            self._alarm(f"ddb-replication-{region}", "AWS/DynamoDB", "ReplicationLatency",
                        {"TableName": w.table_name, "ReceivingRegion": region}, "Average",
                        REPLICATION_LATENCY_THRESHOLD_MS,
                        f"the read model reaches {region} late: its users read stale orders")  # fmt: skip
        for rule_id, destination in w.replication_rules:
            bucket = pulumi.Output.from_input(destination).apply(lambda a: a.split(":")[-1])
            self._alarm(f"lake-replication-{rule_id}", "AWS/S3", "OperationsFailedReplication",
                        {"SourceBucket": w.lake_bucket_name, "DestinationBucket": bucket,
                         "RuleId": rule_id}, "Sum", 0, "lake objects failed to replicate",
                        period=300, evaluation_periods=1)  # fmt: skip

        # What users feel: API errors and latency, GraphQL errors.
        felt = [
            self._alarm("http-5xx", "AWS/ApiGateway", "5xx", {"ApiId": w.http_api_id}, "Sum", 0,
                        "the HTTP API answers 5xx", evaluation_periods=3, datapoints=2),
            self._alarm("http-p99", "AWS/ApiGateway", "Latency", {"ApiId": w.http_api_id}, None,
                        API_P99_THRESHOLD_MS, "the HTTP API is slow at p99",
                        extended_statistic="p99", evaluation_periods=5, datapoints=3),
            self._alarm("graphql-5xx", "AWS/AppSync", "5XXError", {"GraphQLAPIId": w.graphql_api_id},
                        "Sum", 0, "the GraphQL API answers 5xx", evaluation_periods=3,
                        datapoints=2),
        ]  # fmt: skip
        self._alarm("websocket-errors", "AWS/ApiGateway", "ExecutionError",
                    {"ApiId": w.websocket_api_id}, "Sum", 0, "the WebSocket API fails to run",
                    evaluation_periods=3, datapoints=2)  # fmt: skip

        # The write path: the saga's timeouts and throttling (its failures are alarmed with it),
        # and every rule on the bus that fails to deliver.
        for metric in ("ExecutionsTimedOut", "ExecutionThrottled"):
            self._alarm(f"saga-{metric.lower()}", "AWS/States", metric,
                        {"StateMachineArn": w.state_machine_arn}, "Sum", 0,
                        f"checkout saga: {metric}")  # fmt: skip
        for rule in w.rule_names:
            self._alarm(f"{rule.removeprefix(PROJECT + '-')}-failed-invocations", "AWS/Events",
                        "FailedInvocations", {"EventBusName": w.event_bus_name, "RuleName": rule},
                        "Sum", 0, f"the bus rule {rule} fails to deliver")  # fmt: skip

        # One page for "users in this region suffer", over the alarms that say so.
        unhealthy = aws.cloudwatch.CompositeAlarm(
            f"{name}-region-unhealthy",
            alarm_name=f"{PROJECT}-{settings.stack}-region-unhealthy",
            alarm_description=f"{settings.region}: users get errors or slow answers",
            alarm_rule=pulumi.Output.all(*[a.name for a in felt]).apply(
                lambda names: " OR ".join(f'ALARM("{n}")' for n in names)
            ),
            alarm_actions=[args.alarm_topic_arn],
            ok_actions=[args.alarm_topic_arn],
            tags=tags(settings, f"{name}-region-unhealthy"),
            opts=self._child,
        )
        self.region_unhealthy_alarm_name = unhealthy.alarm_name

        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{PROJECT}-{settings.stack}",
            dashboard_body=pulumi.Output.json_dumps(
                {"widgets": self._widgets(settings.region, cluster_id)}
            ),
            opts=self._child,
        )
        self.dashboard_name = dashboard.dashboard_name
        if settings.is_home:
            self._global_dashboard(settings, cluster_id)
        self.register_outputs({"dashboard_name": self.dashboard_name})

    def _global_dashboard(self, settings: Settings, cluster_id: pulumi.Output[str]) -> None:
        """Every region side by side: API errors and latency, Aurora lag, replication."""
        w, widgets = self._args.watched, []
        regions = [
            PeerRegion(settings.region, pulumi.Output.from_input(w.http_api_id), cluster_id),
            *self._args.peer_regions,
        ]
        for peer in regions:
            api_id = (
                pulumi.Output.from_input(peer.http_api_url).apply(
                    lambda url: url.removeprefix("https://").split(".")[0]
                )
                if peer.region != settings.region
                else peer.http_api_url
            )
            cluster = pulumi.Output.from_input(peer.db_cluster_arn).apply(
                lambda arn: arn.split(":")[-1]
            )
            widgets.append({
                "type": "metric", "width": 8, "height": 6,
                "properties": {
                    "title": peer.region, "region": peer.region, "period": 60,
                    "view": "timeSeries",
                    "metrics": [
                        ["AWS/ApiGateway", "5xx", "ApiId", api_id, {"stat": "Sum"}],
                        ["AWS/ApiGateway", "Latency", "ApiId", api_id, {"stat": "p99"}],
                        ["AWS/RDS", "AuroraGlobalDBRPOLag", "DBClusterIdentifier", cluster,
                         {"stat": "Maximum"}],
                        ["AWS/DynamoDB", "ReplicationLatency", "TableName", w.table_name,
                         "ReceivingRegion", peer.region, {"stat": "Average",
                                                          "region": settings.region}],
                    ],
                },
            })  # fmt: skip
        aws.cloudwatch.Dashboard(
            f"{self._name}-global-dashboard",
            dashboard_name=f"{PROJECT}-{settings.stack}-all-regions",
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}),
            opts=self._child,
        )

    def _alarm(
        self,
        label: str,
        namespace: str,
        metric: str,
        dimensions: dict[str, pulumi.Input[str]],
        statistic: str | None,
        threshold: float,
        description: str,
        *,
        period: int = 60,
        evaluation_periods: int = 2,
        datapoints: int | None = None,
        extended_statistic: str | None = None,
    ) -> aws.cloudwatch.MetricAlarm:
        settings = self._args.settings
        return alarm_when_above(
            f"{self._name}-{label}",
            settings,
            self._args.alarm_topic_arn,
            self._child,
            threshold=threshold,
            name=f"{PROJECT}-{settings.stack}-{label}",
            alarm_description=f"{settings.region}: {description}",
            namespace=namespace,
            metric_name=metric,
            dimensions=dimensions,
            statistic=statistic,
            extended_statistic=extended_statistic,
            period=period,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints,
        )

    def _widgets(self, region: str, cluster_id: pulumi.Output[str]) -> list[dict[str, Any]]:
        w = self._args.watched

        def graph(
            title: str, metrics: list[list[Any]], stat: str = "Sum", where: str = region
        ) -> dict[str, Any]:
            return {
                "type": "metric",
                "width": 12,
                "height": 6,
                "properties": {"title": title, "region": where, "stat": stat, "period": 60,
                               "view": "timeSeries", "metrics": metrics},
            }  # fmt: skip

        health = []
        if w.health_check_id is not None:
            # Route 53 publishes health-check metrics in us-east-1 only (docs/pitfalls.md
            # item 26): 1 healthy, 0 not, as its checkers see the region.
            health.append(graph("Health check (Route 53, 1 = healthy)",
                                [["AWS/Route53", "HealthCheckStatus", "HealthCheckId",
                                  w.health_check_id]], "Minimum", "us-east-1"))  # fmt: skip
        return [
            *health,
            graph("Replication lag (Aurora RPO, ms)",
                  [["AWS/RDS", "AuroraGlobalDBRPOLag", "DBClusterIdentifier", cluster_id]],
                  "Maximum"),
            graph("Read model replication latency (ms)",
                  [["AWS/DynamoDB", "ReplicationLatency", "TableName", w.table_name,
                    "ReceivingRegion", r] for r in w.receiving_regions] or
                  [["AWS/DynamoDB", "ReplicationLatency", "TableName", w.table_name,
                    "ReceivingRegion", region]], "Average"),
            graph("HTTP API errors", [["AWS/ApiGateway", "5xx", "ApiId", w.http_api_id]]),
            graph("HTTP API latency p99 (ms)", [["AWS/ApiGateway", "Latency", "ApiId",
                                                 w.http_api_id]], "p99"),
            graph("GraphQL errors", [["AWS/AppSync", "5XXError", "GraphQLAPIId",
                                      w.graphql_api_id]]),
            graph("Checkout saga outcomes", [
                ["AWS/States", m, "StateMachineArn", w.state_machine_arn]
                for m in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionThrottled")
            ]),
            graph("Bus deliveries that failed", [
                ["AWS/Events", "FailedInvocations", "EventBusName", w.event_bus_name,
                 "RuleName", rule] for rule in w.rule_names
            ]),
            graph("Orders", [
                business_metric(m) for m in (business_metrics.ORDERS_PLACED,
                                             business_metrics.ORDERS_CONFIRMED,
                                             business_metrics.ORDERS_FAILED)
            ]),
            graph("Forwarding latency to the writer (ms)", [
                business_metric(business_metrics.FORWARD_LATENCY, {"stat": stat, "label": stat})
                for stat in ("p50", "p99", "Maximum")
            ]),
            graph("Dead letters waiting", [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name]
                for name in w.dead_letter_queue_names
            ], "Maximum"),
            graph("Canaries: runs that passed (%)", [
                ["CloudWatchSynthetics", "SuccessPercent", "CanaryName", name]
                for name in w.canary_names
            ], "Average"),
        ]  # fmt: skip

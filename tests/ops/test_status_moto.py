"""`ops status` against moto: the control record, the global database, lags and health.

moto keeps RDS global clusters and CloudWatch metrics per region, as AWS does; it marks the
first cluster to join a global cluster as its writer. The health endpoints are a local HTTP
server answering 200 for one region and 503 for the other.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.orders.ports import ControlRecord, Mode
from ops.failover import ControlStore
from ops.status import gather, render
from tests.support.read_side import create_order_table

TABLE = "orders-read-model"
GLOBAL = "active-active-dev"


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path.startswith("/us/") else 503
        body = json.dumps({"status": "ok" if code == 200 else "degraded"}).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, dict[str, Any]]]:
    """Two regions deployed; eu-west-1 writes after a failover; lags published."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    with mock_aws():
        arns = {}
        # The first to join is the writer in moto: eu-west-1, as after a failover.
        for region, name in (("eu-west-1", "orders-secondary"), ("us-east-1", "orders-primary")):
            rds = boto3.client("rds", region_name=region)
            if region == "eu-west-1":
                rds.create_global_cluster(
                    GlobalClusterIdentifier=GLOBAL, Engine="aurora-postgresql"
                )
            arns[region] = rds.create_db_cluster(
                DBClusterIdentifier=name, Engine="aurora-postgresql", GlobalClusterIdentifier=GLOBAL,
                MasterUsername="x",
                MasterUserPassword="password123",
            )["DBCluster"]["DBClusterArn"]  # fmt: skip
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        create_order_table(dynamodb, TABLE)
        ControlStore(dynamodb, TABLE).write(
            ControlRecord("eu-west-1", "https://b.example/internal/orders", Mode.NORMAL)
        )
        now = datetime.now(UTC)
        boto3.client("cloudwatch", region_name="us-east-1").put_metric_data(
            Namespace="AWS/RDS",
            MetricData=[{"MetricName": "AuroraGlobalDBRPOLag", "Value": 850.0, "Timestamp": now,
                         "Dimensions": [{"Name": "DBClusterIdentifier",
                                         "Value": "orders-primary"}]}],
        )  # fmt: skip
        boto3.client("cloudwatch", region_name="eu-west-1").put_metric_data(
            Namespace="AWS/DynamoDB",
            MetricData=[{"MetricName": "ReplicationLatency", "Value": 420.0, "Timestamp": now,
                         "Dimensions": [{"Name": "TableName", "Value": TABLE},
                                        {"Name": "ReceivingRegion", "Value": "us-east-1"}]}],
        )  # fmt: skip
        yield {
            region: {"region": region, "dbClusterArn": arn, "globalClusterId": GLOBAL,
                     "tableName": TABLE, "internalWriteUrl": f"https://{region}.example/internal"}
            for region, arn in arns.items()
        }  # fmt: skip


def outputs(aws: dict[str, dict[str, Any]], health_url: str) -> dict[str, dict[str, Any]]:
    return {
        "primary": {**aws["us-east-1"], "httpApiUrl": f"{health_url}/us"},
        "secondary": {**aws["eu-west-1"], "httpApiUrl": f"{health_url}/eu"},
    }


def clients(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


def test_status_shows_who_writes_each_regions_health_and_the_lags(
    aws: dict[str, dict[str, Any]], health_url: str
) -> None:
    # When the status is gathered from the saved outputs
    status = gather(outputs(aws, health_url), clients, {"primary": "2026-11-29T10:00:00+00:00"})

    # Then the control record, the writer and each lag are there
    assert (status.writer_region, status.mode) == ("eu-west-1", "normal")
    by_stack = {r.stack: r for r in status.regions}
    primary, secondary = by_stack["primary"], by_stack["secondary"]
    assert (primary.writer, secondary.writer) == (False, True)
    assert primary.rpo_lag_ms == 850.0
    assert primary.replication_latency_ms == 420.0
    assert primary.health.startswith("200") and secondary.health.startswith("503")
    assert primary.last_deployed == "2026-11-29T10:00:00+00:00"
    # And an unhealthy region makes the whole status unhealthy
    assert not status.healthy
    assert "eu-west-1 (normal)" in render(status)


def test_a_region_that_cannot_be_reached_is_reported_not_raised(
    aws: dict[str, dict[str, Any]],
) -> None:
    # Given health URLs that nothing answers, and a control record no region can read
    saved = outputs(aws, "http://127.0.0.1:9")
    for out in saved.values():
        out["tableName"] = "no-such-table"

    status = gather(saved, clients)

    assert all(r.health.startswith("unreachable") for r in status.regions)
    assert status.writer_region is None
    assert any("control record" in p for p in status.problems)
    assert not status.healthy

"""`ops remove-region` refuses to remove the region where writes go now (moto's DynamoDB holds
the control record)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from functions.orders.ports import ControlRecord, Mode
from ops.commands import _refuse_removing_the_writer
from ops.failover import ControlStore
from ops.stackfiles import DeploymentError
from tests.support.read_side import create_order_table

TABLE = "orders"


def outputs(region: str) -> dict[str, str]:
    return {"region": region, "dbClusterArn": f"arn:aws:rds:{region}:1:cluster:c",
            "internalWriteUrl": f"https://{region}.example/internal/orders",
            "globalClusterId": "g", "tableName": TABLE}  # fmt: skip


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[argparse.Namespace]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps({"primary": outputs("us-east-1"), "secondary": outputs("eu-west-1")})
    )
    with mock_aws():
        for region in ("us-east-1", "eu-west-1"):
            create_order_table(boto3.client("dynamodb", region_name=region), TABLE)
        yield argparse.Namespace(stack="secondary", outputs=path)


def write_control(region: str, writer: str) -> None:
    client = boto3.client("dynamodb", region_name=region)
    ControlStore(client, TABLE).write(
        ControlRecord(writer, f"https://{writer}.example/internal/orders", Mode.NORMAL)
    )


def test_the_region_that_writes_cannot_be_removed(saved: argparse.Namespace) -> None:
    # Given writes failed over to eu-west-1, as the record in the surviving region says
    write_control("us-east-1", "eu-west-1")

    with pytest.raises(DeploymentError, match="fail over first"):
        _refuse_removing_the_writer(saved)


def test_a_region_that_only_reads_can_be_removed(saved: argparse.Namespace) -> None:
    write_control("us-east-1", "us-east-1")

    _refuse_removing_the_writer(saved)

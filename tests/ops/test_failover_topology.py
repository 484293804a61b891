"""The failover reads the deployment from the saved outputs, and refuses a file it cannot use."""

from __future__ import annotations

import pytest

from ops.failover import FailoverError, topology_from_outputs

STACK = {
    "region": "us-east-1",
    "dbClusterArn": "arn:aws:rds:us-east-1:123456789012:cluster:a",
    "internalWriteUrl": "https://a.example/internal/orders",
    "globalClusterId": "active-active-dev",
    "tableName": "orders",
}


@pytest.mark.parametrize("missing", ["dbClusterArn", "internalWriteUrl", "globalClusterId"])
def test_outputs_that_lack_what_a_failover_needs_are_refused_by_name(missing: str) -> None:
    outputs = {"primary": {k: v for k, v in STACK.items() if k != missing}}

    with pytest.raises(FailoverError, match=f"primary lack {missing}"):
        topology_from_outputs(outputs)


def test_an_empty_outputs_file_is_refused() -> None:
    with pytest.raises(FailoverError, match="no deployed stack"):
        topology_from_outputs({})


def test_complete_outputs_give_every_region() -> None:
    topology = topology_from_outputs({"primary": STACK})

    assert topology.target("us-east-1").db_cluster_arn == STACK["dbClusterArn"]

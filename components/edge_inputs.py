"""What RegionalEdge reads of the other components of its stack: the data layer's tables and
cluster, and the write path's function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True)
class EdgeData:
    """What the edge reads from this region's data layer (GlobalData's outputs)."""

    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    # This region's stream of the global table (a secondary's replica has its own).
    table_stream_arn: pulumi.Input[str]
    connections_table_name: pulumi.Input[str]
    connections_table_arn: pulumi.Input[str]
    # This region's idempotency table: the notifier records what it has pushed there.
    idempotency_table_name: pulumi.Input[str]
    idempotency_table_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    db_reader_endpoint: pulumi.Input[str]
    # For the `rds-db:connect` ARN of the health function's IAM database user.
    db_cluster_resource_id: pulumi.Input[str]
    db_name: pulumi.Input[str]
    db_user: pulumi.Input[str]
    db_port: int = 5432


@dataclass(frozen=True)
class WriteApi:
    """WriteOrchestrator's write function, and what it needs to run ``placeOrder`` too."""

    function_arn: pulumi.Input[str]
    function_name: pulumi.Input[str]
    # The write function's environment and permissions: the AppSync data source runs the
    # same write code for `placeOrder`, so it needs both.
    environment: Mapping[str, pulumi.Input[str]]
    statements: Sequence[Mapping[str, Any]]

"""The migrator: the database schema, applied at deploy time by the region that writes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.write_functions import WriteFunctions

# What functions.orders.migrations applies; the same directory, checked by a test.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "functions" / "migrations"


def migrations_hash(directory: Path = MIGRATIONS_DIR) -> str:
    """SHA-256 over the migration files, names and contents: changes when a migration does."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def migrations(functions: WriteFunctions) -> None:
    """The migrator, invoked at deploy time in every region.

    Which region writes is run-time state: after a failover the home region's cluster is a
    reader. Every stack invokes its migrator; each one asks the global database whether its
    own cluster is the writer, and only the writer's applies the migrations (the others
    answer ``skipped`` without connecting). Runs on create and whenever a migration file
    changes; a failure fails the deploy. The migrator is idempotent and locks, so a re-run
    is harmless.
    """
    data = functions.data
    migrator = functions.function(
        "migrator",
        timeout=300,
        environment={
            "GLOBAL_CLUSTER_ID": data.global_cluster_id,
            "DB_CLUSTER_ARN": data.db_cluster_arn,
        },
        statements=[*_master_secret(functions), _describe_global_cluster(functions)],
        as_master=True,
    )
    aws.lambda_.Invocation(
        f"{functions.site.name}-migrations",
        function_name=migrator.name,
        input=json.dumps({"source": "pulumi", "action": "migrate"}),
        triggers={"migrations": migrations_hash()},
        opts=functions.site.after(migrator, *data.database_ready),
    )


def _describe_global_cluster(functions: WriteFunctions) -> dict[str, Any]:
    """Reading the global database's membership: which member cluster writes."""
    return {
        "Sid": "FindTheWriter",
        "Effect": "Allow",
        "Action": ["rds:DescribeGlobalClusters"],
        "Resource": pulumi.Output.format(
            "arn:aws:rds::{0}:global-cluster:{1}",
            functions.site.account_id,
            functions.data.global_cluster_id,
        ),
    }


def _master_secret(functions: WriteFunctions) -> list[dict[str, Any]]:
    """Reading the master user's secret in this region, and no other: the primary's own, or
    in a secondary the replica of it that this region's key encrypts, so that the migrator
    of a promoted secondary needs nothing from the region it replaces."""
    return [
        {
            "Sid": "ReadMasterSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": functions.data.db_secret_arn,
        },
        # Reading a secret only decrypts it.
        functions.site.kms_via("secretsmanager", actions=["kms:Decrypt"]),
    ]

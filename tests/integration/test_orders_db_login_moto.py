"""The migrator's master login: the Aurora secret as GlobalData stores it, on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from components.aurora import DATABASE_NAME, MASTER_USERNAME, POSTGRES_PORT
from functions.orders.db import (
    Credentials,
    CredentialsUnavailable,
    DatabaseSettings,
    master_secret_login,
)
from tests.integration.orders_harness import (
    PRIMARY,
    aws_env,  # noqa: F401 (fixture)
)

WRITER = f"orders.cluster-abc.{PRIMARY}.rds.amazonaws.com"


@pytest.fixture
def secrets(aws_env: None) -> Iterator[Any]:  # noqa: F811 (fixture)
    """A Secrets Manager client of the primary's region, on moto."""
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=PRIMARY)


def migrator_settings(secret_arn: str) -> DatabaseSettings:
    """The migrator's settings, from the environment WriteOrchestrator gives it."""
    return DatabaseSettings.from_env(
        {
            "DB_HOST": WRITER,
            "DB_PORT": "5432",
            "DB_NAME": DATABASE_NAME,
            "DB_SECRET_ARN": secret_arn,
            "AWS_REGION": PRIMARY,
        }
    )


def test_the_migrator_logs_in_with_the_user_and_password_of_the_aurora_secret(
    secrets: Any,
) -> None:
    # Given the master secret with the keys GlobalData writes into it
    arn = secrets.create_secret(
        Name="aurora-master",
        SecretString=json.dumps(
            {
                "engine": "postgres",
                "username": MASTER_USERNAME,
                "password": "s3cr3t-pw",
                "host": f"orders.cluster-old.{PRIMARY}.rds.amazonaws.com",
                "port": POSTGRES_PORT,
                "dbname": DATABASE_NAME,
                "dbClusterIdentifier": "orders",
            }
        ),
    )["ARN"]
    settings = migrator_settings(arn)

    # When the migrator's login is made
    credentials = master_secret_login(secrets)(settings)

    # Then it is the master user's, for this region's writer rather than the secret's host
    assert credentials == Credentials(MASTER_USERNAME, "s3cr3t-pw")
    assert (settings.host, settings.user) == (WRITER, None)


def test_a_secret_that_cannot_be_read_is_reported_as_unavailable_credentials(
    secrets: Any,
) -> None:
    # Given a secret ARN that names no secret
    arn = f"arn:aws:secretsmanager:{PRIMARY}:123456789012:secret:gone-AbCdEf"

    # When the migrator logs in / Then the failure names the secret, as a domain error
    with pytest.raises(CredentialsUnavailable, match="gone-AbCdEf"):
        master_secret_login(secrets)(migrator_settings(arn))


@pytest.mark.parametrize(
    "text", ["hunter2 is not JSON", '{"password": "hunter2"}', '{"username": "", "password": 2}']
)
def test_a_malformed_secret_is_reported_without_its_text(secrets: Any, text: str) -> None:
    # Given a secret that is not the JSON GlobalData writes
    arn = secrets.create_secret(Name="broken", SecretString=text)["ARN"]

    # When the migrator logs in
    with pytest.raises(CredentialsUnavailable) as failed:
        master_secret_login(secrets)(migrator_settings(arn))

    # Then the error says so, and neither it nor its cause carries the secret's text
    assert "hunter2" not in str(failed.value)
    assert failed.value.__cause__ is None


def test_a_dsn_wins_over_the_secret_so_tests_and_local_runs_need_no_aws() -> None:
    # Given an environment with both a DSN and the master secret
    env = {
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/orders",
        "DB_SECRET_ARN": f"arn:aws:secretsmanager:{PRIMARY}:123456789012:secret:m-AbCdEf",
    }

    # When it is parsed
    settings = DatabaseSettings.from_env(env)

    # Then the DSN's user connects, and no secret is read
    assert (settings.user, settings.secret_arn) == ("postgres", None)

"""Fixtures of the integration suite that several modules share, found by name."""

from tests.integration.orders_harness import aws_env, moto_aws, moto_static  # noqa: F401
from tests.integration.saga_harness import world  # noqa: F401

"""The facts the infra, the operator tools and the functions share are importable without any
AWS SDK, database driver or Pulumi: one copy each, usable on every side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What a contract module may not need: the SDK, the driver, powertools, the Pulumi program's.
HEAVY = ("boto3", "botocore", "pg8000", "aws_lambda_powertools", "aws_xray_sdk", "pulumi")

CONTRACTS = {
    "functions.catalog": "the handler catalog",
    "functions.orders.read_model": "the table keys",
    "functions.orders.control": "the control record's codec and rules",
    "functions.orders.events": "the event names",
    "functions.orders.saga": "the saga's declaration",
    "functions.orders.settings": "the app user (APP_USERNAME)",
    "functions.business_metrics": "the business metrics",
    "functions.canary.journey": "the canary's known order",
    "functions.api_error": "the API's error body",
    "functions.env": "the environment readers",
    "functions.synthetic": "what makes an order synthetic",
    "functions.correlation": "the correlation id's header and field",
    # Not a contract: the transport signs with botocore only when asked, so the canary,
    # which ships without the SDK, can use it too.
    "functions.outbound": "the outbound HTTP transport",
}


@pytest.mark.parametrize("module", sorted(CONTRACTS), ids=lambda m: CONTRACTS[m])
def test_a_shared_fact_imports_without_aws_or_pulumi(module: str) -> None:
    # Given an interpreter where none of the heavy packages can be imported
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in HEAVY)
    script = f"import sys; {blocked}; import {module}"
    # When the module is imported
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    # Then it loads: the infra, the tools and the functions can all read this one copy
    assert done.returncode == 0, done.stderr[-2000:]

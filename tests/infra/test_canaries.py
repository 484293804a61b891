"""Each region's canaries: what the read one calls and the known order it reads, what the write
one may call (its route alone), what pages when either fails; their archive is what Synthetics'
Python runtime loads."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from components.archives import PROJECT_DIR, canary_archive
from components.canaries import (
    HANDLER,
    SUCCESS_PERCENT_THRESHOLD,
    WRITE_HANDLER,
    known_order_item,
)
from components.guards import IAM_ONLY_ROUTES
from components.http_api import INTERNAL_WRITE_ROUTE
from functions import synthetic
from functions.canary.journey import KNOWN_ORDER_ID, known_order_view
from functions.read_side.views import api_view
from functions.write_api import handler as write_api
from ops.simulate import DeploymentResult, Resource, StackResult
from tests.support.plan import (
    ALARM,
    API_ROUTE,
    BUCKET,
    CANARY,
    ROLE_POLICY,
    TABLE_ITEM,
    TOPIC,
    api_of,
    as_list,
    one_with,
    output_values,
    role_policies,
    role_statements,
    statements,
)


def canary(stack: StackResult, handler: str) -> Resource:
    """The stack's one canary that runs ``handler``."""
    return one_with(stack, CANARY, handler=handler)


def test_every_region_runs_the_read_canary_against_its_own_api_every_5_minutes(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        # Given a region's stack
        read = canary(stack, HANDLER)
        # Then its read canary reads this region's HTTP API for the known order, every 5 min
        env = read.inputs["runConfig"]["environmentVariables"]
        assert env == {
            "CANARY_BASE_URL": stack.outputs["httpApiUrl"],
            "CANARY_ORDER_ID": KNOWN_ORDER_ID,
        }
        assert read.inputs["schedule"]["expression"] == "rate(5 minutes)"
        assert len(read.inputs["name"]) <= 21 and read.inputs["name"].islower()
        # And its artifacts go to a bucket of its own stack
        bucket = read.inputs["artifactS3Location"].removeprefix("s3://").split("/")[0]
        assert bucket in output_values(stack, BUCKET, "bucket")


def test_every_region_runs_the_write_canary_against_its_own_api_with_the_only_role_allowed_to(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        # Given a region's stack
        write, read = canary(stack, WRITE_HANDLER), canary(stack, HANDLER)
        # Then its write canary signs for this region's HTTP API, every 5 minutes, with time
        # for the journey's deadline
        env = write.inputs["runConfig"]["environmentVariables"]
        assert env == {
            "CANARY_BASE_URL": stack.outputs["httpApiUrl"],
            "CANARY_REGION": stack.region,
        }
        assert write.inputs["schedule"]["expression"] == "rate(5 minutes)"
        assert write.inputs["runConfig"]["timeoutInSeconds"] >= 90
        assert len(write.inputs["name"]) <= 21 and write.inputs["name"] != read.inputs["name"]
        # And the synthetic route takes IAM authorization only
        route = one_with(stack, API_ROUTE, routeKey=synthetic.ROUTE)
        assert route.inputs["authorizationType"] == "AWS_IAM"
        # And only the write canary's role may invoke it, on this region's API and nothing else
        invokes = [
            s
            for s in role_statements(stack, write.inputs["executionRoleArn"])
            if "execute-api:Invoke" in s["Action"]
        ]
        api = api_of(stack, "HTTP")
        [statement] = invokes
        assert statement["Resource"] == f"{api.outputs['executionArn']}/*/POST/synthetic/orders"
        # And no other role of the stack may invoke the synthetic route (or every route)
        others = [
            s
            for policy in stack.of_type(ROLE_POLICY)
            if policy not in role_policies(stack, write.inputs["executionRoleArn"])
            for s in statements(policy)
            if "execute-api:Invoke" in as_list(s["Action"])
        ]
        assert not [
            s
            for s in others
            if any("synthetic" in r or r.endswith("/*") for r in as_list(s["Resource"]))
        ], others


@pytest.mark.parametrize("handler", [HANDLER, WRITE_HANDLER], ids=["read", "write"])
def test_a_failing_or_silent_canary_pages_the_regions_topic(
    example_deployment: DeploymentResult, handler: str
) -> None:
    for stack in example_deployment.stacks.values():
        watched = canary(stack, handler)
        alarm = one_with(
            stack,
            ALARM,
            namespace="CloudWatchSynthetics",
            dimensions={"CanaryName": watched.inputs["name"]},
        )
        # Then the alarm watches this canary's success rate, below 90 %, missing runs included
        assert alarm.inputs["metricName"] == "SuccessPercent"
        assert alarm.inputs["comparisonOperator"] == "LessThanThreshold"
        assert alarm.inputs["threshold"] == SUCCESS_PERCENT_THRESHOLD
        assert alarm.inputs["treatMissingData"] == "breaching"
        topic = stack.one(TOPIC).outputs["arn"]
        assert alarm.inputs["alarmActions"] == [topic] == alarm.inputs["okActions"]


def test_the_home_stack_writes_the_known_order_every_region_reads(
    example_deployment: DeploymentResult,
) -> None:
    # Given the stacks: only the home stack writes the item (the global table replicates it)
    items = {name: stack.of_type(TABLE_ITEM) for name, stack in example_deployment.stacks.items()}
    assert [name for name, found in items.items() if found] == ["primary"]
    (item,) = items["primary"]
    assert item.inputs["tableName"] == example_deployment.stacks["primary"].outputs["tableName"]
    # Then the item is the view the read API serves for the order the canaries ask for
    stored = json.loads(item.inputs["item"])
    assert stored == known_order_item()
    assert api_view(plain(stored["view"])) == known_order_view()


def plain(value: dict[str, Any]) -> Any:
    """DynamoDB JSON to plain values."""
    ((kind, inner),) = value.items()
    if kind == "M":
        return {k: plain(v) for k, v in inner.items()}
    if kind == "L":
        return [plain(v) for v in inner]
    return int(inner) if kind == "N" else inner


@pytest.mark.parametrize("handler", [HANDLER, WRITE_HANDLER])
def test_the_canary_archive_loads_as_synthetics_loads_it(
    lambda_archives: dict[str, Path], tmp_path: Path, handler: str
) -> None:
    # Given the canary's archive unpacked as Synthetics does (python/ on the path)
    zipfile.ZipFile(lambda_archives["canary"]).extractall(tmp_path)
    module, _, function = handler.partition(".")
    # When its handler is imported in a fresh interpreter with nothing else on the path
    probe = (
        f"import sys; sys.path[:] = [{str(tmp_path / 'python')!r}] + "
        "[p for p in sys.path if 'site-packages' not in p and p not in ('', '.')]; "
        f"import {module}; print(callable({module}.{function}))"
    )
    ran = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, cwd=tmp_path
    )
    # Then it imports, from the archive alone
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "True"


def test_a_changed_canary_script_is_a_changed_path_the_provider_uploads(
    example_deployment: DeploymentResult, lambda_archives: dict[str, Path], tmp_path: Path
) -> None:
    # Given the canaries as planned: both deploy the archive's copy named after its bytes
    for stack in example_deployment.stacks.values():
        paths = {c.inputs["zipFile"] for c in stack.of_type(CANARY)}
        assert paths == {str(canary_archive().relative_to(PROJECT_DIR))}
    assert canary_archive().read_bytes() == lambda_archives["canary"].read_bytes()
    # When the archive's bytes change (a changed script), its deployed name changes too,
    # which is what makes the provider upload it (docs/pitfalls.md item 27)
    first, second = tmp_path / "canary.zip", tmp_path / "other" / "canary.zip"
    second.parent.mkdir()
    first.write_bytes(lambda_archives["canary"].read_bytes())
    second.write_bytes(lambda_archives["canary"].read_bytes() + b"\0")
    assert canary_archive(first).name != canary_archive(second).name
    assert canary_archive(first).name == canary_archive().name


def test_the_routes_the_policy_pack_keeps_on_iam_are_the_ones_the_program_makes() -> None:
    # components/guards.py imports nothing, so it spells the route keys out: the same ones
    assert {INTERNAL_WRITE_ROUTE, synthetic.ROUTE} == IAM_ONLY_ROUTES
    # and the write function knows the internal route by the same key
    assert write_api.INTERNAL_ROUTE == INTERNAL_WRITE_ROUTE

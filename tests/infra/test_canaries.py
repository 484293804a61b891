"""Each region's read canary: what it calls, the known order it reads, and what pages when it
fails; its archive is what Synthetics' Python runtime loads."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from components.canaries import HANDLER, SUCCESS_PERCENT_THRESHOLD, known_order_item
from functions.canary.journey import KNOWN_ORDER_ID, known_order_view
from functions.read_side.views import api_view
from ops.simulate import DeploymentResult

CANARY = "aws:synthetics/canary:Canary"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def test_every_region_runs_the_read_canary_against_its_own_api_every_5_minutes(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        # Given a region's stack
        (canary,) = stack.of_type(CANARY)
        # Then its one canary reads this region's HTTP API for the known order, every 5 min
        env = canary.inputs["runConfig"]["environmentVariables"]
        assert env == {
            "CANARY_BASE_URL": stack.outputs["httpApiUrl"],
            "CANARY_ORDER_ID": KNOWN_ORDER_ID,
        }
        assert canary.inputs["schedule"]["expression"] == "rate(5 minutes)"
        assert canary.inputs["handler"] == HANDLER
        assert len(canary.inputs["name"]) <= 21 and canary.inputs["name"].islower()
        # And its artifacts go to a bucket of its own stack
        bucket = canary.inputs["artifactS3Location"].removeprefix("s3://").split("/")[0]
        assert bucket in {
            str(b.outputs.get("bucket")) for b in stack.of_type("aws:s3/bucket:Bucket")
        }


def test_a_failing_or_silent_canary_pages_the_regions_topic(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        (canary,) = stack.of_type(CANARY)
        (alarm,) = [
            a for a in stack.of_type(ALARM) if a.inputs["namespace"] == "CloudWatchSynthetics"
        ]
        # Then the alarm watches this canary's success rate, below 90 %, missing runs included
        assert alarm.inputs["metricName"] == "SuccessPercent"
        assert alarm.inputs["dimensions"] == {"CanaryName": canary.inputs["name"]}
        assert alarm.inputs["comparisonOperator"] == "LessThanThreshold"
        assert alarm.inputs["threshold"] == SUCCESS_PERCENT_THRESHOLD
        assert alarm.inputs["treatMissingData"] == "breaching"
        topic = stack.one("aws:sns/topic:Topic").outputs["arn"]
        assert alarm.inputs["alarmActions"] == [topic] == alarm.inputs["okActions"]


def test_the_home_stack_writes_the_known_order_every_region_reads(
    example_deployment: DeploymentResult,
) -> None:
    # Given the stacks: only the home stack writes the item (the global table replicates it)
    items = {
        name: stack.of_type("aws:dynamodb/tableItem:TableItem")
        for name, stack in example_deployment.stacks.items()
    }
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


def test_the_canary_archive_loads_as_synthetics_loads_it(
    lambda_archives: dict[str, Path], tmp_path: Path
) -> None:
    # Given the canary's archive unpacked as Synthetics does (python/ on the path)
    zipfile.ZipFile(lambda_archives["canary"]).extractall(tmp_path)
    module, _, function = HANDLER.partition(".")
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

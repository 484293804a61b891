"""Deployed stacks know their resources by URN: a change of name or parent without an alias
deletes the deployed resource and creates a new one (for a table or a cluster: its data).

urns_baseline.json holds every URN the example stacks planned (each stack's passes together)
before components/ was split by concern. Every one of them must still be planned, or be an
alias of a resource that is. The file only grows: a URN leaves it only with the resource.
"""

from __future__ import annotations

import json
from pathlib import Path

from ops.simulate import DeploymentResult

BASELINE = Path(__file__).with_name("urns_baseline.json")
LAKE_BUCKET = "urn:pulumi:primary::active-active::active-active:components:GlobalData$aws:s3/bucket:Bucket::primary-lake"


def known_urns(deployment: DeploymentResult) -> dict[str, set[str]]:
    """Per stack, every URN its passes planned and every old URN those resources alias."""
    known: dict[str, set[str]] = {}
    for step, result in deployment.passes:
        for resource in result.resources:
            known.setdefault(step.stack, set()).update([resource.urn, *resource.aliases])
    return known


def test_every_urn_deployed_before_is_still_planned_or_aliased(
    example_deployment: DeploymentResult,
) -> None:
    # Given the URNs the example stacks had before the split
    baseline: dict[str, list[str]] = json.loads(BASELINE.read_text())

    # When the same stacks are planned now
    known = known_urns(example_deployment)

    # Then none of them is gone: each is planned, or an alias moves its state
    lost = {
        stack: sorted(set(urns) - known.get(stack, set()))
        for stack, urns in baseline.items()
        if set(urns) - known.get(stack, set())
    }
    assert not lost, f"URNs that would be deleted, with neither a resource nor an alias: {lost}"


def test_the_plan_records_the_aliases_a_resource_carries(
    example_deployment: DeploymentResult,
) -> None:
    # Given the lake bucket, which pulumi-aws aliases to its type's old name (BucketV2)
    primary = example_deployment.stacks["primary"]

    # When the plan records it
    bucket = primary.by_urn(LAKE_BUCKET)

    # Then its aliases are there, as URNs, and in the JSON of `ops plan --json`
    old = LAKE_BUCKET.replace("s3/bucket:Bucket", "s3/bucketV2:BucketV2")
    assert old in bucket.aliases
    assert bucket.to_json()["aliases"] == bucket.aliases

"""`ops cost`: the offline plan priced at a usage profile, per stack and in total.

The rules are checked against the real plan (the examples, and generated deployments with
every option), the arithmetic against figures computed by hand, and the CLI as an operator
meets it.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.orders import saga
from ops.__main__ import main
from ops.cost import (
    CATEGORY_ORDER,
    FREE,
    GLOBAL,
    PRICES_FILE,
    RULES,
    USAGE_FILE,
    CostError,
    Estimate,
    PriceTable,
    Usage,
    estimate,
    free_reason,
    render,
    unpriced_types,
)
from ops.simulate import DeploymentResult, simulate_deployment
from ops.stackfiles import read_stack_files
from tests.support.deployments import PROJECT_DIR, generated_configs, write_stack_files
from tests.support.plan import (
    DB_CLUSTER,
    EVENT_RULE,
    EVENT_TARGET,
    TGW_PEERING,
    TGW_PEERING_ACCEPTER,
)

# The regions the examples and generated deployments of up to three stacks use.
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
DOMAIN = {
    "zoneId": "Z0EXAMPLE",
    "apiHostname": "api.shop.example.com",
    "publicHostname": "shop.example.com",
}
# Every option that adds resources: domain, CloudFront and its WAF, on-premises links.
EVERY_OPTION = {
    "domain": DOMAIN,
    "legacyOrigin": "legacy.example.com",
    "edge": {"waf": True},
    "onPrem": {
        "cidrs": ["192.168.0.0/16"],
        "vpn": {"customerGatewayIp": "203.0.113.10", "bgpAsn": 65010},
        "directConnectGatewayId": "dxgw-0example",
        "crmUrl": "https://crm.example.com",
    },
    "alarmEmail": "ops@example.com",
    "payments": {"baseUrl": "https://api.payments.example/"},
    "environment": "prod",
    "natGateways": "perAz",
    "availabilityZones": 3,
    "writeMode": "async",
}


def plan_of(directory: Path, configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result: DeploymentResult = simulate_deployment(
        read_stack_files(write_stack_files(directory, configs))
    )
    return result.to_json()


@pytest.fixture(scope="module")
def examples(example_deployment: DeploymentResult) -> dict[str, Any]:
    return example_deployment.to_json()


@pytest.fixture(scope="module")
def every_option(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three generated regions with every option that adds resources."""
    return plan_of(tmp_path_factory.mktemp("options"), generated_configs(3, **EVERY_OPTION))


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return plan_of(tmp_path_factory.mktemp("two"), generated_configs(2))


@pytest.fixture(scope="module")
def three_regions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return plan_of(tmp_path_factory.mktemp("three"), generated_configs(3))


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable.load()


def idle(document: dict[str, Any], prices: PriceTable) -> Estimate:
    return estimate(document, Usage.load(idle=True), prices)


def lines_of(result: Estimate, stack: str, type_: str | None = None) -> list[Any]:
    return [x for x in result.lines if x.stack == stack and type_ in (None, x.type)]


# -- every resource type is priced or explained -------------------------------------------


def test_every_resource_type_of_the_plans_has_a_price_rule_or_a_reason_to_be_free(
    examples: dict[str, Any], every_option: dict[str, Any], prices: PriceTable
) -> None:
    # Given the examples and a deployment with every option, as the real program plans them
    for document in (examples, every_option):
        # Then no type is left without a rule or a reason
        assert unpriced_types(document) == []
        # And every rule applies to the resources of its type at the profile and at idle
        assert estimate(document, Usage.load(), prices).total() > 0
        assert idle(document, prices).total() > 0
    # And a type is never both priced and free, and every reason says something
    assert not set(RULES) & set(FREE)
    assert all(len(reason) > 10 for reason in FREE.values())


def test_a_resource_type_without_a_rule_or_reason_fails_the_estimate_naming_it(
    examples: dict[str, Any], prices: PriceTable
) -> None:
    # Given a plan where one resource has a type nothing here knows
    document = copy.deepcopy(examples)
    document["stacks"]["secondary"]["resources"][0]["type"] = "aws:newservice/thing:Thing"

    # When it is priced, Then the estimate refuses, naming the type
    with pytest.raises(CostError, match="aws:newservice/thing:Thing"):
        estimate(document, Usage.load(), prices)
    assert free_reason("active-active:components:SomethingNew") is not None


# -- regions ------------------------------------------------------------------------------


def test_adding_a_region_adds_its_own_cost_and_exactly_its_new_peering_attachments(
    two_regions: dict[str, Any], three_regions: dict[str, Any], prices: PriceTable
) -> None:
    # Given the same generated deployment with two regions, then three, at idle
    before, after = idle(two_regions, prices), idle(three_regions, prices)
    new = "secondary-2"

    # Then the new stack peers with each of the N-1 = 2 stacks before it, and pays for the
    # accepter side too, each priced in the peer's region
    requesters = lines_of(after, new, TGW_PEERING)
    accepters = lines_of(after, new, TGW_PEERING_ACCEPTER)
    assert len(requesters) == len(accepters) == 2
    assert {x.price.region for x in requesters} == {"ap-southeast-2"}
    assert sorted(x.price.region for x in accepters) == ["eu-west-1", "us-east-1"]
    # And the mesh has N(N-1)/2 peerings: 1 before, 3 after
    assert len([x for x in before.lines if x.type == TGW_PEERING]) == 1
    assert len([x for x in after.lines if x.type == TGW_PEERING]) == 3
    # And no earlier stack gets a network line of its own: the later stack writes both sides
    for stack in ("primary", "secondary-1"):
        network = {
            (x.resource, x.item, x.quantity, x.price)
            for x in lines_of(before, stack)
            if x.category == "network"
        }
        assert network == {
            (x.resource, x.item, x.quantity, x.price)
            for x in lines_of(after, stack)
            if x.category == "network"
        }
    # And the deployment costs at least what the new region adds
    assert after.total(new) > 0
    assert after.total() - before.total() >= after.total(new) - 1e-9


def test_a_region_without_a_price_fails_the_estimate_naming_the_region(
    examples: dict[str, Any], prices: PriceTable
) -> None:
    # Given the examples with secondary-ap moved to a region the price table does not have
    document = copy.deepcopy(examples)
    stack = document["stacks"]["secondary-ap"]
    stack["region"] = "sa-east-1"
    for resource in stack["resources"]:
        if resource["region"] == "ap-southeast-2":
            resource["region"] = "sa-east-1"

    # When it is priced, Then it fails, naming the region, and borrows no other region's price
    with pytest.raises(CostError, match=r"no price for region sa-east-1 in ops/prices\.json"):
        idle(document, prices)


def test_every_price_covers_the_regions_in_use_with_a_date_and_a_source_or_a_reason(
    prices: PriceTable,
) -> None:
    document = json.loads(PRICES_FILE.read_text())
    for key, entry in document["prices"].items():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["asOf"]), key
        regions = set(entry["regions"])
        # Global services have one price; every other entry has each region in use
        assert regions == {GLOBAL} or regions >= set(REGIONS), key
        for region, value in entry["regions"].items():
            price = prices.price(key, region)
            assert price.usd >= 0 and price.per > 0, (key, region)
            # A figure without a source says so, and says why this figure
            if not price.sourced:
                assert (isinstance(value, dict) and value.get("note")) or entry.get("note"), (
                    key,
                    region,
                )
            else:
                assert str(price.source).startswith("http"), (key, region)


# -- the arithmetic -----------------------------------------------------------------------


def with_prices(table: PriceTable, changes: dict[tuple[str, str], float]) -> PriceTable:
    document = json.loads(PRICES_FILE.read_text())
    for (key, region), usd in changes.items():
        document["prices"][key]["regions"][region] = {"usd": usd, "note": "test figure"}
    return PriceTable(document)


def test_the_idle_network_of_two_regions_is_the_sum_computed_by_hand(
    two_regions: dict[str, Any], prices: PriceTable
) -> None:
    # Given round prices: NAT $0.10/h and $0.10/h, IPv4 $0.01/h, TGW attachment $0.07/h in
    # us-east-1 and $0.06/h in eu-west-1, a month of 730 hours
    table = with_prices(
        prices,
        {
            ("natGatewayHour", "us-east-1"): 0.10,
            ("natGatewayHour", "eu-west-1"): 0.10,
            ("publicIpv4Hour", "us-east-1"): 0.01,
            ("publicIpv4Hour", "eu-west-1"): 0.01,
            ("tgwAttachmentHour", "us-east-1"): 0.07,
            ("tgwAttachmentHour", "eu-west-1"): 0.06,
        },
    )

    # When the two regions are priced idle
    result = idle(two_regions, table)

    # Then the primary pays one NAT gateway, its address and its VPC attachment:
    # 730 x (0.10 + 0.01 + 0.07)
    assert result.total("primary", "network") == pytest.approx(131.40)
    # And the member pays the same in eu-west-1 plus the peering twice: its own side at 0.06,
    # the accepter side at us-east-1's 0.07: 730 x (0.10 + 0.01 + 0.06 + 0.06 + 0.07)
    assert result.total("secondary-1", "network") == pytest.approx(219.00)
    # And an idle writer at 0.5 ACU costs 730 x 0.5 x the ACU-hour
    acu = prices.price("auroraAcuHour", "us-east-1").usd
    assert result.total("primary", "aurora") == pytest.approx(730 * 0.5 * acu)


def test_each_order_costs_the_transitions_of_the_saga_declared_in_saga_py(
    examples: dict[str, Any], prices: PriceTable
) -> None:
    # Given the profile's orders
    usage = Usage.load()
    orders = usage("traffic.orders")

    # When the examples are priced
    result = estimate(examples, usage, prices)

    # Then the home stack's state machine makes one transition a state an order enters:
    # each forward step of saga.py, then the success state
    (transitions,) = [
        x for x in lines_of(result, "primary") if x.price.key == "sfnTransitionThousand"
    ]
    assert transitions.quantity == orders * (len(saga.STEPS) + 1)
    # And no member runs the saga
    assert not [x for x in result.lines if x.stack != "primary" and "transition" in x.item]


def schedule(stack: dict[str, Any], function: str, expression: str) -> None:
    """Add a scheduled bus rule invoking one of the stack's functions."""
    (target,) = [x for x in stack["resources"] if x["name"] == function]
    rule = f"{function}-schedule"
    stack["resources"] += [
        {"type": EVENT_RULE, "name": rule, "urn": rule,
         "region": stack["region"], "inputs": {"name": rule, "scheduleExpression": expression}},
        {"type": EVENT_TARGET, "name": f"{rule}-target",
         "urn": f"{rule}-target", "region": stack["region"],
         "inputs": {"rule": rule, "arn": f"arn:aws:lambda:x:1:function:{target['inputs']['name']}"}},
    ]  # fmt: skip


def test_an_idle_cluster_set_to_auto_pause_bills_nothing_unless_a_schedule_wakes_it(
    examples: dict[str, Any], prices: PriceTable
) -> None:
    # Given the examples with the members' clusters at a minimum of 0 ACU (auto-pause after
    # 5 minutes), and none of their functions on a schedule
    document = copy.deepcopy(examples)
    for name in ("secondary", "secondary-ap"):
        stack = document["stacks"][name]
        stack["resources"] = [
            x for x in stack["resources"] if not x["inputs"].get("scheduleExpression")
        ]
        for resource in stack["resources"]:
            if resource["type"] == DB_CLUSTER:
                resource["inputs"]["serverlessv2ScalingConfiguration"]["minCapacity"] = 0

    def capacity() -> dict[str, Any]:
        lines = idle(document, prices).lines
        return {x.stack: x for x in lines if x.price.key == "auroraAcuHour"}

    # Then, idle, only the primary's 0.5 ACU is billed: the members are paused
    assert {k: x.quantity for k, x in capacity().items()} == {"primary": 0.5 * 730}

    # When a function that connects to secondary's database runs every 10 minutes, Then it
    # still pauses in between; every minute, it never does, and is billed 0.5 ACU
    schedule(document["stacks"]["secondary"], "secondary-migrator-function", "rate(10 minutes)")
    assert "secondary" not in capacity()
    schedule(document["stacks"]["secondary"], "secondary-health-function", "rate(1 minute)")
    awake = capacity()["secondary"]
    assert awake.quantity == 0.5 * 730
    assert "kept from pausing by secondary-health-function every 1 min" in awake.item
    assert "secondary-ap" not in capacity()


# -- the usage profile --------------------------------------------------------------------


def test_idle_keeps_what_runs_anyway_and_drops_traffic_and_storage() -> None:
    usage = Usage.load(idle=True)

    assert usage("traffic.orders") == usage("stored.auroraGB") == 0
    assert usage("background.healthCheckRequests") == Usage.load()("background.healthCheckRequests")


def test_a_usage_file_overrides_the_keys_it_names_and_refuses_unknown_ones(
    tmp_path: Path,
) -> None:
    # Given a file that names one figure
    mine = tmp_path / "usage.yaml"
    mine.write_text(yaml.safe_dump({"traffic": {"orders": 7}, "split": {"primary": 3}}))

    # Then that figure changes and every other keeps the project's value
    usage = Usage.load(mine)
    assert usage("traffic.orders") == 7
    assert usage("traffic.reads") == Usage.load()("traffic.reads")
    assert usage.split() == {"primary": 3.0}

    # And a key the project's file does not have, or a negative figure, is refused by name
    mine.write_text(yaml.safe_dump({"traffic": {"order": 7}}))
    with pytest.raises(CostError, match="unknown usage key 'order'"):
        Usage.load(mine)
    mine.write_text(yaml.safe_dump({"traffic": {"orders": -1}}))
    with pytest.raises(CostError, match=r"traffic\.orders must be a number, not negative"):
        Usage.load(mine)


def test_the_split_puts_the_traffic_where_it_is_weighted(
    examples: dict[str, Any], prices: PriceTable, tmp_path: Path
) -> None:
    # Given every read in eu-west-1
    mine = tmp_path / "usage.yaml"
    mine.write_text(yaml.safe_dump({"split": {"primary": 0, "secondary": 1, "secondary-ap": 0}}))

    # When priced
    result = estimate(examples, Usage.load(mine), prices)

    # Then only secondary's read API is invoked by readers
    reads = {
        x.stack: x.quantity
        for x in result.lines
        if x.price.key == "lambdaRequestMillion" and "read-api" in x.resource
    }
    assert reads == {"secondary": Usage.load()("traffic.reads") * 0.8}


# -- the command --------------------------------------------------------------------------


def test_cost_json_has_every_stack_its_lines_and_the_dated_prices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When an operator asks for the estimate of the example stacks as JSON
    code = main(
        ["--dir", str(PROJECT_DIR), "cost", "--json", "--outputs", str(tmp_path / "o.json")]
    )

    # Then it is one document: a total, each stack's total by category and its priced lines
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["currency"] == "USD"
    assert document["pricesAsOf"] == json.loads(PRICES_FILE.read_text())["asOf"]
    assert document["usage"] == "usage.yaml" and document["idle"] is False
    assert list(document["stacks"]) == ["primary", "secondary", "secondary-ap"]
    assert document["total"] == pytest.approx(
        sum(s["total"] for s in document["stacks"].values()), abs=0.05
    )
    for stack in document["stacks"].values():
        assert set(stack["byCategory"]) == set(CATEGORY_ORDER)
        assert stack["total"] == pytest.approx(sum(stack["byCategory"].values()), abs=0.05)
        for line in stack["lines"]:
            assert {"resource", "type", "item", "quantity", "unit", "monthly"} <= set(line)
            assert {"key", "region", "usd", "per", "source", "asOf", "sourced"} == set(
                line["price"]
            )
    assert document["notIncluded"]


def test_cost_with_a_region_the_prices_lack_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a one-region deployment in us-west-2, which ops/prices.json does not price
    configs = generated_configs(1)
    configs["primary"]["aws:region"] = "us-west-2"
    directory = write_stack_files(tmp_path / "stacks", configs)

    # When an operator asks what it costs
    code = main(["--dir", str(directory), "cost", "--outputs", str(tmp_path / "o.json")])

    # Then it fails with one line that names the region
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "no price for region us-west-2" in error


def test_the_table_shows_each_stack_and_the_total_and_says_what_is_left_out(
    examples: dict[str, Any], prices: PriceTable
) -> None:
    result = idle(examples, prices)

    text = render(result, details=True)

    assert f"prices as of {prices.as_of}" in text
    for name in ("primary", "secondary", "secondary-ap"):
        assert re.search(rf"^{name} +\S+ .* {result.total(name):,.2f}$", text, re.M)
    assert re.search(rf"^total .* {result.total():,.2f}$", text, re.M)
    assert "Not included:" in text
    # And the details name each line's resource, so a figure can be traced to the plan
    assert "primary-vpc: NAT gateway-hours" in text


def test_the_readme_gives_the_date_of_the_prices_its_figures_use() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme.split("## What it costs", 1)[1].split("\n## ", 1)[0]
    assert f"prices as of {PriceTable.load().as_of}" in section
    assert USAGE_FILE.name in section

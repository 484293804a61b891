"""Bad stack config is rejected before any resource exists, naming the stack file and the key."""

from __future__ import annotations

from typing import Any

import pytest

from components.settings import (
    ConfigError,
    Environment,
    GraphqlAuth,
    NatGateways,
    Role,
    Settings,
    check_deployment,
    parse_settings,
)

PRIMARY = {"aws:region": "us-east-1", "role": "home", "vpcCidr": "10.10.0.0/16"}
SECONDARY = {
    "aws:region": "eu-west-1",
    "role": "member",
    "vpcCidr": "10.20.0.0/16",
    "homeStack": "organization/active-active/primary",
}
KNOWN = ["primary", "secondary", "secondary-ap"]


def rejected(stack: str, values: dict[str, Any], known: list[str] | None = KNOWN) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_settings(stack, values, known_stacks=known)
    return caught.value


def test_a_valid_primary_gets_the_documented_defaults() -> None:
    settings = parse_settings("primary", PRIMARY, known_stacks=KNOWN)

    assert settings.role is Role.HOME
    assert settings.environment is Environment.DEV
    assert settings.nat_gateways is NatGateways.SINGLE
    assert settings.availability_zones == 2
    # Global database members default to 0.5 ACU, never to auto-pause (docs/pitfalls.md item 5).
    assert settings.database.min_capacity == 0.5


def test_an_unknown_role_is_rejected_naming_the_key_and_the_stack_file() -> None:
    error = rejected("primary", {**PRIMARY, "role": "writer"})

    assert error.key == "role"
    assert "Pulumi.primary.yaml" in str(error)
    assert "active-active:role" in str(error)


@pytest.mark.parametrize(
    ("stack", "old", "key", "says"),
    [
        ("primary", {"role": "primary"}, "role", "write 'role: home'"),
        ("secondary", {"role": "secondary"}, "role", "write 'role: member'"),
        ("secondary", {"primaryStack": "organization/active-active/primary"}, "primaryStack",
         "write 'homeStack'"),
    ],
)  # fmt: skip
def test_a_stack_file_with_the_old_words_is_refused_with_the_new_ones(
    stack: str, old: dict[str, str], key: str, says: str
) -> None:
    # Given a stack file written when the owner was called the primary
    values = {**(PRIMARY if stack == "primary" else SECONDARY), **old}

    # When it is parsed, Then it is refused, naming the key and what to write instead
    error = rejected(stack, values)
    assert error.key == key
    assert says in str(error)
    assert "run-time state" in str(error)


def test_a_secondary_without_a_home_stack_is_rejected() -> None:
    values = {k: v for k, v in SECONDARY.items() if k != "homeStack"}

    assert rejected("secondary", values).key == "homeStack"


def test_a_primary_that_names_a_home_stack_is_rejected() -> None:
    error = rejected("primary", {**PRIMARY, "homeStack": "organization/active-active/other"})

    assert error.key == "homeStack"


@pytest.mark.parametrize("cidr", [None, "10.10.0.0", "not-a-cidr", "10.10.0.1/16", "10.0.0.0/8"])
def test_a_missing_or_malformed_vpc_cidr_is_rejected(cidr: str | None) -> None:
    values = {k: v for k, v in PRIMARY.items() if k != "vpcCidr"}
    if cidr is not None:
        values["vpcCidr"] = cidr

    assert rejected("primary", values).key == "vpcCidr"


def test_overlapping_vpc_cidrs_across_stacks_are_rejected() -> None:
    # Given two stacks whose CIDRs overlap (docs/pitfalls.md item 13)
    primary = parse_settings("primary", PRIMARY)
    overlapping = parse_settings("secondary", {**SECONDARY, "vpcCidr": "10.10.128.0/17"})

    # When the deployment is checked as a whole
    with pytest.raises(ConfigError) as caught:
        check_deployment([primary, overlapping])

    # Then the later stack's key is named, with the stack it collides with
    assert caught.value.key == "vpcCidr"
    assert "Pulumi.secondary.yaml" in str(caught.value)
    assert "primary" in str(caught.value)


def test_a_stack_with_another_engine_version_than_the_others_is_rejected() -> None:
    # Given a secondary whose engine version differs from the primary's
    primary = parse_settings("primary", {**PRIMARY, "database": {"engineVersion": "16.6"}})
    other = parse_settings("secondary", {**SECONDARY, "database": {"engineVersion": "15.10"}})

    # When the deployment is checked as a whole
    with pytest.raises(ConfigError) as caught:
        check_deployment([primary, other])

    # Then the secondary's key is named, before it fails to join the global cluster
    assert caught.value.key == "database.engineVersion"
    assert "Pulumi.secondary.yaml" in str(caught.value)
    assert "16.6" in str(caught.value) and "primary" in str(caught.value)


def test_stacks_that_leave_the_engine_version_to_its_default_agree() -> None:
    stacks = [parse_settings("primary", PRIMARY), parse_settings("secondary", SECONDARY)]

    check_deployment(stacks)


def test_peer_stacks_naming_the_stack_itself_are_rejected() -> None:
    values = {**SECONDARY, "peerStacks": ["organization/active-active/secondary"]}

    assert rejected("secondary", values).key == "peerStacks"


def test_peer_stacks_naming_a_stack_without_a_file_are_rejected() -> None:
    values = {**SECONDARY, "peerStacks": ["organization/active-active/nowhere"]}

    error = rejected("secondary", values)

    assert error.key == "peerStacks"
    assert "Pulumi.nowhere.yaml" in str(error)


@pytest.mark.parametrize(
    ("database", "key"),
    [
        ({"minCapacity": -0.5}, "database.minCapacity"),
        ({"maxCapacity": 256.5}, "database.maxCapacity"),
        ({"minCapacity": 0.75}, "database.minCapacity"),
        ({"maxCapacity": 3.3}, "database.maxCapacity"),
        ({"minCapacity": 8, "maxCapacity": 4}, "database.minCapacity"),
        ({"minCapacity": "lots"}, "database.minCapacity"),
    ],
)
def test_database_capacity_outside_the_aurora_range_or_steps_is_rejected(
    database: dict[str, Any], key: str
) -> None:
    assert rejected("primary", {**PRIMARY, "database": database}).key == key


def test_zero_acu_is_allowed_only_when_the_config_asks_for_it() -> None:
    settings = parse_settings("primary", {**PRIMARY, "database": {"minCapacity": 0}})

    assert settings.database.min_capacity == 0


@pytest.mark.parametrize("version", ["16.2", "15.6", "14.11", "13.14", "13.6"])
def test_zero_acu_on_an_engine_version_without_auto_pause_is_rejected(version: str) -> None:
    # docs/pitfalls.md item 5: 0 ACU needs a recent engine version; AWS would reject the cluster.
    database = {"minCapacity": 0, "engineVersion": version}

    assert rejected("primary", {**PRIMARY, "database": database}).key == "database.minCapacity"


@pytest.mark.parametrize("version", ["16.3", "16.6", "15.7", "14.12", "13.15", "17.4"])
def test_zero_acu_on_an_engine_version_with_auto_pause_is_accepted(version: str) -> None:
    database = {"minCapacity": 0, "engineVersion": version, "secondsUntilAutoPause": 600}

    settings = parse_settings("primary", {**PRIMARY, "database": database})

    assert settings.database.auto_pause
    assert settings.database.seconds_until_auto_pause == 600


@pytest.mark.parametrize("seconds", [299, 86_401, "soon", True])
def test_an_auto_pause_delay_outside_what_aurora_accepts_is_rejected(seconds: Any) -> None:
    database = {"minCapacity": 0, "secondsUntilAutoPause": seconds}

    error = rejected("primary", {**PRIMARY, "database": database})

    assert error.key == "database.secondsUntilAutoPause"


def test_an_environment_other_than_dev_or_prod_is_rejected() -> None:
    assert rejected("primary", {**PRIMARY, "environment": "staging"}).key == "environment"


def test_an_unknown_key_is_rejected_rather_than_ignored() -> None:
    assert rejected("primary", {**PRIMARY, "vpcCdir": "10.1.0.0/16"}).key == "vpcCdir"


def test_no_nat_gateway_is_rejected_saying_what_the_private_functions_could_not_reach() -> None:
    # Given a stack that asks for no NAT gateway
    values = {**PRIMARY, "natGateways": "none"}

    # When it is parsed
    error = rejected("primary", values)

    # Then it is refused before a deploy that would fail, naming the key and why
    assert error.key == "natGateways"
    assert "Secrets Manager" in str(error) and "payment provider" in str(error)
    assert "single or perAz" in str(error)


def test_on_prem_without_a_vpn_or_direct_connect_is_rejected() -> None:
    error = rejected("primary", {**PRIMARY, "onPrem": {"cidrs": ["192.168.0.0/16"]}})

    assert error.key == "onPrem"


ON_PREM = {"cidrs": ["192.168.0.0/16"], "directConnectGatewayId": "dxgw-123"}


def test_without_a_crm_url_the_stack_names_no_crm() -> None:
    settings = parse_settings("primary", {**PRIMARY, "onPrem": ON_PREM}, known_stacks=KNOWN)

    assert settings.on_prem is not None and settings.on_prem.crm_url is None


@pytest.mark.parametrize(
    "url", ["https://crm.corp.example/api/customers", "https://192.168.10.5:8443/customers"]
)
def test_the_crm_url_is_read_from_the_on_prem_config(url: str) -> None:
    values = {**PRIMARY, "onPrem": {**ON_PREM, "crmUrl": url}}

    settings = parse_settings("primary", values, known_stacks=KNOWN)

    assert settings.on_prem is not None and settings.on_prem.crm_url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://crm.corp.example/customers",
        "crm.corp.example",
        "https://user:secret@crm.corp.example",
        "https://crm.corp.example/?token=abc",
        "https://crm.corp.example:99999",
        "",
        42,
    ],
)
def test_a_crm_url_that_is_not_a_plain_https_url_is_rejected(url: Any) -> None:
    error = rejected("primary", {**PRIMARY, "onPrem": {**ON_PREM, "crmUrl": url}})

    assert error.key == "onPrem.crmUrl"
    assert "active-active:onPrem.crmUrl" in str(error)


def test_an_unknown_on_prem_key_is_rejected_rather_than_ignored() -> None:
    error = rejected("primary", {**PRIMARY, "onPrem": {**ON_PREM, "crmURL": "https://crm.x.io"}})

    assert error.key == "onPrem.crmURL"


def test_a_secondary_lists_what_it_references_primary_first() -> None:
    settings = parse_settings(
        "secondary-ap",
        {
            **SECONDARY,
            "peerStacks": [
                "organization/active-active/primary",
                "organization/active-active/secondary",
            ],
        },
        known_stacks=KNOWN,
    )

    assert isinstance(settings, Settings)
    assert settings.referenced_stacks() == (
        "organization/active-active/primary",
        "organization/active-active/secondary",
    )


def test_the_edge_defaults_to_no_cors_api_key_auth_and_no_waf() -> None:
    settings = parse_settings("primary", PRIMARY, known_stacks=KNOWN)

    assert settings.edge.cors_origins == ()
    assert settings.edge.graphql_auth is GraphqlAuth.API_KEY
    assert settings.edge.waf is False
    assert settings.edge.throttling_rate_limit > 0


def test_edge_config_is_read_from_its_one_key() -> None:
    edge = {
        "corsOrigins": ["https://shop.example.com"],
        "throttlingRateLimit": 50,
        "throttlingBurstLimit": 80,
        "graphqlAuth": "iam",
        "waf": True,
        "wafRateLimit": 500,
    }

    settings = parse_settings("primary", {**PRIMARY, "edge": edge}, known_stacks=KNOWN)

    assert settings.edge.cors_origins == ("https://shop.example.com",)
    assert settings.edge.graphql_auth is GraphqlAuth.IAM
    assert (settings.edge.throttling_rate_limit, settings.edge.throttling_burst_limit) == (50, 80)
    assert (settings.edge.waf, settings.edge.waf_rate_limit) == (True, 500)


@pytest.mark.parametrize(
    ("edge", "key"),
    [
        ({"corsOrigins": ["https://shop.example.com/path"]}, "edge.corsOrigins"),
        ({"corsOrigins": ["*", "https://shop.example.com"]}, "edge.corsOrigins"),
        ({"throttlingRateLimit": 0}, "edge.throttlingRateLimit"),
        ({"throttlingBurstLimit": 10_000}, "edge.throttlingBurstLimit"),
        ({"graphqlAuth": "cognito"}, "edge.graphqlAuth"),
        ({"waf": "yes"}, "edge.waf"),
        ({"wafRateLimit": 5}, "edge.wafRateLimit"),
        ({"cors": ["*"]}, "edge.cors"),
    ],
)
def test_bad_edge_config_is_rejected_naming_the_field(edge: dict[str, Any], key: str) -> None:
    assert rejected("primary", {**PRIMARY, "edge": edge}).key == key


def test_a_legacy_origin_must_be_a_host_name_not_a_url() -> None:
    error = rejected("primary", {**PRIMARY, "legacyOrigin": "https://legacy.example.com/api"})

    assert error.key == "legacyOrigin"


def test_without_payments_or_alarm_email_a_stack_names_no_provider_and_no_subscriber() -> None:
    settings = parse_settings("primary", PRIMARY, known_stacks=KNOWN)

    # No made-up provider: the saga's payment steps refuse orders until one is configured.
    assert settings.payments.base_url is None
    assert settings.alarm_email is None


def test_the_payment_provider_and_alarm_email_are_read_from_config() -> None:
    values = {
        **PRIMARY,
        "payments": {"baseUrl": "https://api.payments.example/sandbox/"},
        "alarmEmail": "ops+orders@example.com",
    }

    settings = parse_settings("primary", values, known_stacks=KNOWN)

    # The functions append /v1/...: a trailing slash would double it.
    assert settings.payments.base_url == "https://api.payments.example/sandbox"
    assert settings.alarm_email == "ops+orders@example.com"


@pytest.mark.parametrize(
    ("payments", "key"),
    [
        ({"baseUrl": "http://api.payments.example"}, "payments.baseUrl"),
        ({"baseUrl": "api.payments.example"}, "payments.baseUrl"),
        ({"baseUrl": "https://user:secret@api.payments.example"}, "payments.baseUrl"),
        ({"baseUrl": "https://api.payments.example/?key=sk_live"}, "payments.baseUrl"),
        ({"baseUrl": "https://api.payments.example:99999"}, "payments.baseUrl"),
        ({"baseUrl": "https://localhost"}, "payments.baseUrl"),
        ({"baseUrl": ""}, "payments.baseUrl"),
        ({}, "payments.baseUrl"),
        ({"baseUrl": "https://api.payments.example", "apiKey": "sk_live"}, "payments.apiKey"),
        ({"url": "https://api.payments.example"}, "payments.url"),
        ("https://api.payments.example", "payments"),
    ],
)
def test_bad_payments_config_is_rejected_naming_the_field(payments: Any, key: str) -> None:
    error = rejected("primary", {**PRIMARY, "payments": payments})

    assert error.key == key
    assert "Pulumi.primary.yaml" in str(error)


@pytest.mark.parametrize(
    "email",
    [
        "ops",
        "ops@",
        "@example.com",
        "ops@example",
        "ops@@example.com",
        "ops @example.com",
        "mailto:ops@example.com",
        "ops@example.com,dev@example.com",
        42,
    ],
)
def test_an_alarm_email_that_is_not_an_email_address_is_rejected(email: Any) -> None:
    error = rejected("primary", {**PRIMARY, "alarmEmail": email})

    assert error.key == "alarmEmail"
    assert "active-active:alarmEmail" in str(error)


ADOPTED = {
    "fromStack": "primary",
    "tableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
    "masterSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
}


def test_a_home_stack_that_adopted_a_lost_ones_resources_says_what_it_adopted() -> None:
    settings = parse_settings(
        "secondary", {**PRIMARY, "aws:region": "eu-west-1", "adopted": ADOPTED}
    )

    assert settings.adopted is not None
    assert settings.adopted.from_stack == "primary"
    assert settings.adopted.table_arn.endswith(":table/orders")


def test_only_a_home_stack_adopts() -> None:
    assert rejected("secondary", {**SECONDARY, "adopted": ADOPTED}).key == "adopted"


@pytest.mark.parametrize(
    ("field", "value"),
    [("tableArn", "orders"), ("masterSecretArn", "arn:aws:s3:::bucket"), ("fromStack", "")],
)
def test_an_adopted_entry_that_is_not_what_rehome_writes_is_refused(field: str, value: str) -> None:
    error = rejected("primary", {**PRIMARY, "adopted": {**ADOPTED, field: value}})

    assert error.key == f"adopted.{field}"


# -- values are checked for what they are ---------------------------------------------------


def test_an_engine_version_written_as_a_yaml_number_is_refused_with_a_hint_to_quote_it() -> None:
    # Given engineVersion: 16.10 unquoted, which YAML reads as the number 16.1
    error = rejected("primary", {**PRIMARY, "database": {"engineVersion": 16.1}})

    # Then the key is named, and the fix
    assert error.key == "database.engineVersion"
    assert 'write it in quotes, "16.1"' in str(error)


@pytest.mark.parametrize(
    ("version", "says"),
    [
        ("sixteen", "not an Aurora PostgreSQL version"),
        ("16.06", "not an Aurora PostgreSQL version"),
        ("16", "not an Aurora PostgreSQL version"),
        ("12.22", "has no Serverless v2"),
        ("13.5", "has no Serverless v2"),
        ("18.1", "has no Serverless v2"),
    ],
)
def test_an_engine_version_aurora_serverless_v2_does_not_run_is_refused(
    version: str, says: str
) -> None:
    error = rejected("primary", {**PRIMARY, "database": {"engineVersion": version}})

    assert error.key == "database.engineVersion"
    assert says in str(error)


@pytest.mark.parametrize(
    ("region", "says"),
    [
        ("eu-west1", "did you mean eu-west-1?"),
        ("cn-north-1", "aws-cn partition"),
        ("mx-central-1", "no appsync"),
        ("", "missing"),
    ],
)
def test_a_region_the_stack_cannot_use_is_refused_saying_why(region: str, says: str) -> None:
    error = rejected("primary", {**PRIMARY, "aws:region": region})

    assert error.key == "aws:region"
    assert "Pulumi.primary.yaml: aws:region:" in str(error)
    assert says in str(error)


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "ap-southeast-2", "sa-east-1"])
def test_a_region_offering_every_service_is_accepted(region: str) -> None:
    assert parse_settings("primary", {**PRIMARY, "aws:region": region}).region == region


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("active_active:writeMode", "did you mean active-active:writeMode?"),
        ("aws:regoin", "did you mean aws:region?"),
        ("random:length", "unknown namespace 'random'"),
    ],
)
def test_a_key_outside_the_known_namespaces_is_refused_by_its_name(key: str, says: str) -> None:
    error = rejected("primary", {**PRIMARY, key: "x"})

    assert error.key == key
    assert f"Pulumi.primary.yaml: {key}: " in str(error)
    assert says in str(error)


def test_aws_provider_and_pulumi_keys_are_accepted() -> None:
    values = {**PRIMARY, "aws:profile": "deploy", "pulumi:tags": {"team": "orders"}}

    assert parse_settings("primary", values).region == "us-east-1"


@pytest.mark.parametrize(
    ("domain", "key", "says"),
    [
        ({"zoneId": "example.com"}, "domain.zoneId", "write its id"),
        ({"zoneId": "z123"}, "domain.zoneId", "not a Route 53 hosted zone id"),
        ({"apiHostname": "https://api.example.com/"}, "domain.apiHostname", "api.example.com"),
        ({"apiHostname": "API.example.com"}, "domain.apiHostname", "lower case"),
        ({"publicHostname": "api.example.com"}, "domain.publicHostname", "apiHostname too"),
        ({"zoneId": None}, "domain.zoneId", "missing"),
    ],
)
def test_a_domain_whose_values_are_not_what_they_say_is_refused(
    domain: dict[str, Any], key: str, says: str
) -> None:
    good = {"zoneId": "Z0123456789ABCDEFGHIJ", "apiHostname": "api.example.com",
            "publicHostname": "example.com"}  # fmt: skip
    values = {k: v for k, v in {**good, **domain}.items() if v is not None}

    error = rejected("primary", {**PRIMARY, "domain": values})

    assert error.key == key
    assert says in str(error)


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"homeStack": "primary"}, "homeStack"),
        ({"homeStack": "organization/other-project/primary"}, "homeStack"),
        ({"peerStacks": ["organization/active-active/Primary"]}, "peerStacks"),
        ({"peerStacks": "organization/active-active/primary"}, "peerStacks"),
    ],
)
def test_a_reference_that_is_not_a_stack_of_this_project_is_refused(
    values: dict[str, Any], key: str
) -> None:
    assert rejected("secondary", {**SECONDARY, **values}).key == key


def test_a_stack_file_name_that_cannot_name_aws_resources_is_refused() -> None:
    error = rejected("Secondary_EU", SECONDARY)

    assert "Pulumi.Secondary_EU.yaml: the file's name" in str(error)
    assert "lower-case letters, digits and hyphens" in str(error)


@pytest.mark.parametrize(
    ("values", "key", "says"),
    [
        ({"writeForwarding": "yes"}, "writeForwarding", "not the string 'yes'"),
        ({"edge": {"waf": "true"}}, "edge.waf", "without quotes"),
        ({"edge": {"wafRateLimit": "500"}}, "edge.wafRateLimit", "without quotes"),
        ({"database": {"minCapacity": True}}, "database.minCapacity", "not true"),
        ({"availabilityZones": 2.0}, "availabilityZones", "a whole number from 2 to 6"),
        ({"role": 1}, "role", "home or member"),
    ],
)
def test_values_are_taken_strictly_for_their_type(
    values: dict[str, Any], key: str, says: str
) -> None:
    error = rejected("primary", {**PRIMARY, **values})

    assert error.key == key
    assert says in str(error)


@pytest.mark.parametrize(
    ("values", "expected"),
    [({"availabilityZones": "3"}, 3), ({"writeForwarding": "true"}, True)],
)
def test_a_top_level_value_may_be_the_string_pulumi_config_set_writes(
    values: dict[str, Any], expected: Any
) -> None:
    settings = parse_settings("primary", {**PRIMARY, **values})

    assert expected in (settings.availability_zones, settings.write_forwarding)


def test_a_vpn_asn_the_customer_gateway_does_not_take_is_refused() -> None:
    on_prem = {"cidrs": ["192.168.0.0/16"],
               "vpn": {"customerGatewayIp": "203.0.113.10", "bgpAsn": 4_200_000_000}}  # fmt: skip

    error = rejected("primary", {**PRIMARY, "onPrem": on_prem})

    assert error.key == "onPrem.vpn.bgpAsn"
    assert "2,147,483,647" in str(error)


def test_every_mistake_of_one_file_is_listed_at_once() -> None:
    error = rejected("primary", {**PRIMARY, "vpcCidr": "10.10.0.0/8", "environment": "staging"})

    assert error.key == "vpcCidr"
    assert "active-active:environment: 'staging' is not dev or prod" in str(error)


# -- across stack files ---------------------------------------------------------------------


def deployment_error(*stacks: tuple[str, dict[str, Any]]) -> ConfigError:
    settings = [parse_settings(name, values) for name, values in stacks]
    with pytest.raises(ConfigError) as caught:
        check_deployment(settings)
    return caught.value


def test_a_home_stack_reference_to_a_member_is_refused() -> None:
    ap = {**SECONDARY, "aws:region": "ap-southeast-2", "vpcCidr": "10.30.0.0/16",
          "homeStack": "organization/active-active/secondary"}  # fmt: skip

    error = deployment_error(("primary", PRIMARY), ("secondary", SECONDARY), ("secondary-ap", ap))

    assert (error.stack, error.key) == ("secondary-ap", "homeStack")
    assert "writes would be forwarded to a reader" in str(error)


def test_two_stacks_in_one_region_are_refused() -> None:
    other = {**SECONDARY, "aws:region": "us-east-1"}

    error = deployment_error(("primary", PRIMARY), ("secondary", other))

    assert (error.stack, error.key) == ("secondary", "aws:region")
    assert "one stack per region" in str(error)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"environment": "prod"}, "environment"),
        ({"edge": {"corsOrigins": ["https://shop.example.com"]}}, "edge.corsOrigins"),
        (
            {"domain": {"zoneId": "Z1", "apiHostname": "api.example.com",
                        "publicHostname": "example.com"}},
            "domain",
        ),
    ],
)  # fmt: skip
def test_a_key_that_must_be_the_same_everywhere_differing_is_refused(
    change: dict[str, Any], key: str
) -> None:
    error = deployment_error(("primary", PRIMARY), ("secondary", {**SECONDARY, **change}))

    assert (error.stack, error.key) == ("secondary", key)
    assert "must be the same in every stack, because" in str(error)


def test_domains_in_two_zones_are_refused_naming_the_zone() -> None:
    domain = {"zoneId": "Z1", "apiHostname": "api.example.com", "publicHostname": "example.com"}
    home = {**PRIMARY, "domain": domain}
    member = {**SECONDARY, "domain": {**domain, "zoneId": "Z2"}}

    error = deployment_error(("primary", home), ("secondary", member))

    assert error.key == "domain.zoneId"
    assert "Z2 differs from Z1 of stack primary" in str(error)


def test_an_on_prem_network_inside_a_vpc_is_refused() -> None:
    on_prem = {"cidrs": ["10.20.0.0/24"], "directConnectGatewayId": "dxgw-1"}

    error = deployment_error(("primary", {**PRIMARY, "onPrem": on_prem}), ("secondary", SECONDARY))

    assert (error.stack, error.key) == ("primary", "onPrem.cidrs")
    assert "the VPC of secondary" in str(error)


def test_an_on_prem_range_around_the_vpcs_is_accepted() -> None:
    # A summary route: each VPC's own, more specific route still wins inside it
    on_prem = {"cidrs": ["10.0.0.0/8"], "directConnectGatewayId": "dxgw-1"}

    check_deployment(
        [
            parse_settings("primary", {**PRIMARY, "onPrem": on_prem}),
            parse_settings("secondary", SECONDARY),
        ]
    )

"""RegionalEdge and GlobalEntry as simulated: APIs in every region, latency routing, CloudFront.

docs/pitfalls.md items 20 (CloudFront must not forward Host to API Gateway) and 22 (CloudFront's
certificate lives in us-east-1) each have a test here. The stacks run the edge on its own
(tests/infra/edge_program.py), over inputs shaped like GlobalData's and WriteOrchestrator's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.entry import (
    ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID,
    CACHING_DISABLED_POLICY_ID,
    MIGRATED_PATHS,
)
from components.graphql import SCHEMA_PATH
from components.http_api import INTERNAL_WRITE_ROUTE
from ops.simulate import (
    SECRET_MASK,
    DeploymentResult,
    Resource,
    StackResult,
    plain,
    simulate_deployment,
)
from ops.stackfiles import read_stack_files
from tests.infra.conftest import Simulate
from tests.support.deployments import PROJECT_DIR, generated_configs, write_stack_files
from tests.support.plan import (
    API_DOMAIN_NAME,
    API_GATEWAY_ACCOUNT,
    API_INTEGRATION,
    API_ROUTE,
    API_STAGE,
    CERTIFICATE,
    CERTIFICATE_VALIDATION,
    DISTRIBUTION,
    DNS_RECORD,
    EVENT_SOURCE_MAPPING,
    GRAPHQL_API,
    GRAPHQL_API_KEY,
    HEALTH_CHECK,
    QUEUE,
    SECRET,
    SECRET_VERSION,
    TABLE,
    WEB_ACL,
    api_of,
    as_list,
    function_running,
    one_with,
    resources_of,
    role_statements,
    with_inputs,
)

EDGE_PROGRAM = Path(__file__).resolve().parent / "edge_program.py"
DOMAIN = {
    "zoneId": "Z0EXAMPLE",
    "apiHostname": "api.shop.example.com",
    "publicHostname": "shop.example.com",
}
LEGACY = "legacy.example.com"

EDGE_OUTPUTS = ("httpApiUrl", "internalWriteUrl", "websocketUrl", "graphqlUrl", "healthCheckId")


def simulate_edge(directory: Path, configs: dict[str, dict[str, Any]]) -> DeploymentResult:
    return simulate_deployment(
        read_stack_files(write_stack_files(directory, configs)), program=EDGE_PROGRAM
    )


@pytest.fixture(scope="module")
def examples() -> DeploymentResult:
    """The project's three example stacks (no domain), running the edge."""
    return simulate_deployment(read_stack_files(PROJECT_DIR), program=EDGE_PROGRAM)


@pytest.fixture(scope="module")
def with_domain(tmp_path_factory: pytest.TempPathFactory) -> DeploymentResult:
    """Three generated regions with a domain, a legacy origin, the WAF and CORS."""
    configs = generated_configs(
        3,
        domain=DOMAIN,
        legacyOrigin=LEGACY,
        edge={"waf": True, "corsOrigins": ["https://shop.example.com"], "throttlingRateLimit": 42},
    )
    return simulate_edge(tmp_path_factory.mktemp("domain"), configs)


def routes(stack: StackResult) -> dict[str, Resource]:
    return {r.inputs["routeKey"]: r for r in stack.of_type(API_ROUTE)}


def distribution(stack: StackResult) -> Resource:
    return stack.one(DISTRIBUTION)


def origin_host(dist: Resource, origin_id: str) -> str:
    (origin,) = [o for o in dist.inputs["origins"] if o["originId"] == origin_id]
    host: str = origin["domainName"]
    return host


# --- Every stack ---------------------------------------------------------------------------


def test_every_stack_has_an_http_api_a_websocket_api_and_an_appsync_api(
    examples: DeploymentResult,
) -> None:
    for stack in examples.stacks.values():
        assert api_of(stack, "HTTP")
        assert api_of(stack, "WEBSOCKET")
        assert stack.one(GRAPHQL_API)


def test_every_stack_exports_the_same_edge_outputs_with_no_health_check_without_a_domain(
    examples: DeploymentResult,
) -> None:
    for stack in examples.stacks.values():
        assert set(EDGE_OUTPUTS) <= set(stack.outputs)
        assert stack.outputs["healthCheckId"] is None
        assert stack.outputs["websocketUrl"].startswith("wss://")
        assert f".{stack.region}." in stack.outputs["httpApiUrl"]


def test_without_a_domain_there_is_no_certificate_record_or_cloudfront(
    examples: DeploymentResult,
) -> None:
    for stack in examples.stacks.values():
        assert stack.of_type(CERTIFICATE) == []
        assert stack.of_type(DNS_RECORD) == []
        assert stack.of_type(DISTRIBUTION) == []


def test_the_http_api_answers_the_public_routes_and_the_internal_write_route(
    examples: DeploymentResult,
) -> None:
    for stack in examples.stacks.values():
        assert {
            "GET /orders/{orderId}",
            "GET /customers/{customerId}/orders",
            "GET /health",
            "POST /orders",
            INTERNAL_WRITE_ROUTE,
        } <= set(routes(stack))


def test_the_internal_write_route_requires_iam_and_the_public_ones_do_not(
    examples: DeploymentResult,
) -> None:
    for stack in examples.stacks.values():
        by_key = routes(stack)

        assert by_key[INTERNAL_WRITE_ROUTE].inputs["authorizationType"] == "AWS_IAM"
        assert by_key["POST /orders"].inputs.get("authorizationType", "NONE") == "NONE"
        assert stack.outputs["internalWriteUrl"].endswith("/internal/orders")
        # Forwarded writes go to the region's own endpoint, not the latency-routed name.
        assert stack.outputs["internalWriteUrl"].startswith(stack.outputs["httpApiUrl"])


def test_the_http_stage_is_throttled_and_logs_every_request(examples: DeploymentResult) -> None:
    for stack in examples.stacks.values():
        stage = one_with(stack, API_STAGE, name="$default")

        assert stage.inputs["defaultRouteSettings"]["throttlingRateLimit"] > 0
        assert stage.inputs["defaultRouteSettings"]["throttlingBurstLimit"] > 0
        assert stage.inputs["accessLogSettings"]["destinationArn"].startswith(
            f"arn:aws:logs:{stack.region}:"
        )


def test_the_websocket_stage_deploys_without_the_accounts_api_gateway_logging_role(
    examples: DeploymentResult,
) -> None:
    for stack in examples.stacks.values():
        # Given the WebSocket API's stage
        websocket = api_of(stack, "WEBSOCKET")
        stage = one_with(stack, API_STAGE, apiId=websocket.outputs["id"])

        # Then it asks for no logging, which would need the account-wide API Gateway role
        # ("CloudWatch Logs role ARN must be set in account settings")
        assert not stage.inputs.get("accessLogSettings")
        assert not (stage.inputs.get("defaultRouteSettings") or {}).get("loggingLevel")
        # And the stack does not take over that account-wide setting either
        assert not stack.of_type(API_GATEWAY_ACCOUNT)


def test_throttling_and_cors_come_from_config(with_domain: DeploymentResult) -> None:
    for stack in with_domain.stacks.values():
        stage = one_with(stack, API_STAGE, name="$default")
        http = api_of(stack, "HTTP")

        assert stage.inputs["defaultRouteSettings"]["throttlingRateLimit"] == 42
        assert http.inputs["corsConfiguration"]["allowOrigins"] == ["https://shop.example.com"]


def test_without_cors_origins_the_api_sends_no_cors_headers(examples: DeploymentResult) -> None:
    for stack in examples.stacks.values():
        assert api_of(stack, "HTTP").inputs.get("corsConfiguration") is None


def test_the_read_function_reads_only_its_own_regions_table(examples: DeploymentResult) -> None:
    # ARCHITECTURE.md section 3: one GET to the local replica, no cross-region call.
    for stack in examples.stacks.values():
        read = function_running(stack, "functions.read_api.handler.handler")
        variables = read.inputs["environment"]["variables"]
        tables = [
            r
            for r in resources_of(role_statements(stack, read.inputs["role"]))
            if ":dynamodb:" in r
        ]

        assert variables["TABLE_NAME"] == stack.outputs["tableName"]
        assert not any("TABLE" in k for k in variables if k != "TABLE_NAME")
        assert tables
        assert all(arn.split(":")[3] == stack.region for arn in tables)


def test_every_region_keeps_its_own_copy_of_the_page_token_key(
    examples: DeploymentResult,
) -> None:
    # A token issued in one region must verify in another, without a cross-region read.
    for stack in examples.stacks.values():
        secret = stack.one(SECRET)
        version = stack.one(SECRET_VERSION)
        read = function_running(stack, "functions.read_api.handler.handler")
        arn = read.inputs["environment"]["variables"]["PAGE_TOKEN_SECRET_ARN"]

        assert secret.region == stack.region
        assert arn == secret.outputs["arn"] == stack.outputs["pageTokenSecretArn"]
        assert plain(version.inputs["secretString"]) == SECRET_MASK


def test_the_notifier_reads_its_own_stream_with_partial_failures_and_a_dead_letter_queue(
    examples: DeploymentResult,
) -> None:
    for stack in examples.stacks.values():
        mapping = stack.one(EVENT_SOURCE_MAPPING)
        dlq_arn = mapping.inputs["destinationConfig"]["onFailure"]["destinationArn"]
        (dlq,) = [q for q in stack.of_type(QUEUE) if q.outputs["arn"] == dlq_arn]

        assert mapping.inputs["eventSourceArn"].split(":")[3] == stack.region
        assert "/stream/" in mapping.inputs["eventSourceArn"]
        assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping.inputs["bisectBatchOnFunctionError"] is True
        assert dlq.inputs["kmsMasterKeyId"].startswith(f"arn:aws:kms:{stack.region}:")


def test_the_websocket_api_has_its_routes_and_a_stage(examples: DeploymentResult) -> None:
    for stack in examples.stacks.values():
        websocket = api_of(stack, "WEBSOCKET")
        keys = {
            r.inputs["routeKey"]
            for r in stack.of_type(API_ROUTE)
            if r.inputs["apiId"] == websocket.outputs["id"]
        }

        assert {"$connect", "$disconnect", "subscribe"} <= keys
        assert with_inputs(stack, API_STAGE, apiId=websocket.outputs["id"])


def test_the_notifier_may_publish_only_the_iam_mutation_of_its_own_appsync_api(
    examples: DeploymentResult,
) -> None:
    for stack in examples.stacks.values():
        notifier = function_running(stack, "functions.notifier.handler.handler")
        graphql = [
            s
            for s in role_statements(stack, notifier.inputs["role"])
            if s["Action"] == "appsync:GraphQL"
        ]

        assert [s["Resource"] for s in graphql] == [
            f"{stack.one(GRAPHQL_API).outputs['arn']}/types/Mutation/fields/publishOrderUpdate"
        ]
        assert (
            notifier.inputs["environment"]["variables"]["GRAPHQL_URL"]
            == stack.outputs["graphqlUrl"]
        )


def test_appsync_serves_the_functions_schema_with_api_key_and_iam(
    examples: DeploymentResult,
) -> None:
    for stack in examples.stacks.values():
        api = stack.one(GRAPHQL_API)
        providers = {
            p["authenticationType"] for p in api.inputs["additionalAuthenticationProviders"]
        }

        assert api.inputs["schema"] == SCHEMA_PATH.read_text()
        assert {api.inputs["authenticationType"], *providers} == {"API_KEY", "AWS_IAM"}
        # publishOrderUpdate carries @aws_iam alone: API-key clients cannot publish.
        assert (
            "publishOrderUpdate(order: OrderUpdateInput!, correlationId: String): Order @aws_iam\n"
            in api.inputs["schema"]
        )


def test_iam_auth_from_config_makes_iam_the_default_and_issues_no_api_key(
    tmp_path: Path,
) -> None:
    deployment = simulate_edge(tmp_path, generated_configs(1, edge={"graphqlAuth": "iam"}))
    stack = deployment.stacks["primary"]

    assert stack.one(GRAPHQL_API).inputs["authenticationType"] == "AWS_IAM"
    assert stack.of_type(GRAPHQL_API_KEY) == []


# --- With a domain -------------------------------------------------------------------------


def latency_records(stack: StackResult) -> list[Resource]:
    return [r for r in stack.of_type(DNS_RECORD) if r.inputs.get("latencyRoutingPolicies")]


def test_each_region_has_exactly_one_latency_record_of_its_own_with_a_health_check(
    with_domain: DeploymentResult,
) -> None:
    identifiers = []
    for stack in with_domain.stacks.values():
        (record,) = latency_records(stack)
        check = stack.one(HEALTH_CHECK)

        assert record.inputs["name"] == DOMAIN["apiHostname"]
        assert record.inputs["setIdentifier"] == stack.region
        assert record.inputs["latencyRoutingPolicies"] == [{"region": stack.region}]
        assert (
            record.inputs["healthCheckId"] == check.outputs["id"] == stack.outputs["healthCheckId"]
        )
        identifiers.append(record.inputs["setIdentifier"])

    assert len(set(identifiers)) == len(with_domain.stacks)


def test_the_shared_certificate_validation_record_outlives_the_destroy_of_any_one_stack(
    with_domain: DeploymentResult,
) -> None:
    names = set()
    for stack in with_domain.stacks.values():
        # Given the validation record of the region's API certificate
        certificate = one_with(stack, CERTIFICATE, domainName=DOMAIN["apiHostname"])
        (option,) = certificate.outputs["domainValidationOptions"]
        record = one_with(stack, DNS_RECORD, name=option["resourceRecordName"])
        names.add(record.inputs["name"])

        # Then every stack may write it, and destroying a stack leaves it for the others,
        # whose certificates need it to renew
        assert record.inputs["allowOverwrite"] is True
        assert record.retain_on_delete is True, stack.stack
    # And it is one record, shared by every region
    assert len(names) == 1


def test_the_health_check_probes_the_regions_own_endpoint(with_domain: DeploymentResult) -> None:
    for stack in with_domain.stacks.values():
        check = stack.one(HEALTH_CHECK)

        assert check.inputs["type"] == "HTTPS"
        assert check.inputs["resourcePath"] == "/health"
        assert f"https://{check.inputs['fqdn']}" == stack.outputs["httpApiUrl"]


def test_the_latency_record_aliases_the_regional_custom_domain(
    with_domain: DeploymentResult,
) -> None:
    for stack in with_domain.stacks.values():
        (record,) = latency_records(stack)
        domain = stack.one(API_DOMAIN_NAME)
        configuration = domain.outputs["domainNameConfiguration"]
        certificate = one_with(stack, CERTIFICATE, domainName=DOMAIN["apiHostname"])

        assert record.inputs["aliases"][0]["name"] == configuration["targetDomainName"]
        assert configuration["endpointType"] == "REGIONAL"
        assert configuration["securityPolicy"] == "TLS_1_2"
        assert certificate.region == stack.region


def test_only_the_primary_has_cloudfront(with_domain: DeploymentResult) -> None:
    with_cloudfront = [n for n, s in with_domain.stacks.items() if s.of_type(DISTRIBUTION)]

    assert with_cloudfront == ["primary"]


def test_cloudfront_sends_migrated_paths_to_the_api_and_the_rest_to_the_legacy_origin(
    with_domain: DeploymentResult,
) -> None:
    dist = distribution(with_domain.stacks["primary"])
    ordered = {b["pathPattern"]: b for b in dist.inputs["orderedCacheBehaviors"]}

    assert set(ordered) == set(MIGRATED_PATHS)
    for behaviour in ordered.values():
        assert origin_host(dist, behaviour["targetOriginId"]) == DOMAIN["apiHostname"]
        assert behaviour["cachePolicyId"] == CACHING_DISABLED_POLICY_ID
    default = dist.inputs["defaultCacheBehavior"]
    assert origin_host(dist, default["targetOriginId"]) == LEGACY


def test_no_cloudfront_behaviour_forwards_the_host_header(with_domain: DeploymentResult) -> None:
    # docs/pitfalls.md item 20: API Gateway answers 403 when CloudFront forwards the viewer's Host.
    dist = distribution(with_domain.stacks["primary"])
    behaviours = [*dist.inputs["orderedCacheBehaviors"], dist.inputs["defaultCacheBehavior"]]

    for behaviour in behaviours:
        assert behaviour["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID
        forwarded = behaviour.get("forwardedValues") or {}
        assert "host" not in {h.lower() for h in forwarded.get("headers", [])}


def test_cloudfronts_certificate_and_waf_are_in_us_east_1(with_domain: DeploymentResult) -> None:
    # docs/pitfalls.md item 22: CloudFront only accepts certificates from us-east-1, whatever the
    # primary's region. The primary here is us-east-1 too, so the region is checked as the
    # effective one of the resource, and again on a primary elsewhere below.
    primary = with_domain.stacks["primary"]
    dist = distribution(primary)
    certificate_arn = dist.inputs["viewerCertificate"]["acmCertificateArn"]
    (certificate,) = [
        c for c in primary.of_type(CERTIFICATE) if c.outputs["arn"] == certificate_arn
    ]

    assert certificate.inputs["domainName"] == DOMAIN["publicHostname"]
    assert certificate.region == "us-east-1"
    assert dist.inputs["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    waf = primary.one(WEB_ACL)
    assert (waf.region, waf.inputs["scope"]) == ("us-east-1", "CLOUDFRONT")
    assert dist.inputs["webAclId"] == waf.outputs["arn"]


def test_a_primary_outside_us_east_1_still_gets_its_cloudfront_certificate_there(
    tmp_path: Path,
) -> None:
    configs = generated_configs(1, domain=DOMAIN)
    configs["primary"]["aws:region"] = "eu-central-1"
    primary = simulate_edge(tmp_path, configs).stacks["primary"]
    by_name = {c.inputs["domainName"]: c for c in primary.of_type(CERTIFICATE)}
    validation = [v for v in primary.of_type(CERTIFICATE_VALIDATION) if v.region == "us-east-1"]

    assert by_name[DOMAIN["publicHostname"]].region == "us-east-1"
    assert by_name[DOMAIN["apiHostname"]].region == "eu-central-1"
    assert len(validation) == 1
    assert (
        distribution(primary).inputs["viewerCertificate"]["acmCertificateArn"].split(":")[3]
        == "us-east-1"
    )


def test_without_a_legacy_origin_every_path_goes_to_the_api(tmp_path: Path) -> None:
    primary = simulate_edge(tmp_path, generated_configs(1, domain=DOMAIN)).stacks["primary"]
    dist = distribution(primary)

    assert [o["domainName"] for o in dist.inputs["origins"]] == [DOMAIN["apiHostname"]]
    assert primary.of_type(WEB_ACL) == []


def test_the_public_hostname_aliases_the_distribution(with_domain: DeploymentResult) -> None:
    primary = with_domain.stacks["primary"]
    dist = distribution(primary)
    aliases = with_inputs(primary, DNS_RECORD, name=DOMAIN["publicHostname"])

    assert dist.inputs["aliases"] == [DOMAIN["publicHostname"]]
    assert {r.inputs["type"] for r in aliases} == {"A", "AAAA"}
    assert all(r.inputs["aliases"][0]["name"] == dist.outputs["domainName"] for r in aliases)


# --- The real program ----------------------------------------------------------------------


def test_the_real_stacks_export_the_edge_and_read_their_own_regions_table(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        read = function_running(stack, "functions.read_api.handler.handler")
        tables = [
            r
            for r in resources_of(role_statements(stack, read.inputs["role"]))
            if ":dynamodb:" in r
        ]

        assert set(EDGE_OUTPUTS) <= set(stack.outputs)
        assert read.inputs["environment"]["variables"]["TABLE_NAME"] == stack.outputs["tableName"]
        assert tables == [stack.outputs["tableArn"]]
        assert stack.outputs["tableArn"].split(":")[3] == stack.region


def test_the_real_stacks_route_writes_to_the_orchestrators_write_function(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        integrations = {i.outputs["id"]: i for i in stack.of_type(API_INTEGRATION)}
        for key in ("POST /orders", INTERNAL_WRITE_ROUTE):
            target = routes(stack)[key].inputs["target"].removeprefix("integrations/")

            assert (
                integrations[target].inputs["integrationUri"] == stack.outputs["writeFunctionArn"]
            )


def test_the_notifier_reads_the_stream_of_its_own_regions_replica(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        notifier = function_running(stack, "functions.notifier.handler.handler")
        mapping = one_with(stack, EVENT_SOURCE_MAPPING, functionName=notifier.outputs["arn"])

        assert mapping.inputs["eventSourceArn"] == stack.outputs["tableStreamArn"]


def test_the_notifier_records_its_pushes_in_its_own_regions_idempotency_table_only(
    example_deployment: DeploymentResult,
) -> None:
    # Given every region's idempotency table
    tables = {
        name: next(
            t
            for t in stack.of_type(TABLE)
            if t.outputs["name"] == stack.outputs["idempotencyTableName"]
        ).outputs["arn"]
        for name, stack in example_deployment.stacks.items()
    }
    for name, stack in example_deployment.stacks.items():
        # When the notifier's environment and policy are read
        notifier = function_running(stack, "functions.notifier.handler.handler")
        variables = notifier.inputs["environment"]["variables"]
        statements = role_statements(stack, notifier.inputs["role"])

        # Then it is told its own region's table
        assert variables["IDEMPOTENCY_TABLE_NAME"] == stack.outputs["idempotencyTableName"]
        # And of all the idempotency tables it may read and write that one alone
        reachable = {
            resource
            for statement in statements
            for resource in as_list(statement["Resource"])
            if resource in tables.values()
        }
        assert reachable == {tables[name]}
        (grant,) = [s for s in statements if tables[name] in as_list(s["Resource"])]
        assert sorted(grant["Action"]) == [
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ]


def test_every_edge_function_policy_has_unique_statement_ids(
    example_deployment: DeploymentResult,
) -> None:
    # IAM rejects a policy whose statements share a Sid; AppSync's function merges the read
    # and the write path's statements.
    for stack in example_deployment.stacks.values():
        for handler in ("read_api", "health", "websocket", "notifier", "graphql"):
            fn = function_running(stack, f"functions.{handler}.handler.handler")
            sids = [s["Sid"] for s in role_statements(stack, fn.inputs["role"]) if "Sid" in s]

            assert len(sids) == len(set(sids)), (stack.stack, handler, sids)


def test_the_real_program_with_a_domain_routes_by_latency_and_fronts_only_the_primary(
    simulate: Simulate,
) -> None:
    deployment = simulate(generated_configs(2, domain=DOMAIN, legacyOrigin=LEGACY))

    for stack in deployment.stacks.values():
        (record,) = latency_records(stack)
        assert record.inputs["setIdentifier"] == stack.region
        assert record.inputs["healthCheckId"] == stack.outputs["healthCheckId"] is not None
    assert [n for n, s in deployment.stacks.items() if s.of_type(DISTRIBUTION)] == ["primary"]

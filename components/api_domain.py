"""The region's part of the API hostname: a custom domain on its HTTP API, and a latency record
guarded by a Route 53 health check on its ``/health``."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.alarms import HEALTH_CHECK_REGION, alarm_when_below
from components.certificates import dns_validated_certificate
from components.http_api import HttpApi
from components.settings import PROJECT
from components.site import Site
from components.tags import tags


def api_domain(
    site: Site, http: HttpApi, health_check_topic_arn: pulumi.Input[str] | None
) -> pulumi.Output[str]:
    """The API hostname on this region's HTTP API, a health check on its ``/health``, and the
    latency record the check guards; the check's id."""
    name, settings = site.name, site.settings
    domain = settings.domain
    assert domain is not None
    # The same name in every region, each with its own regional certificate.
    certificate_arn = dns_validated_certificate(
        f"{name}-api-certificate",
        settings,
        domain_name=domain.api_hostname,
        zone_id=domain.zone_id,
        parent=site.parent,
        shared_record=True,
    )
    custom = aws.apigatewayv2.DomainName(
        f"{name}-api-domain",
        domain_name=domain.api_hostname,
        domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
            certificate_arn=certificate_arn,
            endpoint_type="REGIONAL",
            security_policy="TLS_1_2",
        ),
        tags=tags(settings, f"{name}-api-domain"),
        opts=site.child,
    )
    aws.apigatewayv2.ApiMapping(
        f"{name}-api-mapping",
        api_id=http.api.id,
        domain_name=custom.id,
        stage=http.stage.id,
        opts=site.child,
    )
    # The regional endpoint itself, not the shared name: the check must see this region.
    health_check = aws.route53.HealthCheck(
        f"{name}-health-check",
        type="HTTPS",
        fqdn=http.url.apply(lambda e: e.removeprefix("https://")),
        port=443,
        resource_path="/health",
        enable_sni=True,
        request_interval=30,
        failure_threshold=3,
        measure_latency=True,
        tags=tags(settings, f"{name}-health-check"),
        opts=site.child,
    )
    # 1 while Route 53 sees this region healthy: below 1 for 2 minutes, latency routing has
    # already sent its users elsewhere, and someone should know.
    alarm_when_below(
        f"{name}-health-check-status",
        settings,
        health_check_topic_arn or site.alarm_topic_arn,
        site.child,
        region=HEALTH_CHECK_REGION,
        name=f"{PROJECT}-{settings.stack}-health-check",
        alarm_description=f"{settings.region}: Route 53 sees GET /health failing",
        namespace="AWS/Route53",
        metric_name="HealthCheckStatus",
        dimensions={"HealthCheckId": health_check.id},
        statistic="Minimum",
        period=60,
        evaluation_periods=2,
        threshold=1,
    )
    configuration = custom.domain_name_configuration
    aws.route53.Record(
        f"{name}-api-latency-record",
        zone_id=domain.zone_id,
        name=domain.api_hostname,
        type="A",
        set_identifier=settings.region,
        latency_routing_policies=[
            aws.route53.RecordLatencyRoutingPolicyArgs(region=settings.region)
        ],
        aliases=[
            aws.route53.RecordAliasArgs(
                name=configuration.target_domain_name,
                zone_id=configuration.hosted_zone_id,
                evaluate_target_health=True,
            )
        ],
        health_check_id=health_check.id,
        opts=site.child,
    )
    return health_check.id

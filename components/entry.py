"""GlobalEntry: CloudFront in front of the latency-routed API, for the public hostname.

Only the primary stack has it, and only with a ``domain``. Paths already migrated go to the
API hostname (Route 53 picks the nearest healthy region); every other path goes to the legacy
origin, so a client can switch to the public hostname before the migration is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.certificates import dns_validated_certificate
from components.settings import PROJECT, DomainSettings, Settings
from components.tags import tags

# CloudFront-scoped resources (its certificates and its WAF) exist only in us-east-1
# (docs/pitfalls.md item 22).
CLOUDFRONT_REGION = "us-east-1"
# Managed policies, by the IDs AWS documents for them (they are the same in every account).
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# Everything the viewer sent except Host: API Gateway answers 403 to a Host that is not its
# own (docs/pitfalls.md item 20). CloudFront then sends the origin's own name.
ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# Zone of every CloudFront distribution, for alias records.
CLOUDFRONT_HOSTED_ZONE_ID = "Z2FDTNDATAQYW2"
MIGRATED_PATHS = ("/orders*", "/customers*", "/graphql", "/health")
API_ORIGIN_ID = "api"
LEGACY_ORIGIN_ID = "legacy"
MINIMUM_PROTOCOL_VERSION = "TLSv1.2_2021"
_ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
_AWS_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


@dataclass(frozen=True)
class GlobalEntryArgs:
    """The primary's settings; they must carry a domain."""

    settings: Settings


class GlobalEntry(pulumi.ComponentResource):
    """CloudFront with path-based behaviours, its us-east-1 certificate, optional WAF, alias."""

    distribution_domain_name: pulumi.Output[str]
    public_url: str

    def __init__(
        self, name: str, args: GlobalEntryArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("active-active:components:GlobalEntry", name, None, opts)
        settings = args.settings
        if settings.domain is None:
            raise ValueError(f"{settings.stack}: GlobalEntry needs the domain config")
        domain: DomainSettings = settings.domain
        child = pulumi.ResourceOptions(parent=self)

        certificate_arn = dns_validated_certificate(
            f"{name}-certificate",
            settings,
            domain_name=domain.public_hostname,
            zone_id=domain.zone_id,
            parent=self,
            region=CLOUDFRONT_REGION,
        )

        web_acl = self._web_acl(name, settings) if settings.edge.waf else None

        origins = [_origin(API_ORIGIN_ID, domain.api_hostname)]
        if settings.legacy_origin:
            origins.append(_origin(LEGACY_ORIGIN_ID, settings.legacy_origin))
        default_origin = LEGACY_ORIGIN_ID if settings.legacy_origin else API_ORIGIN_ID
        distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            enabled=True,
            comment=f"{PROJECT}: {domain.public_hostname}",
            aliases=[domain.public_hostname],
            origins=origins,
            ordered_cache_behaviors=[
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=path, **_api_behaviour(API_ORIGIN_ID)
                )
                for path in MIGRATED_PATHS
            ],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                **_api_behaviour(default_origin)
            ),
            viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version=MINIMUM_PROTOCOL_VERSION,
            ),
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type="none"
                )
            ),
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class="PriceClass_All",
            web_acl_id=web_acl.arn if web_acl is not None else None,
            tags=tags(settings, f"{name}-distribution"),
            opts=child,
        )
        for record_type in ("A", "AAAA"):
            aws.route53.Record(
                f"{name}-public-{record_type.lower()}",
                zone_id=domain.zone_id,
                name=domain.public_hostname,
                type=record_type,
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=distribution.domain_name,
                        zone_id=distribution.hosted_zone_id,
                        evaluate_target_health=False,
                    )
                ],
                opts=child,
            )

        self.distribution_domain_name = distribution.domain_name
        self.public_url = f"https://{domain.public_hostname}"
        self.register_outputs(
            {
                "distribution_domain_name": self.distribution_domain_name,
                "public_url": self.public_url,
            }
        )

    def _web_acl(self, name: str, settings: Settings) -> aws.wafv2.WebAcl:
        """AWS managed rules, then a per-IP rate limit; CloudFront's scope lives in us-east-1."""
        rules = [
            aws.wafv2.WebAclRuleArgs(
                name=group,
                priority=priority,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                    none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()
                ),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_rule_visibility(group),
            )
            for priority, group in enumerate(_AWS_MANAGED_RULE_GROUPS)
        ]
        rules.append(
            aws.wafv2.WebAclRuleArgs(
                name="RateLimitPerIp",
                priority=len(rules),
                action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        limit=settings.edge.waf_rate_limit,
                        aggregate_key_type="IP",
                        evaluation_window_sec=300,
                    )
                ),
                visibility_config=_rule_visibility("RateLimitPerIp"),
            )
        )
        return aws.wafv2.WebAcl(
            f"{name}-waf",
            region=CLOUDFRONT_REGION,
            scope="CLOUDFRONT",
            description=f"{PROJECT}: managed rules and a per-IP rate limit",
            default_action=aws.wafv2.WebAclDefaultActionArgs(
                allow=aws.wafv2.WebAclDefaultActionAllowArgs()
            ),
            rules=rules,
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=f"{PROJECT}-{settings.stack}-waf",
                sampled_requests_enabled=True,
            ),
            tags=tags(settings, f"{name}-waf"),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _origin(origin_id: str, host: str) -> aws.cloudfront.DistributionOriginArgs:
    return aws.cloudfront.DistributionOriginArgs(
        origin_id=origin_id,
        domain_name=host,
        custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
            http_port=80,
            https_port=443,
            origin_protocol_policy="https-only",
            origin_ssl_protocols=["TLSv1.2"],
        ),
    )


def _api_behaviour(origin_id: str) -> dict[str, Any]:
    """An API behaviour: every method, nothing cached, every viewer header but Host."""
    return {
        "target_origin_id": origin_id,
        "viewer_protocol_policy": "https-only",
        "allowed_methods": _ALL_METHODS,
        "cached_methods": ["GET", "HEAD"],
        "cache_policy_id": CACHING_DISABLED_POLICY_ID,
        "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID,
        "compress": True,
    }


def _rule_visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return aws.wafv2.WebAclRuleVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )

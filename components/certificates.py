"""ACM certificates validated through a Route 53 record, the same way for every endpoint."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.settings import Settings
from components.tags import tags


def dns_validated_certificate(
    label: str,
    settings: Settings,
    *,
    domain_name: str,
    zone_id: str,
    parent: pulumi.Resource,
    region: str | None = None,
    shared_record: bool = False,
) -> pulumi.Output[str]:
    """A certificate for ``domain_name`` in ``region`` (default: the stack's); its ARN once valid.

    ``shared_record``: other stacks need the same validation record (ACM asks for the same
    record for the same name in every region of an account), so each stack writes it over the
    others' instead of failing on "already exists", and keeps it when the stack is destroyed:
    every other region's certificate still needs it to renew.
    """
    child = pulumi.ResourceOptions(parent=parent)
    certificate = aws.acm.Certificate(
        label,
        region=region,
        domain_name=domain_name,
        validation_method="DNS",
        tags=tags(settings, label),
        opts=child,
    )
    option = certificate.domain_validation_options[0]
    record = aws.route53.Record(
        f"{label}-validation-record",
        zone_id=zone_id,
        name=option.resource_record_name,
        type=option.resource_record_type,
        records=[option.resource_record_value],
        ttl=300,
        allow_overwrite=True,
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=shared_record),
    )
    validation = aws.acm.CertificateValidation(
        f"{label}-validation",
        region=region,
        certificate_arn=certificate.arn,
        validation_record_fqdns=[record.fqdn],
        opts=child,
    )
    return validation.certificate_arn

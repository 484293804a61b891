"""Every bucket of a stack is made the same way: versioned, encrypted with the region's key,
private, owned by the bucket owner and reachable over TLS only."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import lifecycle
from components.settings import Settings
from components.tags import tags


def private_bucket(
    name: str,
    settings: Settings,
    key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    *,
    force_destroy: bool,
) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
    """The bucket ``name`` (protected in prod) and its versioning, encryption, public access
    block, ownership controls and TLS-only policy, named ``<name>-<setting>``.

    v7 `s3.Bucket`, with each setting its own resource (docs/pitfalls.md item 15). Returns the
    bucket and its versioning, which replication and lifecycle rules must wait for.
    """
    bucket = aws.s3.Bucket(
        name,
        force_destroy=force_destroy,
        tags=tags(settings, name),
        opts=lifecycle.guarded(settings, opts),
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status="Enabled"
        ),
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key_arn
                ),
                bucket_key_enabled=True,
            )
        ],
        opts=opts,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.id,
        policy=pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
        # S3 rejects concurrent changes to a bucket's policy and its public access block.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[public_access])),
    )
    return bucket, versioning

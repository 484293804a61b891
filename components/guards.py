"""What the program guarantees and the policy pack (policy/) checks, in one place.

Plain data, importing nothing: the Pulumi program, `ops diff` and the policy pack, which runs
in Pulumi's policy engine without the program's dependencies, all read these.
"""

from __future__ import annotations

# Resources whose loss or replacement loses data or a value an operator set: the Aurora global
# cluster and clusters, every DynamoDB table and replica, every secret (the master password,
# the payment API key, the page-token key), the KMS keys that encrypt all of them, the lake
# buckets. Protected in prod; `ops up` refuses to delete or replace one in any environment
# unless the operator names it (`--allow-data-loss URN`).
STATEFUL_TYPES = frozenset(
    {
        "aws:rds/globalCluster:GlobalCluster",
        "aws:rds/cluster:Cluster",
        "aws:dynamodb/table:Table",
        "aws:dynamodb/tableReplica:TableReplica",
        "aws:secretsmanager/secret:Secret",
        "aws:kms/key:Key",
        "aws:s3/bucket:Bucket",
    }
)


# Actions that only accept Resource "*": this is the one list of exceptions to scoped policies.
WILDCARD_ACTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray trace segments have no resource ARN",
    "xray:PutTelemetryRecords": "X-Ray telemetry has no resource ARN",
    "cloudwatch:PutMetricData": "CloudWatch metrics have no resource ARN (scoped by namespace)",
    "dynamodb:ListStreams": "ListStreams names no table; the stream poller of an event source "
    "mapping calls it",
    "ec2:CreateNetworkInterface": "Lambda's VPC ENIs are created before their ARN exists",
    "ec2:DescribeNetworkInterfaces": "EC2 Describe* actions support no resource scoping",
    "ec2:DeleteNetworkInterface": "Lambda's VPC ENIs are named by id only at run time",
    "ec2:AssignPrivateIpAddresses": "Lambda's VPC ENIs are named by id only at run time",
    "ec2:UnassignPrivateIpAddresses": "Lambda's VPC ENIs are named by id only at run time",
    "xray:GetSamplingRules": "X-Ray sampling rules are read account-wide (Step Functions)",
    "xray:GetSamplingTargets": "X-Ray sampling targets are account-wide (Step Functions)",
    # Step Functions delivers its logs through CloudWatch Logs' vended log delivery, whose
    # actions AWS documents with Resource "*" only.
    "logs:CreateLogDelivery": "vended log delivery has no resource ARN",
    "logs:GetLogDelivery": "vended log delivery has no resource ARN",
    "logs:UpdateLogDelivery": "vended log delivery has no resource ARN",
    "logs:DeleteLogDelivery": "vended log delivery has no resource ARN",
    "logs:ListLogDeliveries": "vended log delivery has no resource ARN",
    "logs:PutResourcePolicy": "the account's logs resource policy has no resource ARN",
    "logs:DescribeResourcePolicies": "the account's logs resource policies have no ARN",
    "logs:DescribeLogGroups": "Describe* over log groups supports no resource scoping",
    "s3:ListAllMyBuckets": "lists the account's buckets: no resource ARN (Synthetics canaries)",
}


# Routes only the deployment's own roles call: a member region's write function forwarding to
# the writer's internal route, and the write canary placing synthetic orders, which charge no
# one (functions/synthetic.py). They take IAM authorization: open, anyone could place orders
# past a region's checks, or orders that are never paid for. components/http_api.py makes them.
IAM_ONLY_ROUTES = frozenset({"POST /internal/orders", "POST /synthetic/orders"})

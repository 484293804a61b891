"""Queries of a simulated plan, shared by the suites that read one (tests/infra, tests/policy,
tests/ops): the type tokens they look for, and the lookups more than one of them makes.

They build on ops.simulation.results (StackResult.of_type, StackResult.one); a lookup only one
test file makes stays in that file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ops.simulate import DeploymentResult, Resource, StackResult

# -- type tokens, as the engine registers them ------------------------------------------------

# The program's own
GLOBAL_DATA = "active-active:components:GlobalData"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"

# Network
VPC = "awsx:ec2:Vpc"
VPC_ROUTE = "aws:ec2/route:Route"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
CUSTOMER_GATEWAY = "aws:ec2/customerGateway:CustomerGateway"
VPN_CONNECTION = "aws:ec2/vpnConnection:VpnConnection"
DX_GATEWAY_ASSOCIATION = "aws:directconnect/gatewayAssociation:GatewayAssociation"
TRANSIT_GATEWAY = "aws:ec2transitgateway/transitGateway:TransitGateway"
TGW_ROUTE = "aws:ec2transitgateway/route:Route"
TGW_ASSOCIATION = "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation"
TGW_PROPAGATION = "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"
TGW_VPC_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
TGW_PEERING = "aws:ec2transitgateway/peeringAttachment:PeeringAttachment"
TGW_PEERING_ACCEPTER = "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter"

# Data
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
DB_CLUSTER = "aws:rds/cluster:Cluster"
DB_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
TABLE = "aws:dynamodb/table:Table"
TABLE_REPLICA = "aws:dynamodb/tableReplica:TableReplica"
TABLE_ITEM = "aws:dynamodb/tableItem:TableItem"
KMS_KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
GLUE_TABLE = "aws:glue/catalogTable:CatalogTable"
ATHENA_WORKGROUP = "aws:athena/workgroup:Workgroup"
FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"

# Functions, the saga and the bus
FUNCTION = "aws:lambda/function:Function"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
INVOCATION = "aws:lambda/invocation:Invocation"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
EVENT_BUS = "aws:cloudwatch/eventBus:EventBus"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
EVENT_ARCHIVE = "aws:cloudwatch/eventArchive:EventArchive"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

# Edge
API = "aws:apigatewayv2/api:Api"
API_ROUTE = "aws:apigatewayv2/route:Route"
API_STAGE = "aws:apigatewayv2/stage:Stage"
API_INTEGRATION = "aws:apigatewayv2/integration:Integration"
API_DOMAIN_NAME = "aws:apigatewayv2/domainName:DomainName"
API_GATEWAY_ACCOUNT = "aws:apigateway/account:Account"
GRAPHQL_API = "aws:appsync/graphQLApi:GraphQLApi"
GRAPHQL_API_KEY = "aws:appsync/apiKey:ApiKey"
DNS_RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
CERTIFICATE = "aws:acm/certificate:Certificate"
CERTIFICATE_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"

# Observability
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CANARY = "aws:synthetics/canary:Canary"


# -- stacks -------------------------------------------------------------------------------------


def primary(deployment: DeploymentResult) -> StackResult:
    """The deployment's home stack (as of its converge pass)."""
    (home,) = [s for s in deployment.stacks.values() if s.role == "home"]
    return home


def secondaries(deployment: DeploymentResult) -> list[StackResult]:
    """The deployment's member stacks, in deploy order."""
    return [s for s in deployment.stacks.values() if s.role == "member"]


# -- resources ----------------------------------------------------------------------------------

_ABSENT = object()


def with_inputs(stack: StackResult, type_: str, **inputs: Any) -> list[Resource]:
    """Every resource of ``type_`` whose inputs have these values, in registration order."""
    return [
        r
        for r in stack.of_type(type_)
        if all(r.inputs.get(key, _ABSENT) == value for key, value in inputs.items())
    ]


def one_with(stack: StackResult, type_: str, **inputs: Any) -> Resource:
    """The only resource of ``type_`` whose inputs have these values; fails when not exactly one."""
    found = with_inputs(stack, type_, **inputs)
    if len(found) != 1:
        raise AssertionError(f"{stack.stack}: {len(found)} {type_} with {inputs}, expected one")
    return found[0]


def output_values(stack: StackResult, type_: str, key: str = "id") -> set[str]:
    """The ``key`` output (the id unless told) of every resource of ``type_``, as strings."""
    return {str(r.outputs.get(key)) for r in stack.of_type(type_)}


def function_running(stack: StackResult, handler: str) -> Resource:
    """The stack's one Lambda function whose handler is ``handler``."""
    return one_with(stack, FUNCTION, handler=handler)


def api_of(stack: StackResult, protocol: str) -> Resource:
    """The stack's one API Gateway v2 API of ``protocol`` (HTTP or WEBSOCKET)."""
    return one_with(stack, API, protocolType=protocol)


# -- IAM ----------------------------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    """A policy field that may hold one value or a list (Action, Resource), as a list."""
    return value if isinstance(value, list) else [value]


def statements(resource: Resource) -> list[dict[str, Any]]:
    """The statements of a resource's ``policy`` input: a role, key or bucket policy."""
    document = resource.inputs["policy"]
    if isinstance(document, str):
        document = json.loads(document)
    return as_list(document["Statement"])


def resources_of(found: Iterable[dict[str, Any]]) -> list[str]:
    """Every ARN (or "*") the statements name as their Resource, in order."""
    return [resource for statement in found for resource in as_list(statement["Resource"])]


def role_policies(stack: StackResult, role_arn: str) -> list[Resource]:
    """The inline policies of the stack's one role whose ARN is ``role_arn``."""
    (role,) = [r for r in stack.of_type(ROLE) if r.outputs.get("arn") == role_arn]
    return with_inputs(stack, ROLE_POLICY, role=role.outputs["id"])


def role_statements(stack: StackResult, role_arn: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies of the role whose ARN is ``role_arn``."""
    return [s for policy in role_policies(stack, role_arn) for s in statements(policy)]

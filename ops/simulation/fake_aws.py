"""Plausible AWS for the mocks: ids, ARNs and names by type and region, and the invokes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks

from components.settings import Settings, short_name
from ops.simulation.results import SimulationError

ACCOUNT_ID = "123456789012"

# Resource types whose ARN does not carry a region or an account, or has its own shape.
_GLOBAL_SERVICES = {"iam", "cloudfront", "route53", "wafv2-global"}


def _short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _missing_paths(value: Any) -> Iterator[str]:
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        if not os.path.exists(value.path):
            yield value.path
    elif isinstance(value, pulumi.AssetArchive):
        for asset in value.assets.values():
            yield from _missing_paths(asset)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _missing_paths(item)
    elif isinstance(value, list):
        for item in value:
            yield from _missing_paths(item)


# Resource id prefixes for the types whose ids AWS shapes (vpc-..., tgw-..., sg-...).
_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/customerGateway:CustomerGateway": "cgw-",
    "aws:ec2/vpnConnection:VpnConnection": "vpn-",
    "aws:ec2transitgateway/transitGateway:TransitGateway": "tgw-",
    "aws:ec2transitgateway/routeTable:RouteTable": "tgw-rtb-",
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": "tgw-attach-",
    "aws:ec2transitgateway/peeringAttachment:PeeringAttachment": "tgw-attach-",
    "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter": "tgw-attach-",
    "aws:kms/key:Key": "",
    # API and health check ids are random strings, not the names given.
    "aws:apigatewayv2/api:Api": "",
    "aws:appsync/graphQLApi:GraphQLApi": "",
    "aws:route53/healthCheck:HealthCheck": "",
}


class PlanMocks(pulumi.runtime.Mocks):
    """Fills outputs the way AWS would, resolves StackReferences, answers known invokes."""

    def __init__(self, settings: Settings, references: Mapping[str, Mapping[str, Any]]):
        self.settings = settings
        self.references = references
        self.provider_regions: dict[str, str] = {}
        self.calls: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
            "aws:index/getRegion:getRegion": lambda a, r: {"name": r, "region": r, "id": r},
            "aws:index/getCallerIdentity:getCallerIdentity": lambda a, r: {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/plan",
                "userId": "AIDAPLAN",
                "id": ACCOUNT_ID,
            },
            "aws:index/getPartition:getPartition": lambda a, r: {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "id": "aws",
            },
            "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a, r: {
                "names": [f"{r}{z}" for z in "abc"],
                "zoneIds": [f"{r[:3]}-az{i}" for i in (1, 2, 3)],
                "id": r,
            },
            "aws:ec2/getRouteTable:getRouteTable": lambda a, r: {
                "routeTableId": f"rtb-{_short_hash(str(a.get('subnetId')), length=17)}",
                "id": f"rtb-{_short_hash(str(a.get('subnetId')), length=17)}",
                "subnetId": a.get("subnetId"),
            },
            "aws:ec2transitgateway/getDirectConnectGatewayAttachment:"
            "getDirectConnectGatewayAttachment": lambda a, r: {
                "id": f"tgw-attach-{_short_hash(str(a.get('dxGatewayId')), length=17)}",
                "dxGatewayId": a.get("dxGatewayId"),
                "transitGatewayId": a.get("transitGatewayId"),
            },
            # A stand-in value derived from the secret ARN: the plan never reads a real one.
            "aws:secretsmanager/getSecretVersion:getSecretVersion": lambda a, r: {
                "arn": a["secretId"],
                "id": a["secretId"],
                "secretId": a["secretId"],
                "secretString": f"plan-secret-{_short_hash(str(a['secretId']), length=24)}",
                "versionId": "plan-version",
                "versionStages": ["AWSCURRENT"],
            },
            "aws:dynamodb/getTable:getTable": lambda a, r: {
                "name": a["name"],
                "arn": f"arn:aws:dynamodb:{r}:{ACCOUNT_ID}:table/{a['name']}",
                "streamArn": f"arn:aws:dynamodb:{r}:{ACCOUNT_ID}:table/{a['name']}"
                "/stream/2026-01-01T00:00:00.000",
                "id": a["name"],
            },
        }

    def region_of(self, inputs: Mapping[str, Any], provider: str | None) -> str:
        """The effective region: the resource's own input, else its provider's, else the stack's."""
        own = inputs.get("region")
        if isinstance(own, str) and own:
            return own
        if provider:
            urn = provider.rsplit("::", 1)[0]
            if urn in self.provider_regions:
                return self.provider_regions[urn]
        return self.settings.region

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        """Outputs for one resource: its inputs plus what AWS would fill in."""
        inputs = dict(args.inputs)
        missing = list(_missing_paths(inputs))
        if missing:
            raise SimulationError(f"{args.typ} {args.name}: no such file or directory {missing[0]}")
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(str(inputs.get("name", args.name)))
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-{_short_hash(self.settings.stack, args.name)}", inputs
        if not args.custom:
            return None, _component_outputs(args.typ, inputs, self.settings)
        region = self.region_of(inputs, args.provider)
        physical = _physical_name(args.typ, args.name, inputs)
        resource_id = _ID_PREFIXES.get(args.typ, "") + (
            _short_hash(self.settings.stack, args.typ, args.name, length=17)
            if args.typ in _ID_PREFIXES
            else physical
        )
        outputs = {"id": resource_id, "name": physical, **inputs}
        outputs.setdefault("arn", _arn(args.typ, region, physical, resource_id))
        outputs.update(_type_outputs(args.typ, region, physical, resource_id, outputs))
        return resource_id, outputs

    def _stack_reference(self, name: str) -> tuple[str, dict]:
        outputs = self.references.get(short_name(name))
        if outputs is None:
            raise SimulationError(
                f"StackReference to {name}: that stack has not been deployed before "
                f"{self.settings.stack}, and a reference to a missing stack fails"
            )
        return name, {"name": name, "outputs": dict(outputs), "secretOutputNames": []}

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict:  # type: ignore[override]
        """Answers the invokes the program makes, for the region it asks about."""
        answer = self.calls.get(args.token)
        if answer is None:
            raise SimulationError(f"the plan's mocks do not know the invoke {args.token}")
        region = self.region_of(args.args, args.provider)
        return answer(dict(args.args), region)


def _physical_name(type_: str, name: str, inputs: Mapping[str, Any]) -> str:
    """The name AWS would show: the one given, else Pulumi's autoname (name plus a suffix)."""
    for key in (
        "name",
        "bucket",
        "functionName",
        "tableName",
        "clusterIdentifier",
        "globalClusterIdentifier",
        "identifier",
    ):
        if key == "globalClusterIdentifier" and type_ != "aws:rds/globalCluster:GlobalCluster":
            continue  # a member cluster names the global cluster it joins, not itself
        given = inputs.get(key)
        if isinstance(given, str) and given:
            return given
    return f"{name}-{_short_hash(type_, name, length=7)}"


def _arn(type_: str, region: str, physical: str, resource_id: str) -> str:
    module = type_.split(":")[1].split("/")[0]
    kind = type_.split(":")[-1]
    resource = kind[0].lower() + kind[1:]
    if module == "s3":
        return f"arn:aws:s3:::{physical}"
    if module in _GLOBAL_SERVICES:
        return f"arn:aws:{module}::{ACCOUNT_ID}:{resource}/{physical}"
    shapes = {
        "aws:appsync/graphQLApi:GraphQLApi": f"apis/{resource_id}",
        "aws:dynamodb/table:Table": f"table/{physical}",
        "aws:lambda/function:Function": f"function:{physical}",
        "aws:sqs/queue:Queue": physical,
        "aws:sns/topic:Topic": physical,
        "aws:kms/key:Key": f"key/{resource_id}",
        "aws:cloudwatch/eventBus:EventBus": f"event-bus/{physical}",
        "aws:sfn/stateMachine:StateMachine": f"stateMachine:{physical}",
        "aws:rds/cluster:Cluster": f"cluster:{physical}",
        "aws:rds/clusterInstance:ClusterInstance": f"db:{physical}",
        "aws:secretsmanager/secret:Secret": f"secret:{physical}-AbCdEf",
        "aws:cloudwatch/logGroup:LogGroup": f"log-group:{physical}",
        "aws:cloudwatch/eventRule:EventRule": f"rule/{physical}",
        "aws:cloudwatch/eventArchive:EventArchive": f"archive/{physical}",
        "aws:cloudwatch/metricAlarm:MetricAlarm": f"alarm:{physical}",
        "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": f"deliverystream/{physical}",
    }
    if type_ == "aws:rds/globalCluster:GlobalCluster":
        return f"arn:aws:rds::{ACCOUNT_ID}:global-cluster:{physical}"
    service = {
        "cloudwatch": "events"
        if kind.startswith("Event")
        else "logs"
        if kind.startswith("Log")
        else "cloudwatch",
        "sfn": "states",
        "kinesis": "firehose" if kind.startswith("Firehose") else "kinesis",
        "ec2transitgateway": "ec2",
        "lambda": "lambda",
    }.get(module, module)
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{shapes.get(type_, f'{resource}/{physical}')}"


def _type_outputs(
    type_: str, region: str, physical: str, resource_id: str, outputs: Mapping[str, Any]
) -> dict[str, Any]:
    """Outputs some types need beyond id, name and arn for the program to go on."""
    host = f"{physical}.{_short_hash(physical)}.{region}"
    extra: dict[str, dict[str, Any]] = {
        "aws:rds/cluster:Cluster": {
            "endpoint": f"{host}.rds.amazonaws.com",
            "readerEndpoint": f"{physical}.cluster-ro-{_short_hash(physical)}.{region}.rds.amazonaws.com",
            "clusterResourceId": f"cluster-{_short_hash(physical, length=26).upper()}",
        },
        "aws:dynamodb/table:Table": {
            "streamArn": f"{outputs['arn']}/stream/2026-01-01T00:00:00.000",
            "streamLabel": "2026-01-01T00:00:00.000",
        },
        "aws:s3/bucket:Bucket": {
            "bucket": physical,
            "bucketDomainName": f"{physical}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{physical}.s3.{region}.amazonaws.com",
        },
        "aws:apigatewayv2/api:Api": {
            "apiEndpoint": f"{'wss' if outputs.get('protocolType') == 'WEBSOCKET' else 'https'}"
            f"://{resource_id}.execute-api.{region}.amazonaws.com",
            "executionArn": f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{resource_id}",
        },
        "aws:sqs/queue:Queue": {
            "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{physical}",
        },
        "aws:lambda/function:Function": {
            "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
            f"{outputs['arn']}/invocations",
            "qualifiedArn": f"{outputs['arn']}:1",
        },
        "aws:kms/key:Key": {"keyId": resource_id},
        "aws:ec2/vpnConnection:VpnConnection": {
            "transitGatewayAttachmentId": f"tgw-attach-{_short_hash(resource_id, length=17)}",
        },
        "aws:appsync/graphQLApi:GraphQLApi": {
            "uris": {
                "GRAPHQL": f"https://{resource_id}.appsync-api.{region}.amazonaws.com/graphql",
                "REALTIME": f"wss://{resource_id}.appsync-realtime-api.{region}.amazonaws.com"
                "/graphql",
            }
        },
        "aws:apigatewayv2/domainName:DomainName": {
            "domainNameConfiguration": {
                **(outputs.get("domainNameConfiguration") or {}),
                "targetDomainName": f"d-{_short_hash(physical, region, length=10)}"
                f".execute-api.{region}.amazonaws.com",
                "hostedZoneId": f"Z{_short_hash(region, length=13).upper()}",
            }
        },
        "aws:acm/certificate:Certificate": {
            "domainValidationOptions": [
                {
                    # ACM asks for the same record for a name in every region of an account.
                    "domainName": outputs.get("domainName"),
                    "resourceRecordName": f"_{_short_hash(str(outputs.get('domainName')))}."
                    f"{outputs.get('domainName')}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_{_short_hash('v', str(outputs.get('domainName')))}"
                    ".acm-validations.aws.",
                }
            ]
        },
        "aws:route53/record:Record": {"fqdn": str(outputs.get("name", "")).rstrip(".")},
        "aws:cloudfront/distribution:Distribution": {
            "domainName": f"d{_short_hash(physical, length=13)}.cloudfront.net",
            "hostedZoneId": "Z2FDTNDATAQYW2",
        },
        "random:index/randomPassword:RandomPassword": {
            "result": f"plan-{_short_hash(physical, length=24)}",
        },
    }
    return extra.get(type_, {})


def _component_outputs(type_: str, inputs: Mapping[str, Any], settings: Settings) -> dict:
    """Outputs of multi-language components, which arrive under mocks as one resource."""
    if type_ == "awsx:ec2:Vpc":
        zones = int(inputs.get("numberOfAvailabilityZones") or 3)
        stem = _short_hash(settings.stack, "vpc", length=12)
        # Only output properties: some inputs share a name with an output of another type.
        return {
            "vpcId": f"vpc-{stem}",
            "privateSubnetIds": [f"subnet-{stem}p{i}" for i in range(zones)],
            "publicSubnetIds": [f"subnet-{stem}u{i}" for i in range(zones)],
            "isolatedSubnetIds": [],
        }
    return dict(inputs)

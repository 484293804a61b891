"""Run the real Pulumi program under Pulumi's mocks: one stack, or the whole deployment.

Plain mocks hide mistakes a real deployment would hit (docs/pitfalls.md item 18), so these make up
for each one:

- the program never runs in preview, so every ``apply`` runs and no output stays unknown;
- ``id``, ``arn`` and ``name`` of every resource are filled, plausibly for its type and region;
- a second resource with an URN already taken fails the run, as the engine would;
- an asset or archive whose path does not exist fails the run;
- a StackReference resolves only to a stack simulated before it, with that stack's outputs,
  and fails otherwise, as it would against a real backend (pulumi/pulumi#3540);
- an invoke the mocks do not know fails, naming its token, instead of returning nothing.

Resource options (parent, dependsOn, ignoreChanges, provider, protect, retainOnDelete) are
recorded by a
monitor that wraps Pulumi's own mock monitor, so tests and the plan can show them.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import runpy
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from components.settings import MISSING_STACKS_ENV, PROJECT, Settings, short_name
from ops.stackfiles import Pass, StackFile, deploy_order, pulumi_config

PROGRAM = Path(__file__).resolve().parent.parent / "__main__.py"
ACCOUNT_ID = "123456789012"
SECRET_MASK = "[secret]"

# Resource types whose ARN does not carry a region or an account, or has its own shape.
_GLOBAL_SERVICES = {"iam", "cloudfront", "route53", "wafv2-global"}


class SimulationError(RuntimeError):
    """The program did something a real deployment would reject."""


@dataclass
class Resource:
    """One registered resource as the engine would see it."""

    urn: str
    type: str
    name: str
    parent: str | None
    region: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    depends_on: list[str]
    ignore_changes: list[str]
    protect: bool
    provider: str | None
    custom: bool
    # Left in place when its stack is destroyed (ResourceOptions.retain_on_delete).
    retain_on_delete: bool = False

    def to_json(self) -> dict[str, Any]:
        """The shape ``ops plan --json`` prints."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "region": self.region,
            "inputs": plain(self.inputs),
            "dependsOn": self.depends_on,
            "ignoreChanges": self.ignore_changes,
            "protect": self.protect,
        }


@dataclass
class StackResult:
    """What one simulated stack registered and exported."""

    stack: str
    region: str
    role: str
    outputs: dict[str, Any]
    resources: list[Resource]

    def of_type(self, type_: str) -> list[Resource]:
        """Every resource of one type token, in registration order."""
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        """The only resource of a type; fails when there are none or several."""
        found = self.of_type(type_)
        if len(found) != 1:
            raise AssertionError(f"{self.stack}: expected one {type_}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        """The resource with this URN."""
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)

    def to_json(self) -> dict[str, Any]:
        """The shape ``ops plan --json`` prints for one stack."""
        return {
            "region": self.region,
            "role": self.role,
            "outputs": plain(self.outputs),
            "resources": [r.to_json() for r in self.resources],
        }


@dataclass
class DeploymentResult:
    """Every stack of a deployment, simulated in deploy order."""

    order: list[Pass]
    # Each stack as of its last pass.
    stacks: dict[str, StackResult] = field(default_factory=dict)
    # Every pass in order with what it registered: the home stack's first pass included.
    passes: list[tuple[Pass, StackResult]] = field(default_factory=list)
    # The stacks that were deployed already (from the saved outputs) when this was planned.
    deployed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The document ``ops plan --json`` prints."""
        return {
            "order": [p.stack for p in self.order],
            "deployed": list(self.deployed),
            "stacks": {name: result.to_json() for name, result in self.stacks.items()},
            "passes": [
                {
                    "stack": step.stack,
                    "converge": step.converge,
                    "skipReplicas": list(step.skip_replicas),
                    "resources": [r.to_json() for r in result.resources],
                }
                for step, result in self.passes
            ],
        }


def plain(value: Any) -> Any:
    """Inputs and outputs as JSON: secrets masked, assets and archives by path."""
    if rpc.is_rpc_secret(value):
        return SECRET_MASK
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return {"path": value.path}
    if isinstance(value, pulumi.AssetArchive):
        return {"assets": {k: plain(v) for k, v in value.assets.items()}}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if isinstance(value, pulumi.Resource):
        return str(getattr(value, "_name", value))
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def unwrap_secrets(value: Any) -> Any:
    """The same value with every secret replaced by its plain value."""
    if rpc.is_rpc_secret(value):
        return unwrap_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


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


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Pulumi's mock monitor, plus a record of every registration and its options."""

    def __init__(self, mocks: PlanMocks):
        super().__init__(mocks)
        self.records: dict[str, Resource] = {}
        self.plan_mocks = mocks
        # Registrations arrive on several executor threads at once.
        self._lock = threading.Lock()
        self._taken: set[str] = set()

    def _claim(self, urn: str) -> None:
        with self._lock:
            if urn in self._taken:
                raise SimulationError(f"duplicate resource URN {urn}: two resources share a name")
            self._taken.add(urn)

    def _record(
        self,
        request: Any,
        urn: str,
        inputs: dict[str, Any],
        *,
        region: str | None,
        ignore_changes: list[str],
        protect: bool,
        custom: bool,
        retain_on_delete: bool = False,
    ) -> None:
        self.records[urn] = Resource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            region=region,
            inputs=inputs,
            outputs=dict(self.resources[urn].state),
            # The SDK gathers dependencies in a set; sorted, two plans of one tree compare equal.
            depends_on=sorted(request.dependencies),
            ignore_changes=ignore_changes,
            protect=protect,
            provider=request.provider or None,
            custom=custom,
            retain_on_delete=retain_on_delete,
        )

    def ReadResource(self, request: Any) -> Any:
        # StackReferences and `get` lookups arrive as reads.
        response = super().ReadResource(request)
        self._claim(response.urn)
        inputs = rpc.deserialize_properties(request.properties)
        self._record(request, response.urn, inputs, region=None, ignore_changes=[],
                     protect=False, custom=True)  # fmt: skip
        return response

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        self._claim(urn)
        response = super().RegisterResource(request)
        inputs = rpc.deserialize_properties(request.object)
        if request.type.startswith("pulumi:providers:") and isinstance(inputs.get("region"), str):
            self.plan_mocks.provider_regions[urn] = inputs["region"]
        region = (
            None
            if request.type.startswith("pulumi:")
            else self.plan_mocks.region_of(inputs, request.provider or None)
        )
        self._record(request, urn, inputs, region=region,
                     ignore_changes=list(request.ignoreChanges), protect=bool(request.protect),
                     custom=bool(request.custom),
                     retain_on_delete=bool(request.retainOnDelete))  # fmt: skip
        return response


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


@contextmanager
def _environment(name: str, value: str | None) -> Iterator[None]:
    previous = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _in_fresh_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a new thread: Pulumi keeps its state in context variables, which a new
    thread starts without, so each stack starts from a clean runtime."""
    result: dict[str, Any] = {}

    def target() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            result["value"] = fn()
        except BaseException as error:
            result["error"] = error
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    thread = threading.Thread(target=target, name="pulumi-simulation")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def simulate_stack(
    stack: StackFile,
    references: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    skip_replicas: tuple[str, ...] = (),
    program: Path = PROGRAM,
) -> StackResult:
    """Run the program for one stack under the mocks and return what it registered."""
    references = references or {}
    settings = stack.settings

    def run() -> StackResult:
        from pulumi.runtime.settings import SETTINGS
        from pulumi.runtime.stack import run_pulumi_func
        from pulumi.runtime.sync_await import _sync_await

        mocks = PlanMocks(settings, references)
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(
            mocks, project=PROJECT, stack=stack.name, preview=False, monitor=monitor
        )
        # The set of pending outputs defaults to one set shared by every context; a run that
        # failed would leave tasks of its closed event loop in it.
        SETTINGS.outputs = set()
        pulumi.runtime.set_all_config(pulumi_config(stack.config))

        def program_run() -> None:
            runpy.run_path(str(program), run_name="__main__")

        _sync_await(run_pulumi_func(program_run))
        root = pulumi.runtime.get_root_resource()
        exported = getattr(root, "outputs", {})
        outputs = _sync_await(pulumi.Output.from_input(exported).future()) or {}
        return StackResult(
            stack=stack.name,
            region=settings.region,
            role=settings.role.value,
            outputs=unwrap_secrets(dict(outputs)),
            resources=sorted(monitor.records.values(), key=lambda r: r.urn),
        )

    if str(program.parent) not in sys.path:
        sys.path.insert(0, str(program.parent))
    with (
        _working_directory(stack.path.parent),
        _environment(MISSING_STACKS_ENV, ",".join(skip_replicas) or None),
    ):
        return _in_fresh_thread(run)


def simulate_deployment(
    stacks: Mapping[str, StackFile],
    program: Path = PROGRAM,
    deployed: Mapping[str, Mapping[str, Any]] | None = None,
) -> DeploymentResult:
    """Simulate every stack in deploy order, each reading the outputs of those before it.

    ``deployed`` are the saved outputs of the stacks that exist already (what `ops up` last
    wrote): their outputs feed references until the stack's own pass runs, and the home
    stack's first pass leaves out only the replica stacks that are not among them.
    """
    deployed = deployed or {}
    order = deploy_order({name: f.settings for name, f in stacks.items()}, deployed=deployed)
    result = DeploymentResult(order=order, deployed=tuple(sorted(deployed)))
    outputs: dict[str, dict[str, Any]] = {name: dict(out) for name, out in deployed.items()}
    for step in order:
        simulated = simulate_stack(
            stacks[step.stack], outputs, skip_replicas=step.skip_replicas, program=program
        )
        outputs[step.stack] = simulated.outputs
        result.stacks[step.stack] = simulated
        result.passes.append((step, simulated))
    return result

"""Lambda functions the same way everywhere: shared code archives, one role each, logs, tracing.

Every function of a stack runs from the same two archives built by ``python -m ops build``
(built by ops/build.py; components/archives.py says where): the ``functions/`` package and a layer of pure-Python dependencies. Each
function gets a role of its own whose policy lists exact actions on this region's resources;
the few actions AWS offers no narrower resource for are in ``WILDCARD_ACTIONS``, with why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components import lifecycle
from components.alarms import alarm_when_above
from components.archives import DEPENDENCIES_ARCHIVE, FUNCTIONS_ARCHIVE, source_code_hash
from components.guards import WILDCARD_ACTIONS
from components.iam import service_role
from components.settings import PROJECT, Settings
from components.tags import tags
from functions.catalog import HandlerSpec

RUNTIME = "python3.12"
ARCHITECTURE = "arm64"

_VPC_ACTIONS = [a for a in WILDCARD_ACTIONS if a.startswith("ec2:")]
_TRACING_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


@dataclass(frozen=True)
class LambdaCode:
    """The archives every function of a stack runs from, and the layer built from one."""

    functions: pulumi.Archive
    functions_hash: str
    layer: aws.lambda_.LayerVersion


@dataclass(frozen=True)
class VpcPlacement:
    """Where VPC functions run: the private subnets, with the Lambda security group."""

    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]


@dataclass(frozen=True)
class FunctionArgs:
    """One function: which handler, with what environment, allowed to do what."""

    spec: HandlerSpec
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    statements: Sequence[Mapping[str, Any]] = ()
    vpc: VpcPlacement | None = None
    timeout: int = 30
    memory_size: int = 512
    kms_key_arn: pulumi.Input[str] | None = None
    # Where Lambda puts an asynchronous invocation that failed all its attempts (an SQS
    # queue the function's statements allow it to send to); None for functions invoked
    # synchronously only.
    dead_letter_queue_arn: pulumi.Input[str] | None = None


def lambda_code(name: str, settings: Settings, parent: pulumi.Resource) -> LambdaCode:
    """The shared archives of a stack; the dependencies become one layer."""
    for archive in (FUNCTIONS_ARCHIVE, DEPENDENCIES_ARCHIVE):
        if not archive.exists():
            raise FileNotFoundError(f"{archive} is missing: run `python -m ops build` first")
    layer = aws.lambda_.LayerVersion(
        f"{name}-dependencies",
        layer_name=f"{PROJECT}-{settings.stack}-dependencies",
        description="aws-lambda-powertools, pg8000 and what they need (pure Python)",
        code=pulumi.FileArchive(relative_to_project(DEPENDENCIES_ARCHIVE)),
        source_code_hash=source_code_hash(DEPENDENCIES_ARCHIVE),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return LambdaCode(
        functions=pulumi.FileArchive(relative_to_project(FUNCTIONS_ARCHIVE)),
        functions_hash=source_code_hash(FUNCTIONS_ARCHIVE),
        layer=layer,
    )


def relative_to_project(path: Path) -> str:
    """``path`` as the program should name it: relative to the project, where Pulumi runs."""
    # Relative to the project, as Pulumi runs the program there; absolute paths would make
    # the state differ from one checkout to the next.
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def function_name(settings: Settings, spec: HandlerSpec) -> str:
    """The function's name: project, stack and handler, within Lambda's 64 characters."""
    return f"{PROJECT}-{settings.stack}-{spec.name}".replace("_", "-")[:64]


class LambdaFunction(pulumi.ComponentResource):
    """A function with its own role, log group (with retention) and X-Ray tracing."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: Settings,
        code: LambdaCode,
        args: FunctionArgs,
        alarm_topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("active-active:components:LambdaFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        fname = function_name(settings, args.spec)

        log_group = lifecycle.log_group(f"{name}-logs", settings, f"/aws/lambda/{fname}", child)
        statements: list[Mapping[str, Any]] = [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": log_group.arn.apply(lambda arn: f"{arn}:*"),
            },
            {"Sid": "Tracing", "Effect": "Allow", "Action": _TRACING_ACTIONS, "Resource": "*"},
            *args.statements,
        ]
        if args.vpc is not None:
            statements.append(
                {"Sid": "VpcNetworking", "Effect": "Allow", "Action": _VPC_ACTIONS, "Resource": "*"}
            )
        self.role, policy = service_role(
            name,
            settings,
            "lambda.amazonaws.com",
            statements,
            child,
            description=f"{fname}: {args.spec.description}"[:1000],
        )

        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=fname,
            description=args.spec.description[:256],
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=args.spec.handler,
            code=code.functions,
            source_code_hash=code.functions_hash,
            layers=[code.layer.arn],
            timeout=args.timeout,
            memory_size=args.memory_size,
            kms_key_arn=args.kms_key_arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "POWERTOOLS_SERVICE_NAME": PROJECT,
                    "REGION_ROLE": settings.role.value,
                    **args.environment,
                }
            ),
            vpc_config=(
                aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=args.vpc.subnet_ids,
                    security_group_ids=[args.vpc.security_group_id],
                )
                if args.vpc is not None
                else None
            ),
            dead_letter_config=(
                aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=args.dead_letter_queue_arn)
                if args.dead_letter_queue_arn is not None
                else None
            ),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=log_group.name
            ),
            tags=tags(settings, fname),
            # The role's policy must exist before the first invocation, or the first events
            # fail on permissions.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]),
        )
        self.arn = self.function.arn
        self.name = self.function.name
        function_alarms(name, settings, self.function.name, alarm_topic_arn, child)
        self.register_outputs({"arn": self.arn, "name": self.name})


# Lambda's own metrics that mean a function is failing its callers, and when to page
# (CloudWatch's recommended alarms for Lambda: Errors and Throttles, threshold set by the
# workload): errors in 3 of 5 minutes, not one retried blip; any throttling over 5 minutes.
FUNCTION_ALARMS: dict[str, dict[str, Any]] = {
    "errors": {"metric_name": "Errors", "period": 60, "evaluation_periods": 5,
               "datapoints_to_alarm": 3},
    "throttles": {"metric_name": "Throttles", "period": 300, "evaluation_periods": 1},
}  # fmt: skip


def function_alarms(
    name: str,
    settings: Settings,
    function_name: pulumi.Input[str],
    alarm_topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> None:
    """A function's Errors and Throttles alarms (``<name>-errors``, ``<name>-throttles``)."""
    for label, metric in FUNCTION_ALARMS.items():
        alarm_when_above(
            f"{name}-{label}",
            settings,
            alarm_topic_arn,
            opts,
            alarm_description=f"{label} of a function: its callers get failures",
            namespace="AWS/Lambda",
            dimensions={"FunctionName": function_name},
            statistic="Sum",
            **metric,
        )

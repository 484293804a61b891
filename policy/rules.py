"""The rules of the policy pack, as plain functions over resources and their inputs.

`policy/__main__.py` wraps them for Pulumi's policy engine (`pulumi preview --policy-pack
policy`); `tests/policy` runs them over every simulated stack and over resources made bad on
purpose. Each rule returns what is wrong, each message saying what to change; an empty list
is a pass. A value that is unknown during a preview (an output not created yet) passes: it
cannot be judged, and `pulumi up` checks again with it known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.guards import IAM_ONLY_ROUTES, STATEFUL_TYPES, WILDCARD_ACTIONS

HOUSE_TAGS = ("service", "stack", "region", "Name")
PROD_LOG_RETENTION_DAYS = 90
PROD_BACKUP_RETENTION_DAYS = 7
MIN_PYTHON_MINOR = 12


class Unknown:
    """Stands for a value a preview does not know yet."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it: its type, name, inputs and whether it is protected."""

    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False
    urn: str = ""


@dataclass(frozen=True)
class PackConfig:
    """What a rule needs to know of the stack: its environment, the deployment's engine."""

    environment: str = "dev"
    # The Aurora engine version every stack must run; None: not checked.
    engine_version: str | None = None

    @property
    def prod(self) -> bool:
        """True where deletion protection, retention and `protect` are required."""
        return self.environment == "prod"


Check = Callable[[Resource, PackConfig], list[str]]
StackCheck = Callable[[Sequence[Resource], PackConfig], list[str]]


@dataclass(frozen=True)
class Rule:
    """A resource rule: its name, what it asks for, the types it applies to, its check."""

    name: str
    description: str
    types: frozenset[str]
    check: Check


@dataclass(frozen=True)
class StackRule:
    """A rule over all the resources of one stack."""

    name: str
    description: str
    check: StackCheck


@dataclass
class _Registry:
    rules: list[Rule] = field(default_factory=list)
    stack_rules: list[StackRule] = field(default_factory=list)


REGISTRY = _Registry()


def rule(name: str, description: str, *types: str) -> Callable[[Check], Check]:
    """Register a resource rule for ``types`` (every type when none is given)."""

    def register(check: Check) -> Check:
        REGISTRY.rules.append(Rule(name, description, frozenset(types), check))
        return check

    return register


def stack_rule(name: str, description: str) -> Callable[[StackCheck], StackCheck]:
    """Register a rule over a whole stack."""

    def register(check: StackCheck) -> StackCheck:
        REGISTRY.stack_rules.append(StackRule(name, description, check))
        return check

    return register


def known(value: Any) -> bool:
    """False for a value a preview does not know yet."""
    return not isinstance(value, Unknown)


def switched_off(props: Mapping[str, Any], key: str) -> bool:
    """True when a flag is known and not true (missing counts as off; unknown passes)."""
    value = props.get(key)
    return known(value) and value is not True


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- every resource -----------------------------------------------------------------------


@rule("house-tags", f"every taggable resource carries the tags {', '.join(HOUSE_TAGS)}")
def house_tags(resource: Resource, config: PackConfig) -> list[str]:
    """Tags say which service, stack and region own a resource, and its name."""
    if not resource.type.startswith("aws:") or not (
        "tags" in resource.props or "tagsAll" in resource.props
    ):
        return []
    tags = resource.props.get("tags")
    if not known(tags):
        return []
    missing = [t for t in HOUSE_TAGS if t not in (tags or {})]
    return [f"add the tags {', '.join(missing)} (components/tags.py)"] if missing else []


@rule(
    "protected-in-prod",
    "in prod, every stateful resource (STATEFUL_TYPES) is protected",
    *sorted(STATEFUL_TYPES),
)
def protected_in_prod(resource: Resource, config: PackConfig) -> list[str]:
    """A stateful resource in prod is deleted only by someone who unprotects it on purpose."""
    if config.prod and not resource.protect:
        return ["set protect=True (components/lifecycle.py `guarded`)"]
    return []


# -- logs, functions, IAM -----------------------------------------------------------------


@rule(
    "log-retention",
    "every log group expires its logs; 90 days in prod",
    "aws:cloudwatch/logGroup:LogGroup",
)
def log_retention(resource: Resource, config: PackConfig) -> list[str]:
    """Logs kept forever cost forever; prod keeps 90 days for investigations."""
    days = resource.props.get("retentionInDays")
    if not known(days):
        return []
    if not days:
        return ["set retentionInDays (components/lifecycle.py `log_group`)"]
    if config.prod and days < PROD_LOG_RETENTION_DAYS:
        return [f"keep prod logs {PROD_LOG_RETENTION_DAYS} days, not {days}"]
    return []


@rule(
    "lambda-runtime",
    f"every function runs Python 3.{MIN_PYTHON_MINOR}+ on arm64 with active tracing",
    "aws:lambda/function:Function",
)
def lambda_runtime(resource: Resource, config: PackConfig) -> list[str]:
    """One runtime and architecture everywhere: the layer is built for it, traces are on."""
    props, problems = resource.props, []
    runtime = props.get("runtime")
    if known(runtime):
        minor = str(runtime).removeprefix("python3.")
        if (
            not str(runtime).startswith("python3.")
            or not minor.isdigit()
            or int(minor) < MIN_PYTHON_MINOR
        ):
            problems.append(f"set runtime python3.{MIN_PYTHON_MINOR} or newer, not {runtime}")
    if known(props.get("architectures")) and props.get("architectures") != ["arm64"]:
        problems.append("set architectures to ['arm64'] (the layer is built for it)")
    tracing = props.get("tracingConfig")
    if known(tracing) and (tracing or {}).get("mode") != "Active":
        problems.append("set tracingConfig.mode to Active")
    return problems


def _statements(policy: Any) -> list[Mapping[str, Any]]:
    import json

    if not known(policy) or policy is None:
        return []
    document = json.loads(policy) if isinstance(policy, str) else policy
    if not isinstance(document, Mapping):
        return []
    statements = document.get("Statement", [])
    return [s for s in _listed(statements) if isinstance(s, Mapping)]


@rule(
    "iam-least-privilege",
    "no IAM statement allows every action of a service; Resource * only for the listed actions",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
)
def iam_least_privilege(resource: Resource, config: PackConfig) -> list[str]:
    """Wildcards only where AWS offers nothing narrower, each listed with why."""
    problems = []
    for statement in _statements(resource.props.get("policy")):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        actions = [a for a in _listed(statement.get("Action", [])) if isinstance(a, str)]
        broad = [a for a in actions if a == "*" or a.endswith(":*")]
        if broad:
            problems.append(f"name the actions instead of {', '.join(broad)}")
        if "*" in _listed(statement.get("Resource", [])):
            unlisted = sorted(set(actions) - set(WILDCARD_ACTIONS) - set(broad))
            if unlisted:
                problems.append(
                    f"scope {', '.join(unlisted)} to resource ARNs (Resource * is only for "
                    "components/guards.py WILDCARD_ACTIONS)"
                )
    return problems


@rule(
    "kms-through-a-service",
    "a role uses a KMS key only through a service of the key's own region (kms:ViaService)",
    "aws:iam/rolePolicy:RolePolicy",
)
def kms_through_a_service(resource: Resource, config: PackConfig) -> list[str]:
    """A role that may call KMS directly could decrypt anything encrypted with the key."""
    problems = []
    for statement in _statements(resource.props.get("policy")):
        actions = [a for a in _listed(statement.get("Action", [])) if isinstance(a, str)]
        if not any(a.startswith("kms:") for a in actions):
            continue
        via = (statement.get("Condition") or {}).get("StringEquals", {}).get("kms:ViaService")
        for key in _listed(statement.get("Resource", [])):
            region = key.split(":")[3] if isinstance(key, str) and key.count(":") >= 5 else None
            if not via or (region and not str(via).endswith(f".{region}.amazonaws.com")):
                problems.append(
                    f"add Condition StringEquals kms:ViaService <service>.{region or '<region>'}"
                    ".amazonaws.com to the statement on the key (components/lambdas.py kms_via)"
                )
    return problems


@rule(
    "secret-recovery-window",
    "dev deletes secrets at once (the stack can be made again); prod keeps them 30 days",
    "aws:secretsmanager/secret:Secret",
)
def secret_recovery_window(resource: Resource, config: PackConfig) -> list[str]:
    """A fixed-name secret kept for its window blocks the next create; prod wants the undo."""
    days = resource.props.get("recoveryWindowInDays")
    if not known(days):
        return []
    expected = 30 if config.prod else 0
    if days != expected:
        return [
            f"set recoveryWindowInDays {expected} in {config.environment} (components/lifecycle.py)"
        ]
    return []


# -- encryption and privacy ---------------------------------------------------------------


@rule(
    "encrypted-with-a-managed-key",
    "queues and topics are encrypted with the region's KMS key",
    "aws:sqs/queue:Queue",
    "aws:sns/topic:Topic",
)
def encrypted_messaging(resource: Resource, config: PackConfig) -> list[str]:
    """Messages at rest are encrypted with the key the region's policies scope."""
    key = resource.props.get("kmsMasterKeyId")
    return [] if (not known(key) or key) else ["set kmsMasterKeyId to the region's key ARN"]


@rule(
    "encrypted-tables",
    "every DynamoDB table and replica is encrypted with the region's KMS key",
    "aws:dynamodb/table:Table",
    "aws:dynamodb/tableReplica:TableReplica",
)
def encrypted_tables(resource: Resource, config: PackConfig) -> list[str]:
    """An AWS-owned key cannot be scoped or audited; the region's key can."""
    props = resource.props
    if resource.type.endswith("TableReplica"):
        key = props.get("kmsKeyArn")
        return [] if (not known(key) or key) else ["set kmsKeyArn to the region's key"]
    sse = props.get("serverSideEncryption")
    if not known(sse):
        return []
    if not (sse or {}).get("enabled") or not (sse or {}).get("kmsKeyArn"):
        return ["set serverSideEncryption {enabled: true, kmsKeyArn: the region's key}"]
    return []


@rule(
    "aurora-encrypted-with-iam-auth",
    "every Aurora cluster is encrypted and takes IAM database authentication",
    "aws:rds/cluster:Cluster",
)
def aurora_encrypted(resource: Resource, config: PackConfig) -> list[str]:
    """The Lambdas log in with IAM tokens; storage is encrypted with the region's key."""
    props, problems = resource.props, []
    if switched_off(props, "storageEncrypted"):
        problems.append("set storageEncrypted true, with the region's kmsKeyId")
    if switched_off(props, "iamDatabaseAuthenticationEnabled"):
        problems.append("set iamDatabaseAuthenticationEnabled true")
    return problems


@rule(
    "private-buckets",
    "every bucket's public access block blocks everything",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
)
def private_buckets(resource: Resource, config: PackConfig) -> list[str]:
    """Nothing in the lake is public."""
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [f for f in flags if switched_off(resource.props, f)]
    return [f"set {', '.join(off)} true"] if off else []


@rule(
    "iam-only-routes",
    "the internal write route and the write canary's route take IAM authorization",
    "aws:apigatewayv2/route:Route",
)
def iam_only_routes(resource: Resource, config: PackConfig) -> list[str]:
    """A forwarded write or a synthetic order from anyone would skip checks or payment."""
    key, auth = resource.props.get("routeKey"), resource.props.get("authorizationType")
    if not known(key) or key not in IAM_ONLY_ROUTES or not known(auth) or auth == "AWS_IAM":
        return []
    return [f"set authorizationType AWS_IAM on {key}: only the deployment's roles may call it"]


# -- prod durability ----------------------------------------------------------------------


@rule(
    "prod-deletion-protection",
    "in prod, Aurora clusters, the global cluster and every table refuse deletion",
    "aws:rds/cluster:Cluster",
    "aws:rds/globalCluster:GlobalCluster",
    "aws:dynamodb/table:Table",
    "aws:dynamodb/tableReplica:TableReplica",
)
def prod_deletion_protection(resource: Resource, config: PackConfig) -> list[str]:
    """AWS's own guard, under Pulumi's `protect`."""
    if not config.prod:
        return []
    key = (
        "deletionProtection" if resource.type.startswith("aws:rds") else "deletionProtectionEnabled"
    )
    return [f"set {key} true in prod"] if switched_off(resource.props, key) else []


@rule(
    "prod-backups",
    f"in prod, Aurora keeps {PROD_BACKUP_RETENTION_DAYS}+ days of backups",
    "aws:rds/cluster:Cluster",
)
def prod_backups(resource: Resource, config: PackConfig) -> list[str]:
    """A week of point-in-time restore for the system of record."""
    days = resource.props.get("backupRetentionPeriod")
    if not config.prod or not known(days):
        return []
    if (days or 0) < PROD_BACKUP_RETENTION_DAYS:
        return [f"set backupRetentionPeriod to {PROD_BACKUP_RETENTION_DAYS} or more in prod"]
    return []


@rule(
    "read-model-pitr",
    "the read model (the streamed table and each replica) can be restored to any point",
    "aws:dynamodb/table:Table",
    "aws:dynamodb/tableReplica:TableReplica",
)
def read_model_pitr(resource: Resource, config: PackConfig) -> list[str]:
    """Regional tables hold minutes-long records under a TTL; the read model is restorable."""
    props = resource.props
    if resource.type.endswith("TableReplica"):
        return (
            ["set pointInTimeRecovery true"] if switched_off(props, "pointInTimeRecovery") else []
        )
    if props.get("streamEnabled") is not True:
        return []
    pitr = props.get("pointInTimeRecovery")
    if known(pitr) and not (pitr or {}).get("enabled"):
        return ["set pointInTimeRecovery {enabled: true}"]
    return []


# -- the stack as a whole -----------------------------------------------------------------


def _of(resources: Iterable[Resource], type_: str) -> list[Resource]:
    return [r for r in resources if r.type == type_]


def _alarm_dimension(resources: Sequence[Resource], dimension: str) -> set[Any]:
    return {
        (r.props.get("dimensions") or {}).get(dimension)
        for r in _of(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")
        if known(r.props.get("dimensions"))
    }


@stack_rule(
    "region-complete",
    "every region has its read model (the table or its replica), an alarm topic and alarms",
)
def region_complete(resources: Sequence[Resource], config: PackConfig) -> list[str]:
    """A region missing one of these serves stale reads or fails silently."""
    problems = []
    tables = _of(resources, "aws:dynamodb/tableReplica:TableReplica") + [
        t for t in _of(resources, "aws:dynamodb/table:Table") if t.props.get("streamEnabled")
    ]
    if len(tables) != 1:
        problems.append(f"expected one read model table or replica, found {len(tables)}")
    if not _of(resources, "aws:sns/topic:Topic"):
        problems.append("add the region's alarm topic (components/alarms.py AlarmTopic)")
    alarms = _of(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")
    silent = [
        a.name for a in alarms if not (a.props.get("alarmActions") and a.props.get("okActions"))
    ]
    if not alarms:
        problems.append("add the region's alarms (components/alarms.py metric_alarm)")
    if silent:
        problems.append(
            "notify the region's alarm topic on alarm and on OK (components/alarms.py "
            f"metric_alarm): {', '.join(sorted(silent))}"
        )
    return problems


@stack_rule("every-function-and-queue-alarmed", "every function and every queue has an alarm")
def every_function_and_queue_alarmed(
    resources: Sequence[Resource], config: PackConfig
) -> list[str]:
    """Errors nobody is told of are found by customers."""
    functions = _alarm_dimension(resources, "FunctionName")
    queues = _alarm_dimension(resources, "QueueName")
    problems = []
    for fn in _of(resources, "aws:lambda/function:Function"):
        name = fn.props.get("name")
        if known(name) and name and name not in functions:
            problems.append(f"add an Errors alarm for the function {name}")
    for queue in _of(resources, "aws:sqs/queue:Queue"):
        name = queue.props.get("name")
        if known(name) and name and name not in queues:
            problems.append(f"add an alarm for the queue {name}")
    return problems


@stack_rule("one-engine-version", "every Aurora cluster runs the deployment's engine version")
def one_engine_version(resources: Sequence[Resource], config: PackConfig) -> list[str]:
    """Members of one global cluster share its engine version, or joining fails."""
    if config.engine_version is None:
        return []
    versions = {
        r.props.get("engineVersion")
        for r in _of(resources, "aws:rds/cluster:Cluster")
        + _of(resources, "aws:rds/globalCluster:GlobalCluster")
        if known(r.props.get("engineVersion"))
    }
    wrong = sorted(str(v) for v in versions if v != config.engine_version)
    if wrong:
        return [
            f"run Aurora PostgreSQL {config.engine_version} like every region, not {', '.join(wrong)}"
        ]
    return []


def violations(resources: Sequence[Resource], config: PackConfig) -> list[tuple[str, str, str]]:
    """Every (rule, resource name or stack, message) the resources break."""
    found = []
    for r in REGISTRY.rules:
        for resource in resources:
            if r.types and resource.type not in r.types:
                continue
            found += [(r.name, resource.name, message) for message in r.check(resource, config)]
    for s in REGISTRY.stack_rules:
        found += [(s.name, "stack", message) for message in s.check(resources, config)]
    return found

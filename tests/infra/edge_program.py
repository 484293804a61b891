"""A Pulumi program of the edge alone: RegionalEdge (and GlobalEntry) over stand-in inputs.

The components' other inputs (GlobalData's table, stream and database; WriteOrchestrator's
write function; the network's subnets) are plain values shaped like the real ones and named
after this stack's region, so tests can tell one region's resources from another's. The
stack exports the same edge outputs as the real program.
"""

import pulumi

from components.edge import EdgeData, RegionalEdge, RegionalEdgeArgs, WriteApi
from components.entry import GlobalEntry, GlobalEntryArgs
from components.lambdas import VpcPlacement, lambda_code
from components.settings import PROJECT, load_settings
from components.stack import StackRefs

ACCOUNT = "123456789012"

settings = load_settings()
refs = StackRefs(settings)
region, stack = settings.region, settings.stack
table = f"{PROJECT}-orders"  # the global table has one name in every region
table_arn = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}"
connections = f"{PROJECT}-{stack}-connections"
idempotency = f"{PROJECT}-{stack}-idempotency"
write_fn = f"{PROJECT}-{stack}-write-api"


class Root(pulumi.ComponentResource):
    """Parent of the shared Lambda layer, as a stack's own component would be."""

    def __init__(self) -> None:
        super().__init__("active-active:test:EdgeRoot", stack)


code = lambda_code(stack, settings, Root())
edge = RegionalEdge(
    stack,
    RegionalEdgeArgs(
        settings=settings,
        code=code,
        data=EdgeData(
            table_name=table,
            table_arn=table_arn,
            table_stream_arn=f"{table_arn}/stream/2026-01-01T00:00:00.000",
            connections_table_name=connections,
            connections_table_arn=f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{connections}",
            idempotency_table_name=idempotency,
            idempotency_table_arn=f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{idempotency}",
            kms_key_arn=f"arn:aws:kms:{region}:{ACCOUNT}:key/{stack}",
            db_reader_endpoint=f"{stack}.cluster-ro-abc.{region}.rds.amazonaws.com",
            db_cluster_resource_id=f"cluster-{stack.upper()}",
            db_name="orders",
            db_user="app",
        ),
        vpc=VpcPlacement(subnet_ids=[f"subnet-{stack}-a"], security_group_id=f"sg-{stack}"),
        write=WriteApi(
            function_arn=f"arn:aws:lambda:{region}:{ACCOUNT}:function:{write_fn}",
            function_name=write_fn,
            environment={"TABLE_NAME": table, "STATE_MACHINE_ARN": f"arn:{region}:saga"},
            statements=[],
        ),
        alarm_topic_arn=f"arn:aws:sns:{region}:{ACCOUNT}:{PROJECT}-{stack}-alarms",
        primary_page_token_secret_arn=(
            None
            if settings.is_home
            else refs.output(settings.home_stack or "", "pageTokenSecretArn")
        ),
    ),
)
if settings.is_home and settings.domain is not None:
    GlobalEntry(f"{stack}-entry", GlobalEntryArgs(settings))

pulumi.export("region", region)
pulumi.export("tableName", table)
pulumi.export("httpApiUrl", edge.http_api_url)
pulumi.export("internalWriteUrl", edge.internal_write_url)
pulumi.export("websocketUrl", edge.websocket_url)
pulumi.export("graphqlUrl", edge.graphql_url)
pulumi.export("healthCheckId", edge.health_check_id)
pulumi.export("pageTokenSecretArn", edge.page_token_secret_arn)

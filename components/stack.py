"""One region's stack: the components for its role, wired together, and its exports."""

from __future__ import annotations

from typing import Any

import pulumi

from components.alarms import AlarmTopic, AlarmTopicArgs
from components.aurora import APP_USERNAME, DATABASE_NAME
from components.canaries import RegionalCanaries, RegionalCanariesArgs
from components.data import GlobalData, GlobalDataArgs
from components.data_refs import PrimaryData, ReplicaStack
from components.edge import EdgeData, RegionalEdge, RegionalEdgeArgs, WriteApi
from components.entry import GlobalEntry, GlobalEntryArgs
from components.lambdas import VpcPlacement
from components.network import PeerNetwork, RegionalNetwork, RegionalNetworkArgs
from components.observability import (
    PeerRegion,
    RegionalObservability,
    RegionalObservabilityArgs,
    Watched,
)
from components.orchestrator import WriteData, WriteOrchestrator, WriteOrchestratorArgs
from components.settings import Settings, qualified_name, short_name


class StackRefs:
    """The StackReferences this stack reads, by the referenced stack's short name."""

    def __init__(self, settings: Settings):
        self.home_stack = settings.home_stack
        self.refs = {
            short_name(name): pulumi.StackReference(qualified_name(name))
            for name in settings.referenced_stacks()
        }

    def output(self, stack: str, key: str) -> pulumi.Output[Any]:
        """One output of a referenced stack; fails the deployment when the stack lacks it."""
        return self.refs[short_name(stack)].require_output(key)

    def primary_output(self, key: str) -> pulumi.Output[Any] | None:
        """One output of the primary stack; None in the primary itself."""
        return self.output(self.home_stack, key) if self.home_stack else None


def build(settings: Settings) -> dict[str, pulumi.Input[Any]]:
    """Build the stack for ``settings`` and return the outputs it exports.

    Every stack exports the same shape for its own region, so any stack can be a peer.
    """
    refs = StackRefs(settings)
    peers = tuple(
        PeerNetwork(
            stack=name,
            region=settings.peer(name).region,
            vpc_cidr=settings.peer(name).vpc_cidr,
            availability_zones=settings.peer(name).availability_zones,
            transit_gateway_id=refs.output(name, "transitGatewayId"),
            transit_gateway_route_table_id=refs.output(name, "transitGatewayRouteTableId"),
            private_route_table_ids=refs.output(name, "privateRouteTableIds"),
        )
        for name in settings.peer_stacks
    )
    network = RegionalNetwork(settings.stack, RegionalNetworkArgs(settings, peers))
    data = global_data(settings, refs, network)
    alarms = AlarmTopic(f"{settings.stack}-alarms", AlarmTopicArgs(settings, data.kms_key_arn))
    orchestrator = write_orchestrator(settings, refs, network, data, alarms)
    edge = regional_edge(settings, refs, network, data, orchestrator, alarms)
    canaries = RegionalCanaries(
        f"{settings.stack}-canaries",
        RegionalCanariesArgs(
            settings,
            alarms.arn,
            edge.http_api_url,
            data.table_name,
            data.kms_key_arn,
            edge.http_api.execution_arn if edge.has_write_routes else None,
        ),
    )
    observe(settings, refs, data, orchestrator, edge, alarms, canaries)
    if settings.is_home and settings.domain is not None:
        # The entry is global: a home stack that adopted it from a lost one (`ops rehome`
        # moves it in whole) keeps the lost stack's name for it, so its URNs still match.
        owner = settings.adopted.from_stack if settings.adopted else settings.stack
        GlobalEntry(f"{owner}-entry", GlobalEntryArgs(settings))
    return {
        "region": settings.region,
        "role": settings.role.value,
        "vpcCidr": settings.vpc_cidr,
        "vpcId": network.vpc_id,
        "privateSubnetIds": network.private_subnet_ids,
        "privateRouteTableIds": network.private_route_table_ids,
        "lambdaSecurityGroupId": network.lambda_security_group_id,
        "dbSecurityGroupId": network.db_security_group_id,
        "transitGatewayId": network.transit_gateway_id,
        "transitGatewayRouteTableId": network.transit_gateway_route_table_id,
        **data.exports(),
        "stateMachineArn": orchestrator.state_machine_arn,
        "eventBusArn": orchestrator.event_bus_arn,
        "eventBusName": orchestrator.event_bus_name,
        "writeFunctionArn": orchestrator.write_function_arn,
        "httpApiUrl": edge.http_api_url,
        "internalWriteUrl": edge.internal_write_url,
        "websocketUrl": edge.websocket_url,
        "graphqlUrl": edge.graphql_url,
        "healthCheckId": edge.health_check_id,
        "pageTokenSecretArn": edge.page_token_secret_arn,
    }


def observe(
    settings: Settings,
    refs: StackRefs,
    data: GlobalData,
    orchestrator: WriteOrchestrator,
    edge: RegionalEdge,
    alarms: AlarmTopic,
    canaries: RegionalCanaries,
) -> RegionalObservability:
    """The region's alarms and dashboards over what the other components made."""
    watched = Watched(
        db_cluster_arn=data.db_cluster_arn,
        table_name=data.table_name,
        http_api_id=edge.http_api.id,
        websocket_api_id=edge.websocket_api.id,
        graphql_api_id=edge.graphql_api.id,
        state_machine_arn=orchestrator.state_machine_arn,
        event_bus_name=orchestrator.event_bus_name,
        rule_names=tuple(orchestrator.rule_names),
        lake_bucket_name=data.lake_bucket_name,
        replication_rules=tuple(data.replication_rules),
        receiving_regions=tuple(dict.fromkeys(p.region for p in settings.peers)),
        dead_letter_queue_names=(
            *orchestrator.dead_letter_queue_names,
            *edge.dead_letter_queue_names,
        ),
        canary_names=tuple(canaries.canary_names),
        health_check_id=edge.health_check_id,
    )
    # The home stack shows every replica stack it can reference (those that exist).
    peers = tuple(
        PeerRegion(
            settings.peer(name).region,
            refs.output(name, "httpApiUrl"),
            refs.output(name, "dbClusterArn"),
        )
        for name in settings.replica_stacks
    )
    return RegionalObservability(
        f"{settings.stack}-observability",
        RegionalObservabilityArgs(settings, alarms.arn, watched, peers),
    )


def regional_edge(
    settings: Settings,
    refs: StackRefs,
    network: RegionalNetwork,
    data: GlobalData,
    orchestrator: WriteOrchestrator,
    alarms: AlarmTopic,
) -> RegionalEdge:
    """The public APIs of this region over its own data; writes go to the write function."""
    return RegionalEdge(
        settings.stack,
        RegionalEdgeArgs(
            settings=settings,
            # One code archive and dependency layer per stack, shared with the write path.
            code=orchestrator.code,
            data=EdgeData(
                table_name=data.table_name,
                table_arn=data.table_arn,
                table_stream_arn=data.table_stream_arn,
                connections_table_name=data.connections_table_name,
                connections_table_arn=data.connections_table_arn,
                idempotency_table_name=data.idempotency_table_name,
                idempotency_table_arn=data.idempotency_table_arn,
                kms_key_arn=data.kms_key_arn,
                db_reader_endpoint=data.db_reader_endpoint,
                db_cluster_resource_id=data.db_cluster_resource_id,
                db_name=DATABASE_NAME,
                db_user=APP_USERNAME,
            ),
            vpc=VpcPlacement(network.private_subnet_ids, network.lambda_security_group_id),
            write=WriteApi(
                function_arn=orchestrator.write_function_arn,
                function_name=orchestrator.write_function_name,
                environment=orchestrator.write_environment,
                statements=orchestrator.write_statements,
            ),
            alarm_topic_arn=alarms.arn,
            health_check_topic_arn=alarms.health_check_arn,
            primary_page_token_secret_arn=refs.primary_output("pageTokenSecretArn"),
        ),
    )


def write_orchestrator(
    settings: Settings,
    refs: StackRefs,
    network: RegionalNetwork,
    data: GlobalData,
    alarms: AlarmTopic,
) -> WriteOrchestrator:
    """The write path: a secondary forwards order requests to the primary's bus."""
    return WriteOrchestrator(
        settings.stack,
        WriteOrchestratorArgs(
            settings=settings,
            vpc=VpcPlacement(network.private_subnet_ids, network.lambda_security_group_id),
            data=WriteData(
                kms_key_arn=data.kms_key_arn,
                table_name=data.table_name,
                db_cluster_resource_id=data.db_cluster_resource_id,
                db_endpoint=data.db_writer_endpoint,
                db_name=DATABASE_NAME,
                db_user=APP_USERNAME,
                db_secret_arn=data.db_secret_arn,
                lake_bucket_arn=data.lake_bucket_arn,
                global_cluster_id=data.global_cluster_id,
                db_cluster_arn=data.db_cluster_arn,
                database_ready=(data.db_instance,),
            ),
            alarm_topic_arn=alarms.arn,
            primary_event_bus_arn=refs.primary_output("eventBusArn"),
            crm_url=settings.on_prem.crm_url if settings.on_prem else None,
            # The primary's regional internal route, used until the control record exists.
            primary_write_url=refs.primary_output("internalWriteUrl"),
        ),
    )


def global_data(settings: Settings, refs: StackRefs, network: RegionalNetwork) -> GlobalData:
    """The data layer: a secondary reads the primary's outputs; the primary, once the replica
    stacks exist, reads each one's region, lake bucket and key, where its lake and master
    secret replicate to."""
    primary = None
    if settings.home_stack:
        primary = PrimaryData(
            global_cluster_id=refs.output(settings.home_stack, "globalClusterId"),
            table_name=refs.output(settings.home_stack, "tableName"),
            table_arn=refs.output(settings.home_stack, "tableArn"),
            db_secret_arn=refs.output(settings.home_stack, "dbSecretArn"),
        )
    replicas = tuple(
        ReplicaStack(
            stack=name,
            region=settings.peer(name).region,
            bucket_arn=refs.output(name, "lakeBucketArn"),
            kms_key_arn=refs.output(name, "kmsKeyArn"),
        )
        for name in settings.replica_stacks
    )
    return GlobalData(
        settings.stack,
        GlobalDataArgs(
            settings=settings,
            private_subnet_ids=network.private_subnet_ids,
            db_security_group_id=network.db_security_group_id,
            primary=primary,
            replica_stacks=replicas,
        ),
    )

"""GlobalData in the simulated stacks: the Aurora global database, the DynamoDB global table,
the regional tables and the lake house, as a deployment of one stack per region would make them.

The docs/pitfalls.md items these tests guard are named in each test's docstring.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.orders import read_model
from ops.deploy import destroy_order
from ops.simulate import DeploymentResult, Resource, StackResult, plain, simulate_stack
from ops.stackfiles import read_stack_files
from tests.infra.conftest import Simulate
from tests.support.deployments import PROJECT_DIR, generated_configs, write_stack_files
from tests.support.plan import (
    ATHENA_WORKGROUP,
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_LIFECYCLE,
    BUCKET_OWNERSHIP,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_REPLICATION,
    BUCKET_VERSIONING,
    DB_CLUSTER,
    DB_CLUSTER_INSTANCE,
    DB_SUBNET_GROUP,
    GLOBAL_CLUSTER,
    GLOBAL_DATA,
    GLUE_TABLE,
    KMS_KEY,
    RANDOM_PASSWORD,
    ROLE_POLICY,
    SECRET,
    SECRET_VERSION,
    TABLE,
    TABLE_REPLICA,
    primary,
    resources_of,
    secondaries,
    statements,
)

DATA_OUTPUTS = (
    "globalClusterId", "dbClusterArn", "dbWriterEndpoint", "dbReaderEndpoint", "dbSecretArn",
    "tableName", "tableArn", "tableStreamArn", "connectionsTableName", "idempotencyTableName",
    "lakeBucketName", "lakeBucketArn", "kmsKeyArn",
)  # fmt: skip
SECONDARIES = ("secondary", "secondary-ap")


def data(stack: StackResult, type_: str) -> Resource:
    """The one resource of ``type_`` in the stack's GlobalData component."""
    [component] = stack.of_type(GLOBAL_DATA)
    found = [r for r in stack.of_type(type_) if r.parent == component.urn]
    assert len(found) == 1, f"{stack.stack}: {len(found)} {type_} in GlobalData"
    return found[0]


def on_bucket(stack: StackResult, type_: str, bucket: Resource) -> Resource:
    """The one resource of ``type_`` that configures ``bucket``."""
    found = [r for r in stack.of_type(type_) if r.inputs.get("bucket") == bucket.outputs["id"]]
    assert len(found) == 1, f"{stack.stack}: {len(found)} {type_} on {bucket.name}"
    return found[0]


# Aurora ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SECONDARIES)
def test_every_secondary_joins_the_primarys_global_cluster_without_credentials(
    example_deployment: DeploymentResult, name: str
) -> None:
    """docs/pitfalls.md item 1: a cross-region replica cluster must carry no master credentials."""
    # Given a secondary simulated after the primary
    stack = example_deployment.stacks[name]

    # Then it has exactly one cluster, in the global cluster the primary exported
    cluster = stack.one(DB_CLUSTER)
    assert (
        cluster.inputs["globalClusterIdentifier"]
        == primary(example_deployment).outputs["globalClusterId"]
    )
    # And AWS would not answer "Cannot specify password for cross region replication cluster"
    assert "masterUsername" not in cluster.inputs
    assert "masterPassword" not in cluster.inputs


def test_no_cluster_asks_for_a_managed_master_password_and_the_primary_keeps_it_in_a_secret(
    example_deployment: DeploymentResult,
) -> None:
    """docs/pitfalls.md item 2: managed master passwords are unsupported for global members."""
    # Given every stack of the example deployment
    stacks = list(example_deployment.stacks.values())

    # Then no cluster asks AWS to manage its password, and every one allows IAM auth
    for stack in stacks:
        cluster = data(stack, DB_CLUSTER)
        assert not cluster.inputs.get("manageMasterUserPassword"), stack.stack
        assert cluster.inputs["iamDatabaseAuthenticationEnabled"] is True, stack.stack

    # And the primary's generated password reaches the cluster and its secret only as secrets
    home_stack = primary(example_deployment)
    assert plain(data(home_stack, DB_CLUSTER).inputs["masterPassword"]) == "[secret]"
    version = data(home_stack, SECRET_VERSION)
    assert plain(version.inputs["secretString"]) == "[secret]"
    assert version.inputs["secretId"] == data(home_stack, SECRET).outputs["id"]
    assert home_stack.outputs["dbSecretArn"] == data(home_stack, SECRET).outputs["arn"]


@pytest.mark.parametrize("name", SECONDARIES)
def test_secondary_clusters_ignore_the_diffs_that_would_detach_them(
    example_deployment: DeploymentResult, name: str
) -> None:
    """docs/pitfalls.md item 3: ignore_changes as the pulumi-aws GlobalCluster docs advise."""
    cluster = data(example_deployment.stacks[name], DB_CLUSTER)

    assert {"globalClusterIdentifier", "replicationSourceIdentifier", "engineVersion"} <= set(
        cluster.ignore_changes
    )


def test_engine_upgrades_go_through_the_global_cluster_not_the_primary_cluster(
    example_deployment: DeploymentResult,
) -> None:
    """docs/pitfalls.md item 3: the GlobalCluster upgrades its members; clusters ignore the version."""
    stack = primary(example_deployment)

    assert data(stack, GLOBAL_CLUSTER).inputs["engineVersion"] == "16.6"
    assert "engineVersion" in data(stack, DB_CLUSTER).ignore_changes


def test_secondaries_are_destroyed_before_the_primary_and_leave_the_global_cluster_first(
    example_deployment: DeploymentResult,
) -> None:
    """docs/pitfalls.md item 4: "please remove it from globalcluster first" on destroy."""
    # When the deployment is destroyed
    order = destroy_order(example_deployment.order)

    # Then every secondary goes before the primary
    assert order[-1] == "primary"
    assert set(order[:-1]) == set(SECONDARIES)
    # And each secondary's cluster records its global cluster, so that deleting it removes it
    # from the global cluster first; the global cluster itself drops any member left over
    for stack in secondaries(example_deployment):
        assert data(stack, DB_CLUSTER).inputs["globalClusterIdentifier"]
    assert data(primary(example_deployment), GLOBAL_CLUSTER).inputs["forceDestroy"] is True


def test_global_members_default_to_half_an_acu_and_never_auto_pause(
    five_region_deployment: DeploymentResult,
) -> None:
    """docs/pitfalls.md item 5: 0.5 ACU by default; 0 only where the config asks for it."""
    # Given stacks whose files have no `database` key at all (the examples set 0.5 explicitly,
    # so they would not notice a wrong default)
    assert not any("active-active:database" in c for c in generated_configs(5).values())

    # Then every cluster gets the default
    for stack in five_region_deployment.stacks.values():
        scaling = data(stack, DB_CLUSTER).inputs["serverlessv2ScalingConfiguration"]

        assert scaling["minCapacity"] == 0.5, stack.stack
        assert "secondsUntilAutoPause" not in scaling, stack.stack


def test_zero_acu_and_the_auto_pause_delay_apply_only_to_the_stack_that_asks(
    simulate: Simulate,
) -> None:
    """docs/pitfalls.md item 5: auto-pause is opt-in per region, with its delay."""
    # Given a deployment where only secondary-1 asks for 0 ACU
    configs = generated_configs(3)
    configs["secondary-1"]["active-active:database"] = {
        "minCapacity": 0,
        "maxCapacity": 2,
        "engineVersion": "16.6",
        "secondsUntilAutoPause": 900,
    }

    # When it is simulated
    deployment = simulate(configs)

    # Then that stack's cluster scales to 0 and pauses after 900 seconds; the others do not
    paused = data(deployment.stacks["secondary-1"], DB_CLUSTER).inputs[
        "serverlessv2ScalingConfiguration"
    ]
    assert paused == {"minCapacity": 0.0, "maxCapacity": 2.0, "secondsUntilAutoPause": 900}
    for name in ("primary", "secondary-2"):
        scaling = data(deployment.stacks[name], DB_CLUSTER).inputs[
            "serverlessv2ScalingConfiguration"
        ]
        assert scaling["minCapacity"] == 0.5
        assert "secondsUntilAutoPause" not in scaling


def test_every_stack_exports_what_a_failover_needs_for_its_own_region(
    example_deployment: DeploymentResult,
) -> None:
    """docs/pitfalls.md item 6: an unplanned failover names a surviving region's cluster and the
    global cluster, so every stack exports both (the same global cluster everywhere)."""
    global_ids = {s.outputs["globalClusterId"] for s in example_deployment.stacks.values()}
    assert global_ids == {data(primary(example_deployment), GLOBAL_CLUSTER).outputs["id"]}

    for stack in example_deployment.stacks.values():
        arn = stack.outputs["dbClusterArn"]
        assert arn == data(stack, DB_CLUSTER).outputs["arn"]
        assert arn.startswith(f"arn:aws:rds:{stack.region}:")


@pytest.mark.parametrize("name", SECONDARIES)
def test_every_secondary_has_a_serverless_reader_in_its_cluster(
    example_deployment: DeploymentResult, name: str
) -> None:
    stack = example_deployment.stacks[name]

    instance = data(stack, DB_CLUSTER_INSTANCE)

    assert instance.inputs["instanceClass"] == "db.serverless"
    assert instance.inputs["clusterIdentifier"] == data(stack, DB_CLUSTER).outputs["id"]
    assert instance.inputs["publiclyAccessible"] is False


def test_every_cluster_is_encrypted_with_its_own_regions_key(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        cluster = data(stack, DB_CLUSTER)
        key = data(stack, KMS_KEY)

        assert cluster.inputs["storageEncrypted"] is True
        assert cluster.inputs["kmsKeyId"] == key.outputs["arn"] == stack.outputs["kmsKeyArn"]
        assert key.region == stack.region
        assert key.inputs["enableKeyRotation"] is True


def test_clusters_sit_in_the_private_subnets_behind_the_database_security_group(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        cluster = data(stack, DB_CLUSTER)
        subnets = data(stack, DB_SUBNET_GROUP)

        assert cluster.inputs["dbSubnetGroupName"] == subnets.outputs["name"]
        assert subnets.inputs["subnetIds"] == stack.outputs["privateSubnetIds"]
        assert cluster.inputs["vpcSecurityGroupIds"] == [stack.outputs["dbSecurityGroupId"]]


@pytest.fixture(scope="module")
def prod_deployment(tmp_path_factory: pytest.TempPathFactory) -> DeploymentResult:
    from ops.simulate import simulate_deployment

    directory = write_stack_files(
        tmp_path_factory.mktemp("prod"), generated_configs(2, environment="prod")
    )
    return simulate_deployment(read_stack_files(directory))


def test_prod_protects_every_cluster_and_table_from_deletion(
    prod_deployment: DeploymentResult,
) -> None:
    for stack in prod_deployment.stacks.values():
        assert data(stack, DB_CLUSTER).inputs["deletionProtection"] is True, stack.stack
        for table in [*stack.of_type(TABLE), *stack.of_type(TABLE_REPLICA)]:
            assert table.inputs["deletionProtectionEnabled"] is True, table.name
    assert data(primary(prod_deployment), GLOBAL_CLUSTER).inputs["deletionProtection"] is True
    assert data(primary(prod_deployment), DB_CLUSTER).inputs["skipFinalSnapshot"] is False


def test_dev_leaves_deletion_protection_off_so_the_stacks_can_be_destroyed(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        assert data(stack, DB_CLUSTER).inputs["deletionProtection"] is False, stack.stack
    assert data(primary(example_deployment), GLOBAL_CLUSTER).inputs["deletionProtection"] is False


def test_write_forwarding_is_on_only_where_the_config_asks(simulate: Simulate) -> None:
    # Given three regions where only secondary-2 asks for global write forwarding
    configs = generated_configs(3)
    configs["secondary-2"]["active-active:writeForwarding"] = True

    deployment = simulate(configs)

    assert (
        data(deployment.stacks["secondary-2"], DB_CLUSTER).inputs["enableGlobalWriteForwarding"]
        is True
    )
    assert (
        "enableGlobalWriteForwarding"
        not in data(deployment.stacks["secondary-1"], DB_CLUSTER).inputs
    )


# DynamoDB -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SECONDARIES)
def test_every_secondary_owns_one_replica_of_the_primarys_table_and_no_table_with_replicas(
    example_deployment: DeploymentResult, name: str
) -> None:
    """docs/pitfalls.md item 7: Table.replicas and TableReplica are mutually exclusive."""
    stack = example_deployment.stacks[name]

    replica = stack.one(TABLE_REPLICA)

    assert replica.inputs["globalTableArn"] == primary(example_deployment).outputs["tableArn"]
    assert replica.inputs["kmsKeyArn"] == stack.outputs["kmsKeyArn"]
    assert replica.inputs["pointInTimeRecovery"] is True
    assert not [t for t in stack.of_type(TABLE) if t.inputs.get("replicas")]


def test_the_primary_table_ignores_replicas_and_declares_none(
    example_deployment: DeploymentResult,
) -> None:
    """docs/pitfalls.md item 7: otherwise the primary's next update deletes the replicas."""
    table = global_table(primary(example_deployment))

    assert "replicas" in table.ignore_changes
    assert not table.inputs.get("replicas")


def global_table(stack: StackResult) -> Resource:
    found = [t for t in stack.of_type(TABLE) if t.outputs["name"] == stack.outputs["tableName"]]
    assert len(found) == 1
    return found[0]


def test_the_primary_table_sets_its_stream_explicitly(example_deployment: DeploymentResult) -> None:
    """docs/pitfalls.md item 8: an implicit stream setting gives a perpetual diff."""
    table = global_table(primary(example_deployment))

    assert table.inputs["streamEnabled"] is True
    assert table.inputs["streamViewType"] == "NEW_AND_OLD_IMAGES"


def test_the_primary_table_is_on_demand_encrypted_recoverable_and_expires_items(
    example_deployment: DeploymentResult,
) -> None:
    stack = primary(example_deployment)
    table = global_table(stack)

    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["pointInTimeRecovery"]["enabled"] is True
    assert table.inputs["serverSideEncryption"] == {
        "enabled": True,
        "kmsKeyArn": stack.outputs["kmsKeyArn"],
    }
    assert table.inputs["ttl"] == {"attributeName": read_model.TTL_ATTRIBUTE, "enabled": True}


def test_the_table_key_schema_is_the_one_the_functions_use(
    example_deployment: DeploymentResult,
) -> None:
    table = global_table(primary(example_deployment))

    assert table.inputs["hashKey"] == read_model.PARTITION_KEY
    assert table.inputs["rangeKey"] == read_model.SORT_KEY
    assert [(a["name"], a["type"]) for a in table.inputs["attributes"]] == list(
        read_model.KEY_ATTRIBUTES
    )


@pytest.mark.parametrize("name", SECONDARIES)
def test_every_secondary_exports_its_own_replicas_stream(
    example_deployment: DeploymentResult, name: str
) -> None:
    """docs/pitfalls.md item 9: TableReplica has no stream ARN; the stack looks it up locally."""
    stack = example_deployment.stacks[name]
    table_name = primary(example_deployment).outputs["tableName"]

    assert stack.outputs["tableName"] == table_name
    assert stack.outputs["tableStreamArn"].startswith(
        f"arn:aws:dynamodb:{stack.region}:123456789012:table/{table_name}/stream/"
    )
    assert stack.outputs["tableArn"].startswith(f"arn:aws:dynamodb:{stack.region}:")


def test_every_region_has_its_own_connections_and_idempotency_tables(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        tables = {t.outputs["name"]: t for t in stack.of_type(TABLE)}
        connections = tables[stack.outputs["connectionsTableName"]]
        idempotency = tables[stack.outputs["idempotencyTableName"]]

        assert connections.region == idempotency.region == stack.region
        assert connections.inputs["hashKey"] == read_model.CONNECTIONS_PARTITION_KEY
        [index] = connections.inputs["globalSecondaryIndexes"]
        assert index["name"] == read_model.CONNECTIONS_CUSTOMER_INDEX
        assert index["keySchemas"] == [
            {"attributeName": read_model.CONNECTIONS_CUSTOMER_ATTRIBUTE, "keyType": "HASH"}
        ]
        assert connections.inputs["ttl"]["attributeName"] == read_model.TTL_ATTRIBUTE
        assert idempotency.inputs["hashKey"] == read_model.IDEMPOTENCY_PARTITION_KEY
        assert idempotency.inputs["ttl"] == {
            "attributeName": read_model.IDEMPOTENCY_TTL_ATTRIBUTE,
            "enabled": True,
        }
        for table in (connections, idempotency):
            assert not table.inputs.get("replicas")
            assert table.inputs["serverSideEncryption"]["kmsKeyArn"] == stack.outputs["kmsKeyArn"]


# Lake house -----------------------------------------------------------------------------------


def test_every_bucket_is_a_v7_bucket_with_no_deprecated_v2_resources(
    example_deployment: DeploymentResult,
) -> None:
    """docs/pitfalls.md item 15: s3.BucketV2 and the Bucket*V2 helpers are deprecated in v7."""
    for stack in example_deployment.stacks.values():
        s3_types = {r.type for r in stack.resources if r.type.startswith("aws:s3/")}

        assert BUCKET in s3_types
        assert not [t for t in s3_types if t.endswith("V2")], stack.stack


def test_every_bucket_is_versioned_encrypted_private_and_tls_only(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        for bucket in stack.of_type(BUCKET):
            versioning = on_bucket(stack, BUCKET_VERSIONING, bucket)
            assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"

            [rule] = on_bucket(stack, BUCKET_ENCRYPTION, bucket).inputs["rules"]
            default = rule["applyServerSideEncryptionByDefault"]
            assert default["sseAlgorithm"] == "aws:kms"
            assert default["kmsMasterKeyId"] == stack.outputs["kmsKeyArn"]

            block = on_bucket(stack, BUCKET_PUBLIC_ACCESS_BLOCK, bucket).inputs
            flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls")
            assert all(block[f] is True for f in (*flags, "restrictPublicBuckets"))

            ownership = on_bucket(stack, BUCKET_OWNERSHIP, bucket).inputs["rule"]
            assert ownership["objectOwnership"] == "BucketOwnerEnforced"

            assert any(
                s["Effect"] == "Deny"
                and s["Principal"] == "*"
                and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                and f"{bucket.outputs['arn']}/*" in s["Resource"]
                for s in statements(on_bucket(stack, BUCKET_POLICY, bucket))
            )


def test_every_lake_expires_noncurrent_versions(example_deployment: DeploymentResult) -> None:
    for stack in example_deployment.stacks.values():
        bucket = data(stack, BUCKET)
        rules = on_bucket(stack, BUCKET_LIFECYCLE, bucket).inputs["rules"]

        assert any(r.get("noncurrentVersionExpiration", {}).get("noncurrentDays") for r in rules)


def test_the_lake_is_queryable_in_every_region_from_events_with_encrypted_results(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        bucket = stack.outputs["lakeBucketName"]
        table = data(stack, GLUE_TABLE)
        workgroup = data(stack, ATHENA_WORKGROUP).inputs["configuration"]

        assert table.inputs["storageDescriptor"]["location"] == f"s3://{bucket}/events/"
        assert [k["name"] for k in table.inputs["partitionKeys"]] == ["dt"]
        assert workgroup["enforceWorkgroupConfiguration"] is True
        results = workgroup["resultConfiguration"]
        assert results["outputLocation"] == f"s3://{bucket}/athena/"
        assert results["encryptionConfiguration"] == {
            "encryptionOption": "SSE_KMS",
            "kmsKeyArn": stack.outputs["kmsKeyArn"],
        }


def test_the_converge_pass_replicates_to_every_replica_stack_after_versioning(
    example_deployment: DeploymentResult,
) -> None:
    """docs/pitfalls.md item 14: one replication configuration, after versioning, to existing
    destinations."""
    # Given the primary's converge pass
    stack = primary(example_deployment)
    bucket = data(stack, BUCKET)

    # Then it has one replication configuration on its lake bucket
    replication = on_bucket(stack, BUCKET_REPLICATION, bucket)
    assert len(stack.of_type(BUCKET_REPLICATION)) == 1
    # With one rule per replica stack, to that stack's bucket, encrypted with its key
    rules = {rule["id"]: rule for rule in replication.inputs["rules"]}
    assert set(rules) == {f"to-{name}" for name in SECONDARIES}
    for name in SECONDARIES:
        replica = example_deployment.stacks[name].outputs
        rule = rules[f"to-{name}"]
        assert rule["status"] == "Enabled"
        assert rule["destination"]["bucket"] == replica["lakeBucketArn"]
        assert rule["destination"]["encryptionConfiguration"] == {
            "replicaKmsKeyId": replica["kmsKeyArn"]
        }
        assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert len({rule["priority"] for rule in rules.values()}) == len(rules)
    # And it waits for versioning on its own bucket
    assert on_bucket(stack, BUCKET_VERSIONING, bucket).urn in replication.depends_on


def test_the_replication_role_reaches_only_these_buckets_and_keys(
    example_deployment: DeploymentResult,
) -> None:
    stack = primary(example_deployment)
    replicas = [example_deployment.stacks[name].outputs for name in SECONDARIES]
    policy = data(stack, ROLE_POLICY)

    resources = resources_of(statements(policy))

    allowed = {stack.outputs["lakeBucketArn"], stack.outputs["kmsKeyArn"]}
    allowed |= {f"{stack.outputs['lakeBucketArn']}/*"}
    allowed |= {f"{r['lakeBucketArn']}/*" for r in replicas} | {r["kmsKeyArn"] for r in replicas}
    assert set(resources) == allowed
    assert "*" not in resources


def test_the_primarys_first_pass_replicates_nothing(tmp_path: Path) -> None:
    """docs/pitfalls.md item 14: the destinations do not exist yet on the first pass."""
    # Given the example primary on its first pass, before any replica stack exists
    stacks = read_stack_files(PROJECT_DIR)

    # When it is simulated with no referenced stacks
    first = simulate_stack(stacks["primary"], {}, skip_replicas=("secondary", "secondary-ap"))

    # Then it has no replication configuration and still exports its lake
    assert first.of_type(BUCKET_REPLICATION) == []
    assert first.outputs["lakeBucketArn"].startswith("arn:aws:s3:::")
    # And its master secret has no replica in a region whose key does not exist yet
    assert not data(first, SECRET).inputs.get("replicas")


def test_the_master_secret_is_replicated_to_every_replica_stack_with_that_regions_key(
    example_deployment: DeploymentResult,
) -> None:
    # Given the primary as of its converge pass, and the replica stacks it names
    secret = data(primary(example_deployment), SECRET)
    replicas = [example_deployment.stacks[name] for name in SECONDARIES]

    # Then its master secret has a replica in each of their regions, encrypted with their key
    assert sorted(secret.inputs["replicas"], key=lambda r: r["region"]) == sorted(
        ({"region": r.region, "kmsKeyId": r.outputs["kmsKeyArn"]} for r in replicas),
        key=lambda r: r["region"],
    )


@pytest.mark.parametrize("name", SECONDARIES)
def test_every_secondary_exports_its_own_regions_replica_of_the_master_secret(
    example_deployment: DeploymentResult, name: str
) -> None:
    # Given the primary's master secret and a secondary
    primary_arn = primary(example_deployment).outputs["dbSecretArn"]
    stack = example_deployment.stacks[name]

    # Then the secondary's dbSecretArn is the same secret, in the secondary's own region,
    # which is the ARN Secrets Manager gives the replica there
    arn = stack.outputs["dbSecretArn"].split(":")
    assert arn[3] == stack.region != primary_arn.split(":")[3]
    assert arn[:3] + arn[4:] == primary_arn.split(":")[:3] + primary_arn.split(":")[4:]


def test_secondaries_replicate_no_bucket(example_deployment: DeploymentResult) -> None:
    for stack in secondaries(example_deployment):
        assert stack.of_type(BUCKET_REPLICATION) == []


# Secrets and outputs --------------------------------------------------------------------------


def test_no_secret_value_appears_in_plain_text_in_any_resource_input(
    example_deployment: DeploymentResult,
) -> None:
    # Given the master password the plan generated
    password = data(primary(example_deployment), RANDOM_PASSWORD).outputs["result"]
    password = plain(password) if not isinstance(password, str) else password
    assert isinstance(password, str) and len(password) > 8

    # Then no resource input of any stack shows it, once secrets are masked
    for stack in example_deployment.stacks.values():
        for resource in stack.resources:
            rendered = json.dumps(plain(resource.inputs))
            assert password not in rendered, f"{stack.stack}: {resource.type} {resource.name}"


def test_every_stack_exports_the_same_data_outputs(example_deployment: DeploymentResult) -> None:
    for stack in example_deployment.stacks.values():
        missing = [key for key in DATA_OUTPUTS if not stack.outputs.get(key)]

        assert missing == [], stack.stack


# Five regions ---------------------------------------------------------------------------------


def test_five_regions_make_four_replicas_and_four_secondary_clusters_in_one_global_cluster(
    five_region_deployment: DeploymentResult,
) -> None:
    stack = primary(five_region_deployment)
    global_id = data(stack, GLOBAL_CLUSTER).outputs["id"]
    table_arn = stack.outputs["tableArn"]
    others = secondaries(five_region_deployment)

    replicas = [data(s, TABLE_REPLICA) for s in others]
    clusters = [data(s, DB_CLUSTER) for s in others]

    assert len(replicas) == len(clusters) == 4
    assert {r.inputs["globalTableArn"] for r in replicas} == {table_arn}
    assert {c.inputs["globalClusterIdentifier"] for c in clusters} == {global_id}
    assert len({c.region for c in clusters}) == 4
    assert len(on_bucket(stack, BUCKET_REPLICATION, data(stack, BUCKET)).inputs["rules"]) == 4


def test_eventbridge_may_encrypt_into_queues_with_the_region_key_for_this_account_only(
    example_deployment: DeploymentResult,
) -> None:
    # Given the region keys that encrypt the SQS targets and dead-letter queues of the rules
    for stack in example_deployment.stacks.values():
        (key,) = stack.of_type(KMS_KEY)
        granted = statements(key)

        # Then EventBridge may generate data keys, but only for this account's resources
        service = [s for s in granted if "Service" in s.get("Principal", {})]
        assert len(service) == 1
        assert "events.amazonaws.com" in service[0]["Principal"]["Service"]
        assert "kms:GenerateDataKey" in service[0]["Action"]
        assert service[0]["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
        # And the account keeps administering the key through IAM
        assert any(s["Principal"].get("AWS", "").endswith(":root") for s in granted)

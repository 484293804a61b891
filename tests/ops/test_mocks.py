"""The plan's mocks make up for what Pulumi's plain mocks hide (docs/pitfalls.md item 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.simulate import SimulationError, StackResult, simulate_stack
from ops.stackfiles import read_stack_files
from tests.support.deployments import generated_configs, write_stack_files


def run_program(tmp_path: Path, source: str) -> StackResult:
    directory = write_stack_files(tmp_path / "stacks", generated_configs(1))
    program = tmp_path / "program.py"
    program.write_text(source)
    return simulate_stack(read_stack_files(directory)["primary"], program=program)


def test_autonamed_resources_get_an_id_arn_and_name_for_their_region(tmp_path: Path) -> None:
    result = run_program(
        tmp_path,
        """
import pulumi, pulumi_aws as aws
queue = aws.sqs.Queue("orders-dlq")
table = aws.dynamodb.Table("t", region="eu-west-1", hash_key="pk", billing_mode="PAY_PER_REQUEST",
                           attributes=[{"name": "pk", "type": "S"}])
pulumi.export("queueArn", queue.arn)
pulumi.export("tableArn", table.arn)
pulumi.export("tableName", table.name)
""",
    )

    assert result.outputs["queueArn"].startswith("arn:aws:sqs:us-east-1:")
    assert result.outputs["tableArn"].startswith("arn:aws:dynamodb:eu-west-1:")
    assert result.outputs["tableName"].startswith("t-")


def test_apply_callbacks_run_because_the_plan_never_previews(tmp_path: Path) -> None:
    result = run_program(
        tmp_path,
        """
import pulumi, pulumi_aws as aws
bucket = aws.s3.Bucket("lake")
pulumi.export("seen", bucket.arn.apply(lambda arn: f"applied:{arn}"))
""",
    )

    assert result.outputs["seen"].startswith("applied:arn:aws:s3:::lake-")


def test_two_resources_with_the_same_urn_fail_the_run(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="duplicate resource URN"):
        run_program(
            tmp_path,
            """
import pulumi_aws as aws
aws.sqs.Queue("same")
aws.sqs.Queue("same")
""",
        )


def test_an_archive_path_that_does_not_exist_fails_the_run(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="no such file"):
        run_program(
            tmp_path,
            """
import pulumi, pulumi_aws as aws
aws.lambda_.Function("f", role="arn:aws:iam::123456789012:role/r", runtime="python3.12",
                     handler="h.handler", code=pulumi.FileArchive("build/missing.zip"))
""",
        )


def test_a_reference_to_a_stack_not_simulated_before_fails_the_run(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="has not been deployed"):
        run_program(
            tmp_path,
            """
import pulumi
pulumi.StackReference("organization/active-active/later")
""",
        )


def test_options_are_recorded_for_assertions(tmp_path: Path) -> None:
    result = run_program(
        tmp_path,
        """
import pulumi, pulumi_aws as aws
east = aws.Provider("east", region="us-east-1")
parent = aws.sqs.Queue("first")
aws.sqs.Queue("second", opts=pulumi.ResourceOptions(depends_on=[parent], protect=True,
              ignore_changes=["tags"], provider=aws.Provider("west", region="us-west-2"),
              retain_on_delete=True))
""",
    )

    second = next(r for r in result.resources if r.name == "second")
    first = next(r for r in result.resources if r.name == "first")
    assert second.depends_on == [first.urn]
    assert second.ignore_changes == ["tags"]
    assert second.protect is True
    assert second.retain_on_delete is True and first.retain_on_delete is False
    assert second.region == "us-west-2"
    assert first.region == "us-east-1"


def test_an_invoke_the_mocks_do_not_know_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="getAmi"):
        run_program(
            tmp_path,
            """
import pulumi_aws as aws
aws.ec2.get_ami(most_recent=True, owners=["amazon"])
""",
        )

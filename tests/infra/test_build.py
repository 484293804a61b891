"""The Lambda archives are reproducible, so an unchanged tree never causes an update."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ops.build import build_archives, runtime_closure, source_code_hash


def test_building_twice_gives_byte_identical_archives(lambda_archives: dict[str, Path]) -> None:
    # Given archives built once
    first = {name: path.read_bytes() for name, path in lambda_archives.items()}

    # When they are built again from the same tree
    again = build_archives()

    # Then every byte is the same, and so is the hash Lambda compares
    assert {name: path.read_bytes() for name, path in again.items()} == first


def test_the_functions_archive_holds_every_handler_module(lambda_archives: dict[str, Path]) -> None:
    from functions.catalog import HANDLERS

    names = set(zipfile.ZipFile(lambda_archives["functions"]).namelist())

    for spec in HANDLERS:
        module = spec.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
        assert module in names, f"{spec.name}: {module} is not in the archive"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_functions_archive_carries_the_rds_ca_bundle_the_database_functions_verify_with(
    lambda_archives: dict[str, Path],
) -> None:
    # Given the archive every function runs from
    archive = zipfile.ZipFile(lambda_archives["functions"])

    # Then the RDS certificate authorities are in it, as shipped in the tree
    bundle = Path(__file__).resolve().parents[2] / "functions" / "certs" / "rds-ca-bundle.pem"
    packed = archive.read("functions/certs/rds-ca-bundle.pem")
    assert packed == bundle.read_bytes()
    assert packed.count(b"-----BEGIN CERTIFICATE-----") >= 1


def test_the_layer_vendors_the_runtime_dependencies_but_not_boto3(
    lambda_archives: dict[str, Path],
) -> None:
    names = zipfile.ZipFile(lambda_archives["dependencies"]).namelist()
    top = {n.split("/")[1] for n in names}

    assert {"pg8000", "scramp", "aws_lambda_powertools", "aws_xray_sdk", "wrapt"} <= top
    assert not {"boto3", "botocore"} & top
    # Pure Python only: a native extension built here would not load on Lambda's arm64
    assert not [n for n in names if n.endswith(".so")]
    assert "boto3" not in runtime_closure()


def test_the_source_hash_changes_with_the_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    a.write_bytes(b"one")
    b.write_bytes(b"two")

    assert source_code_hash(a) != source_code_hash(b)

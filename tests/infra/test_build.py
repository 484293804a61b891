"""The Lambda archives are reproducible, so an unchanged tree never causes an update; the layer
holds exactly what requirements/layer.txt pins, built for the functions' architecture."""

from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path

import pytest

import ops.build
from components.lambdas import ARCHITECTURE, RUNTIME
from ops.build import (
    BuildError,
    Lock,
    Target,
    build_archives,
    build_layer,
    check_installed,
    check_lock,
    functions_target,
    install_layer,
    layer_requirements,
    lock_text,
    read_lock,
    runtime_closure,
    source_code_hash,
)

ARM64 = Target(python="3.12", machine="aarch64")
# ELF e_machine of each architecture Lambda offers, as the System V ABI numbers them.
ELF_MACHINE = {"aarch64": 183, "x86_64": 62}


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
    assert "boto3" not in runtime_closure()


def test_the_source_hash_changes_with_the_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    a.write_bytes(b"one")
    b.write_bytes(b"two")

    assert source_code_hash(a) != source_code_hash(b)


def _versions_in(archive: Path) -> dict[str, str]:
    """Each distribution of a layer and its version, from the METADATA files it carries."""
    layer = zipfile.ZipFile(archive)
    found = {}
    for name in layer.namelist():
        if name.endswith(".dist-info/METADATA"):
            text = layer.read(name).decode()
            meta = dict(re.findall(r"^(Name|Version): (.*)$", text, flags=re.MULTILINE))
            found[meta["Name"].lower().replace("_", "-")] = meta["Version"]
    return found


def test_the_layer_ships_exactly_the_versions_the_lock_pins(
    lambda_archives: dict[str, Path],
) -> None:
    # Given the committed lock
    lock = read_lock()

    # Then the layer holds every pinned distribution at its pinned version, and nothing else
    assert _versions_in(lambda_archives["dependencies"]) == {p.name: p.version for p in lock.pins}


def test_every_native_extension_in_the_layer_loads_on_the_functions_runtime(
    lambda_archives: dict[str, Path],
) -> None:
    layer = zipfile.ZipFile(lambda_archives["dependencies"])
    machine = ELF_MACHINE[{"arm64": "aarch64", "x86_64": "x86_64"}[ARCHITECTURE]]
    cpython = RUNTIME.removeprefix("python").replace(".", "")

    extensions = [n for n in layer.namelist() if n.endswith(".so")]

    # wrapt's, for the X-Ray SDK, is one: the wheel for Lambda's machine, not this one's
    assert any(n.startswith("python/wrapt/") for n in extensions)
    for name in extensions:
        header = layer.read(name)[:20]
        assert header[:4] == b"\x7fELF", name
        assert struct.unpack("<H", header[18:20])[0] == machine, name
        assert f".cpython-{cpython}-" in name or name.endswith(".abi3.so"), name


def test_the_committed_lock_is_for_the_functions_target_and_the_extra_as_it_is() -> None:
    # A change to the `functions` extra, RUNTIME or ARCHITECTURE needs `make lock`
    check_lock(read_lock(), functions_target(), layer_requirements())


# The lock file, as `make lock` writes it and the build reads it.


def _lock_file(tmp_path: Path, body: str, target: str = str(ARM64)) -> Path:
    path = tmp_path / "layer.txt"
    path.write_text(f"# target: {target}\n# requires: six<1.17,>=1.16\n{body}")
    return path


SIX_HASH = "--hash=sha256:" + "0" * 64


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        ("six==1.16.0\n", r"layer.txt:3: six==1.16.0 needs `--hash=sha256:...`"),
        (f"six>=1.16 \\\n    {SIX_HASH}\n", r"layer.txt:3: six>=1.16 is not pinned with =="),
        (f"botocore==1.35.0 \\\n    {SIX_HASH}\n", r"botocore is provided by the Lambda runtime"),
    ],
    ids=["no hash", "a range", "what Lambda provides"],
)
def test_a_lock_the_build_could_not_install_exactly_is_refused_with_the_line_and_the_fix(
    tmp_path: Path, body: str, refusal: str
) -> None:
    # Given a lock with a line that does not pin one wheel exactly
    path = _lock_file(tmp_path, body)

    # When the build reads it, Then it says where, what, and to run `make lock`
    with pytest.raises(BuildError, match=refusal):
        read_lock(path)


def test_a_lock_made_for_another_architecture_is_refused(tmp_path: Path) -> None:
    # Given a lock made while the functions ran on x86_64
    lock = read_lock(_lock_file(tmp_path, f"six==1.16.0 \\\n    {SIX_HASH}\n", "cp312 x"))

    # When the build checks it against the functions on arm64, Then it asks for a new lock
    with pytest.raises(BuildError, match=r"made for cp312 x, but .* run `make lock`"):
        check_lock(lock, ARM64)


def test_a_lock_made_before_the_functions_extra_changed_is_refused(tmp_path: Path) -> None:
    # Given a lock made from `six<1.17,>=1.16`
    lock = read_lock(_lock_file(tmp_path, f"six==1.16.0 \\\n    {SIX_HASH}\n"))

    # When the extra now asks for something else, Then the build asks for a new lock
    with pytest.raises(BuildError, match=r"extra in pyproject.toml changed .* `make lock`"):
        check_lock(lock, ARM64, ["six>=1.17"])


def test_a_virtualenv_that_differs_from_the_lock_is_refused(tmp_path: Path) -> None:
    # Given a lock pinning six 1.16.0, and this virtualenv, where the tests ran, with another
    lock = read_lock(_lock_file(tmp_path, f"six==1.16.0 \\\n    {SIX_HASH}\n"))

    # Then the build refuses to ship what the tests did not run against
    with pytest.raises(
        BuildError, match=r"six 1\.\d+\.\d+ installed, 1\.16\.0 locked.*make install"
    ):
        check_installed(lock)


def _elf(machine: int) -> bytes:
    """The header of a 64-bit little-endian ELF shared object for ``machine``."""
    return b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HH", 3, machine) + bytes(44)


@pytest.mark.parametrize(
    ("name", "machine", "refusal"),
    [
        ("_speedups.cpython-312-x86_64-linux-gnu.so", "x86_64", "built for x86_64"),
        ("_speedups.cpython-311-aarch64-linux-gnu.so", "aarch64", "built for CPython 311"),
        ("_speedups.cp312-win_amd64.pyd", "x86_64", "a Windows or macOS binary"),
    ],
    ids=["x86_64 machine code", "another CPython", "a Windows extension"],
)
def test_a_native_extension_the_functions_could_not_load_fails_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, machine: str, refusal: str
) -> None:
    # Given an installed layer that carries a binary not built for arm64 and CPython 3.12
    site = tmp_path / "site"
    (site / "fast").mkdir(parents=True)
    (site / "fast" / "__init__.py").write_text("")
    (site / "fast" / name).write_bytes(_elf(ELF_MACHINE[machine]))
    monkeypatch.setattr(ops.build, "install_layer", lambda *args: site)

    # When the layer is built, Then the build names the file and why it would not load
    with pytest.raises(BuildError, match=rf"python/fast/{re.escape(name)}: {refusal}"):
        build_layer()


def test_an_extension_built_for_the_functions_arm64_cpython_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an installed layer with aarch64 extensions for CPython 3.12 and the stable ABI
    site = tmp_path / "site"
    (site / "fast").mkdir(parents=True)
    (site / "fast" / "_a.cpython-312-aarch64-linux-gnu.so").write_bytes(_elf(183))
    (site / "fast" / "_b.abi3.so").write_bytes(_elf(183))
    monkeypatch.setattr(ops.build, "install_layer", lambda *args: site)

    # Then the layer is built with them
    names = {name for name, _ in build_layer()}
    assert {"python/fast/_a.cpython-312-aarch64-linux-gnu.so", "python/fast/_b.abi3.so"} <= names


# `make lock` and the install, on a small lock (pip resolves and downloads six 1.16.0).


@pytest.fixture(scope="module")
def six_lock(tmp_path_factory: pytest.TempPathFactory) -> Lock:
    """A lock made as `make lock` makes one, for six 1.16 and a requirement arm64 skips."""
    path = tmp_path_factory.mktemp("lock") / "layer.txt"
    path.write_text(
        lock_text(["six<1.17,>=1.16", "typing-extensions; platform_machine == 'x86_64'"], ARM64)
    )
    return read_lock(path)


def test_make_lock_pins_the_closure_for_the_target_with_one_hash_each(six_lock: Lock) -> None:
    # Then six is pinned with the sha256 of its wheel, and what arm64 does not need is left out
    assert [(p.name, p.version) for p in six_lock.pins] == [("six", "1.16.0")]
    assert all(re.fullmatch("[0-9a-f]{64}", h) for p in six_lock.pins for h in p.hashes)
    assert six_lock.target == str(ARM64)


def test_the_build_installs_the_locked_version_not_the_one_in_the_virtualenv(
    six_lock: Lock, tmp_path: Path
) -> None:
    # When the lock pinning six 1.16.0 is installed (this virtualenv has another six)
    site = install_layer(six_lock, ARM64, tmp_path)

    # Then the layer's six is 1.16.0
    assert "Version: 1.16.0" in (site / "six-1.16.0.dist-info" / "METADATA").read_text()


def test_a_lock_installed_once_builds_again_without_pip(
    six_lock: Lock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the lock installed once
    first = install_layer(six_lock, ARM64, tmp_path)

    # When it is installed again with pip (and so the network) out of reach
    def no_pip(*args: str) -> None:
        raise AssertionError("pip ran again")

    monkeypatch.setattr(ops.build, "_pip", no_pip)

    # Then the same installed tree is used
    assert install_layer(six_lock, ARM64, tmp_path) == first


def test_a_wheel_whose_hash_is_not_the_locked_one_is_a_build_error(
    six_lock: Lock, tmp_path: Path
) -> None:
    # Given the lock with another sha256 for six's wheel
    tampered = tmp_path / "layer.txt"
    text = six_lock.path.read_text()
    tampered.write_text(text.replace(six_lock.pins[0].hashes[0], "0" * 64))

    # When the build installs it, Then pip's refusal is the error, and nothing is kept
    with pytest.raises(BuildError, match=r"(?i)hash"):
        install_layer(read_lock(tampered), ARM64, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []

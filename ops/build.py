"""Build the Lambda archives: deterministic zips, so an unchanged tree never causes an update.

Three archives, shared by every function of a stack:

- ``build/lambda/functions.zip``: the ``functions/`` package (handlers, domain, migrations);
- ``build/lambda/dependencies.zip``: a Lambda layer (``python/...``) holding exactly the
  distributions that ``requirements/layer.txt`` pins, installed from their wheels for the
  functions' runtime and architecture (``RUNTIME`` and ``ARCHITECTURE`` in
  components/lambdas.py), whatever this machine is;
- ``build/lambda/canary.zip``: the Synthetics canary's script and the modules it imports.

The lock pins every distribution of the layer with the sha256 of the one wheel installed, in
pip's ``--require-hashes`` format. ``make lock`` (``python -m ops.build lock``) makes it from
the ``functions`` extra in pyproject.toml; ``make install`` holds the virtualenv to the same
versions, so the functions' tests run against what the layer ships. The build refuses a lock
made for another extra or another target, and a virtualenv whose versions differ from it.
pip installs the lock once per lock and target into ``build/layer/<key>``; later builds reuse
that tree and need no network.

aws-lambda-powertools is vendored in the layer rather than taken from AWS's public managed
layer: the layer then holds exactly the version the tests ran against, in every region, and
the build needs no account-specific layer ARN. boto3 is left out: the Lambda runtime provides
it. A native extension is allowed only if built for the functions' architecture and CPython.

Each zip lists its entries in sorted order with a fixed timestamp and fixed permissions, so
the same tree gives the same bytes, and the same ``source_code_hash``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution, distributions
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from components.archives import (
    BUILD_DIR,
    CANARY_ARCHIVE,
    DEPENDENCIES_ARCHIVE,
    FUNCTIONS_ARCHIVE,
    PROJECT_DIR,
    canary_archive,
    source_code_hash,
)
from components.lambdas import ARCHITECTURE, RUNTIME

__all__ = ["BUILD_DIR", "DEPENDENCIES_ARCHIVE", "FUNCTIONS_ARCHIVE", "source_code_hash"]

LOCK_FILE = PROJECT_DIR / "requirements" / "layer.txt"
# Installed layers, one directory per lock and target: rebuilding needs no network.
LAYER_CACHE = PROJECT_DIR / "build" / "layer"
PYPROJECT = PROJECT_DIR / "pyproject.toml"
# The extra of pyproject.toml that lists what the functions import at run time.
LAYER_EXTRA = "functions"
# Provided by the Lambda runtime, never vendored.
PROVIDED_BY_LAMBDA = frozenset({"boto3", "botocore", "s3transfer", "urllib3"})

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Caches, tests, console scripts, and install records that differ from one machine to the next.
_SKIPPED = re.compile(
    r"(^|/)(__pycache__|tests?)(/|$)|\.pyc$|^bin/"
    r"|\.dist-info/(RECORD|INSTALLER|REQUESTED|direct_url\.json)$"
)
# Lambda's names for its architectures, as ELF and the wheel platform tags spell them.
_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
# ELF e_machine values (the System V ABI's EM_X86_64 and EM_AARCH64).
_ELF_MACHINES = {62: "x86_64", 183: "aarch64"}
_NATIVE = re.compile(r"\.(so(\.\d+)*|pyd|dylib)$")
_CPYTHON_TAG = re.compile(r"\.cpython-(\d+)[^./]*\.so$")


class BuildError(RuntimeError):
    """The archives cannot be built as asked: a stale or malformed lock, a wrong binary."""


@dataclass(frozen=True)
class Target:
    """What the layer's wheels are installed for: the functions' CPython and machine."""

    python: str  # "3.12"
    machine: str  # "aarch64" or "x86_64", as ELF and wheel tags name it

    @property
    def abi(self) -> str:
        """The CPython ABI tag, ``cp312``."""
        return "cp" + self.python.replace(".", "")

    @property
    def platform(self) -> str:
        """The wheel platform: manylinux2014 (glibc 2.17) runs on every Lambda Python runtime."""
        return f"manylinux2014_{self.machine}"

    def __str__(self) -> str:
        return f"{self.abi} {self.platform}"

    def pip_options(self) -> list[str]:
        """What makes pip choose this target's wheels rather than this machine's."""
        return [
            "--only-binary=:all:",
            f"--platform={self.platform}",
            f"--python-version={self.python}",
            "--implementation=cp",
            f"--abi={self.abi}",
        ]

    def markers(self) -> dict[str, str]:
        """The environment markers of a requirement as Lambda evaluates them."""
        return {
            "python_version": self.python,
            "python_full_version": f"{self.python}.0",
            "implementation_name": "cpython",
            "implementation_version": f"{self.python}.0",
            "platform_python_implementation": "CPython",
            "platform_machine": self.machine,
            "platform_system": "Linux",
            "platform_release": "",
            "platform_version": "",
            "sys_platform": "linux",
            "os_name": "posix",
            "extra": "",
        }


def functions_target(runtime: str = RUNTIME, architecture: str = ARCHITECTURE) -> Target:
    """The target of the functions as components/lambdas.py declares them."""
    match = re.fullmatch(r"python(3\.\d+)", runtime)
    if not match or architecture not in _MACHINES:
        raise BuildError(f"no wheel target for the Lambda runtime {runtime} on {architecture}")
    return Target(python=match.group(1), machine=_MACHINES[architecture])


@dataclass(frozen=True)
class Pin:
    """One distribution of the layer: exact version, and the hashes its wheel may have."""

    name: str
    version: str
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class Lock:
    """requirements/layer.txt: what it was made from, for what target, and the pins."""

    path: Path
    target: str
    requirements: tuple[str, ...]
    pins: tuple[Pin, ...]


def layer_requirements(pyproject: Path = PYPROJECT) -> tuple[str, ...]:
    """The ``functions`` extra of pyproject.toml, each requirement in packaging's spelling."""
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    return tuple(sorted(str(Requirement(r)) for r in extras[LAYER_EXTRA]))


def _lock_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Logical lines (continuations joined) with the number of the line each starts on."""
    pending, start = "", 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        start = start or number
        pending += " " + stripped.removesuffix("\\")
        if not stripped.endswith("\\"):
            yield start, pending.strip()
            pending, start = "", 0
    if pending:
        yield start, pending.strip()


def read_lock(path: Path = LOCK_FILE) -> Lock:
    """Parse the lock; anything the build could not install exactly is a BuildError."""
    if not path.is_file():
        raise BuildError(f"{path} is missing: run `make lock`")
    text = path.read_text()
    targets = re.findall(r"^# target: (.*)$", text, flags=re.MULTILINE)
    requirements = tuple(re.findall(r"^# requires: (.*)$", text, flags=re.MULTILINE))
    if len(targets) != 1 or not requirements:
        raise BuildError(f"{path} does not say what it was made from: run `make lock`")
    pins: dict[str, Pin] = {}
    for number, line in _lock_lines(path):
        requirement, *options = line.split()
        where = f"{path.name}:{number}"
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=]+)", requirement)
        if not match:
            raise BuildError(f"{where}: {requirement} is not pinned with ==: run `make lock`")
        name, version = canonicalize_name(match.group(1)), match.group(2)
        hashes = tuple(o.removeprefix("--hash=sha256:") for o in options if "sha256:" in o)
        if not hashes or len(hashes) != len(options):
            raise BuildError(
                f"{where}: {name}=={version} needs `--hash=sha256:...` and nothing else: the "
                "layer installs only wheels whose hash the lock holds; run `make lock`"
            )
        if name in PROVIDED_BY_LAMBDA:
            raise BuildError(f"{where}: {name} is provided by the Lambda runtime, never vendored")
        if name in pins:
            raise BuildError(f"{where}: {name} is pinned twice")
        pins[name] = Pin(name, version, hashes)
    return Lock(path, targets[0].strip(), requirements, tuple(pins.values()))


def check_lock(lock: Lock, target: Target, requirements: Sequence[str] | None = None) -> None:
    """The lock was made for these functions: this target, and the extra as it is now."""
    if lock.target != str(target):
        raise BuildError(
            f"{lock.path.name} was made for {lock.target}, but the functions run on "
            f"{target} ({RUNTIME}, {ARCHITECTURE}): run `make lock`"
        )
    if requirements is not None and lock.requirements != tuple(requirements):
        raise BuildError(
            f"the `{LAYER_EXTRA}` extra in pyproject.toml changed since {lock.path.name} was "
            f"made ({'; '.join(lock.requirements)} then, {'; '.join(requirements)} now): "
            "run `make lock`, then `make install`"
        )


def check_installed(lock: Lock) -> None:
    """The virtualenv the functions' tests run in holds exactly the versions the layer ships."""
    differences = []
    for pin in lock.pins:
        try:
            installed = distribution(pin.name).version
        except PackageNotFoundError:
            differences.append(f"{pin.name} not installed, {pin.version} locked")
            continue
        if Version(installed) != Version(pin.version):
            differences.append(f"{pin.name} {installed} installed, {pin.version} locked")
    if differences:
        raise BuildError(
            f"the virtualenv differs from {lock.path.name}, so the tests did not run against "
            f"what the layer would ship ({'; '.join(differences)}): run `make install`, or "
            "`make lock` to move the lock"
        )


def _closure(
    requirements: Iterable[str], requires: Callable[[str], Sequence[str]], target: Target
) -> list[str]:
    """Every distribution the requirements need on the target, minus what Lambda provides."""

    def needed(specs: Iterable[str]) -> list[str]:
        parsed = [Requirement(spec) for spec in specs]
        return [
            canonicalize_name(r.name)
            for r in parsed
            if r.marker is None or r.marker.evaluate(target.markers())
        ]

    seen: set[str] = set()
    pending = needed(requirements)
    while pending:
        name = pending.pop()
        if name in seen or name in PROVIDED_BY_LAMBDA:
            continue
        seen.add(name)
        pending += needed(requires(name))
    return sorted(seen)


def runtime_closure(
    requirements: Iterable[str] | None = None,
    path: Path | None = None,
    target: Target | None = None,
) -> list[str]:
    """Every distribution the functions need at run time, from installed metadata (``path``: an
    installed layer; None: this virtualenv), minus what Lambda provides."""
    roots = list(requirements) if requirements is not None else list(layer_requirements())

    def requires(name: str) -> Sequence[str]:
        if path is not None:
            # One missing from the installed layer is reported below, with every other.
            found = next(iter(distributions(name=name, path=[str(path)])), None)
            return found.requires or [] if found else []
        try:
            return distribution(name).requires or []
        except PackageNotFoundError:
            raise BuildError(f"{name} is not installed: run `make install`") from None

    closure = _closure(roots, requires, target or functions_target())
    if path:
        installed = {canonicalize_name(d.metadata["Name"]) for d in distributions(path=[str(path)])}
        if missing := sorted(set(closure) - installed):
            raise BuildError(f"the layer needs {', '.join(missing)}, which the lock lacks")
    return closure


def _pip(*args: str) -> None:
    """Run this interpreter's pip; its complaint, not a traceback, when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        said = [line for line in done.stderr.splitlines() if not line.startswith("WARNING:")]
        raise BuildError("pip failed:\n" + "\n".join(said[-20:]))


def install_layer(lock: Lock, target: Target, cache: Path = LAYER_CACHE) -> Path:
    """The lock's wheels installed for the target; pip runs once per lock and target."""
    check_lock(lock, target)
    key = hashlib.sha256(lock.path.read_bytes() + str(target).encode()).hexdigest()[:16]
    site = cache / key
    if not site.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        # Another build (a parallel test run) may install the same lock: each installs into
        # a directory of its own, and the first rename wins.
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache))
        try:
            _pip(
                "install",
                "--quiet",
                "--require-hashes",
                "--no-deps",
                "--no-compile",
                *target.pip_options(),
                f"--target={staging}",
                f"--requirement={lock.path}",
            )
            try:
                staging.rename(site)
            except OSError:
                if not site.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version for d in distributions(path=[str(site)])
    }
    pinned = {pin.name: pin.version for pin in lock.pins}
    if installed != pinned:
        raise BuildError(f"{site} holds {installed}, not the pins of {lock.path.name}")
    needed = runtime_closure(lock.requirements, site, target)
    if unneeded := sorted(set(pinned) - set(needed)):
        raise BuildError(f"{lock.path.name} pins {', '.join(unneeded)}, which nothing needs")
    return site


def native_extension_problems(files: Iterable[tuple[str, Path]], target: Target) -> list[str]:
    """Each binary among the files that would not load on the target, and why."""
    problems = []
    for name, path in files:
        if not _NATIVE.search(name):
            continue
        if not name.endswith(".so") and ".so." not in name:
            problems.append(f"{name}: a Windows or macOS binary, the functions run on Linux")
            continue
        with path.open("rb") as file:
            header = file.read(20)
        if len(header) < 20 or header[:4] != b"\x7fELF":
            problems.append(f"{name}: not an ELF shared object")
            continue
        (machine,) = struct.unpack("<H" if header[5] == 1 else ">H", header[18:20])
        built_for = _ELF_MACHINES.get(machine, f"ELF machine {machine}")
        if built_for != target.machine:
            problems.append(f"{name}: built for {built_for}, the functions run on {target.machine}")
        tag = _CPYTHON_TAG.search(name)
        if tag and f"cp{tag.group(1)}" != target.abi:
            problems.append(f"{name}: built for CPython {tag.group(1)}, the functions run {target}")
    return problems


def check_native_extensions(files: Iterable[tuple[str, Path]], target: Target) -> None:
    """A BuildError naming every binary the target could not load."""
    if problems := native_extension_problems(files, target):
        raise BuildError("native code the functions could not load:\n  " + "\n  ".join(problems))


def _layer_files(site: Path) -> list[tuple[str, Path]]:
    files = []
    for path in site.rglob("*"):
        relative = path.relative_to(site).as_posix()
        if path.is_file() and not _SKIPPED.search(relative):
            files.append((f"python/{relative}", path))
    return files


def _function_files() -> Iterator[tuple[str, Path]]:
    root = PROJECT_DIR / "functions"
    for path in root.rglob("*"):
        relative = path.relative_to(PROJECT_DIR).as_posix()
        if path.is_file() and not _SKIPPED.search(relative):
            yield relative, path


# What the canary's archive holds, under python/ as Synthetics' Python runtimes load it: the
# script Synthetics calls, and the modules it imports (no third-party dependency).
_CANARY_FILES = (
    ("python/canary_read.py", "functions/canary/canary_read.py"),
    ("python/canary_write.py", "functions/canary/canary_write.py"),
    ("python/functions/__init__.py", "functions/__init__.py"),
    ("python/functions/correlation.py", "functions/correlation.py"),
    ("python/functions/env.py", "functions/env.py"),
    ("python/functions/outbound.py", "functions/outbound.py"),
    ("python/functions/synthetic.py", "functions/synthetic.py"),
    ("python/functions/canary/__init__.py", "functions/canary/__init__.py"),
    ("python/functions/canary/journey.py", "functions/canary/journey.py"),
    ("python/functions/canary/handler.py", "functions/canary/handler.py"),
)


def _canary_files() -> Iterator[tuple[str, Path]]:
    for name, source in _CANARY_FILES:
        yield name, PROJECT_DIR / source


def write_archive(target: Path, files: Iterable[tuple[str, Path]]) -> bool:
    """Write a reproducible zip; returns False when the existing file already had these bytes."""
    entries = sorted(files)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A staging file of its own, so parallel builds never write into each other's zip.
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(staging, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for entry, path in entries:
            info = zipfile.ZipInfo(entry, date_time=_FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    if target.exists() and target.read_bytes() == staging.read_bytes():
        staging.unlink()
        return False
    staging.replace(target)
    return True


def build_layer(lock_path: Path = LOCK_FILE, cache: Path = LAYER_CACHE) -> list[tuple[str, Path]]:
    """The layer's files: the lock installed for the functions' target, every binary checked."""
    target = functions_target()
    lock = read_lock(lock_path)
    check_lock(lock, target, layer_requirements())
    check_installed(lock)
    files = _layer_files(install_layer(lock, target, cache))
    check_native_extensions(files, target)
    return files


def _name_canary_archive_by_content() -> Path:
    """Copy the canary archive to the name the program deploys (components.archives), and drop
    the copies of earlier builds."""
    named = canary_archive(CANARY_ARCHIVE)
    for stale in CANARY_ARCHIVE.parent.glob(f"{CANARY_ARCHIVE.stem}-*{CANARY_ARCHIVE.suffix}"):
        if stale != named:
            stale.unlink(missing_ok=True)
    if not named.exists():
        staging = named.with_name(f".{named.name}.{os.getpid()}")
        shutil.copyfile(CANARY_ARCHIVE, staging)
        staging.replace(named)
    return named


def build_archives() -> dict[str, Path]:
    """Build the archives under ``build/lambda``; returns them by name."""
    write_archive(FUNCTIONS_ARCHIVE, _function_files())
    write_archive(DEPENDENCIES_ARCHIVE, build_layer())
    write_archive(CANARY_ARCHIVE, _canary_files())
    _name_canary_archive_by_content()
    return {
        "functions": FUNCTIONS_ARCHIVE,
        "dependencies": DEPENDENCIES_ARCHIVE,
        "canary": CANARY_ARCHIVE,
    }


def lock_text(requirements: Sequence[str], target: Target) -> str:
    """requirements/layer.txt for these requirements: pip resolves them for the target."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        _pip(
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            f"--report={report}",
            *target.pip_options(),
            f"--target={Path(scratch) / 'unused'}",
            *requirements,
        )
        resolved: dict[str, dict[str, Any]] = {
            canonicalize_name(item["metadata"]["name"]): item
            for item in json.loads(report.read_text())["install"]
        }

    # pip evaluates markers for the interpreter running it; the closure is taken again with
    # the target's markers, and anything the target needs that pip left out is an error.
    def requires(name: str) -> Sequence[str]:
        if name not in resolved:
            raise BuildError(f"{target} needs {name}, which pip left out: lock on {RUNTIME}")
        return resolved[name]["metadata"].get("requires_dist", [])

    lines = [
        "# The Lambda layer's distributions, each pinned with the sha256 of the one wheel the",
        "# build installs (pip --require-hashes). Made by `make lock` (python -m ops.build lock)",
        f"# from the `{LAYER_EXTRA}` extra of pyproject.toml; do not edit.",
        f"# target: {target}",
        *(f"# requires: {requirement}" for requirement in requirements),
    ]
    for name in _closure(requirements, requires, target):
        item = resolved[name]
        archive = item["download_info"].get("archive_info", {})
        sha256 = (
            archive.get("hashes", {}).get("sha256")
            or archive.get("hash", "").partition("sha256=")[2]
        )
        if not sha256:
            raise BuildError(f"pip reported no sha256 for {name}'s wheel")
        lines += [
            f"{name}=={item['metadata']['version']} \\",
            f"    --hash=sha256:{sha256}",
            f"    # {item['download_info']['url'].rsplit('/', 1)[-1]}",
        ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> int:
    """``python -m ops.build lock``: make requirements/layer.txt; no argument: build."""
    try:
        if list(argv) == ["lock"]:
            LOCK_FILE.parent.mkdir(exist_ok=True)
            LOCK_FILE.write_text(lock_text(layer_requirements(), functions_target()))
            print(f"wrote {LOCK_FILE.relative_to(PROJECT_DIR)}")
        elif not argv:
            for name, path in build_archives().items():
                print(f"{name}: {path.relative_to(PROJECT_DIR)}")
        else:
            print("usage: python -m ops.build [lock]", file=sys.stderr)
            return 2
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

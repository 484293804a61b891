"""Build the Lambda archives: deterministic zips, so an unchanged tree never causes an update.

Two archives, shared by every function of a stack:

- ``build/lambda/functions.zip``: the ``functions/`` package (handlers, domain, migrations);
- ``build/lambda/dependencies.zip``: a Lambda layer (``python/...``) with the pure-Python
  runtime dependencies, copied file by file from the installed distributions.

aws-lambda-powertools is vendored in the layer rather than taken from AWS's public managed
layer: the layer then holds exactly the version the tests ran against, in every region, and
the build needs no account-specific layer ARN. Everything vendored is pure Python, so the
files installed here run unchanged on Lambda's arm64 Python runtime. boto3 is left out: the
Lambda runtime provides it.

Each zip lists its entries in sorted order with a fixed timestamp and fixed permissions, so
the same tree gives the same bytes, and the same ``source_code_hash``.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from components.archives import (
    BUILD_DIR,
    CANARY_ARCHIVE,
    DEPENDENCIES_ARCHIVE,
    FUNCTIONS_ARCHIVE,
    PROJECT_DIR,
    source_code_hash,
)

__all__ = ["BUILD_DIR", "DEPENDENCIES_ARCHIVE", "FUNCTIONS_ARCHIVE", "source_code_hash"]

# The distributions the functions import at run time; their own requirements come along.
RUNTIME_DISTRIBUTIONS = ("aws-lambda-powertools", "aws-xray-sdk", "pg8000")
# Provided by the Lambda runtime, never vendored.
PROVIDED_BY_LAMBDA = frozenset({"boto3", "botocore", "s3transfer", "urllib3"})

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Caches, tests, and install records that differ from one machine to the next.
# Native extensions too: built for this machine, not Lambda's arm64, and each vendored one
# (wrapt's, for the X-Ray SDK) has a pure-Python fallback it uses when the extension is absent.
_SKIPPED = re.compile(
    r"(^|/)(__pycache__|tests?)(/|$)|\.pyc$|\.so$"
    r"|\.dist-info/(RECORD|INSTALLER|REQUESTED|direct_url\.json)$"
)


class BuildError(RuntimeError):
    """A runtime dependency is not installed, so the layer cannot be built."""


def _requirement_name(requirement: str) -> str | None:
    """The distribution a requirement names, or None for one that only applies to an extra."""
    if "extra ==" in requirement:
        return None
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)", requirement)
    return match.group(1) if match else None


def runtime_closure(names: Iterable[str] = RUNTIME_DISTRIBUTIONS) -> list[str]:
    """Every distribution the functions need at run time, minus what Lambda provides."""
    seen: dict[str, None] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in seen or key in PROVIDED_BY_LAMBDA:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            raise BuildError(f"{name} is not installed: run `make install`") from None
        seen[key] = None
        pending += [n for r in dist.requires or [] if (n := _requirement_name(r))]
    return sorted(seen)


def _dependency_files() -> Iterator[tuple[str, Path]]:
    for name in runtime_closure():
        dist = distribution(name)
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            relative = str(file).replace("\\", "/")
            if relative.startswith("..") or _SKIPPED.search(relative) or not path.is_file():
                continue
            yield f"python/{relative}", path


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
    ("python/functions/__init__.py", "functions/__init__.py"),
    ("python/functions/correlation.py", "functions/correlation.py"),
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
    staging = target.with_suffix(".tmp")
    with zipfile.ZipFile(staging, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    if target.exists() and target.read_bytes() == staging.read_bytes():
        staging.unlink()
        return False
    staging.replace(target)
    return True


def build_archives() -> dict[str, Path]:
    """Build both archives under ``build/lambda``; returns them by name."""
    write_archive(FUNCTIONS_ARCHIVE, _function_files())
    write_archive(DEPENDENCIES_ARCHIVE, _dependency_files())
    write_archive(CANARY_ARCHIVE, _canary_files())
    return {
        "functions": FUNCTIONS_ARCHIVE,
        "dependencies": DEPENDENCIES_ARCHIVE,
        "canary": CANARY_ARCHIVE,
    }

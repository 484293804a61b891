"""Where the Lambda archives are, and the hash Lambda reports for one.

`ops build` (ops/build.py) writes the archives; the Pulumi program only reads them, so the
program needs these facts and nothing of the operator tooling that builds them.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
BUILD_DIR = PROJECT_DIR / "build" / "lambda"
FUNCTIONS_ARCHIVE = BUILD_DIR / "functions.zip"
DEPENDENCIES_ARCHIVE = BUILD_DIR / "dependencies.zip"
# The Synthetics canary's script (python/canary_read.py) and the code it imports.
CANARY_ARCHIVE = BUILD_DIR / "canary.zip"


def canary_archive(built: Path = CANARY_ARCHIVE) -> Path:
    """The copy of the canary archive named after its bytes (``canary-<sha256 prefix>.zip``),
    which ``ops build`` writes beside it.

    A canary's code is a file path, and the provider uploads the file only when that path
    changes (docs/pitfalls.md item 27): a name that changes with the bytes makes a changed
    script an update in the plan and in ``pulumi up``, with no ``--replace``.
    """
    digest = hashlib.sha256(built.read_bytes()).hexdigest()[:16]
    return built.with_name(f"{built.stem}-{digest}{built.suffix}")


def source_code_hash(path: Path) -> str:
    """The base64 SHA-256 that Lambda reports for an archive."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()

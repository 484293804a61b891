"""Cold-start import cost of every Lambda handler, next to a bare ``import boto3``.

For each handler in ``functions.catalog.HANDLERS`` (so handlers added later are measured
too), runs a fresh interpreter several times, imports the handler's module, and prints the
median wall time and how much it adds to ``import boto3``. Target: at most +300 ms. Creating
boto3 clients at import time would count here; the handlers build them on first call.

Each interpreter runs with ``AWS_LAMBDA_FUNCTION_NAME`` set, as on Lambda, so powertools'
Tracer is enabled and its import (the X-Ray SDK, and patching boto3) is measured too.

Usage: ``.venv/bin/python bench/coldstart.py [--runs N]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from functions.catalog import HANDLERS  # noqa: E402

TARGET_MS = 300.0
# Powertools enables the Tracer (and imports the X-Ray SDK) only where this is set.
LAMBDA_ENV = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "coldstart-bench"}
_TIMER = "import time; t = time.perf_counter(); {stmt}; print((time.perf_counter() - t) * 1000)"


def median_ms(statement: str, runs: int) -> float:
    """Median milliseconds ``statement`` takes in a fresh interpreter."""
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _TIMER.format(stmt=statement)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env=LAMBDA_ENV,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    baseline = median_ms("import boto3", args.runs)
    print(f"{'handler':<55} {'median ms':>10} {'vs boto3':>10}  target +{TARGET_MS:.0f} ms")
    print(f"{'import boto3':<55} {baseline:>10.1f} {'':>10}")
    modules = sorted({spec.handler.rpartition(".")[0] for spec in HANDLERS})
    for module in modules:
        took = median_ms(f"import {module}", args.runs)
        extra = took - baseline
        flag = "ok" if extra <= TARGET_MS else "OVER"
        print(f"{module:<55} {took:>10.1f} {extra:>+10.1f}  {flag}")


if __name__ == "__main__":
    main()

"""Wall time and peak memory of the offline plan for 2, 3, 5 and 10 regions.

Each size runs in a fresh interpreter on generated stack files (a full mesh: every stack peers
with all before it), so import costs are counted once per run, as `make plan` pays them.

    .venv/bin/python bench/plan.py [SIZES...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from tests.support.deployments import generated_configs, write_stack_files  # noqa: E402

_CHILD = """
import json, resource, sys, time
from pathlib import Path
start = time.perf_counter()
from ops.build import build_archives
from ops.simulate import simulate_deployment
from ops.stackfiles import read_stack_files
build_archives()
result = simulate_deployment(read_stack_files(Path(sys.argv[1])))
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
resources = sum(len(s.resources) for s in result.stacks.values())
print(json.dumps({"seconds": elapsed, "peak_mib": peak, "passes": len(result.order),
                  "resources": resources}))
"""


def measure(regions: int) -> dict[str, float]:
    """Plan a generated deployment of ``regions`` stacks in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_stack_files(Path(tmp), generated_configs(regions))
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(directory)],
            cwd=PROJECT_DIR, capture_output=True, text=True, check=True,
        )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(sizes: list[int]) -> None:
    """Print one line per deployment size."""
    print(
        f"{'regions':>7} {'passes':>6} {'resources':>9} {'seconds':>8} {'peak MiB':>9} {'s/region':>9}"
    )
    for regions in sizes:
        m = measure(regions)
        print(
            f"{regions:>7} {m['passes']:>6} {m['resources']:>9} {m['seconds']:>8.2f} "
            f"{m['peak_mib']:>9.0f} {m['seconds'] / regions:>9.2f}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2, 3, 5, 10])

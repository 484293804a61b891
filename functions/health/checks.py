"""Runs named checks side by side under one deadline and reports them the way /health answers.

Route 53 health checkers give up after a few seconds; a check that hangs must therefore
count as failed at the deadline rather than hold the answer back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

Check = Callable[[], None]


@dataclass(frozen=True)
class HealthReport:
    """The body of ``GET /health`` and whether it is a 200 or a 503."""

    healthy: bool
    body: dict[str, Any]

    @property
    def status_code(self) -> int:
        """200 when every check passed, else 503."""
        return 200 if self.healthy else 503


def run_checks(
    checks: Mapping[str, Check],
    region: str,
    role: str,
    deadline_seconds: float,
    informational: frozenset[str] = frozenset(),
) -> HealthReport:
    """Run every check concurrently; one that raises or outlives the deadline fails.

    A failed check makes the region unhealthy unless it is named in ``informational``: then
    it is only reported (marked ``"informational": true``).
    """
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, len(checks)), thread_name_prefix="health")
    try:
        futures = {name: pool.submit(_timed, check) for name, check in checks.items()}
        wait(futures.values(), timeout=deadline_seconds)
        for name, future in futures.items():
            if not future.done():
                results[name] = {
                    "status": "timeout",
                    "latencyMs": round((time.monotonic() - started) * 1000),
                }
                continue
            latency, error = future.result()
            results[name] = {"status": "ok" if error is None else "fail", "latencyMs": latency}
            if error is not None:
                results[name]["error"] = error
    finally:
        # Do not wait for a hung probe: its own socket timeout ends it later.
        pool.shutdown(wait=False, cancel_futures=True)
    for name in informational & results.keys():
        results[name]["informational"] = True
    healthy = all(
        result["status"] == "ok" for name, result in results.items() if name not in informational
    )
    return HealthReport(
        healthy,
        {
            "status": "ok" if healthy else "unhealthy",
            "region": region,
            "role": role,
            "checks": results,
        },
    )


def _timed(check: Check) -> tuple[int, str | None]:
    started = time.monotonic()
    try:
        check()
        error = None
    except Exception as failure:  # any failure of a probe is a failed check, not a crash
        error = type(failure).__name__
    return round((time.monotonic() - started) * 1000), error

"""The health report over fake checks: what makes a region healthy, and the deadline."""

from __future__ import annotations

import threading

from functions.health.checks import run_checks


def passes() -> None:
    """A check that passes."""


def fails() -> None:
    """A check whose dependency refused."""
    raise ConnectionRefusedError("refused")


def test_a_region_whose_checks_all_pass_is_healthy():
    # Given a table check and a database check that both pass
    # When the region is checked
    report = run_checks({"table": passes, "database": passes}, "eu-west-1", "secondary", 1.0)
    # Then it is a 200 that names the region, its role and each check
    assert report.status_code == 200
    assert report.body["status"] == "ok"
    assert (report.body["region"], report.body["role"]) == ("eu-west-1", "secondary")
    assert {name: c["status"] for name, c in report.body["checks"].items()} == {
        "table": "ok",
        "database": "ok",
    }


def test_one_failing_check_makes_the_region_unhealthy_and_is_named():
    # Given a database that refuses connections
    # When the region is checked
    report = run_checks({"table": passes, "database": fails}, "eu-west-1", "primary", 1.0)
    # Then it is a 503 that says which check failed and why
    assert report.status_code == 503
    assert report.body["status"] == "unhealthy"
    assert report.body["checks"]["database"]["status"] == "fail"
    assert report.body["checks"]["database"]["error"] == "ConnectionRefusedError"
    assert report.body["checks"]["table"]["status"] == "ok"


def test_a_check_that_hangs_past_the_deadline_is_reported_as_timed_out():
    # Given a table probe that never answers
    release = threading.Event()
    try:
        # When the region is checked with a short deadline
        report = run_checks(
            {"table": lambda: release.wait(30) and None, "database": passes},
            "eu-west-1",
            "primary",
            0.05,
        )
    finally:
        release.set()
    # Then the answer does not wait for it: the table check timed out and the region is a 503
    assert report.status_code == 503
    assert report.body["checks"]["table"]["status"] == "timeout"
    assert report.body["checks"]["database"]["status"] == "ok"


def test_an_informational_check_that_fails_is_reported_but_keeps_the_region_in_service():
    # Given a database check marked informational (HEALTH_DATABASE_REQUIRED=false) that fails
    # When the region is checked
    report = run_checks(
        {"table": passes, "database": fails},
        "eu-west-1",
        "secondary",
        1.0,
        informational=frozenset({"database"}),
    )
    # Then the region stays healthy (200), and the body still shows the database failing
    assert report.status_code == 200
    assert report.body["status"] == "ok"
    assert report.body["checks"]["database"]["status"] == "fail"
    assert report.body["checks"]["database"]["informational"] is True


def test_a_failing_table_check_is_never_informational():
    # Given the database check marked informational and a table that refuses reads
    # When the region is checked
    report = run_checks(
        {"table": fails, "database": passes},
        "eu-west-1",
        "secondary",
        1.0,
        informational=frozenset({"database"}),
    )
    # Then the region is out (503): it cannot serve reads
    assert report.status_code == 503

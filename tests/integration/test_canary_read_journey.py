"""The canary's read journey, offline: walked against the real health and read handlers (a
moto table, the test run's PostgreSQL), and over HTTPS against a stand-in of the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.canary import handler as canary
from functions.canary.journey import (
    KNOWN_ORDER_ID,
    Answer,
    JourneyFailed,
    known_order_view,
    read_journey,
)
from functions.health import handler as health_handler
from functions.read_api import handler as read_handler
from functions.read_api.handler import GET_ORDER
from tests.integration.orders_harness import Recorded, serve
from tests.support.lambda_context import lambda_context
from tests.support.postgres import free_port
from tests.support.read_side import (
    a_view,
    create_order_table,
    http_event,
    put_order,
    region_environment,
    use_page_token_secret,
)

REGION = "eu-west-1"
TABLE = "orders"
KNOWN_ORDER = KNOWN_ORDER_ID

pytestmark = pytest.mark.postgres


@pytest.fixture
def region(monkeypatch: pytest.MonkeyPatch, postgres_dsn: str) -> Iterator[Any]:
    """One region's table and database, and the health and read handlers pointing at them."""
    for name, value in {
        **region_environment(postgres_dsn, REGION, TABLE),
        "HEALTH_DEADLINE_MS": "2000",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        create_order_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        use_page_token_secret(monkeypatch, REGION)
        caches = (health_handler.build_health, read_handler.build_api, read_handler.build_queries)
        for cached in caches:
            cached.cache_clear()
        yield boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
        for cached in caches:
            cached.cache_clear()


def through_the_handlers(seen: list[dict[str, Any]]) -> Any:
    """A ``get`` that hands each path to the handler API Gateway routes it to."""

    def get(path: str, headers: dict[str, str]) -> Answer:
        if path == "/health":
            event: dict[str, Any] = {"routeKey": "GET /health", "rawPath": path}
            function: Any = health_handler.handler
        else:
            event = http_event(GET_ORDER, {"orderId": path.rsplit("/", 1)[-1]})
            function = read_handler.handler
        event["headers"] = headers
        seen.append(event)
        response = function(event, lambda_context())
        return Answer(response["statusCode"], json.loads(response["body"]))

    return get


def test_a_healthy_region_holding_the_known_order_passes_both_steps(region: Any) -> None:
    # Given a region whose table and database are up, holding the known order the home stack
    # writes (components/canaries.py)
    put_order(region, known_order_view(), "2026-01-01T00:00:00Z")
    seen: list[dict[str, Any]] = []
    # When the canary walks the read journey
    steps = read_journey(through_the_handlers(seen), KNOWN_ORDER, "canary-run-1")
    # Then both steps pass with 200, and every request carried the run's correlation id
    assert [(s.name, s.status) for s in steps] == [("health", 200), ("order", 200)]
    assert [e["headers"]["x-correlation-id"] for e in seen] == ["canary-run-1"] * 2


def test_a_region_that_lost_the_known_order_fails_the_run_at_the_order_step(
    region: Any,
) -> None:
    # Given a healthy region whose table does not hold the known order (replication broke)
    # When the canary walks the read journey
    # Then the run fails, saying the order step got a 404
    with pytest.raises(JourneyFailed, match=rf"order: GET /orders/{KNOWN_ORDER} answered 404"):
        read_journey(through_the_handlers([]), KNOWN_ORDER, "canary-run-2")


def test_a_region_whose_database_is_down_fails_the_run_at_the_health_step(
    region: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a region whose database does not answer, though its table holds the order
    put_order(region, known_order_view(), "2026-01-01T00:00:00Z")
    monkeypatch.setenv("DB_PORT", str(free_port()))
    health_handler.build_health.cache_clear()
    seen: list[dict[str, Any]] = []
    # When the canary walks the read journey
    # Then the run fails at the health step, without reading the order
    with pytest.raises(JourneyFailed, match="health: GET /health answered 503"):
        read_journey(through_the_handlers(seen), KNOWN_ORDER, "canary-run-3")
    assert [e["rawPath"] for e in seen] == ["/health"]


def test_the_canary_entry_point_walks_the_journey_over_https(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stand-in of a region's API that is healthy and holds the known order
    def api(request: Recorded) -> tuple[int, Any]:
        if request.path == "/health":
            return 200, {"status": "ok", "region": REGION}
        if request.path == f"/orders/{KNOWN_ORDER}":
            return 200, a_view(KNOWN_ORDER, "canary")
        return 404, {"error": {"code": "NOT_FOUND", "message": "no such order", "field": None}}

    with serve(api) as stand_in:
        monkeypatch.setenv("CANARY_BASE_URL", stand_in.url + "/")
        monkeypatch.setenv("CANARY_ORDER_ID", KNOWN_ORDER)
        # When Synthetics runs the canary
        summary = canary.handler({}, None)
    # Then it asked for the health and the order, with one correlation id, and passed
    assert [r.path for r in stand_in.requests] == ["/health", f"/orders/{KNOWN_ORDER}"]
    ids = {r.headers["x-correlation-id"] for r in stand_in.requests}
    assert ids == {summary["correlationId"]} and summary["correlationId"].startswith("canary-")
    assert [s["status"] for s in summary["steps"]] == [200, 200]
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == summary


def test_an_api_that_does_not_answer_fails_the_run() -> None:
    # Given a base URL where nothing listens
    get = canary.https_get(f"https://127.0.0.1:{free_port()}", timeout=2)
    # When the canary walks the journey
    # Then the run fails saying the health step got no answer
    with pytest.raises(JourneyFailed, match="health: no answer from GET /health"):
        read_journey(get, KNOWN_ORDER, "canary-run-4")

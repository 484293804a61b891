"""The canary's write journey, offline: its signed POST through the real write handler, the
saga on real PostgreSQL with Step Functions in moto, the projector, and its GET through the
real read handler; and the canary's entry point over HTTP against a stand-in that checks the
signature's presence. The global table's replication is not modelled: the journey reads the
region that wrote (tests/integration/saga_harness.py)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions import synthetic
from functions.canary import handler as canary
from functions.canary.journey import Answer, JourneyFailed, write_journey
from functions.env import SettingsError
from functions.read_api import handler as read_handler
from functions.read_api.handler import GET_ORDER
from functions.write_api import handler as write_api
from tests.integration.orders_harness import Recorded, put_control, serve
from tests.integration.saga_harness import PRIMARY, World
from tests.support.lambda_context import lambda_context
from tests.support.read_side import a_view, http_event, use_page_token_secret

pytestmark = pytest.mark.postgres


@pytest.fixture
def read_side(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The read handler of the world's region, on the same table."""
    use_page_token_secret(monkeypatch, PRIMARY)
    read_handler.build_api.cache_clear()
    read_handler.build_queries.cache_clear()
    return world


def through_the_handlers(seen: list[dict[str, Any]]) -> tuple[Any, Any]:
    """A ``post`` to the write handler on the canary's route and a ``get`` to the read one."""

    def post(path: str, headers: dict[str, str], body: bytes) -> Answer:
        assert path == synthetic.PATH
        event = {"routeKey": synthetic.ROUTE, "rawPath": path, "headers": headers}
        event["body"] = body.decode()
        seen.append(event)
        response = write_api.handler(event, lambda_context())
        return Answer(response["statusCode"], json.loads(response["body"]))

    def get(path: str, headers: dict[str, str]) -> Answer:
        event = http_event(GET_ORDER, {"orderId": path.rsplit("/", 1)[-1]})
        event["headers"] = headers
        seen.append(event)
        response = read_handler.handler(event, lambda_context())
        return Answer(response["statusCode"], json.loads(response["body"]))

    return post, get


class Clock:
    """Time that passes only when the journey sleeps; each sleep lets the projector run."""

    def __init__(self, world: World, project: bool = True) -> None:
        self.now = 0.0
        self._world = world
        self._project = project

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        sfn = boto3.client("stepfunctions", region_name=PRIMARY)
        started = sfn.list_executions(stateMachineArn=self._world.state_machine_arn)
        for execution in started["executions"]:
            self._world.wait(execution["name"])
        if self._project:
            self._world.project()
        self.now += seconds


def test_the_write_journey_sees_its_synthetic_order_confirmed_and_charges_no_one(
    read_side: World,
) -> None:
    # Given a region that writes, its saga, projector and read API
    seen: list[dict[str, Any]] = []
    post, get = through_the_handlers(seen)
    clock = Clock(read_side)
    # When the canary walks the write journey
    steps = write_journey(post, get, "canary-run-1", "canary-run-1", clock=clock, sleep=clock.sleep)
    # Then it placed the order and saw it CONFIRMED in this region's table
    assert [(s.name, s.status) for s in steps] == [("place", 202), ("confirmed", 200)]
    # And every request carried the run's correlation id
    assert {e["headers"]["x-correlation-id"] for e in seen} == {"canary-run-1"}
    # And neither the payment provider nor the CRM heard of it
    assert read_side.stand_in_requests() == []


def test_a_region_whose_projection_is_stuck_fails_the_run_by_the_deadline(
    read_side: World,
) -> None:
    # Given a region whose saga runs but whose projector never delivers the view
    post, get = through_the_handlers([])
    clock = Clock(read_side, project=False)
    # When the canary walks the write journey
    # Then the run fails at the deadline, saying what it saw last (no view: 404)
    with pytest.raises(JourneyFailed, match=r"not CONFIRMED within 60 s \(last seen: 404\)"):
        write_journey(post, get, "canary-run-2", "canary-run-2", clock=clock, sleep=clock.sleep)


def test_a_refused_write_fails_the_run_at_the_place_step(read_side: World) -> None:
    # Given a region in read-only mode
    put_control(PRIMARY, PRIMARY, None, mode="read-only")
    write_api.dependencies.cache_clear()
    post, get = through_the_handlers([])
    # Then the run fails at once, with the answer the API gave
    with pytest.raises(JourneyFailed, match="place: POST /synthetic/orders answered 503"):
        write_journey(post, get, "canary-run-3", "canary-run-3")


def test_the_write_canary_signs_its_post_and_reads_back_over_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stand-in of a region's API that takes the order and shows it confirmed
    def api(request: Recorded) -> tuple[int, Any]:
        if request.method == "POST" and request.path == synthetic.PATH:
            return 202, {"orderId": "o-1", "status": "PENDING"}
        if request.path == "/orders/o-1":
            return 200, {**a_view("o-1", synthetic.CUSTOMER_ID), "status": "CONFIRMED"}
        return 404, {"error": {"code": "NOT_FOUND", "message": "no such order", "field": None}}

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDCANARY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with serve(api) as stand_in:
        monkeypatch.setenv("CANARY_BASE_URL", stand_in.url)
        monkeypatch.setenv("CANARY_REGION", "eu-west-1")
        # When Synthetics runs the write canary
        summary = canary.write_handler({}, None)
    # Then its POST was signed for execute-api in its region, and its GET was not signed
    posted, read = stand_in.requests
    assert posted.method == "POST" and posted.path == synthetic.PATH
    credential = posted.headers["authorization"]
    assert credential.startswith("AWS4-HMAC-SHA256 Credential=AKIDCANARY/")
    assert "/eu-west-1/execute-api/aws4_request" in credential
    assert "authorization" not in read.headers
    # And both carried the run's correlation id, which is also its idempotency key's run
    assert {r.headers["x-correlation-id"] for r in (posted, read)} == {summary["correlationId"]}
    assert posted.headers["idempotency-key"] == summary["correlationId"]
    assert posted.body["customerId"] == synthetic.CUSTOMER_ID
    assert [s["status"] for s in summary["steps"]] == [202, 200]


@pytest.mark.parametrize(
    ("entry_point", "missing"),
    [(canary.handler, "CANARY_ORDER_ID"), (canary.write_handler, "CANARY_REGION")],
)
def test_a_canary_deployed_without_its_settings_says_which_one(
    monkeypatch: pytest.MonkeyPatch, entry_point: Any, missing: str
) -> None:
    # Given a canary whose environment lacks one of its variables
    monkeypatch.setenv("CANARY_BASE_URL", "https://api.example.com")
    for name in ("CANARY_ORDER_ID", "CANARY_REGION"):
        monkeypatch.delenv(name, raising=False)
    # When it runs, then it fails naming the variable, before any request
    with pytest.raises(SettingsError, match=missing):
        entry_point({}, None)

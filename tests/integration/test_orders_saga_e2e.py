"""The checkout saga end to end: moto executes the generated definition, the real handlers
run in process against real PostgreSQL, and a payment provider stand-in answers over HTTP."""

from __future__ import annotations

import importlib
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.awslambda.models import LambdaFunction

from functions.catalog import by_name, saga_function_names
from functions.orders import read_model, saga
from functions.orders.aws import EventBridgeDomainEvents
from functions.orders.db import Database, DatabaseSettings
from functions.orders.domain import order_id_for
from functions.orders.migrations import migrate
from functions.projector import handler as projector
from functions.saga import handler as saga_handler
from functions.write_api import handler as write_api
from tests.integration.orders_harness import (
    PRIMARY,
    TABLE,
    Recorded,
    StandIn,
    aws_env,  # noqa: F401 (fixture)
    create_global_table,
    moto_aws,  # noqa: F401 (fixture)
    put_control,
    serve,
)

pytestmark = pytest.mark.postgres
ACCOUNT = "123456789012"
COMPENSATIONS = {a.state for a in saga.actions()[len(saga.STEPS) :]}
_invoke_lock = threading.Lock()


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """moto's Lambda without Docker: import the handler string and call it here."""
    module_name, _, function_name = self.handler.rpartition(".")
    function = getattr(importlib.import_module(module_name), function_name)
    payload = json.loads(event) if isinstance(event, str) else (event or {})
    # One event at a time, as one Lambda container does: the handlers share one connection.
    with _invoke_lock:
        try:
            return json.dumps(function(payload, None)), False, ""
        except Exception as exc:
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}), True, ""


class Provider:
    """A payment provider and CRM stand-in, scripted by payment token and customer id.

    It keeps each authorization's state (``authorized``, ``captured``, ``voided``,
    ``refunded``), so a test can check what money is left where, whatever the saga recorded.
    """

    def __init__(self) -> None:
        self.by_key: dict[str, tuple[int, dict[str, Any]]] = {}
        self.flaky_left = 1
        self.authorizations: dict[str, dict[str, Any]] = {}
        # How long a capture of tok_capture_times_out takes to answer, once it took effect.
        self.slow_seconds = 0.0

    def __call__(self, request: Recorded) -> tuple[int, dict[str, Any]]:
        if request.method == "GET":
            auth = self.authorizations.get(request.path.split("/")[3])
            return (200, {"id": request.path.split("/")[3], **auth}) if auth else (404, {})
        key = request.headers.get("idempotency-key", "")
        if key in self.by_key:
            return self.by_key[key]
        answer = self.decide(request)
        self.track(request.path, answer)
        if request.path.endswith("/capture") and "tok_capture_times_out" in self.token_of(
            request.path
        ):
            # The capture is made, but its answer never arrives in time, on every attempt.
            time.sleep(self.slow_seconds)
            return answer
        if answer[0] < 500:
            self.by_key[key] = answer
        return answer

    def track(self, path: str, answer: tuple[int, dict[str, Any]]) -> None:
        """Move the authorization an accepted call is about to its new state."""
        status, body = answer
        if status >= 300:
            return
        if path == "/v1/authorizations":
            self.authorizations[body["id"]] = {"status": "authorized", "captureId": None}
        elif path.endswith("/capture"):
            self.authorizations[path.split("/")[3]] = {
                "status": "captured",
                "captureId": body["id"],
            }
        elif path.endswith("/void"):
            self.authorizations[path.split("/")[3]]["status"] = "voided"
        elif path.endswith("/refunds"):
            auth = path.split("/")[3].replace("cap_", "auth_")
            self.authorizations[auth]["status"] = "refunded"

    def decide(self, request: Recorded) -> tuple[int, dict[str, Any]]:
        path, body = request.path, request.body
        if path == "/crm":
            if body["customerId"] == "cust-crm-rejects":
                return 422, {"code": "customer_blocked"}
            return 200, {}
        if path == "/v1/authorizations":
            if body["token"] == "tok_declined":
                return 402, {"code": "card_declined"}
            if body["token"] == "tok_flaky" and self.flaky_left > 0:
                self.flaky_left -= 1
                return 503, {"code": "try_again"}
            return 201, {"id": f"auth_{body['reference']}", "token": body["token"]}
        if path.endswith("/capture"):
            if "tok_capture_rejected" in self.token_of(path):
                return 422, {"code": "capture_rejected"}
            return 200, {"id": path.split("/")[3].replace("auth_", "cap_")}
        if path.endswith("/void"):
            if self.authorizations[path.split("/")[3]]["status"] != "authorized":
                return 409, {"code": "not_authorized"}
            return 200, {}
        if path.endswith("/refunds"):
            return 201, {"id": path.split("/")[3].replace("cap_", "ref_")}
        return 404, {}

    def token_of(self, path: str) -> str:
        auth = path.split("/")[3]
        for _status, answer in self.by_key.values():
            if answer.get("id") == auth:
                return str(answer.get("token", ""))
        return ""


class FlakyEvents:
    """An EventBridge client whose PutEvents of one detail type fails ``failures`` times."""

    def __init__(self, detail_type: str, failures: int) -> None:
        self._real = boto3.client("events", region_name=PRIMARY)
        self._detail_type = detail_type
        self.failures_left = failures

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if Entries[0]["DetailType"] == self._detail_type and self.failures_left > 0:
            self.failures_left -= 1
            raise ClientError({"Error": {"Code": "InternalException"}}, "PutEvents")
        return self._real.put_events(Entries=Entries)


@dataclass
class World:
    """One primary region with the saga deployed and its collaborators."""

    state_machine_arn: str
    db: Database
    provider: StandIn
    queue_url: str
    stand_in: Provider

    def calls(self, suffix: str) -> list[Recorded]:
        return [r for r in self.provider.requests if r.path.endswith(suffix)]

    def run(self, customer: str = "cust-1", token: str = "tok_ok", key: str = "key-1") -> str:
        """Post an order through the write API and wait for its saga to finish."""
        answer = post_order(customer, token, key)
        assert answer["statusCode"] == 202, answer
        order_id = json.loads(answer["body"])["orderId"]
        self.wait(order_id)
        return order_id

    def wait(self, order_id: str) -> dict[str, Any]:
        sfn = boto3.client("stepfunctions", region_name=PRIMARY)
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{order_id}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.1)
        raise AssertionError(f"execution {order_id} still running")

    def order(self, order_id: str) -> tuple[str, str | None, str]:
        [[status, cause, payment]] = self.db.connection().run(
            "SELECT o.status, o.failure_cause, p.status FROM orders o JOIN payments p "
            "USING (order_id) WHERE order_id = :o",
            o=order_id,
        )
        return status, cause, payment

    def compensations(self, order_id: str) -> list[str]:
        rows = self.db.connection().run(
            "SELECT step FROM saga_steps WHERE order_id = :o ORDER BY seq", o=order_id
        )
        return [step for (step,) in rows if step in COMPENSATIONS]

    def project(self) -> None:
        """Drain the projector's queue into the projector handler."""
        sqs = boto3.client("sqs", region_name=PRIMARY)
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return
            records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
            assert projector.handler({"Records": records}, None) == {"batchItemFailures": []}
            for m in messages:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])


def post_order(customer: str, token: str, key: str) -> dict[str, Any]:
    body = {
        "customerId": customer,
        "currency": "USD",
        "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": 1999}],
        "payment": {"token": token},
    }
    return write_api.handler(
        {"rawPath": "/orders", "headers": {"Idempotency-Key": key}, "body": json.dumps(body)}, None
    )


def _reset_handler_caches() -> None:
    for cached in (
        saga_handler.steps,
        saga_handler.database,
        projector.database,
        projector.writer,
        write_api.dependencies,
    ):
        cached.cache_clear()


@pytest.fixture
def world(
    moto_aws: None,  # noqa: F811 (fixture)
    postgres_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    """The primary region: schema migrated, Lambdas, saga, bus to projector queue, stand-in."""
    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", _invoke_in_process)
    db = Database(DatabaseSettings.from_env({"DATABASE_URL": postgres_dsn}))
    migrate(db)
    create_global_table(PRIMARY)
    put_control(PRIMARY, PRIMARY, None)
    iam = boto3.client("iam", region_name=PRIMARY)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("placeholder.py", "")
    lam = boto3.client("lambda", region_name=PRIMARY)
    catalog = by_name()
    arns = {
        name: lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler=catalog[name].handler,
            Code={"ZipFile": archive.getvalue()},
        )["FunctionArn"]
        for name in saga_function_names()
    }
    definition = saga.definition(
        arns, retry_interval_seconds=1, max_attempts=3, compensation_max_attempts=2
    )
    machine = boto3.client("stepfunctions", region_name=PRIMARY).create_state_machine(
        name="checkout",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
    )["stateMachineArn"]
    events, sqs = (
        boto3.client("events", region_name=PRIMARY),
        boto3.client("sqs", region_name=PRIMARY),
    )
    events.create_event_bus(Name="orders")
    queue = sqs.create_queue(QueueName="projector")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="projector",
        EventBusName="orders",
        EventPattern=json.dumps({"source": ["active-active.orders"]}),
    )
    events.put_targets(
        Rule="projector", EventBusName="orders", Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    stand_in = Provider()
    with serve(stand_in) as provider:
        for name, value in {
            "AWS_REGION": PRIMARY,
            "DATABASE_URL": postgres_dsn,
            "TABLE_NAME": TABLE,
            "STATE_MACHINE_ARN": machine,
            "EVENT_BUS_NAME": "orders",
            "PAYMENT_BASE_URL": provider.url,
            "PAYMENT_API_KEY": "sk_test",
            "PAYMENT_TIMEOUT_SECONDS": "2",
            "CRM_URL": f"{provider.url}/crm",
        }.items():
            monkeypatch.setenv(name, value)
        _reset_handler_caches()
        yield World(machine, db, provider, queue, stand_in)
        saga_handler.database().close()
        projector.database().close()
        _reset_handler_caches()
    db.close()


def test_a_good_card_ends_confirmed_captured_once_and_projected(world: World) -> None:
    # Given a customer with a good card
    # When they place an order and the saga runs
    order_id = world.run()
    world.project()
    # Then the order is confirmed with its payment captured exactly once
    assert world.order(order_id) == ("CONFIRMED", None, "CAPTURED")
    assert len(world.calls("/capture")) == 1
    # And the view in the global table is what GET /orders/{id} returns
    table = boto3.client("dynamodb", region_name=PRIMARY)
    item = table.get_item(
        TableName=TABLE, Key={k: {"S": v} for k, v in read_model.order_key(order_id).items()}
    )["Item"]
    view = item[read_model.VIEW_ATTRIBUTE]["M"]
    assert view["status"]["S"] == "CONFIRMED"
    assert view["total"]["N"] == "3998"
    assert view["payment"]["M"]["status"]["S"] == "CAPTURED"
    # And the customer's order list holds it too
    listed = table.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": read_model.customer_partition("cust-1")}},
    )["Items"]
    assert [i["view"]["M"]["orderId"]["S"] for i in listed] == [order_id]


def test_a_declined_card_ends_failed_and_leaves_nothing_open(world: World) -> None:
    # Given a card the provider declines
    # When the order is placed
    order_id = world.run(token="tok_declined")
    # Then the order failed with the decline as its cause, and no authorization exists
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("PaymentDeclined")
    assert payment == "DECLINED"
    # And the compensations ran once each, in reverse order
    assert world.compensations(order_id) == ["VoidAuthorization", "CancelOrder"]
    assert world.calls("/capture") == []


def test_a_rejected_capture_voids_the_authorization_and_ends_failed(world: World) -> None:
    # Given a card whose capture the provider rejects
    # When the order is placed
    order_id = world.run(token="tok_capture_rejected")
    # Then the order failed with the capture as cause and the authorization was voided once
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("CaptureRejected")
    assert payment == "VOIDED"
    assert len(world.calls("/void")) == 1
    assert world.compensations(order_id) == ["RefundPayment", "VoidAuthorization", "CancelOrder"]


def test_an_update_customer_failure_refunds_the_capture_and_reverts_the_customer(
    world: World,
) -> None:
    # Given a customer the on-premises CRM refuses
    # When the order is placed
    order_id = world.run(customer="cust-crm-rejects")
    # Then no captured payment is left without a confirmed order: it was refunded once
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("CustomerRejected")
    assert payment == "REFUNDED"
    assert len(world.calls("/refunds")) == 1
    # And every compensation ran once, in reverse order
    assert world.compensations(order_id) == [
        "RevertCustomer",
        "RefundPayment",
        "VoidAuthorization",
        "CancelOrder",
    ]
    # And the customer's lifetime value did not keep the failed order
    rows = world.db.connection().run(
        "SELECT lifetime_value FROM customers WHERE customer_id = 'cust-crm-rejects'"
    )
    assert rows in ([], [[0]])


def test_a_transient_provider_error_that_recovers_ends_confirmed(world: World) -> None:
    # Given a provider that answers 503 to the first authorization
    # When the order is placed
    order_id = world.run(token="tok_flaky")
    # Then the retry succeeded with the same idempotency key and the order is confirmed
    status, _, payment = world.order(order_id)
    assert (status, payment) == ("CONFIRMED", "CAPTURED")
    keys = {r.headers["idempotency-key"] for r in world.calls("/v1/authorizations")}
    assert len(world.calls("/v1/authorizations")) == 2 and keys == {f"{order_id}:authorize"}


def test_without_a_payment_provider_orders_fail_naming_the_config_key_and_page_no_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack file with no payments.baseUrl (the functions get no PAYMENT_BASE_URL)
    monkeypatch.delenv("PAYMENT_BASE_URL")
    saga_handler.steps.cache_clear()
    # When an order is placed
    order_id = world.run()
    # Then the order was reserved and failed with a cause that says what to configure
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("PaymentNotConfigured")
    assert "active-active:payments.baseUrl" in cause
    assert payment == "PENDING"
    # And nothing was called, and the saga compensated cleanly: no failed execution, no page
    assert world.calls("/v1/authorizations") == []
    assert world.compensations(order_id) == ["VoidAuthorization", "CancelOrder"]
    assert world.wait(order_id)["status"] == "SUCCEEDED"


def test_an_api_key_secret_without_a_value_fails_orders_naming_the_secret(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the payment API key secret as the stack creates it: no value yet
    secrets = boto3.client("secretsmanager", region_name=PRIMARY)
    arn = secrets.create_secret(Name="active-active/primary/payment-api-key")["ARN"]
    monkeypatch.delenv("PAYMENT_API_KEY")
    monkeypatch.setenv("PAYMENT_API_KEY_SECRET_ARN", arn)
    saga_handler.steps.cache_clear()
    # When an order is placed
    order_id = world.run()
    # Then the order failed with a cause that names the secret to set, and nothing was called
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("PaymentNotConfigured")
    assert arn in cause and payment == "PENDING"
    assert world.calls("/v1/authorizations") == []


def test_the_api_key_is_read_from_its_secret_once_it_has_a_value(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the payment API key secret with the value an operator put
    secrets = boto3.client("secretsmanager", region_name=PRIMARY)
    arn = secrets.create_secret(Name="active-active/primary/payment-api-key")["ARN"]
    secrets.put_secret_value(SecretId=arn, SecretString="sk_from_secret")
    monkeypatch.delenv("PAYMENT_API_KEY")
    monkeypatch.setenv("PAYMENT_API_KEY_SECRET_ARN", arn)
    saga_handler.steps.cache_clear()
    # When an order is placed
    order_id = world.run()
    # Then the provider was called with that key and the order is confirmed
    assert world.order(order_id)[0] == "CONFIRMED"
    (call,) = world.calls("/v1/authorizations")
    assert call.headers["authorization"] == "Bearer sk_from_secret"


def test_the_same_key_twice_gives_one_execution_and_one_order(world: World) -> None:
    # Given an order placed and finished
    order_id = world.run()
    # When the client sends it again
    again = post_order("cust-1", "tok_ok", "key-1")
    # Then the answer names the same order, and there is one execution and one order row
    assert again["statusCode"] == 202 and json.loads(again["body"])["orderId"] == order_id
    sfn = boto3.client("stepfunctions", region_name=PRIMARY)
    assert len(sfn.list_executions(stateMachineArn=world.state_machine_arn)["executions"]) == 1
    assert world.db.connection().run("SELECT count(*) FROM orders") == [[1]]


def test_twenty_concurrent_duplicates_give_exactly_one_order(world: World) -> None:
    # Given twenty clients retrying the same order at the same moment
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: post_order("cust-1", "tok_ok", "dup"), range(20)))
    order_id = order_id_for("dup")
    # When the saga has run
    world.wait(order_id)
    # Then every client was told the same order, and there is one order row, charged once
    assert {a["statusCode"] for a in answers} == {202}
    assert {json.loads(a["body"])["orderId"] for a in answers} == {order_id}
    assert world.db.connection().run("SELECT count(*) FROM orders") == [[1]]
    assert len(world.calls("/capture")) == 1


def view_status(order_id: str) -> str:
    """The order's status as GET /orders/{id} shows it, from the global table."""
    item = boto3.client("dynamodb", region_name=PRIMARY).get_item(
        TableName=TABLE, Key={k: {"S": v} for k, v in read_model.order_key(order_id).items()}
    )["Item"]
    return str(item[read_model.VIEW_ATTRIBUTE]["M"]["status"]["S"])


def test_a_confirmation_whose_event_fails_once_is_retried_not_refunded(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bus that refuses the first OrderConfirmed (after ConfirmOrder committed)
    events = FlakyEvents("OrderConfirmed", failures=1)
    monkeypatch.setattr(saga_handler.steps(), "events", EventBridgeDomainEvents(events, "orders"))
    # When an order with a good card is placed
    order_id = world.run()
    world.project()
    # Then ConfirmOrder was retried: the order is confirmed, captured once and never refunded
    assert events.failures_left == 0
    assert world.order(order_id) == ("CONFIRMED", None, "CAPTURED")
    assert len(world.calls("/capture")) == 1 and world.calls("/refunds") == []
    assert world.compensations(order_id) == []
    assert world.wait(order_id)["status"] == "SUCCEEDED"
    # And the re-run published OrderConfirmed, so the view says so
    assert view_status(order_id) == "CONFIRMED"


def test_a_confirmed_order_whose_event_never_publishes_is_kept_and_pages_someone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bus that refuses every OrderConfirmed, longer than ConfirmOrder's retries
    events = FlakyEvents("OrderConfirmed", failures=1000)
    monkeypatch.setattr(saga_handler.steps(), "events", EventBridgeDomainEvents(events, "orders"))
    # When an order with a good card is placed
    order_id = world.run()
    # Then the confirmed order and its capture are kept: no refund, no void, no FAILED
    assert world.order(order_id) == ("CONFIRMED", None, "CAPTURED")
    assert world.calls("/refunds") == [] and world.calls("/void") == []
    # And the execution failed, which raises the ExecutionsFailed alarm
    assert world.wait(order_id)["status"] == "FAILED"


def test_a_capture_made_whose_answer_always_times_out_is_refunded_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a provider that makes the capture but answers after the step's timeout, every time
    monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", "0.3")
    saga_handler.steps.cache_clear()
    world.stand_in.slow_seconds = 0.6
    # When the order is placed and CapturePayment exhausts its retries
    order_id = world.run(token="tok_capture_times_out")
    # Then the order failed, the capture the provider made was refunded once, nothing voided
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("TransientError")
    assert payment == "REFUNDED"
    assert len(world.calls("/refunds")) == 1 and world.calls("/void") == []
    # And the provider holds no open authorization and no captured money
    assert [a["status"] for a in world.stand_in.authorizations.values()] == ["refunded"]

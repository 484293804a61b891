"""The checkout saga's world: moto executes the generated definition, the real handlers run in
process against real PostgreSQL, and a payment provider and CRM stand-in answers over https.

Faults are injected in two places. At the provider and the CRM (``Provider.faults``), per
operation: a business refusal, a transient 503 once, an answer lost once or on every attempt
(the call takes effect and its answer comes after the client stopped waiting). At the Lambda
boundary (``World.lambda_faults``), per saga function: a business error or a transient error
before the handler runs, or its answer lost (once, or every time) after it ran. moto's retry
waits are skipped, so a saga that retries to exhaustion takes no longer than its calls.

Fixtures here are imported by name into the test modules that use them.
"""

from __future__ import annotations

import importlib
import io
import json
import threading
import time
import types
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.awslambda.models import LambdaFunction
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from functions.catalog import by_name, saga_function_names
from functions.orders import read_model, saga
from functions.orders.aws import EventBridgeDomainEvents
from functions.orders.db import Database, DatabaseSettings
from functions.orders.migrations import migrate
from functions.outbox_drain import handler as outbox_drain
from functions.projector import handler as projector
from functions.saga import handler as saga_handler
from functions.write_api import handler as write_api
from tests.integration.orders_harness import (
    PRIMARY,
    TABLE,
    Recorded,
    Slow,
    StandIn,
    bus_to_queue,
    create_global_table,
    put_control,
    serve,
)
from tests.support.lambda_context import lambda_context

ACCOUNT = "123456789012"
COMPENSATIONS = {a.state for a in saga.actions()[len(saga.STEPS) :]}
# How long a client waits for the provider or the CRM, and how late a lost answer comes.
CALL_TIMEOUT_SECONDS = 0.5
LOST_ANSWER_SECONDS = 0.9
FAULTS = ("business", "transient", "lost_once", "lost_always")

_invoke_lock = threading.Lock()
# The Lambda faults of the world under test, by saga function name.
_lambda_faults: dict[str, LambdaFault] = {}


@dataclass
class LambdaFault:
    """A fault at a saga function's boundary, as Step Functions sees it."""

    kind: str
    spent: bool = False

    def before(self) -> str | None:
        """The error to answer instead of running the handler, if any."""
        if self.kind == "business":
            return "InjectedBusinessError"
        if self.kind == "transient" and not self.spent:
            self.spent = True
            return "TransientError"
        return None

    def after(self) -> bool:
        """True when the handler's answer is lost although it ran."""
        if self.kind == "lost_always":
            return True
        if self.kind == "lost_once" and not self.spent:
            self.spent = True
            return True
        return False


def _error(error_type: str, message: str) -> tuple[str, bool, str]:
    return json.dumps({"errorType": error_type, "errorMessage": message}), True, ""


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """moto's Lambda without Docker: import the handler string and call it here."""
    module_name, _, function_name = self.handler.rpartition(".")
    function = getattr(importlib.import_module(module_name), function_name)
    payload = json.loads(event) if isinstance(event, str) else (event or {})
    fault = _lambda_faults.get(self.function_name)
    # One event at a time, as one Lambda container does: the handlers share one connection.
    with _invoke_lock:
        injected = fault.before() if fault else None
        if injected is not None:
            return _error(injected, f"injected before {self.function_name} ran")
        try:
            result = function(payload, lambda_context())
        except Exception as exc:
            return _error(type(exc).__name__, str(exc))
        if fault is not None and fault.after():
            return _error("TransientError", f"the answer of {self.function_name} was lost")
        return json.dumps(result), False, ""


class Provider:
    """A payment provider and CRM stand-in that keeps what each call did.

    Each authorization's state (``authorized``, ``captured``, ``voided``, ``refunded``) is
    kept, so a test checks what money is held where, whatever the saga recorded; the CRM's
    view of each order (``placed``, ``failed``) likewise. Answers that took effect are stored
    by idempotency key, as a real provider does: a retry gets the first answer and moves no
    money again.
    ``faults`` maps an operation (authorize, capture, void, refund, crm, crm-failed) to one
    of FAULTS.
    """

    def __init__(self) -> None:
        self.authorizations: dict[str, dict[str, Any]] = {}
        self.crm: dict[str, str] = {}
        self.faults: dict[str, str] = {}
        self._spent: set[str] = set()
        self._answers: dict[str, tuple[int, dict[str, Any]]] = {}

    def _once(self, operation: str) -> bool:
        if operation in self._spent:
            return False
        self._spent.add(operation)
        return True

    def __call__(self, request: Recorded) -> tuple[int, Any]:
        if request.method == "GET":
            return self._look_up(request.path)
        operation = self._operation(request.path)
        fault = self.faults.get(operation)
        if fault == "transient" and self._once(operation):
            return 503, {"code": "try_again"}
        key = request.headers.get("idempotency-key", "")
        answer = self._answers.get(key) or self._decide(operation, request, fault == "business")
        # A retry gets the first answer back when it took effect (or declined the card); a
        # refusal for another reason is not kept, so once its cause is fixed a retry works.
        if answer[0] < 300 or answer[0] == 402:
            self._answers[key] = answer
        if fault == "lost_always" or (fault == "lost_once" and self._once(operation)):
            return answer[0], Slow(LOST_ANSWER_SECONDS, answer[1])
        return answer

    @staticmethod
    def _operation(path: str) -> str:
        if path == "/crm":
            return "crm"
        if path.startswith("/crm/"):
            return "crm-failed"
        if path == "/v1/authorizations":
            return "authorize"
        return path.rsplit("/", 1)[-1].rstrip("s")  # capture, void, refund

    def _look_up(self, path: str) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        if parts.path == "/v1/authorizations":
            [key] = parse_qs(parts.query)["idempotencyKey"]
            found = [a for a in self.authorizations if self.authorizations[a]["key"] == key]
            auth_id = found[0] if found else None
        else:
            auth_id = parts.path.split("/")[3]
        if auth_id not in self.authorizations:
            return 404, {"code": "not_found"}
        auth = self.authorizations[auth_id]
        return 200, {
            "id": auth_id,
            "status": auth["status"],
            "captureId": auth["captureId"],
            "refundId": auth["refundId"],
        }

    def _decide(
        self, operation: str, request: Recorded, refuse: bool
    ) -> tuple[int, dict[str, Any]]:
        body, path = request.body, request.path
        if operation == "crm":
            if refuse:
                return 422, {"code": "customer_blocked"}
            self.crm.setdefault(body["orderId"], "placed")
            return 200, {}
        if operation == "crm-failed":
            if refuse:
                return 422, {"code": "unknown_order"}
            self.crm[body["orderId"]] = "failed"
            return 200, {}
        if operation == "authorize":
            if refuse:
                return 402, {"code": "card_declined"}
            auth_id = f"auth_{body['reference']}"
            self.authorizations[auth_id] = {
                "status": "authorized",
                "key": request.headers["idempotency-key"],
                "captureId": None,
                "refundId": None,
            }
            return 201, {"id": auth_id}
        if operation == "refund":
            auth_id = path.split("/")[3].replace("cap_", "auth_")
        else:
            auth_id = path.split("/")[3]
        auth = self.authorizations[auth_id]
        wanted = "captured" if operation == "refund" else "authorized"
        if refuse:
            return 422, {"code": f"{operation}_rejected"}
        if auth["status"] != wanted:
            return 409, {"code": f"not_{wanted}"}
        if operation == "capture":
            auth.update(status="captured", captureId=auth_id.replace("auth_", "cap_"))
            return 200, {"id": auth["captureId"]}
        if operation == "void":
            auth["status"] = "voided"
            return 200, {}
        auth.update(status="refunded", refundId=auth_id.replace("auth_", "ref_"))
        return 201, {"id": auth["refundId"]}


class FlakyEvents:
    """An EventBridge client whose PutEvents fails ``failures`` times for these detail types."""

    def __init__(self, detail_types: set[str] | None, failures: int) -> None:
        self._real = boto3.client("events", region_name=PRIMARY)
        self._types = detail_types
        self.failures_left = failures

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        refused = self._types is None or any(e["DetailType"] in self._types for e in Entries)
        if refused and self.failures_left > 0:
            self.failures_left -= 1
            raise ClientError({"Error": {"Code": "InternalException"}}, "PutEvents")
        return self._real.put_events(Entries=Entries)


@dataclass(frozen=True)
class End:
    """Where an order ended: the execution, the database, the provider, the customer, the CRM."""

    execution: str
    order: str | None
    payment: str | None
    provider: str | None
    counted: int
    crm: str | None


@dataclass
class World:
    """One primary region with the saga deployed and its collaborators."""

    state_machine_arn: str
    # The same saga as another region's state machine: where a rerun starts after a failover.
    rerun_machine_arn: str
    db: Database
    provider: StandIn
    queue_url: str
    stand_in: Provider
    monkeypatch: pytest.MonkeyPatch
    lambda_faults: dict[str, LambdaFault] = field(default_factory=dict)

    def calls(self, suffix: str, method: str = "POST") -> list[Recorded]:
        return [
            r
            for r in self.provider.requests
            if urlsplit(r.path).path.endswith(suffix) and r.method == method
        ]

    def stand_in_requests(self) -> list[tuple[str, str]]:
        """Every request the provider and the CRM received, as (method, path)."""
        return [(r.method, r.path) for r in self.provider.requests]

    def money_calls(self) -> list[tuple[str, str]]:
        """Every call that can move money or tell the CRM, as (path, idempotency key)."""
        return [
            (r.path, r.headers.get("idempotency-key", ""))
            for r in self.provider.requests
            if r.method == "POST"
        ]

    def fault(self, function: str, kind: str) -> None:
        """Inject a fault at a saga function's boundary."""
        self.lambda_faults[function] = LambdaFault(kind)

    def run(self, customer: str = "cust-1", token: str = "tok_ok", key: str = "key-1") -> str:
        """Post an order through the write API and wait for its saga to finish."""
        answer = post_order(customer, token, key)
        assert answer["statusCode"] == 202, answer
        order_id = json.loads(answer["body"])["orderId"]
        self.wait(order_id)
        return order_id

    def wait(self, order_id: str, machine: str | None = None) -> dict[str, Any]:
        sfn = boto3.client("stepfunctions", region_name=PRIMARY)
        arn = (machine or self.state_machine_arn).replace(":stateMachine:", ":execution:")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            described = sfn.describe_execution(executionArn=f"{arn}:{order_id}")
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.05)
        raise AssertionError(f"execution {order_id} still running")

    def rerun(self, order_id: str) -> dict[str, Any]:
        """Run the order's saga again with the same input, as a new primary would."""
        sfn = boto3.client("stepfunctions", region_name=PRIMARY)
        first = self.wait(order_id)
        sfn.start_execution(
            stateMachineArn=self.rerun_machine_arn, name=order_id, input=first["input"]
        )
        return self.wait(order_id, self.rerun_machine_arn)

    def order(self, order_id: str) -> tuple[str, str | None, str]:
        [[status, cause, payment]] = self.db.connection().run(
            "SELECT o.status, o.failure_cause, p.status FROM orders o JOIN payments p "
            "USING (order_id) WHERE order_id = :o",
            o=order_id,
        )
        return status, cause, payment

    def end(self, order_id: str, machine: str | None = None) -> End:
        """Where the order stands now, everywhere."""
        rows = self.db.connection().run(
            "SELECT o.status, p.status, o.customer_id FROM orders o JOIN payments p "
            "USING (order_id) WHERE order_id = :o",
            o=order_id,
        )
        status, payment, customer = rows[0] if rows else (None, None, None)
        counted = self.db.connection().run(
            "SELECT order_count FROM customers WHERE customer_id = :c", c=customer or "cust-1"
        )
        held = self.stand_in.authorizations.get(f"auth_{order_id}")
        return End(
            execution=self.wait(order_id, machine)["status"],
            order=status,
            payment=payment,
            provider=held["status"] if held else None,
            counted=counted[0][0] if counted else 0,
            crm=self.stand_in.crm.get(order_id),
        )

    def compensations(self, order_id: str) -> list[str]:
        rows = self.db.connection().run(
            "SELECT step FROM saga_steps WHERE order_id = :o ORDER BY seq", o=order_id
        )
        return [step for (step,) in rows if step in COMPENSATIONS]

    def drain(self) -> dict[str, Any]:
        """Run the scheduled outbox drainer once."""
        return outbox_drain.handler({}, lambda_context())

    def project(self) -> None:
        """Drain the outbox, then the projector's queue into the projector handler."""
        self.drain()
        sqs = boto3.client("sqs", region_name=PRIMARY)
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return
            records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
            assert projector.handler({"Records": records}, lambda_context()) == {
                "batchItemFailures": []
            }
            for m in messages:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def pending_events(self) -> list[str]:
        rows = self.db.connection().run(
            "SELECT detail_type FROM outbox WHERE published_at IS NULL ORDER BY seq"
        )
        return [t for (t,) in rows]

    def use_bus(self, events: Any) -> None:
        """Publish the outbox's events through this EventBridge client (the steps and the
        drainer alike)."""
        bus = EventBridgeDomainEvents(events, "orders")
        for module in (saga_handler, outbox_drain):
            self.monkeypatch.setattr(module, "publisher", lambda: bus)


def view(order_id: str) -> dict[str, Any] | None:
    """The order's view item in the global table (view and stored fingerprint), or None."""
    item = (
        boto3.client("dynamodb", region_name=PRIMARY)
        .get_item(
            TableName=TABLE, Key={k: {"S": v} for k, v in read_model.order_key(order_id).items()}
        )
        .get("Item")
    )
    if item is None:
        return None
    shown = item[read_model.VIEW_ATTRIBUTE]["M"]
    return {
        "status": shown["status"]["S"],
        "payment": shown["payment"]["M"]["status"]["S"],
        "fingerprint": item.get(read_model.FINGERPRINT_ATTRIBUTE, {}).get("S"),
    }


def body_of(customer: str, token: str, quantity: int = 2) -> dict[str, Any]:
    return {
        "customerId": customer,
        "currency": "USD",
        "items": [{"sku": "SKU-1", "quantity": quantity, "unitPrice": 1999}],
        "payment": {"token": token},
    }


def post_order(customer: str, token: str, key: str, quantity: int = 2) -> dict[str, Any]:
    body = body_of(customer, token, quantity)
    return write_api.handler(
        {"rawPath": "/orders", "headers": {"Idempotency-Key": key}, "body": json.dumps(body)},
        lambda_context(),
    )


def _reset_handler_caches() -> None:
    for cached in (
        saga_handler.steps,
        saga_handler.synthetic_steps,
        saga_handler.database,
        saga_handler.publisher,
        projector.database,
        projector.writer,
        outbox_drain.database,
        outbox_drain.publisher,
        outbox_drain.settings,
        write_api.dependencies,
    ):
        # A test may have put a plain function in place of a cached one (World.use_bus).
        getattr(cached, "cache_clear", lambda: None)()


def _deploy_saga(lam: Any, role: str, name: str) -> str:
    """A state machine running the saga's real handlers: one function per action."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("placeholder.py", "")
    catalog = by_name()
    arns = {}
    for function in saga_function_names():
        try:
            arns[function] = lam.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
        except lam.exceptions.ResourceNotFoundException:
            arns[function] = lam.create_function(
                FunctionName=function,
                Runtime="python3.11",
                Role=role,
                Handler=catalog[function].handler,
                Code={"ZipFile": archive.getvalue()},
            )["FunctionArn"]
    definition = saga.definition(
        arns, retry_interval_seconds=1, max_attempts=3, compensation_max_attempts=2
    )
    return str(
        boto3.client("stepfunctions", region_name=PRIMARY).create_state_machine(
            name=name,
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )["stateMachineArn"]
    )


@pytest.fixture
def world(
    moto_aws: None,
    postgres_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    """The primary region: schema migrated, Lambdas, saga, bus to projector queue, stand-in."""
    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", _invoke_in_process)
    # Step Functions' retry waits are real sleeps in moto; the tests check outcomes, not time.
    monkeypatch.setattr(retrier_decl, "time", types.SimpleNamespace(sleep=lambda seconds: None))
    db = Database(DatabaseSettings.from_env({"DATABASE_URL": postgres_dsn}))
    migrate(db)
    create_global_table(PRIMARY)
    put_control(PRIMARY, PRIMARY, None)
    iam = boto3.client("iam", region_name=PRIMARY)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=PRIMARY)
    machine = _deploy_saga(lam, role, "checkout")
    rerun_machine = _deploy_saga(lam, role, "checkout-after-failover")
    queue = bus_to_queue(PRIMARY, "projector", {"source": ["active-active.orders"]})
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
            "PAYMENT_TIMEOUT_SECONDS": str(CALL_TIMEOUT_SECONDS),
            "CRM_URL": f"{provider.url}/crm",
            "CRM_TIMEOUT_SECONDS": str(CALL_TIMEOUT_SECONDS),
        }.items():
            monkeypatch.setenv(name, value)
        _reset_handler_caches()
        _lambda_faults.clear()
        yield World(
            machine, rerun_machine, db, provider, queue, stand_in, monkeypatch, _lambda_faults
        )
        _lambda_faults.clear()
        saga_handler.database().close()
        projector.database().close()
        outbox_drain.database().close()
        _reset_handler_caches()
    db.close()

"""What the write-path integration tests share: moto, the global table, HTTP stand-ins.

Fixtures here are imported by name into the test modules that use them.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.orders import read_model
from functions.orders.domain import order_id_for
from tests.support.tls import authority

PRIMARY, SECONDARY = "eu-west-1", "us-east-1"
TABLE = "orders-global"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": PRIMARY,
        "AWS_REGION": PRIMARY,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def moto_aws(aws_env: None) -> Iterator[None]:
    """moto in process, with Step Functions really executing definitions."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


# A valid order request, as a client sends it.
ORDER_BODY = {
    "customerId": "c-1",
    "currency": "EUR",
    "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": 1250}],
    "payment": {"token": "tok_ok"},
}


@pytest.fixture
def moto_static(aws_env: None) -> Iterator[None]:
    """moto without executing state machines: executions just stay RUNNING."""
    with mock_aws():
        yield


def deploy_checkout(region: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    """A region's global table and a state machine that does nothing, with the environment of
    a write-side function pointing at them (``env`` adds to it); returns the machine's ARN."""
    create_global_table(region)
    arn = boto3.client("stepfunctions", region_name=region).create_state_machine(
        name="checkout",
        roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    for name, value in {
        "AWS_REGION": region,
        "TABLE_NAME": TABLE,
        "STATE_MACHINE_ARN": arn,
        **env,
    }.items():
        monkeypatch.setenv(name, value)
    return str(arn)


def bus_to_queue(region: str, rule: str, pattern: dict[str, Any], bus: str = "orders") -> str:
    """An event bus in moto whose one rule (``pattern``) delivers to a queue; the queue's URL."""
    events, sqs = (
        boto3.client("events", region_name=region),
        boto3.client("sqs", region_name=region),
    )
    events.create_event_bus(Name=bus)
    queue = sqs.create_queue(QueueName=rule)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=rule,
        EventBusName=bus,
        Targets=[{"Id": "q", "Arn": attributes["Attributes"]["QueueArn"]}],
    )
    return str(queue)


def primary_accepts(request: Recorded) -> tuple[int, dict[str, Any]]:
    """A primary's internal route taking a forwarded write: 202 naming the key's order."""
    return 202, {"orderId": order_id_for(request.headers["idempotency-key"]), "status": "PENDING"}


def customer_items(customer_id: str, region: str = PRIMARY) -> list[dict[str, Any]]:
    """The customer's order-list items in the global table, as the low-level client reads them."""
    found = boto3.client("dynamodb", region_name=region).query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": read_model.customer_partition(customer_id)}},
    )
    return list(found["Items"])


def create_global_table(region: str, name: str = TABLE) -> None:
    """The global table's schema, from the one module that defines it."""
    boto3.client("dynamodb", region_name=region).create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": t} for n, t in read_model.KEY_ATTRIBUTES
        ],
        KeySchema=[
            {"AttributeName": read_model.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": read_model.SORT_KEY, "KeyType": "RANGE"},
        ],
    )


def put_control(region: str, primary: str, write_url: str | None, mode: str = "normal") -> None:
    """Write the control record into one region's table."""
    item = {k: {"S": v} for k, v in read_model.control_key().items()}
    item["primaryRegion"] = {"S": primary}
    item["mode"] = {"S": mode}
    if write_url:
        item["writeUrl"] = {"S": write_url}
    boto3.client("dynamodb", region_name=region).put_item(TableName=TABLE, Item=item)


@dataclass
class Recorded:
    """One request a stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True)
class Raw:
    """An answer sent as these bytes, with these headers (a redirect, a body that is no JSON)."""

    data: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Slow:
    """An answer sent only after ``seconds``: longer than the client waits, it is lost.

    The wait happens outside the stand-in's lock, so other requests are not held up.
    """

    seconds: float
    body: Any


Responder = Callable[[Recorded], tuple[int, Any]]


@dataclass
class StandIn:
    """An HTTP server on 127.0.0.1 answering with ``responder`` and recording every request.

    The responder runs under a lock, so a responder that sleeps (a timeout) delays the others.
    """

    responder: Responder
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    server: ThreadingHTTPServer | None = None


@contextmanager
def trusting_the_test_authority() -> Iterator[None]:
    """Clients in this process trust the test authority's certificates (and nothing else)."""
    before = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(authority().ca_file)
    try:
        yield
    finally:
        if before is None:
            del os.environ["SSL_CERT_FILE"]
        else:
            os.environ["SSL_CERT_FILE"] = before


@contextmanager
def serve(responder: Responder) -> Iterator[StandIn]:
    """Run a stand-in over https://127.0.0.1 in a thread for the duration of the block.

    TLS, as every URL the control record names is https://; clients trust the stand-in's
    certificate for the duration of the block.
    """
    stand_in = StandIn(responder)
    lock = threading.Lock()
    tls = authority().server_context()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"raw": raw.decode(errors="replace")}
            recorded = Recorded(
                method, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            with lock:
                stand_in.requests.append(recorded)
                status, answer = responder(recorded)
            if isinstance(answer, Slow):
                time.sleep(answer.seconds)
                answer = answer.body
            headers = {"content-type": "application/json"}
            if isinstance(answer, Raw):
                data, headers = answer.data, {**headers, **answer.headers}
            else:
                data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (OSError, ssl.SSLError):
                # The client gave up waiting (a lost answer): nobody to answer any more.
                self.close_connection = True

        def do_POST(self) -> None:
            self._answer("POST")

        def do_GET(self) -> None:
            self._answer("GET")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class TlsServer(ThreadingHTTPServer):
        def finish_request(self, request: Any, client_address: Any) -> None:
            # In the request's own thread, so a slow handshake holds up no other client.
            try:
                request = tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            super().finish_request(request, client_address)

    server = TlsServer(("127.0.0.1", 0), Handler)
    stand_in.server = server
    stand_in.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with trusting_the_test_authority():
            yield stand_in
    finally:
        server.shutdown()
        server.server_close()

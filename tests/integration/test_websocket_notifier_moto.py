"""WebSocket routes and the notifier against moto: a real stream, table and management API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID

from functions.notifier import handler as notifier_handler
from functions.notifier.adapters import AppSyncPublisher, IdempotentDeliveries, WebSocketPusher
from functions.notifier.handler import StreamNotifier
from functions.notifier.notify import OrderNotifier
from functions.orders.read_model import CONNECTIONS_CUSTOMER_ATTRIBUTE, TTL_ATTRIBUTE
from functions.outbound import Transport
from functions.read_side.connections import ConnectionStore
from functions.websocket import handler as ws_handler
from tests.support.appsync_standin import StandIn, appsync_standin
from tests.support.lambda_context import lambda_context
from tests.support.read_side import (
    a_view,
    create_connections_table,
    create_idempotency_table,
    create_order_table,
    put_order,
)

REGION = "eu-central-1"
TABLE = "orders"
CONNECTIONS = "connections"
IDEMPOTENCY = "idempotency"
ENDPOINT = f"https://abc123.execute-api.{REGION}.amazonaws.com/prod"
CREDENTIALS = Credentials("AKIDTESTING", "secret-testing", "token-testing")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto with the order table (streamed) and the connections table, and the env of both functions."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": CREDENTIALS.access_key,
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS.secret_key,
        "AWS_SESSION_TOKEN": CREDENTIALS.token,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "CONNECTIONS_TABLE_NAME": CONNECTIONS,
        "WEBSOCKET_ENDPOINT": ENDPOINT,
        "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_order_table(client, TABLE, stream=True)
        create_connections_table(client, CONNECTIONS)
        create_idempotency_table(client, IDEMPOTENCY)
        ws_handler.build_routes.cache_clear()
        notifier_handler.build_notifier.cache_clear()
        yield
        ws_handler.build_routes.cache_clear()
        notifier_handler.build_notifier.cache_clear()


def ws(route: str, connection_id: str, body: Any = None) -> dict[str, Any]:
    event: dict[str, Any] = {"requestContext": {"routeKey": route, "connectionId": connection_id}}
    if body is not None:
        event["body"] = json.dumps(body) if not isinstance(body, str) else body
    return ws_handler.handler(event, lambda_context())


def connection_item(connection_id: str) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(CONNECTIONS)
    return table.get_item(Key={"connectionId": connection_id}).get("Item")


def stream_event() -> dict[str, Any]:
    """Every record on the order table's stream so far, as the event source mapping delivers them."""
    client = boto3.client("dynamodb", region_name=REGION)
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.get_records(ShardIterator=iterator)["Records"]:
            records.append({**record, "eventSourceARN": arn})
    return json.loads(json.dumps({"Records": records}, default=str))


def messages(data: bytes) -> list[Any]:
    """The JSON messages moto stored back to back for one connection."""
    decoder, text, found = json.JSONDecoder(), data.decode(), []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        message, position = decoder.raw_decode(text, position)
        found.append(message)
    return found


def delivered() -> dict[str, list[Any]]:
    """What moto's management API received, by connection."""
    backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID][REGION]
    return {cid: messages(c.data) for cid, c in backend.connections.items() if c.data}


class GoneFor:
    """The management client, except that some connections answer 410 as API Gateway does."""

    def __init__(self, client: Any, gone: set[str]) -> None:
        self._client = client
        self._gone = gone

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> Any:
        if ConnectionId in self._gone:
            raise ClientError(
                {
                    "Error": {"Code": "GoneException", "Message": "gone"},
                    "ResponseMetadata": {"HTTPStatusCode": 410},
                },
                "PostToConnection",
            )
        return self._client.post_to_connection(ConnectionId=ConnectionId, Data=Data + b"\n")


def notifier_with(stand_in: StandIn, gone: set[str]) -> StreamNotifier:
    management = boto3.client("apigatewaymanagementapi", region_name=REGION, endpoint_url=ENDPOINT)
    store = ConnectionStore(boto3.client("dynamodb", region_name=REGION), CONNECTIONS)
    publisher = AppSyncPublisher(stand_in.url, REGION, lambda: CREDENTIALS, Transport(5.0))
    once = IdempotentDeliveries(boto3.client("dynamodb", region_name=REGION), IDEMPOTENCY)
    return StreamNotifier(
        OrderNotifier(store, WebSocketPusher(GoneFor(management, gone)), publisher, once)
    )


def test_connect_stores_the_connection_with_a_ttl(aws):
    # Given a client opening a WebSocket
    # When $connect runs
    answer = ws("$connect", "conn1")
    # Then the connection is stored and will expire
    assert answer["statusCode"] == 200
    item = connection_item("conn1")
    assert item is not None and int(item[TTL_ATTRIBUTE]) > 0


def test_subscribe_points_the_connection_at_the_customer(aws):
    # Given an open connection
    ws("$connect", "conn1")
    # When the client subscribes to c-1
    answer = ws("subscribe", "conn1", {"action": "subscribe", "customerId": "c-1"})
    # Then it is told so and the connection is found under c-1
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"type": "subscribed", "customerId": "c-1"}
    assert connection_item("conn1")[CONNECTIONS_CUSTOMER_ATTRIBUTE] == "c-1"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"customerId": "a#b"}),
        json.dumps({"action": "subscribe"}),
        # Nested deeper than Python's recursion limit, within the 4 KiB a message may have.
        "[" * 2000 + "]" * 2000,
        '{"action": "subscribe", "customerId": "\ud800"}',
        json.dumps({"action": "subscribe", "customerId": "c-1\n"}),
    ],
)
def test_a_malformed_subscribe_is_400_and_subscribes_nothing(aws, body):
    # Given an open connection
    ws("$connect", "conn1")
    # When the client sends a subscribe message that is not well formed
    answer = ws("subscribe", "conn1", body)
    # Then it gets the error shape and the connection follows no customer
    assert answer["statusCode"] == 400
    assert "error" in json.loads(answer["body"])
    assert CONNECTIONS_CUSTOMER_ATTRIBUTE not in connection_item("conn1")


def test_disconnect_forgets_the_connection(aws):
    # Given a subscribed connection
    ws("$connect", "conn1")
    ws("subscribe", "conn1", {"action": "subscribe", "customerId": "c-1"})
    # When $disconnect runs
    ws("$disconnect", "conn1")
    # Then the connection is gone from the table
    assert connection_item("conn1") is None


def test_an_order_change_reaches_only_the_connections_subscribed_to_its_customer(aws):
    # Given two connections following c-1 and one following c-2
    for cid, customer in (("a1", "c-1"), ("a2", "c-1"), ("b1", "c-2")):
        ws("$connect", cid)
        ws("subscribe", cid, {"action": "subscribe", "customerId": customer})
    with appsync_standin(CREDENTIALS, REGION) as stand_in:
        # And an order of c-1 written into the local table
        put_order(
            boto3.resource("dynamodb", region_name=REGION).Table(TABLE),
            a_view("o-1", "c-1"),
            "2024-05-01T10:00:00Z",
        )
        # When the notifier handles the stream
        response = notifier_with(stand_in, gone=set()).handle(stream_event(), None)
    # Then each c-1 connection got the update once, and c-2's got nothing
    expected = {"type": "orderUpdated", "order": a_view("o-1", "c-1")}
    assert response == {"batchItemFailures": []}
    assert delivered() == {"a1": [expected], "a2": [expected]}


def test_a_connection_that_answers_410_is_deleted(aws):
    # Given two connections of c-1, one of which API Gateway reports gone
    for cid in ("live", "gone"):
        ws("$connect", cid)
        ws("subscribe", cid, {"action": "subscribe", "customerId": "c-1"})
    with appsync_standin(CREDENTIALS, REGION) as stand_in:
        put_order(
            boto3.resource("dynamodb", region_name=REGION).Table(TABLE),
            a_view("o-1", "c-1"),
            "2024-05-01T10:00:00Z",
        )
        # When the notifier handles the change
        notifier_with(stand_in, gone={"gone"}).handle(stream_event(), None)
    # Then the gone connection is deleted and the live one kept and served
    assert connection_item("gone") is None
    assert connection_item("live") is not None
    assert list(delivered()) == ["live"]


def test_the_appsync_mutation_is_signed_for_this_region_and_carries_the_view(aws):
    # Given the local AppSync endpoint (a stand-in that verifies SigV4)
    with appsync_standin(CREDENTIALS, REGION) as stand_in:
        put_order(
            boto3.resource("dynamodb", region_name=REGION).Table(TABLE),
            a_view("o-1", "c-1"),
            "2024-05-01T10:00:00Z",
            correlation_id="checkout-7",
        )
        # When the notifier handles the change
        response = notifier_with(stand_in, gone=set()).handle(stream_event(), None)
    # Then one publishOrderUpdate call arrived, validly signed, with the view as its variable
    # and the id of the request that caused the change
    assert response == {"batchItemFailures": []}
    assert len(stand_in.received) == 1
    call = stand_in.received[0]
    assert call["signatureValid"]
    assert "publishOrderUpdate" in call["body"]["query"]
    assert call["body"]["variables"] == {
        "order": a_view("o-1", "c-1"),
        "correlationId": "checkout-7",
    }


def test_a_change_that_appsync_refuses_is_reported_for_retry(aws):
    # Given an AppSync endpoint that answers with a GraphQL error
    with appsync_standin(CREDENTIALS, REGION) as stand_in:
        stand_in.answer = {"data": None, "errors": [{"message": "nope"}]}
        put_order(
            boto3.resource("dynamodb", region_name=REGION).Table(TABLE),
            a_view("o-1", "c-1"),
            "2024-05-01T10:00:00Z",
        )
        event = stream_event()
        # When the notifier handles the change
        response = notifier_with(stand_in, gone=set()).handle(event, None)
    # Then the view item's record is reported failed so the stream retries it
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    view_records = [
        r["dynamodb"]["SequenceNumber"]
        for r in event["Records"]
        if r["dynamodb"]["Keys"]["sk"]["S"] == "VIEW"
    ]
    assert failed == view_records


def test_a_request_signed_with_other_credentials_is_refused_by_the_stand_in(aws):
    # Given a publisher holding credentials the endpoint does not know
    with appsync_standin(CREDENTIALS, REGION) as stand_in:
        stranger = AppSyncPublisher(
            stand_in.url,
            REGION,
            lambda: Credentials("AKIDTESTING", "wrong-secret"),
            Transport(5.0),
        )
        # When it publishes
        with pytest.raises(RuntimeError):
            stranger.publish(a_view("o-1", "c-1"))
    # Then the stand-in saw an invalid signature (so the valid one above means something)
    assert stand_in.received[0]["signatureValid"] is False


def test_the_deployed_wiring_pushes_and_publishes_from_the_environment(aws, monkeypatch):
    # Given the notifier built from its environment, and a subscribed connection
    ws("$connect", "a1")
    ws("subscribe", "a1", {"action": "subscribe", "customerId": "c-1"})
    # (moto swaps in credentials of its own: the stand-in must expect those)
    frozen = boto3.session.Session().get_credentials().get_frozen_credentials()
    lambda_credentials = Credentials(frozen.access_key, frozen.secret_key, frozen.token)
    with appsync_standin(lambda_credentials, REGION) as stand_in:
        monkeypatch.setenv("GRAPHQL_URL", stand_in.url)
        put_order(
            boto3.resource("dynamodb", region_name=REGION).Table(TABLE),
            a_view("o-1", "c-1"),
            "2024-05-01T10:00:00Z",
        )
        # When the Lambda entry point handles the stream
        response = notifier_handler.handler(stream_event(), lambda_context())
    # Then the connection got the update and AppSync a validly signed mutation
    assert response == {"batchItemFailures": []}
    assert list(delivered()) == ["a1"]
    assert [c["signatureValid"] for c in stand_in.received] == [True]


def test_a_retry_after_appsync_failed_once_delivers_each_update_exactly_once(aws, monkeypatch):
    # Given two connections following c-1, and the notifier built from its environment
    for cid in ("a1", "a2"):
        ws("$connect", cid)
        ws("subscribe", cid, {"action": "subscribe", "customerId": "c-1"})
    frozen = boto3.session.Session().get_credentials().get_frozen_credentials()
    lambda_credentials = Credentials(frozen.access_key, frozen.secret_key, frozen.token)
    with appsync_standin(lambda_credentials, REGION) as stand_in:
        monkeypatch.setenv("GRAPHQL_URL", stand_in.url)
        # And an AppSync endpoint that fails the first publish, then accepts
        stand_in.refuse_next = 1
        put_order(
            boto3.resource("dynamodb", region_name=REGION).Table(TABLE),
            a_view("o-1", "c-1"),
            "2024-05-01T10:00:00Z",
        )
        event = stream_event()
        # When the stream delivers the batch, and then retries the record that failed
        first = notifier_handler.handler(event, lambda_context())
        retried = [
            r
            for r in event["Records"]
            if r["dynamodb"]["SequenceNumber"]
            in {f["itemIdentifier"] for f in first["batchItemFailures"]}
        ]
        second = notifier_handler.handler({"Records": retried}, lambda_context())
    # Then the retry succeeded, each subscriber got the update exactly once (the retry skipped
    # the WebSocket push that had already succeeded), and AppSync subscribers got it once
    assert len(first["batchItemFailures"]) == 1
    assert second == {"batchItemFailures": []}
    expected = {"type": "orderUpdated", "order": a_view("o-1", "c-1")}
    assert delivered() == {"a1": [expected], "a2": [expected]}
    assert [call["body"]["variables"]["order"] for call in stand_in.accepted()] == [
        a_view("o-1", "c-1")
    ]


class LambdaContext:
    """The part of Lambda's context that powertools reads: the time left in the invocation."""

    def __init__(self, remaining_ms: int) -> None:
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


class TimedOutOnce:
    """A management client whose first push never returns: Lambda kills the invocation."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.killed = False

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> Any:
        if not self.killed:
            self.killed = True
            raise SystemExit("Task timed out")  # nothing in the handler may clean up after it
        return self._client.post_to_connection(ConnectionId=ConnectionId, Data=Data)


def test_a_delivery_cut_off_by_a_lambda_timeout_is_retried_not_blocked(aws):
    # Given a subscriber of c-1, and a notifier whose first push is cut off by a timeout
    ws("$connect", "a1")
    ws("subscribe", "a1", {"action": "subscribe", "customerId": "c-1"})
    management = TimedOutOnce(
        boto3.client("apigatewaymanagementapi", region_name=REGION, endpoint_url=ENDPOINT)
    )
    once = IdempotentDeliveries(boto3.client("dynamodb", region_name=REGION), IDEMPOTENCY)
    store = ConnectionStore(boto3.client("dynamodb", region_name=REGION), CONNECTIONS)
    with appsync_standin(CREDENTIALS, REGION) as stand_in:
        publisher = AppSyncPublisher(stand_in.url, REGION, lambda: CREDENTIALS, Transport(5.0))
        stream = StreamNotifier(
            OrderNotifier(store, WebSocketPusher(management), publisher, once),
            on_invocation=once.register_lambda_context,
        )
        put_order(
            boto3.resource("dynamodb", region_name=REGION).Table(TABLE),
            a_view("o-1", "c-1"),
            "2024-05-01T10:00:00Z",
        )
        event = stream_event()
        with pytest.raises(SystemExit):
            stream.handle(event, LambdaContext(remaining_ms=0))
        time.sleep(0.01)  # the invocation's deadline has passed
        # When the stream retries the batch in a new invocation
        response = stream.handle(event, LambdaContext(remaining_ms=60_000))
    # Then the delivery left in progress by the dead invocation does not block the retry
    assert response == {"batchItemFailures": []}
    assert list(delivered()) == ["a1"]

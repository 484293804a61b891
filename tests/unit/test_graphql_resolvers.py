"""The AppSync schema and every resolver, executed through graphql-core and as raw events."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType, build_schema, parse, validate

from functions.graphql.resolvers import RESOLVED_FIELDS, build_resolver
from functions.graphql.schema import schema_text, schema_with_prelude
from functions.notifier.adapters import PUBLISH_ORDER_UPDATE
from functions.orders.domain import order_id_for
from functions.orders.ports import ControlRecord, Mode, Relayed
from functions.orders.write import WriteDeps
from functions.read_side.queries import OrderQueries
from functions.read_side.tokens import PageTokens
from tests.support.appsync_emulator import appsync_event, executable_schema, run
from tests.support.read_side import TOKEN_KEY, InMemoryOrderReader, a_view
from tests.unit.orders_fakes import FakeControl, FakeForwarder, FakeSaga

ORDER_FIELDS = (
    "orderId customerId status items { sku quantity unitPrice } total currency "
    "payment { status } updatedAt"
)
GET = f"query($id: ID!) {{ getOrder(orderId: $id) {{ {ORDER_FIELDS} }} }}"
LIST = (
    "query($c: ID!, $l: Int, $t: String) { listOrders(customerId: $c, limit: $l, "
    "nextToken: $t) { items { orderId } nextToken } }"
)
PLACE = (
    "mutation($k: String!, $i: PlaceOrderInput!) { placeOrder(idempotencyKey: $k, "
    "input: $i) { orderId status region primaryRegion } }"
)
PUBLISH = (
    f"mutation($o: OrderUpdateInput!) {{ publishOrderUpdate(order: $o) {{ {ORDER_FIELDS} }} }}"
)
AN_ORDER = {
    "customerId": "c-1",
    "currency": "EUR",
    "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": 1250}],
    "payment": {"token": "tok_visa"},
}


class Region:
    """One region's resolver over in-memory reads and the write path's fakes."""

    def __init__(
        self, name: str = "eu-west-1", primary: str = "eu-west-1", mode: Mode = Mode.NORMAL
    ) -> None:
        self.reader = InMemoryOrderReader()
        self.saga = FakeSaga()
        self.forwarder = FakeForwarder()
        control = FakeControl(ControlRecord(primary, "https://primary/internal/orders", mode))
        self.deps = WriteDeps(
            region=name, control=control, saga=self.saga, forwarder=self.forwarder
        )
        queries = OrderQueries(self.reader, PageTokens(TOKEN_KEY))
        self.app = build_resolver(lambda: queries, lambda: self.deps)
        self.schema = executable_schema(lambda event: self.app.resolve(event, None))

    def run(self, document: str, **variables: Any) -> Any:
        return run(self.schema, document, **variables)


def directives(type_name: str, field_name: str | None = None) -> set[str]:
    document = parse(schema_text())
    for definition in document.definitions:
        if getattr(definition, "name", None) and definition.name.value == type_name:
            if field_name is None:
                return {d.name.value for d in definition.directives}
            for field in definition.fields:
                if field.name.value == field_name:
                    return {d.name.value for d in field.directives}
    raise AssertionError(f"{type_name}.{field_name} not in the schema")


def test_the_schema_parses_and_offers_every_documented_operation():
    # Given the schema file with AppSync's built-ins declared
    # When graphql-core builds it
    schema = build_schema(schema_with_prelude())
    # Then it has the queries, the mutations and the subscription the API documents
    assert set(schema.query_type.fields) == {"getOrder", "listOrders"}
    assert set(schema.mutation_type.fields) == {"placeOrder", "publishOrderUpdate"}
    assert set(schema.subscription_type.fields) == {"onOrderUpdated"}


def test_only_iam_callers_can_publish_order_updates():
    # Given the schema's auth directives
    # When we read who may call each mutation
    publish, place = (
        directives("Mutation", "publishOrderUpdate"),
        directives("Mutation", "placeOrder"),
    )
    # Then publishing is IAM-only while clients can place orders with an API key
    assert publish == {"aws_iam"}
    assert {"aws_api_key", "aws_iam"} <= place


def test_subscribers_are_filtered_by_customer_and_fed_by_the_publish_mutation():
    # Given the subscription field
    schema = build_schema(schema_with_prelude())
    field = schema.subscription_type.fields["onOrderUpdated"]
    order = schema.get_type("Order")
    assert isinstance(order, GraphQLObjectType)
    # When we read its trigger and its argument
    trigger = field.ast_node.directives[0]
    # Then it fires on publishOrderUpdate, and its argument is a field of Order (AppSync
    # filters subscriptions by matching arguments against the mutation's result)
    assert trigger.name.value == "aws_subscribe"
    assert "publishOrderUpdate" in trigger.arguments[0].value.values[0].value
    assert set(field.args) <= set(order.fields)


def test_the_notifiers_mutation_is_valid_and_selects_every_order_field():
    # Given the document the notifier sends to AppSync
    schema = build_schema(schema_with_prelude())
    document = parse(PUBLISH_ORDER_UPDATE)
    # When it is validated against the schema
    errors = validate(schema, document)
    # Then it is valid and asks for every Order field, so subscribers get whole views
    assert errors == []
    selection = document.definitions[0].selection_set.selections[0].selection_set.selections
    order = schema.get_type("Order")
    assert isinstance(order, GraphQLObjectType)
    assert {s.name.value for s in selection} == set(order.fields)


def test_get_order_returns_the_view():
    # Given a stored order
    region = Region()
    region.reader.add(a_view("o-1", "c-1"), "2024-05-01T10:00:00Z")
    # When a client queries it
    result = region.run(GET, id="o-1")
    # Then it gets the same view as the HTTP API gives
    assert result.errors is None
    assert result.data == {"getOrder": a_view("o-1", "c-1")}


def test_get_order_of_an_unknown_order_is_null():
    # Given no orders
    region = Region()
    # When a client queries one
    result = region.run(GET, id="nope")
    # Then the answer is null, not an error
    assert result.errors is None
    assert result.data == {"getOrder": None}


def test_get_order_with_a_malformed_id_is_a_bad_request_naming_the_field():
    # Given a client sending an id the API refuses
    region = Region()
    # When it queries
    result = region.run(GET, id="a#b")
    # Then the error names the code and the argument
    assert result.errors is not None
    assert "INVALID_INPUT (orderId)" in result.errors[0].message


def test_list_orders_pages_newest_first_with_a_token():
    # Given three orders of c-1
    region = Region()
    for n in range(3):
        region.reader.add(a_view(f"o{n}", "c-1"), f"2024-05-0{n + 1}T10:00:00Z")
    # When a client lists two, then follows the token
    first = region.run(LIST, c="c-1", l=2).data["listOrders"]
    second = region.run(LIST, c="c-1", l=2, t=first["nextToken"]).data["listOrders"]
    # Then it sees all three newest first, and the last page has no token
    assert [o["orderId"] for o in first["items"] + second["items"]] == ["o2", "o1", "o0"]
    assert second["nextToken"] is None


def test_list_orders_refuses_a_token_of_another_customer():
    # Given a token issued for c-1
    region = Region()
    for n in range(2):
        region.reader.add(a_view(f"o{n}", "c-1"), f"2024-05-0{n + 1}T10:00:00Z")
    token = region.run(LIST, c="c-1", l=1).data["listOrders"]["nextToken"]
    # When it is used for c-2
    result = region.run(LIST, c="c-2", t=token)
    # Then it is a bad request on nextToken
    assert result.errors is not None
    assert "INVALID_INPUT (nextToken)" in result.errors[0].message


def test_place_order_in_the_primary_starts_the_saga_and_is_pending():
    # Given the primary region
    region = Region()
    # When a client places an order
    result = region.run(PLACE, k="key-1", i=AN_ORDER)
    # Then it is PENDING in this region and one saga started
    assert result.errors is None
    placed = result.data["placeOrder"]
    assert (placed["status"], placed["region"], placed["primaryRegion"]) == (
        "PENDING",
        "eu-west-1",
        "eu-west-1",
    )
    assert list(region.saga.started) == [placed["orderId"]]


def test_place_order_validates_like_the_write_api():
    # Given the primary region and an order with a zero quantity
    region = Region()
    bad = {**AN_ORDER, "items": [{"sku": "SKU-1", "quantity": 0, "unitPrice": 1250}]}
    # When a client places it
    result = region.run(PLACE, k="key-1", i=bad)
    # Then it is refused as a bad request that names the item's quantity, and no saga runs
    assert result.errors is not None
    assert "quantity" in result.errors[0].message
    assert region.saga.started == {}


@pytest.mark.parametrize("primary", ["eu-west-1", "us-east-1"])
def test_place_order_with_a_key_ending_in_a_newline_is_a_bad_request(primary):
    # Given the primary, or a secondary that forwards
    region = Region(primary=primary)
    # When a client places an order with a key that ends in a newline
    result = region.run(PLACE, k="key-1\n", i=AN_ORDER)
    # Then it is a bad request on the key, and nothing started or was forwarded
    assert result.errors is not None
    assert result.errors[0].message.startswith("INVALID_IDEMPOTENCY_KEY (Idempotency-Key)")
    assert (region.saga.started, region.forwarder.calls) == ({}, [])


def test_place_order_in_a_secondary_is_forwarded_to_the_primary_with_its_key():
    # Given a secondary region whose primary is eu-west-1
    region = Region(name="ap-southeast-1", primary="eu-west-1")
    # When a client places an order there
    result = region.run(PLACE, k="key-7", i=AN_ORDER)
    # Then the write went to the primary with the same idempotency key, and no local saga
    assert result.errors is None
    assert result.data["placeOrder"]["primaryRegion"] == "eu-west-1"
    assert result.data["placeOrder"]["orderId"] == order_id_for("key-7")
    assert [call[2]["idempotency-key"] for call in region.forwarder.calls] == ["key-7"]
    assert region.saga.started == {}


def test_place_order_in_read_only_mode_is_service_unavailable():
    # Given a region where the control record says read-only
    region = Region(mode=Mode.READ_ONLY)
    # When a client places an order
    result = region.run(PLACE, k="key-1", i=AN_ORDER)
    # Then it is told the service is unavailable (READ_ONLY), nothing dropped silently
    assert result.errors is not None
    assert result.errors[0].message.startswith("READ_ONLY")


def test_publish_order_update_returns_the_view_for_subscribers():
    # Given the notifier's update of an order
    region = Region()
    # When it calls publishOrderUpdate
    result = region.run(PUBLISH, o=a_view("o-1", "c-1"))
    # Then the mutation's result, which subscribers receive, is the view
    assert result.errors is None
    assert result.data == {"publishOrderUpdate": a_view("o-1", "c-1")}


PUBLISH_WITH_ID = (
    "mutation($o: OrderUpdateInput!, $c: String) { publishOrderUpdate(order: $o, "
    "correlationId: $c) { orderId correlationId } }"
)


@pytest.mark.parametrize(
    ("sent", "received"),
    [("checkout-42", "checkout-42"), (None, None), ("not an id", None)],
    ids=["given", "none", "unusable"],
)
def test_subscribers_receive_the_correlation_id_of_the_request_that_caused_the_update(
    sent: str | None, received: str | None
) -> None:
    # Given the notifier's update, with the id of the request that caused it (or none)
    region = Region()
    # When it calls publishOrderUpdate
    result = region.run(PUBLISH_WITH_ID, o=a_view("o-1", "c-1"), c=sent)
    # Then the result subscribers get names that request, when the id is one
    assert result.errors is None
    assert result.data == {"publishOrderUpdate": {"orderId": "o-1", "correlationId": received}}


@pytest.mark.parametrize(
    "field_name, arguments, expected",
    [
        ("getOrder", {"orderId": "o-1"}, a_view("o-1", "c-1")),
        ("listOrders", {"customerId": "c-1"}, {"items": [a_view("o-1", "c-1")], "nextToken": None}),
    ],
)
def test_the_lambda_answers_a_raw_appsync_event(field_name, arguments, expected):
    # Given a stored order and the event AppSync sends a direct Lambda resolver
    region = Region()
    region.reader.add(a_view("o-1", "c-1"), "2024-05-01T10:00:00Z")
    # When the Lambda app resolves it
    answer = region.app.resolve(appsync_event("Query", field_name, arguments), None)
    # Then it returns the field's value as JSON-ready data
    assert answer == expected


def without(event, *path):
    """The event with the key at ``path`` removed."""
    parent = event
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return event


@pytest.mark.parametrize(
    "event",
    [
        {},
        [],
        "text",
        without(appsync_event("Query", "getOrder", {"orderId": "o-1"}), "info"),
        without(appsync_event("Query", "getOrder", {"orderId": "o-1"}), "info", "fieldName"),
        without(appsync_event("Query", "getOrder", {"orderId": "o-1"}), "info", "parentTypeName"),
        {**appsync_event("Query", "getOrder", {}), "arguments": ["o-1"]},
        {**appsync_event("Query", "getOrder", {}), "info": "getOrder"},
        appsync_event("Query", "deleteOrder", {"orderId": "o-1"}),
        appsync_event("Mutation", "getOrder", {"orderId": "o-1"}),
        appsync_event("Query", "getOrder", {"orderId": "o-1", "customerId": "c-1"}),
        appsync_event("Query", "listOrders", {"customerId": "c-1", "page": 2}),
        appsync_event("Mutation", "placeOrder", {"idempotencyKey": "k", "input": {}, "x": 1}),
        appsync_event("Mutation", "publishOrderUpdate", {"order": {}, "extra": True}),
    ],
)
def test_an_event_with_missing_fields_or_unknown_arguments_is_a_bad_request(event):
    # Given a region, and an event AppSync would never send for this schema
    region = Region()
    region.reader.add(a_view("o-1", "c-1"), "2024-05-01T10:00:00Z")
    # When the Lambda app resolves it
    with pytest.raises(Exception) as raised:
        region.app.resolve(event, None)
    # Then the error is a documented errorType (BadRequest), never KeyError or TypeError
    assert type(raised.value).__name__ == "BadRequest"
    assert region.saga.started == {}


@pytest.mark.parametrize(
    "field_name, arguments",
    [
        ("getOrder", {}),
        ("getOrder", {"orderId": None}),
        ("listOrders", {}),
        ("listOrders", {"customerId": "c-1", "limit": "ten"}),
    ],
)
def test_a_query_with_a_missing_or_null_argument_is_a_bad_request(field_name, arguments):
    # Given a region
    region = Region()
    # When a raw event lacks a required argument
    with pytest.raises(Exception) as raised:
        region.app.resolve(appsync_event("Query", field_name, arguments), None)
    # Then it is a BadRequest naming what is wrong
    assert type(raised.value).__name__ == "BadRequest"


@pytest.mark.parametrize(
    "arguments",
    [{}, {"idempotencyKey": "k-1"}, {"input": AN_ORDER}, {"idempotencyKey": 7, "input": AN_ORDER}],
)
def test_place_order_with_missing_arguments_is_a_bad_request(arguments):
    # Given the primary
    region = Region()
    # When a raw placeOrder event lacks the key or the input, or the key is not a string
    with pytest.raises(Exception) as raised:
        region.app.resolve(appsync_event("Mutation", "placeOrder", arguments), None)
    # Then it is a BadRequest and no saga started
    assert type(raised.value).__name__ == "BadRequest"
    assert region.saga.started == {}


def test_the_resolvers_accept_exactly_the_arguments_the_schema_declares():
    # Given the schema's Query and Mutation fields
    schema = build_schema(schema_with_prelude())
    declared = {
        (type_name, name): set(field.args)
        for type_name in ("Query", "Mutation")
        for name, field in schema.get_type(type_name).fields.items()
    }
    # When compared with what the Lambda app accepts / Then they are the same
    assert declared == {key: set(args) for key, args in RESOLVED_FIELDS.items()}


@pytest.mark.parametrize(
    "status, body",
    [(403, {"message": "Forbidden"}), (404, {"message": "Not Found"}), (302, {})],
)
def test_place_order_in_a_secondary_whose_primary_route_is_broken_is_request_failed(status, body):
    # Given a secondary whose write URL answers as no deployed internal route would
    region = Region(name="ap-southeast-1", primary="eu-west-1")
    region.forwarder.answer = Relayed(status, body)
    # When a client places an order
    result = region.run(PLACE, k="key-7", i=AN_ORDER)
    # Then it is a documented error saying the write path is misconfigured
    assert result.errors is not None
    assert result.errors[0].message.startswith("MISCONFIGURED")

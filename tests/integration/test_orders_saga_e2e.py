"""The checkout saga end to end: moto executes the generated definition, the real handlers
run in process against real PostgreSQL, and a payment provider stand-in answers over https."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from functions.orders import read_model
from functions.orders.domain import order_id_for
from functions.outbox_drain.handler import OutboxNotDrained
from functions.saga import handler as saga_handler
from functions.write_api import handler as write_api
from tests.integration.orders_harness import (
    PRIMARY,
    TABLE,
    customer_items,
)
from tests.integration.saga_harness import (
    End,
    FlakyEvents,
    World,
    post_order,
    view,
)
from tests.support.lambda_context import lambda_context

pytestmark = pytest.mark.postgres


def test_a_good_card_ends_confirmed_captured_once_and_projected(world: World) -> None:
    # Given a customer with a good card
    # When they place an order and the saga runs
    order_id = world.run()
    world.project()
    # Then the order is confirmed with its payment captured exactly once, the customer
    # counted once, and the CRM told
    assert world.end(order_id) == End("SUCCEEDED", "CONFIRMED", "CAPTURED", "captured", 1, "placed")
    assert len(world.calls("/capture")) == 1
    # And the view in the global table is what GET /orders/{id} returns
    table = boto3.client("dynamodb", region_name=PRIMARY)
    item = table.get_item(
        TableName=TABLE, Key={k: {"S": v} for k, v in read_model.order_key(order_id).items()}
    )["Item"]
    shown = item[read_model.VIEW_ATTRIBUTE]["M"]
    assert shown["status"]["S"] == "CONFIRMED"
    assert shown["total"]["N"] == "3998"
    assert shown["payment"]["M"]["status"]["S"] == "CAPTURED"
    # And the customer's order list holds it too
    listed = customer_items("cust-1")
    assert [i["view"]["M"]["orderId"]["S"] for i in listed] == [order_id]
    # And every event left the outbox
    assert world.pending_events() == []


def test_a_declined_card_ends_failed_and_leaves_nothing_open(world: World) -> None:
    # Given a card the provider declines
    world.stand_in.faults["authorize"] = "business"
    # When the order is placed
    order_id = world.run()
    # Then the order failed with the decline as its cause, and no authorization exists
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("PaymentDeclined")
    assert payment == "DECLINED"
    # And the compensations ran once each, in reverse order, without asking the provider
    assert world.compensations(order_id) == ["VoidAuthorization", "CancelOrder"]
    assert world.calls("/capture") == [] and world.calls("/authorizations", "GET") == []


def test_a_rejected_capture_voids_the_authorization_and_ends_failed(world: World) -> None:
    # Given a card whose capture the provider rejects
    world.stand_in.faults["capture"] = "business"
    # When the order is placed
    order_id = world.run()
    # Then the order failed with the capture as cause and the authorization was voided once
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("CaptureRejected")
    assert payment == "VOIDED" and len(world.calls("/void")) == 1
    assert world.end(order_id).provider == "voided"
    assert world.compensations(order_id) == ["RefundPayment", "VoidAuthorization", "CancelOrder"]


def test_a_crm_refusal_refunds_the_capture_and_counts_nothing(world: World) -> None:
    # Given a customer the on-premises CRM refuses
    world.stand_in.faults["crm"] = "business"
    # When the order is placed
    order_id = world.run(customer="cust-crm-rejects")
    # Then no captured payment is left without a confirmed order: it was refunded once
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("CustomerRejected")
    assert payment == "REFUNDED" and len(world.calls("/refunds")) == 1
    # And every compensation ran once, in reverse order
    assert world.compensations(order_id) == [
        "RevertCustomer",
        "RefundPayment",
        "VoidAuthorization",
        "CancelOrder",
    ]
    # And the customer was never counted, and the CRM, which refused, is told nothing more
    assert world.end(order_id) == End("SUCCEEDED", "FAILED", "REFUNDED", "refunded", 0, None)
    assert world.calls("/failed") == []


def test_a_transient_provider_error_that_recovers_ends_confirmed(world: World) -> None:
    # Given a provider that answers 503 to the first authorization
    world.stand_in.faults["authorize"] = "transient"
    # When the order is placed
    order_id = world.run()
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
    assert world.stand_in_requests() == []
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
    # Then the order failed with a cause that names the secret to set, nothing was called,
    # and no one is paged: no authorization can exist, so there is nothing to look up
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("PaymentNotConfigured")
    assert arn in cause and payment == "PENDING"
    assert world.stand_in_requests() == []
    assert world.wait(order_id)["status"] == "SUCCEEDED"


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


def test_a_capture_made_whose_answer_always_times_out_is_refunded_once(world: World) -> None:
    # Given a provider that makes the capture but answers after the client's timeout, always
    world.stand_in.faults["capture"] = "lost_always"
    # When the order is placed and CapturePayment exhausts its retries
    order_id = world.run()
    # Then the order failed, the capture the provider made was refunded once, nothing voided
    status, cause, payment = world.order(order_id)
    assert status == "FAILED" and cause is not None and cause.startswith("TransientError")
    assert payment == "REFUNDED"
    assert len(world.calls("/refunds")) == 1 and world.calls("/void") == []
    # And the provider holds no open authorization and no captured money
    assert [a["status"] for a in world.stand_in.authorizations.values()] == ["refunded"]


# -- 1. an authorization whose answer never arrives ------------------------------------------


def test_an_authorization_whose_answer_is_lost_every_time_is_found_and_voided(
    world: World,
) -> None:
    # Given a provider that authorizes, but answers after the client's timeout every time
    world.stand_in.faults["authorize"] = "lost_always"
    # When the order is placed and AuthorizePayment exhausts its retries
    order_id = world.run()
    world.project()
    # Then VoidAuthorization found the authorization by its idempotency key and voided it:
    # the provider holds nothing, the order failed, and nobody is paged
    assert world.end(order_id) == End("SUCCEEDED", "FAILED", "VOIDED", "voided", 0, None)
    [lookup] = world.calls("/v1/authorizations", "GET")
    assert lookup.path.endswith(f"idempotencyKey={order_id}%3Aauthorize")
    assert len(world.calls("/void")) == 1
    # And the view says so
    assert view(order_id) is not None
    assert (view(order_id) or {})["payment"] == "VOIDED"


# -- 2. an order that has ended is final ------------------------------------------------------


def test_a_saga_run_again_for_an_order_that_failed_unpaid_authorizes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order that failed before anything was authorized (no provider configured)
    monkeypatch.delenv("PAYMENT_BASE_URL")
    saga_handler.steps.cache_clear()
    order_id = world.run()
    # When the provider is configured and the same saga runs again, as after a failover
    monkeypatch.setenv("PAYMENT_BASE_URL", world.provider.url)
    saga_handler.steps.cache_clear()
    rerun = world.rerun(order_id)
    # Then the rerun took no forward effect: nothing was authorized, the order is still
    # FAILED with its first cause, and the rerun ended cleanly (no page)
    assert rerun["status"] == "SUCCEEDED"
    assert world.stand_in_requests() == []
    status, cause, payment = world.order(order_id)
    assert (status, payment) == ("FAILED", "PENDING")
    assert cause is not None and cause.startswith("PaymentNotConfigured")


def test_a_saga_run_again_for_a_refunded_order_counts_nothing_and_moves_no_money(
    world: World,
) -> None:
    # Given an order refunded after its confirmation failed
    world.fault("confirm_order", "business")
    order_id = world.run()
    before = world.money_calls()
    # When the same saga runs again, the fault gone
    world.lambda_faults.clear()
    rerun = world.rerun(order_id)
    world.project()
    # Then nothing moved: no authorization, capture or refund, and the customer not counted
    assert rerun["status"] == "SUCCEEDED"
    assert world.money_calls() == before
    assert world.end(order_id, world.rerun_machine_arn) == End(
        "SUCCEEDED", "FAILED", "REFUNDED", "refunded", 0, "failed"
    )
    assert view(order_id) == {
        "status": "FAILED",
        "payment": "REFUNDED",
        "fingerprint": view(order_id)["fingerprint"],  # type: ignore[index]
    }


def test_a_late_update_customer_after_the_compensations_tells_and_counts_nothing(
    world: World,
) -> None:
    # Given an order that failed at ConfirmOrder and was compensated
    world.fault("confirm_order", "business")
    order_id = world.run()
    told = world.calls("/crm")
    # When an UpdateCustomer of that order runs late (its Lambda outlived the compensations)
    state = json.loads(world.wait(order_id)["input"])
    saga_handler.update_customer(state, lambda_context())
    # Then the CRM is not told again and the customer is not counted
    assert world.calls("/crm") == told
    assert world.end(order_id).counted == 0


def test_a_late_authorization_after_the_order_failed_sends_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order that failed unpaid (no provider configured then)
    monkeypatch.delenv("PAYMENT_BASE_URL")
    saga_handler.steps.cache_clear()
    order_id = world.run()
    # When an AuthorizePayment of that order runs late, with a provider configured now
    monkeypatch.setenv("PAYMENT_BASE_URL", world.provider.url)
    saga_handler.steps.cache_clear()
    saga_handler.authorize_payment(json.loads(world.wait(order_id)["input"]), lambda_context())
    # Then nothing is sent to the provider and the order stays failed, unpaid
    assert world.stand_in_requests() == []
    assert world.order(order_id)[::2] == ("FAILED", "PENDING")


# -- 3. a reused key is known by the order, not by the region's executions -------------------


def fail_over_to_a_region_without_executions(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The write API now starts sagas on another state machine, which has run none."""
    monkeypatch.setenv("STATE_MACHINE_ARN", world.rerun_machine_arn)
    write_api.dependencies.cache_clear()


def executions_of(machine: str) -> list[str]:
    sfn = boto3.client("stepfunctions", region_name=PRIMARY)
    return [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]


def test_a_key_reused_with_another_body_after_a_failover_is_409_and_starts_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order confirmed and projected, then a failover to a region with no history
    order_id = world.run()
    world.project()
    assert (view(order_id) or {})["fingerprint"] is not None
    fail_over_to_a_region_without_executions(world, monkeypatch)
    before = world.end(order_id)
    # When the same key comes with another body
    answer = post_order("cust-1", "tok_ok", "key-1", quantity=3)
    # Then it is the documented 409, no saga starts, and the order is as it was
    assert answer["statusCode"] == 409
    assert json.loads(answer["body"])["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert executions_of(world.rerun_machine_arn) == []
    assert world.end(order_id) == before


def test_the_same_key_and_body_after_a_failover_is_202_for_the_same_order_unchanged(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order confirmed and projected, then a failover to a region with no history
    order_id = world.run()
    world.project()
    fail_over_to_a_region_without_executions(world, monkeypatch)
    before, calls = world.end(order_id), world.money_calls()
    # When the client retries the same order there
    answer = post_order("cust-1", "tok_ok", "key-1")
    # Then it is accepted as the same order; its saga runs again and changes nothing
    assert answer["statusCode"] == 202 and json.loads(answer["body"])["orderId"] == order_id
    assert world.wait(order_id, world.rerun_machine_arn)["status"] == "SUCCEEDED"
    assert world.end(order_id) == before and world.money_calls() == calls


def test_a_reused_key_the_views_do_not_know_yet_leaves_the_order_alone_and_pages_no_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order confirmed but not yet projected, then a failover
    order_id = world.run()
    fail_over_to_a_region_without_executions(world, monkeypatch)
    before, steps_before = world.end(order_id), world.compensations(order_id)
    # When the same key comes with another body, which this region cannot tell yet
    answer = post_order("cust-1", "tok_ok", "key-1", quantity=3)
    # Then its saga stops at ReserveOrder, touches none of the order, and ends without a page
    assert answer["statusCode"] == 202
    assert world.wait(order_id, world.rerun_machine_arn)["status"] == "SUCCEEDED"
    assert world.end(order_id) == before
    assert world.compensations(order_id) == steps_before == []


# -- 4. publishing never decides an order's fate ---------------------------------------------


def test_a_confirmation_whose_event_fails_once_is_published_later_not_refunded(
    world: World,
) -> None:
    # Given a bus that refuses the first OrderConfirmed
    events = FlakyEvents({"OrderConfirmed"}, failures=1)
    world.use_bus(events)
    # When an order with a good card is placed
    order_id = world.run()
    world.project()
    # Then the order is confirmed, captured once and never refunded, without a retry
    assert events.failures_left == 0
    assert world.end(order_id) == End("SUCCEEDED", "CONFIRMED", "CAPTURED", "captured", 1, "placed")
    assert world.calls("/refunds") == [] and world.compensations(order_id) == []
    # And the drainer published the event later, so the view says CONFIRMED
    assert (view(order_id) or {})["status"] == "CONFIRMED"


def test_a_bus_outage_longer_than_every_retry_leaves_paid_orders_confirmed(
    world: World,
) -> None:
    # Given a bus that refuses every event, for longer than any step retries
    events = FlakyEvents(None, failures=10_000)
    world.use_bus(events)
    # When an order with a good card is placed
    order_id = world.run()
    # Then it is confirmed and captured once, nothing refunded, and nobody is paged for it
    assert world.end(order_id) == End("SUCCEEDED", "CONFIRMED", "CAPTURED", "captured", 1, "placed")
    assert world.calls("/refunds") == [] and world.compensations(order_id) == []
    # And its events wait in the outbox; the drainer fails loudly (an alarm) while they do
    assert world.pending_events() == [
        "OrderPlaced",
        "PaymentAuthorized",
        "PaymentCaptured",
        "OrderConfirmed",
    ]
    with pytest.raises(OutboxNotDrained, match="4 events wait"):
        world.drain()
    # When the bus is back
    events.failures_left = 0
    world.project()
    # Then every event was published and the view shows the confirmed order
    assert world.pending_events() == []
    assert (view(order_id) or {})["status"] == "CONFIRMED"

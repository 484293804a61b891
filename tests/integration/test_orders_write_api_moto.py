"""The write API handler in process against moto: saga start, idempotency, forwarding."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from functions.orders import read_model
from functions.orders.domain import order_id_for
from functions.write_api import handler as write_api
from tests.integration.orders_harness import (
    ORDER_BODY,
    PRIMARY,
    SECONDARY,
    TABLE,
    Raw,
    Recorded,
    bus_to_queue,
    deploy_checkout,
    primary_accepts,
    put_control,
    serve,
)
from tests.support.lambda_context import lambda_context
from tests.support.postgres import free_port

BODY = ORDER_BODY


def deploy_region(region: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    """A region's table and state machine, and the write API's environment pointing at them."""
    arn = deploy_checkout(region, monkeypatch, **env)
    write_api.dependencies.cache_clear()
    return arn


def post(body: Any, key: str | None = "key-1", path: str = "/orders") -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    event = {
        "rawPath": path,
        "headers": headers,
        "isBase64Encoded": False,
        "body": body if isinstance(body, str) else json.dumps(body),
    }
    answer = write_api.handler(event, lambda_context())
    answer["json"] = json.loads(answer["body"])
    return answer


def executions(region: str, arn: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name=region)
    return sfn.list_executions(stateMachineArn=arn)["executions"]


def test_the_primary_starts_one_execution_named_after_the_order(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the primary region
    arn = deploy_region(PRIMARY, monkeypatch)
    put_control(PRIMARY, PRIMARY, None)
    # When an order is posted
    answer = post(BODY)
    # Then 202 PENDING, and one execution named after the order carries the request
    assert answer["statusCode"] == 202
    assert answer["json"] == {
        "orderId": order_id_for("key-1"),
        "status": "PENDING",
        "region": PRIMARY,
        "primaryRegion": PRIMARY,
    }
    [execution] = executions(PRIMARY, arn)
    assert execution["name"] == order_id_for("key-1")


def test_the_same_key_twice_gives_one_execution_and_the_same_order(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order posted once
    arn = deploy_region(PRIMARY, monkeypatch)
    put_control(PRIMARY, PRIMARY, None)
    first = post(BODY)
    # When the client retries
    second = post(BODY)
    # Then both answers name the same order and only one saga exists
    assert second["statusCode"] == 202
    assert second["json"]["orderId"] == first["json"]["orderId"]
    assert len(executions(PRIMARY, arn)) == 1


def test_the_same_key_with_another_body_is_409_and_starts_nothing(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order posted once
    arn = deploy_region(PRIMARY, monkeypatch)
    put_control(PRIMARY, PRIMARY, None)
    post(BODY)
    # When the same key comes with another quantity
    answer = post({**BODY, "items": [{"sku": "SKU-1", "quantity": 3, "unitPrice": 1250}]})
    # Then 409 and still one execution
    assert answer["statusCode"] == 409
    assert answer["json"]["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(executions(PRIMARY, arn)) == 1


def test_a_missing_idempotency_key_is_400_with_the_error_shape(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the primary
    deploy_region(PRIMARY, monkeypatch)
    put_control(PRIMARY, PRIMARY, None)
    # When a body comes without a key
    answer = post(BODY, key=None)
    # Then 400 naming the header
    assert answer["statusCode"] == 400
    assert answer["json"] == {
        "error": {
            "code": "MISSING_IDEMPOTENCY_KEY",
            "message": "the Idempotency-Key header is required",
            "field": "Idempotency-Key",
        }
    }


def test_a_secondary_forwards_signed_with_sigv4_and_relays_the_202(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stand-in of the primary's internal route, named by the control record
    with serve(primary_accepts) as primary:
        deploy_region(SECONDARY, monkeypatch)
        put_control(SECONDARY, PRIMARY, f"{primary.url}/internal/orders")
        # When an order is posted in the secondary
        answer = post(BODY)
    # Then the primary got the same key and body, signed for its region with SigV4
    [request] = primary.requests
    assert request.path == "/internal/orders"
    assert request.headers["idempotency-key"] == "key-1"
    assert request.body == BODY
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert f"/{PRIMARY}/execute-api/aws4_request" in request.headers["authorization"]
    # And the client gets the 202 with the order id the primary chose
    assert answer["statusCode"] == 202
    assert answer["json"]["orderId"] == order_id_for("key-1")
    assert answer["json"]["primaryRegion"] == PRIMARY


def test_a_secondary_whose_primary_is_down_answers_503_read_only(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a control record naming a write URL where nothing listens
    deploy_region(SECONDARY, monkeypatch)
    put_control(SECONDARY, PRIMARY, f"https://127.0.0.1:{free_port()}/internal/orders")
    # When an order is posted
    answer = post(BODY)
    # Then read-only with Retry-After
    assert answer["statusCode"] == 503
    assert answer["json"]["error"]["code"] == "READ_ONLY"
    assert int(answer["headers"]["retry-after"]) > 0


def test_a_primary_slower_than_the_timeout_gives_503_read_only_quickly(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a primary that takes 3 s and a forwarding timeout of 0.5 s
    def slow(request: Recorded) -> tuple[int, dict[str, Any]]:
        time.sleep(3)
        return 202, {}

    with serve(slow) as primary:
        deploy_region(SECONDARY, monkeypatch, FORWARD_TIMEOUT_SECONDS="0.5")
        put_control(SECONDARY, PRIMARY, f"{primary.url}/internal/orders")
        # When an order is posted
        started = time.monotonic()
        answer = post(BODY)
        elapsed = time.monotonic() - started
    # Then the client is told read-only instead of waiting for the primary
    assert answer["statusCode"] == 503 and answer["json"]["error"]["code"] == "READ_ONLY"
    assert elapsed < 2.5


def test_the_control_record_in_read_only_mode_gives_503_without_forwarding(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a healthy primary stand-in but a control record set to read-only
    with serve(lambda r: (202, {})) as primary:
        deploy_region(SECONDARY, monkeypatch)
        put_control(SECONDARY, PRIMARY, f"{primary.url}/internal/orders", mode="read-only")
        # When an order is posted
        answer = post(BODY)
    # Then 503 READ_ONLY with Retry-After, and the primary was never called
    assert answer["statusCode"] == 503 and "retry-after" in answer["headers"]
    assert answer["json"]["error"]["code"] == "READ_ONLY"
    assert primary.requests == []


def test_async_mode_puts_order_requested_on_the_local_bus(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a secondary in async mode whose bus delivers to a queue
    queue = bus_to_queue(SECONDARY, "requested", {"detail-type": ["OrderRequested"]})
    deploy_region(
        SECONDARY, monkeypatch, WRITE_MODE="async", EVENT_BUS_NAME="orders", PRIMARY_REGION=PRIMARY
    )
    put_control(SECONDARY, PRIMARY, "https://127.0.0.1:9/internal/orders")
    # When an order is posted
    answer = post(BODY)
    # Then 202, and the event on the bus carries the key, the order id and the request
    assert answer["statusCode"] == 202
    sqs = boto3.client("sqs", region_name=SECONDARY)
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    detail = json.loads(message["Body"])["detail"]
    assert (detail["idempotencyKey"], detail["orderId"]) == ("key-1", order_id_for("key-1"))
    assert detail["request"] == BODY


def test_a_missing_state_machine_is_a_logged_server_error_not_read_only(
    moto_static: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a primary whose STATE_MACHINE_ARN names no state machine (a broken deployment)
    arn = deploy_region(PRIMARY, monkeypatch)
    monkeypatch.setenv("STATE_MACHINE_ARN", arn.replace(":checkout", ":missing"))
    write_api.dependencies.cache_clear()
    put_control(PRIMARY, PRIMARY, None)
    # When an order is posted
    answer = post(BODY)
    # Then it is a 500 that says so, not a 503 telling clients to wait for a fix that won't come
    assert answer["statusCode"] == 500
    assert answer["json"]["error"]["code"] == "MISCONFIGURED"
    assert "retry-after" not in answer["headers"]
    # And the function's log names the problem at ERROR level, with AWS's own error
    [record] = [r for r in caplog.records if "misconfigured" in r.getMessage()]
    assert record.levelname == "ERROR"
    assert record.exc_info is not None and "StateMachineDoesNotExist" in str(record.exc_info[1])


def test_the_control_record_is_read_again_after_its_cache_expires(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a primary with a 1 s control cache that accepted a write
    deploy_region(PRIMARY, monkeypatch, CONTROL_CACHE_SECONDS="1")
    put_control(PRIMARY, PRIMARY, None)
    assert post(BODY, key="a")["statusCode"] == 202
    # When the failover tool sets read-only, and the cache has expired
    put_control(PRIMARY, PRIMARY, None, mode="read-only")
    time.sleep(1.1)
    # Then the next write is refused
    assert post(BODY, key="b")["statusCode"] == 503


def test_the_primary_intake_starts_one_saga_per_forwarded_order_requested(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the primary, named by the control record, and an OrderRequested delivered twice
    # plus an invalid one
    from functions.order_intake import handler as intake

    arn = deploy_region(PRIMARY, monkeypatch)
    put_control(PRIMARY, PRIMARY, None)
    intake.dependencies.cache_clear()
    good = {"detail": {"idempotencyKey": "k-async", "request": BODY}}
    bad = {"detail": {"idempotencyKey": "k-bad", "request": {**BODY, "currency": "XXX"}}}
    records = [
        {"messageId": str(i), "body": json.dumps(b)} for i, b in enumerate([good, good, bad])
    ]
    # When the intake consumes them
    result = intake.handler({"Records": records}, lambda_context())
    intake.dependencies.cache_clear()
    # Then one saga runs for the valid order, and nothing is retried forever
    assert result == {"batchItemFailures": []}
    assert [e["name"] for e in executions(PRIMARY, arn)] == [order_id_for("k-async")]


@pytest.mark.parametrize("where", ["primary", "secondary"])
def test_a_key_ending_in_a_newline_is_a_400_in_every_region(
    where: str, moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the primary, or a secondary whose primary stand-in would accept anything
    with serve(lambda r: (202, {"orderId": "x"})) as primary:
        if where == "primary":
            arn = deploy_region(PRIMARY, monkeypatch)
            put_control(PRIMARY, PRIMARY, None)
        else:
            arn = deploy_region(SECONDARY, monkeypatch)
            put_control(SECONDARY, PRIMARY, f"{primary.url}/internal/orders")
        # When a key ends in a newline
        answer = post(BODY, key="key-1\n")
    # Then it is refused like any other malformed key, and no saga starts anywhere
    assert answer["statusCode"] == 400
    assert answer["json"]["error"]["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert executions(SECONDARY if where == "secondary" else PRIMARY, arn) == []
    assert primary.requests == []


def test_a_body_with_an_unpaired_surrogate_is_a_400_not_a_crash(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the primary
    arn = deploy_region(PRIMARY, monkeypatch)
    put_control(PRIMARY, PRIMARY, None)
    # When the event's body holds an unpaired surrogate, as a JSON event can
    answer = post(json.dumps(BODY)[:-1] + ', "note": "\ud800"}')
    # Then it is refused in the error shape, and no saga started
    assert answer["statusCode"] == 400
    assert answer["json"]["error"]["code"] == "INVALID_JSON"
    assert executions(PRIMARY, arn) == []


# What is wrong with a control record -> (its attributes, what the log line must name).
MALFORMED_CONTROL: dict[str, tuple[dict[str, Any], str]] = {
    "mode stored as a number": ({"mode": {"N": "0"}}, "mode must be a string"),
    "mode stored as a boolean": ({"mode": {"BOOL": True}}, "mode must be a string"),
    "an empty primaryRegion": ({"primaryRegion": {"S": ""}}, "primaryRegion"),
    "a writeUrl that is not https": (
        {"writeUrl": {"S": "http://127.0.0.1:9/internal/orders"}},
        "writeUrl must be an https:// URL",
    ),
    "a writeUrl that is no URL": (
        {"writeUrl": {"S": "primary/internal/orders"}},
        "writeUrl must be an https:// URL",
    ),
}


def put_control_item(region: str, primary: str, write_url: str, **attributes: Any) -> None:
    """A control item as `ops failover` writes it, with some attributes replaced."""
    item = {k: {"S": v} for k, v in read_model.control_key().items()}
    item.update(
        {"primaryRegion": {"S": primary}, "mode": {"S": "normal"}, "writeUrl": {"S": write_url}}
    )
    item.update(attributes)
    boto3.client("dynamodb", region_name=region).put_item(TableName=TABLE, Item=item)


@pytest.mark.parametrize("where", ["primary", "secondary"])
@pytest.mark.parametrize("problem", sorted(MALFORMED_CONTROL))
def test_a_malformed_control_record_is_read_only_with_a_log_line_saying_why(
    where: str,
    problem: str,
    moto_static: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a control record with one attribute wrong, read in the primary or in a secondary
    # whose primary stand-in would accept the write
    attributes, named = MALFORMED_CONTROL[problem]
    with serve(lambda r: (202, {"orderId": order_id_for("key-1")})) as primary:
        region = PRIMARY if where == "primary" else SECONDARY
        arn = deploy_region(region, monkeypatch)
        put_control_item(region, PRIMARY, f"{primary.url}/internal/orders", **attributes)
        # When an order is posted
        answer = post(BODY)
    # Then the write is refused as in read-only mode, nothing started, nothing forwarded
    assert answer["statusCode"] == 503
    assert answer["json"]["error"]["code"] == "READ_ONLY"
    assert int(answer["headers"]["retry-after"]) > 0
    assert executions(region, arn) == [] and primary.requests == []
    # And an error in the log says what is wrong with the record
    [line] = [r for r in caplog.records if "malformed control record" in r.getMessage()]
    assert line.levelname == "ERROR" and named in line.getMessage()


# What a secondary may hear from the primary's internal route, and what its client must see.
PRIMARY_ANSWERS: dict[str, tuple[int, Any, int, str | None]] = {
    "IAM refusal": (403, {"message": "Forbidden"}, 500, "MISCONFIGURED"),
    "no credentials": (401, {"message": "Unauthorized"}, 500, "MISCONFIGURED"),
    "no such route": (404, {"message": "Not Found"}, 500, "MISCONFIGURED"),
    "redirect": (
        302,
        Raw(headers={"location": "https://elsewhere.example/"}),
        500,
        "MISCONFIGURED",
    ),
    "permanent redirect": (308, Raw(headers={"location": "/other"}), 500, "MISCONFIGURED"),
    "200 with another body": (200, {"ok": True}, 500, "MISCONFIGURED"),
    "400 not in the API's shape": (400, {"message": "Bad Request"}, 500, "MISCONFIGURED"),
    "throttled": (429, {"message": "Too Many Requests"}, 503, "READ_ONLY"),
    "gateway timeout": (504, {"message": "Endpoint request timed out"}, 503, "READ_ONLY"),
    "202 with another body": (202, {"accepted": True}, 503, "READ_ONLY"),
    "202 that is not JSON": (202, Raw(b"<html>ok</html>"), 503, "READ_ONLY"),
    "409 in the API's shape": (
        409,
        {
            "error": {
                "code": "IDEMPOTENCY_KEY_REUSED",
                "message": "reused",
                "field": "Idempotency-Key",
            }
        },
        409,
        "IDEMPOTENCY_KEY_REUSED",
    ),
    "202 for this order": (202, {"orderId": order_id_for("key-1"), "status": "PENDING"}, 202, None),
}


@pytest.mark.parametrize("case", sorted(PRIMARY_ANSWERS))
def test_every_answer_a_secondary_relays_has_a_documented_status_and_shape(
    case: str, moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a secondary whose primary's internal route answers this way
    status, body, expected_status, expected_code = PRIMARY_ANSWERS[case]
    with serve(lambda r: (status, body)) as primary:
        deploy_region(SECONDARY, monkeypatch)
        put_control(SECONDARY, PRIMARY, f"{primary.url}/internal/orders")
        # When an order is posted there
        answer = post(BODY)
    # Then the client sees a documented status, in the documented shape
    assert answer["statusCode"] == expected_status, answer
    if expected_code is None:
        assert answer["json"] == {
            "orderId": order_id_for("key-1"),
            "status": "PENDING",
            "region": SECONDARY,
            "primaryRegion": PRIMARY,
        }
    else:
        assert set(answer["json"]) == {"error"}
        assert set(answer["json"]["error"]) == {"code", "message", "field"}
        assert answer["json"]["error"]["code"] == expected_code
        assert ("retry-after" in answer["headers"]) == (expected_status == 503)
    # And a redirect was not followed: the signed write went to the write URL only
    assert [r.path for r in primary.requests] == ["/internal/orders"]

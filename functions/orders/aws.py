"""boto3 and HTTP adapters of the write path's ports. Clients come in through constructors."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions import api_error, correlation
from functions.orders import control, read_model
from functions.orders.domain import OrderRequest
from functions.orders.errors import PaymentNotConfigured, TransientError
from functions.orders.events import EVENT_SOURCE, ORDER_REQUESTED
from functions.orders.outbox import OutboxEvent
from functions.orders.ports import (
    ControlRecord,
    ControlSource,
    ControlUnavailable,
    PrimaryUnreachable,
    Relayed,
    StartOutcome,
    WritePathMisconfigured,
)
from functions.outbound import Answer, SigV4, Transport, Unreachable

_log = logging.getLogger(__name__)


class DynamoControlSource:
    """Reads the control record from the local replica of the global table."""

    def __init__(self, dynamodb: Any, table_name: str, fallback: ControlRecord | None = None):
        self._dynamodb = dynamodb
        self._table = table_name
        self._fallback = fallback

    def current(self) -> ControlRecord:
        """The control record; the fallback while none exists; ControlUnavailable on error."""
        try:
            item = self._dynamodb.get_item(
                TableName=self._table,
                Key={k: {"S": v} for k, v in read_model.control_key().items()},
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise ControlUnavailable(str(exc)) from exc
        if item is None:
            if self._fallback is None:
                raise ControlUnavailable("no control record and no PRIMARY_REGION")
            return self._fallback
        try:
            return control.from_item(item)
        except control.MalformedControlRecord as exc:
            # Unusable, so no write is accepted (503); an operator must fix the record.
            _log.error("%s; fix it with `python -m ops failover` or `ops read-only`", exc)
            raise


class CachedControlSource:
    """Keeps the control record for ``ttl_seconds`` (at most 10) so each write costs no read."""

    def __init__(
        self,
        inner: ControlSource,
        ttl_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._inner = inner
        self._ttl = min(ttl_seconds, 10.0)
        self._clock = clock
        self._cached: tuple[float, ControlRecord] | None = None

    def current(self) -> ControlRecord:
        """The cached record while fresh, else a new read; errors are never cached."""
        now = self._clock()
        if self._cached is not None and now - self._cached[0] < self._ttl:
            return self._cached[1]
        record = self._inner.current()
        self._cached = (now, record)
        return record


# Error codes of AWS APIs worth another attempt later; any other code (AccessDenied,
# StateMachineDoesNotExist, ValidationException, ...) is a deploy problem that waiting cannot fix.
_TRANSIENT_AWS_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalFailure",
        "InternalException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def _unavailable_or_misconfigured(exc: ClientError, what: str) -> Exception:
    """PrimaryUnreachable (503 READ_ONLY) for throttling and 5xx, else WritePathMisconfigured."""
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    if error.get("Code") in _TRANSIENT_AWS_CODES or status >= 500:
        return PrimaryUnreachable(f"{what}: {exc}")
    return WritePathMisconfigured(f"{what}: {exc}")


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of the execution ``name`` of a state machine."""
    head, _, machine = state_machine_arn.partition(":stateMachine:")
    return f"{head}:execution:{machine}:{name}"


class StepFunctionsSagaStarter:
    """Starts the saga with the order id as the execution name: one execution per order."""

    def __init__(self, sfn: Any, state_machine_arn: str):
        self._sfn = sfn
        self._arn = state_machine_arn

    def start(self, order_id: str, fingerprint: str, saga_input: dict[str, Any]) -> StartOutcome:
        """Start, or recognise the execution an earlier request with this key started."""
        try:
            self._sfn.start_execution(
                stateMachineArn=self._arn,
                name=order_id,
                input=json.dumps(saga_input, sort_keys=True),
            )
            return StartOutcome.STARTED
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise _unavailable_or_misconfigured(exc, "StartExecution") from exc
        except BotoCoreError as exc:
            raise PrimaryUnreachable(str(exc)) from exc
        # The name is taken: the same order if the input carried the same fingerprint.
        try:
            existing = self._sfn.describe_execution(executionArn=execution_arn(self._arn, order_id))
        except ClientError as exc:
            raise _unavailable_or_misconfigured(exc, "DescribeExecution") from exc
        except BotoCoreError as exc:
            raise PrimaryUnreachable(str(exc)) from exc
        earlier = json.loads(existing.get("input") or "{}").get("fingerprint")
        return StartOutcome.SAME_ORDER if earlier == fingerprint else StartOutcome.CONFLICT


class DynamoKnownOrders:
    """Reads the fingerprint the projector stores with each order's view in the global table.

    The table replicates to every region, so after a failover the new primary knows the
    orders placed in the old one, which its own execution history does not.
    """

    def __init__(self, dynamodb: Any, table_name: str):
        self._dynamodb = dynamodb
        self._table = table_name

    def fingerprint(self, order_id: str) -> str | None:
        """The stored fingerprint of the order, or None while it has no view yet."""
        try:
            item = self._dynamodb.get_item(
                TableName=self._table,
                Key={k: {"S": v} for k, v in read_model.order_key(order_id).items()},
                ProjectionExpression="#f",
                ExpressionAttributeNames={"#f": read_model.FINGERPRINT_ATTRIBUTE},
                ConsistentRead=True,
            ).get("Item")
        except ClientError as exc:
            raise _unavailable_or_misconfigured(exc, "GetItem") from exc
        except BotoCoreError as exc:
            raise PrimaryUnreachable(str(exc)) from exc
        value = (item or {}).get(read_model.FINGERPRINT_ATTRIBUTE, {}).get("S")
        return str(value) if value else None


class SigV4Forwarder:
    """POSTs a write to the primary's IAM-authorized internal route, signed with SigV4."""

    def __init__(
        self,
        credentials: Callable[[], Any],
        timeout_seconds: float = 3.0,
        origin_region: str | None = None,
    ):
        self._credentials = credentials
        self._transport = Transport(timeout_seconds)
        self._origin = origin_region

    def forward(self, url: str, region: str, headers: dict[str, str], body: bytes) -> Relayed:
        """Send and return the primary's answer; raises PrimaryUnreachable when none came."""
        all_headers = dict(headers)
        correlation_id = correlation.current()
        if correlation_id is not None:
            all_headers[correlation.HEADER] = correlation_id
        if self._origin:
            all_headers["x-origin-region"] = self._origin
        # Signed for the region the control record names: the primary's API checks that.
        signer = SigV4("execute-api", region, self._credentials)
        try:
            answer = self._transport.send("POST", url, body, all_headers, signer)
        except Unreachable as exc:
            raise PrimaryUnreachable(str(exc)) from exc
        return Relayed(answer.status, _json_object(answer))


def _json_object(answer: Answer) -> dict[str, Any]:
    try:
        value = answer.json()
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    return api_error.body("UPSTREAM_ERROR", "the primary's answer was not JSON")


class EventBridgeOrderRequestPublisher:
    """Puts OrderRequested on the local bus; a rule forwards it to the primary's bus."""

    def __init__(self, events: Any, bus_name: str, origin_region: str):
        self._events = events
        self._bus = bus_name
        self._origin = origin_region

    def publish(
        self, idempotency_key: str, order_id: str, fingerprint: str, request: OrderRequest
    ) -> None:
        """Publish the request; PrimaryUnreachable when the bus is unavailable or refused it,
        WritePathMisconfigured when the call itself was refused (permissions, no such bus)."""
        detail = {
            "idempotencyKey": idempotency_key,
            "orderId": order_id,
            "fingerprint": fingerprint,
            "request": request.to_json(),
            "originRegion": self._origin,
        }
        correlation_id = correlation.current()
        if correlation_id is not None:
            detail[correlation.FIELD] = correlation_id
        try:
            answer = self._events.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": ORDER_REQUESTED,
                        "Detail": json.dumps(detail),
                        "EventBusName": self._bus,
                    }
                ]
            )
        except ClientError as exc:
            raise _unavailable_or_misconfigured(exc, "PutEvents") from exc
        except BotoCoreError as exc:
            raise PrimaryUnreachable(str(exc)) from exc
        if answer.get("FailedEntryCount"):
            raise PrimaryUnreachable(f"the bus refused the event: {answer['Entries']}")


class EventBridgeDomainEvents:
    """Publishes the outbox's domain events (OrderPlaced, OrderConfirmed, ...) on the local bus."""

    def __init__(self, events: Any, bus_name: str):
        self._events = events
        self._bus = bus_name

    def publish_batch(self, events: Sequence[OutboxEvent]) -> list[str | None]:
        """Per event, None when the bus took it, else why not (the whole call failing too).

        Never raises for the bus: the events stay in the outbox and the next drain tries
        again, so a bus outage never fails a saga step.
        """
        if not events:
            return []
        entries = [
            {
                "Source": EVENT_SOURCE,
                "DetailType": event.detail_type,
                "Detail": event.detail,
                "EventBusName": self._bus,
            }
            for event in events
        ]
        try:
            answer = self._events.put_events(Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            return [f"PutEvents: {exc}"] * len(events)
        results = answer.get("Entries") or []
        if len(results) != len(events):
            return [f"PutEvents answered {len(results)} entries for {len(events)}"] * len(events)
        return [
            None
            if result.get("EventId") and not result.get("ErrorCode")
            else f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}"
            for result in results
        ]


class DynamoViewWriter:
    """Writes order views into the global table, never over a newer version."""

    def __init__(self, dynamodb: Any, table_name: str):
        from boto3.dynamodb.types import TypeSerializer

        self._dynamodb = dynamodb
        self._table = table_name
        self._serialize = TypeSerializer().serialize

    def put_if_newer(
        self,
        key: dict[str, str],
        view: dict[str, Any],
        version: int,
        attributes: dict[str, str] | None = None,
        expires_at: int | None = None,
    ) -> bool:
        """Write ``view`` (and string ``attributes`` beside it) at ``version`` unless the item
        holds that version or a newer one; ``expires_at`` (epoch seconds) lets the table's TTL
        delete the item, in every replica, some time after it."""
        item = {name: {"S": value} for name, value in key.items()}
        item.update({name: {"S": value} for name, value in (attributes or {}).items()})
        if expires_at is not None:
            item[read_model.TTL_ATTRIBUTE] = {"N": str(expires_at)}
        item[read_model.VIEW_ATTRIBUTE] = self._serialize(view)
        item[read_model.VERSION_ATTRIBUTE] = {"N": str(version)}
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(#v) OR #v < :v",
                ExpressionAttributeNames={"#v": read_model.VERSION_ATTRIBUTE},
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


_SECRETS_TRANSIENT_CODES = {"ThrottlingException", "InternalServiceError"}


class SecretsManagerApiKey:
    """The payment provider's API key, read from its secret when first needed."""

    def __init__(self, secretsmanager: Any, secret_arn: str):
        self._client = secretsmanager
        self._arn = secret_arn

    def __call__(self) -> str:
        """The secret's current value; PaymentNotConfigured while it has none."""
        try:
            value = self._client.get_secret_value(SecretId=self._arn).get("SecretString")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in _SECRETS_TRANSIENT_CODES:
                raise TransientError(f"payment API key secret: {exc}") from exc
            if code != "ResourceNotFoundException":
                raise  # AccessDenied and the like: a deploy problem, not worth a retry
            # What GetSecretValue answers for a secret that exists but has no value yet.
            value = None
        except BotoCoreError as exc:
            raise TransientError(f"payment API key secret: {exc}") from exc
        if not value:
            # The template creates the secret without a value: an operator sets it.
            raise PaymentNotConfigured(
                f"the payment API key secret {self._arn} has no value: set it with "
                f"`aws secretsmanager put-secret-value --secret-id {self._arn}`"
            )
        return str(value)

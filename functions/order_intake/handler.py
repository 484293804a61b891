"""Lambda (primary, async mode): start the saga for OrderRequested events.

Delivery: a secondary's bus forwards OrderRequested to the primary's bus, whose rule targets
an SQS queue (with a DLQ) consumed here with ``ReportBatchItemFailures``. The request is
validated again (the bus is not trusted more than the API) and the saga started by the
write API's own code (``write.begin_saga``); a reused key with another body cannot be
answered 409 any more, so it is logged and dropped. Environment: ``STATE_MACHINE_ARN`` and ``AWS_REGION``.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.logging import Logger

from functions.orders.aws import StepFunctionsSagaStarter
from functions.orders.domain import ValidationError, order_id_for, parse_order_request
from functions.orders.ports import StartOutcome
from functions.orders.write import begin_saga

logger = Logger(service="order-intake")


@cache
def starter() -> StepFunctionsSagaStarter:
    """The saga starter of this region."""
    return StepFunctionsSagaStarter(
        boto3.client("stepfunctions", region_name=os.environ["AWS_REGION"]),
        os.environ["STATE_MACHINE_ARN"],
    )


def start(detail: dict[str, Any]) -> StartOutcome | None:
    """Start the saga for one OrderRequested detail; None when the request is invalid."""
    try:
        request = parse_order_request(json.dumps(detail["request"]))
        order_id = order_id_for(str(detail["idempotencyKey"]))
    except (ValidationError, KeyError, TypeError) as exc:
        logger.warning("dropping an invalid OrderRequested", extra={"reason": str(exc)})
        return None
    outcome = begin_saga(starter(), order_id, request)
    if outcome is StartOutcome.CONFLICT:
        logger.warning("idempotency key reused with another body", extra={"orderId": order_id})
    return outcome


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start a saga per record; report the records to retry."""
    failures = []
    for record in event.get("Records", []):
        try:
            start(json.loads(record["body"])["detail"])
        except Exception:
            logger.exception("could not start the saga")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}

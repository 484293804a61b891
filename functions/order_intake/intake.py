"""One OrderRequested: start its saga here, forward it to the primary, or have it retried.

Which region writes is the control record's say, not the stack's: after a failover the
region whose bus receives OrderRequested no longer writes, and a saga started there would fail
on its Aurora reader. Pure domain code: every outside effect goes through the ports of
:mod:`functions.orders.ports`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass

from functions.orders.domain import (
    OrderRequest,
    ValidationError,
    check_idempotency_key,
    order_id_for,
    parse_order_request,
)
from functions.orders.ports import (
    ControlSource,
    ControlUnavailable,
    Forwarder,
    KnownOrders,
    Mode,
    PrimaryUnreachable,
    Relayed,
    SagaStarter,
    StartOutcome,
)
from functions.orders.write import begin_saga

# The primary's answers after which delivering the request again would change nothing.
ACCEPTED = 202
REFUSED = frozenset({400, 409})


class Taken(enum.StrEnum):
    """What became of a request that needs no further delivery."""

    STARTED = "started"
    SAME_ORDER = "same-order"
    # The key was used before with another body: logged, as no client waits for a 409.
    CONFLICT = "conflict"
    INVALID = "invalid"
    FORWARDED = "forwarded"
    # The primary answered 400 or 409: logged, as no client waits for the answer.
    REFUSED = "refused"


_FROM_START = {
    StartOutcome.STARTED: Taken.STARTED,
    StartOutcome.SAME_ORDER: Taken.SAME_ORDER,
    StartOutcome.CONFLICT: Taken.CONFLICT,
}


@dataclass(frozen=True)
class Outcome:
    """A request taken care of: how, for which order, and the detail worth logging."""

    taken: Taken
    order_id: str | None = None
    detail: str | None = None


class RetryLater(RuntimeError):
    """No region took the request this time: SQS delivers it again, then dead-letters it."""


@dataclass(frozen=True)
class IntakeDeps:
    """Everything :func:`take` needs from its region, injected so tests can fake it."""

    region: str
    control: ControlSource
    saga: SagaStarter
    forwarder: Forwarder
    # The fingerprints stored with orders already placed (see write.begin_saga).
    orders: KnownOrders | None = None


def parse_order_requested(detail: object) -> tuple[str, OrderRequest]:
    """The key and request of an OrderRequested detail, validated exactly as POST /orders is.

    Raises the ValidationError the write API would answer 400 (or 413) with.
    """
    if not isinstance(detail, Mapping):
        raise ValidationError("INVALID_TYPE", "the OrderRequested detail must be an object")
    # The write API publishes the parsed body; serialising it again gives the parser the
    # same JSON object to check (a missing request becomes null, refused as not an object).
    request = parse_order_request(json.dumps(detail.get("request")))
    return check_idempotency_key(detail.get("idempotencyKey")), request


def take(detail: object, deps: IntakeDeps) -> Outcome:
    """Start, forward or refuse one OrderRequested detail; raises RetryLater to be retried.

    Errors of the saga starter (PrimaryUnreachable, WritePathMisconfigured) propagate: the
    caller retries those too.
    """
    try:
        key, request = parse_order_requested(detail)
    except ValidationError as exc:
        # The bus is not trusted more than the API; no retry makes a bad request good.
        return Outcome(Taken.INVALID, detail=f"{exc.code} ({exc.field}): {exc.message}")
    order_id = order_id_for(key)
    try:
        control = deps.control.current()
    except ControlUnavailable as exc:
        raise RetryLater(f"no control record to say who writes: {exc}") from exc
    if control.mode is Mode.READ_ONLY:
        raise RetryLater("the control record says read-only")
    if control.primary_region == deps.region:
        started = begin_saga(deps.saga, order_id, request, deps.orders)
        return Outcome(_FROM_START[started], order_id)
    if not control.write_url:
        raise RetryLater(f"the control record names {control.primary_region} but no write URL")
    try:
        relayed = deps.forwarder.forward(
            control.write_url,
            control.primary_region,
            {"content-type": "application/json", "idempotency-key": key},
            json.dumps(request.to_json()).encode(),
        )
    except PrimaryUnreachable as exc:
        raise RetryLater(f"the primary {control.primary_region} is unreachable: {exc}") from exc
    return _answered(relayed, order_id, control.primary_region)


def _answered(relayed: Relayed, order_id: str, primary_region: str) -> Outcome:
    if relayed.status == ACCEPTED:
        return Outcome(Taken.FORWARDED, order_id, primary_region)
    if relayed.status in REFUSED:
        return Outcome(Taken.REFUSED, order_id, f"{relayed.status}: {relayed.body}")
    # 5xx (READ_ONLY included), or 403 and the like from a deploy that waiting may fix: retried
    # until the dead-letter queue, whose alarm brings an operator, rather than lost.
    raise RetryLater(f"the primary {primary_region} answered {relayed.status}: {relayed.body}")


class BatchForwarder:
    """Forwards for one batch; a primary that did not answer is not called again in it.

    Ten records waiting out the forward timeout each would outlast the Lambda's: the batch
    would fail as a whole instead of reporting each record.
    """

    def __init__(self, inner: Forwarder):
        self._inner = inner
        self._down: dict[str, str] = {}

    def forward(self, url: str, region: str, headers: dict[str, str], body: bytes) -> Relayed:
        """Forward through the inner forwarder, or fail at once if ``url`` failed before."""
        if url in self._down:
            raise PrimaryUnreachable(f"{self._down[url]} (earlier in this batch)")
        try:
            return self._inner.forward(url, region, headers, body)
        except PrimaryUnreachable as exc:
            self._down[url] = str(exc)
            raise

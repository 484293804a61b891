"""``POST /orders`` as a plain function: validate, then start, forward, queue or refuse.

The API Gateway handler (``functions/write_api``) and AppSync's ``placeOrder`` resolver both
call :func:`place_order`; neither needs the other's event shape. Pure domain code: every
outside effect goes through the ports in :mod:`functions.orders.ports`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from functions import api_error, correlation, synthetic
from functions.orders.domain import (
    OrderRequest,
    ValidationError,
    lower_headers,
    order_id_for,
    parse_idempotency_key,
    parse_order_request,
)
from functions.orders.ports import (
    ControlSource,
    ControlUnavailable,
    Forwarder,
    KnownOrders,
    Mode,
    OrderRequestPublisher,
    PrimaryUnreachable,
    Relayed,
    SagaStarter,
    StartOutcome,
    WritePathMisconfigured,
)

JSON_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class Response:
    """An HTTP answer independent of API Gateway: status, headers and a JSON body."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))

    def to_api_gateway(self) -> dict[str, Any]:
        """The answer in the API Gateway (HTTP API, payload v2) proxy format."""
        return {
            "statusCode": self.status,
            "headers": self.headers,
            "body": json.dumps(self.body, separators=(",", ":")),
        }


@dataclass(frozen=True)
class WriteDeps:
    """Everything ``place_order`` needs from its region, injected so tests can fake it."""

    region: str
    control: ControlSource
    saga: SagaStarter
    forwarder: Forwarder
    publisher: OrderRequestPublisher | None = None
    async_mode: bool = False
    retry_after_seconds: int = 30
    # The primary as deployed (PRIMARY_REGION): where this region's bus rule forwards
    # OrderRequested. Async mode publishes only while the control record names this region.
    deployed_primary_region: str | None = None
    # The fingerprints stored with orders already placed (their views in the global table):
    # what tells a reused key from a retry after a failover, where no execution remembers it.
    orders: KnownOrders | None = None


def error(
    status: int,
    code: str,
    message: str,
    field_name: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error answer with the API's one error body (:mod:`functions.api_error`)."""
    return Response(
        status, api_error.body(code, message, field_name), {**JSON_HEADERS, **(headers or {})}
    )


def read_only(deps: WriteDeps, why: str) -> Response:
    """503 READ_ONLY: the write was not accepted and the client should retry later."""
    return error(
        503,
        "READ_ONLY",
        f"writes are not accepted right now: {why}",
        None,
        {"retry-after": str(deps.retry_after_seconds)},
    )


def accepted(order_id: str, region: str, primary_region: str) -> Response:
    """202: the order is taken and its saga will run."""
    return Response(
        202,
        {
            "orderId": order_id,
            "status": "PENDING",
            "region": region,
            "primaryRegion": primary_region,
        },
        {**JSON_HEADERS, "location": f"/orders/{order_id}"},
    )


def saga_input(
    order_id: str, fingerprint: str, request: OrderRequest, is_synthetic: bool = False
) -> dict[str, Any]:
    """The saga's input: the order, and the correlation id of the request that started it.

    Only ``fingerprint`` tells a retry from a reused key (the correlation id differs from
    one request to the next), so the saga's steps log with the id of the request that
    started them. A synthetic order says so (``"synthetic": true``): its steps charge no one.
    """
    started: dict[str, Any] = {
        "orderId": order_id,
        "fingerprint": fingerprint,
        "total": request.total,
        "request": request.to_json(),
    }
    correlation_id = correlation.current()
    if correlation_id is not None:
        started[correlation.FIELD] = correlation_id
    if is_synthetic:
        started[synthetic.FIELD] = True
    return started


def begin_saga(
    saga: SagaStarter,
    order_id: str,
    request: OrderRequest,
    orders: KnownOrders | None = None,
    is_synthetic: bool = False,
) -> StartOutcome:
    """Start the order's saga, named after the order: the write API and order_intake alike.

    The fingerprint stored with an order already placed decides whether the request is the
    same order or a reused key, in whichever region writes now. Only for an order not yet
    projected does this region's execution history decide (the execution's input).
    """
    fingerprint = request.fingerprint()
    stored = orders.fingerprint(order_id) if orders is not None else None
    if stored is not None and stored != fingerprint:
        return StartOutcome.CONFLICT
    outcome = saga.start(
        order_id, fingerprint, saga_input(order_id, fingerprint, request, is_synthetic)
    )
    if stored is not None and outcome is StartOutcome.CONFLICT:
        # This region's execution of that name carried another request, which its
        # ReserveOrder refused; the order itself is this request's.
        return StartOutcome.SAME_ORDER
    return outcome


def start_saga(
    deps: WriteDeps,
    order_id: str,
    request: OrderRequest,
    primary_region: str,
    is_synthetic: bool = False,
) -> Response:
    """Start the saga in this (primary) region and map the outcome to an answer."""
    outcome = begin_saga(deps.saga, order_id, request, deps.orders, is_synthetic)
    if outcome is StartOutcome.CONFLICT:
        return error(
            409,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was already used with a different body",
            "Idempotency-Key",
        )
    return accepted(order_id, deps.region, primary_region)


def place_order(
    headers: Mapping[str, str] | None,
    body: str | bytes | None,
    deps: WriteDeps,
    *,
    forwarded: bool = False,
    is_synthetic: bool = False,
) -> Response:
    """Handle one ``POST /orders``; ``forwarded`` is True on the primary's internal route.

    ``is_synthetic`` is True only for what the handler took on an IAM-authorized route that
    says so (:mod:`functions.synthetic`); never for anything a public request carries.
    Raises WritePathMisconfigured (AWS refused a call for good): a server error, not 503.
    """
    try:
        return _place_order(lower_headers(headers), body, deps, forwarded, is_synthetic)
    except ValidationError as exc:
        return error(exc.status, exc.code, exc.message, exc.field)
    except ControlUnavailable:
        return read_only(deps, "the control record cannot be read")
    except PrimaryUnreachable:
        return read_only(deps, "the primary region cannot be reached")


def _check_customer(request: OrderRequest, is_synthetic: bool) -> None:
    """A synthetic order is the canary customer's, and only a synthetic order is."""
    if is_synthetic and request.customer_id != synthetic.CUSTOMER_ID:
        raise ValidationError(
            "INVALID_VALUE",
            f"a synthetic order must be for customerId {synthetic.CUSTOMER_ID!r}",
            "customerId",
        )
    if not is_synthetic and request.customer_id == synthetic.CUSTOMER_ID:
        raise ValidationError(
            "INVALID_VALUE",
            f"customerId {synthetic.CUSTOMER_ID!r} is reserved for the write canary",
            "customerId",
        )


def _place_order(
    headers: dict[str, str],
    body: str | bytes | None,
    deps: WriteDeps,
    forwarded: bool,
    is_synthetic: bool,
) -> Response:
    # The body is checked before the key so that a client learns every 4xx without a retry.
    request = parse_order_request(body)
    _check_customer(request, is_synthetic)
    key = parse_idempotency_key(headers)
    order_id = order_id_for(key)
    control = deps.control.current()
    if control.mode is Mode.READ_ONLY:
        return read_only(deps, "the control record says read-only")
    if control.primary_region == deps.region:
        return start_saga(deps, order_id, request, control.primary_region, is_synthetic)
    if forwarded:
        # A forwarded write reached a region that is no longer primary: forwarding again
        # could loop between two regions that disagree for a few seconds.
        return read_only(deps, "this region is not the primary")
    if (
        deps.async_mode
        and not is_synthetic  # the bus carries real orders only; the canary's go direct
        and deps.publisher is not None
        and control.primary_region == deps.deployed_primary_region
    ):
        # The bus rule forwards to the primary as deployed; after a failover it would deliver
        # to a region that no longer writes (docs/pitfalls.md item 10), so then the write goes
        # synchronously to the primary the control record names, below.
        deps.publisher.publish(key, order_id, request.fingerprint(), request)
        return accepted(order_id, deps.region, control.primary_region)
    if not control.write_url:
        return read_only(deps, "the control record names no write URL")
    raw = body.encode() if isinstance(body, str) else (body or b"")
    forwarded_headers = {"content-type": "application/json", "idempotency-key": key}
    if is_synthetic:
        # The internal route is IAM-authorized: only the write functions can say this there.
        forwarded_headers[synthetic.HEADER] = "true"
    relayed = deps.forwarder.forward(
        control.write_url, control.primary_region, forwarded_headers, raw
    )
    return relay(relayed, order_id, deps.region, control.primary_region)


# The refusals of POST /orders a client can act on, relayed as the primary gave them.
_RELAYED_REFUSALS = frozenset({400, 409, 413})


def relay(relayed: Relayed, order_id: str, region: str, primary_region: str) -> Response:
    """The answer a client gets for the primary's answer to a forwarded write.

    Only answers the primary's internal route gives are relayed; anything else is mapped to a
    documented one. Raises PrimaryUnreachable (503 READ_ONLY: a retry with the same key is
    safe and tells the outcome) when the primary was busy or its answer could not be read,
    and WritePathMisconfigured (500) when what answered is not the internal write route as
    it should be deployed: an IAM refusal, no such route, a redirect.
    """
    status, body = relayed.status, relayed.body
    if status == 202:
        if body.get("orderId") == order_id:
            return accepted(order_id, region, primary_region)
        # Perhaps accepted, perhaps not: only a retry with the same key can tell.
        raise PrimaryUnreachable(f"the primary answered 202 with an unexpected body: {body}")
    if status >= 500 or status in (408, 429):
        raise PrimaryUnreachable(f"the primary answered {status}")
    shaped = api_error.parse(body)
    if status in _RELAYED_REFUSALS and shaped is not None:
        return Response(status, shaped)
    raise WritePathMisconfigured(
        f"the primary's internal write route answered {status} {str(body)[:300]}: check the "
        "control record's writeUrl and this region's permission to invoke it"
    )

"""The write path's ports: what the domain needs from the outside world, as Protocols.

Adapters that implement them with boto3, pg8000 or HTTP live in ``functions/orders/aws.py``,
``db.py`` and ``payments.py``; tests implement them in memory.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from functions.orders.domain import OrderRequest


class Mode(enum.StrEnum):
    """Whether the primary accepts writes."""

    NORMAL = "normal"
    READ_ONLY = "read-only"


@dataclass(frozen=True)
class ControlRecord:
    """The control item of the global table: who writes, where, and whether writes are open."""

    primary_region: str
    write_url: str | None
    mode: Mode


class ControlUnavailable(RuntimeError):
    """The control record could not be read; no write may be accepted blind."""


class ControlSource(Protocol):
    """Reads the current control record."""

    def current(self) -> ControlRecord:
        """The control record, possibly from a short cache; raises ControlUnavailable."""
        ...


class StartOutcome(enum.Enum):
    """What starting a saga for an order id found."""

    STARTED = "started"
    SAME_ORDER = "same-order"
    CONFLICT = "conflict"


class SagaStarter(Protocol):
    """Starts the checkout saga, at most once per order id."""

    def start(self, order_id: str, fingerprint: str, saga_input: dict[str, Any]) -> StartOutcome:
        """Start the saga named ``order_id``; report whether it is new, a retry or a conflict.

        Raises PrimaryUnreachable when Step Functions is unavailable for now (throttling,
        5xx), WritePathMisconfigured when it refused the call for good.
        """
        ...


class KnownOrders(Protocol):
    """What the write side knows of orders already placed, in every region."""

    def fingerprint(self, order_id: str) -> str | None:
        """The fingerprint of the request the order was placed with, or None while unknown.

        Raises PrimaryUnreachable when it cannot be read for now, WritePathMisconfigured when
        it was refused for good.
        """
        ...


@dataclass(frozen=True)
class Relayed:
    """The primary's answer to a forwarded write."""

    status: int
    body: dict[str, Any]


class PrimaryUnreachable(RuntimeError):
    """The primary did not answer in time, refused the connection, or answered 5xx."""


class WritePathMisconfigured(RuntimeError):
    """AWS refused a write-path call for good (access denied, no such state machine or bus).

    Not read-only mode: waiting cannot fix a deployment, so it surfaces as a server error.
    """


class Forwarder(Protocol):
    """Sends a write to the primary's internal write route."""

    def forward(self, url: str, region: str, headers: dict[str, str], body: bytes) -> Relayed:
        """POST ``body`` to ``url`` signed for ``region``; raises PrimaryUnreachable."""
        ...


class OrderRequestPublisher(Protocol):
    """Puts an OrderRequested event on the local bus (async mode)."""

    def publish(
        self, idempotency_key: str, order_id: str, fingerprint: str, request: OrderRequest
    ) -> None:
        """Publish the request; raises PrimaryUnreachable if the bus refused it."""
        ...

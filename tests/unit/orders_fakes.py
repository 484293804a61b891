"""In-memory stand-ins for the write path's ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from functions.orders.domain import OrderRequest, order_id_for
from functions.orders.ports import (
    ControlRecord,
    ControlUnavailable,
    Mode,
    PrimaryUnreachable,
    Relayed,
    StartOutcome,
)


@dataclass
class FakeControl:
    """A control record held in memory; ``record=None`` means the table cannot be read."""

    record: ControlRecord | None = field(
        default_factory=lambda: ControlRecord(
            "eu-west-1", "https://primary/internal/orders", Mode.NORMAL
        )
    )

    def current(self) -> ControlRecord:
        if self.record is None:
            raise ControlUnavailable("table down")
        return self.record


@dataclass
class FakeSaga:
    """Executions by name, with the fingerprint and the input each was started with."""

    started: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def start(self, order_id: str, fingerprint: str, saga_input: dict[str, Any]) -> StartOutcome:
        if order_id not in self.started:
            self.started[order_id] = fingerprint
            self.inputs[order_id] = saga_input
            return StartOutcome.STARTED
        if self.started[order_id] == fingerprint:
            return StartOutcome.SAME_ORDER
        return StartOutcome.CONFLICT


@dataclass
class FakeForwarder:
    """Records forwarded writes and answers with ``answer`` or raises when ``down``.

    Without an ``answer`` it accepts, as the primary does: 202 naming the key's order.
    """

    answer: Relayed | None = None
    down: bool = False
    calls: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    def forward(self, url: str, region: str, headers: dict[str, str], body: bytes) -> Relayed:
        self.calls.append((url, region, headers, body))
        if self.down:
            raise PrimaryUnreachable("down")
        if self.answer is None:
            order_id = order_id_for(headers["idempotency-key"])
            return Relayed(202, {"orderId": order_id, "status": "PENDING"})
        return self.answer


@dataclass
class FakePublisher:
    """Collects OrderRequested events."""

    events: list[tuple[str, str]] = field(default_factory=list)

    def publish(
        self, idempotency_key: str, order_id: str, fingerprint: str, request: OrderRequest
    ) -> None:
        self.events.append((idempotency_key, order_id))

"""Ports wrapped with the business metrics, outside the write path's logic.

The handlers wrap their adapters with these, so ``place_order`` stays free of metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from functions import business_metrics
from functions.orders.ports import Forwarder, Relayed

RecordMs = Callable[[business_metrics.BusinessMetric, float], None]


class TimedForwarder:
    """Records ForwardLatency: how long each forward to the primary took, failures too."""

    def __init__(
        self, inner: Forwarder, record_ms: RecordMs, clock: Callable[[], float] = time.monotonic
    ):
        self._inner = inner
        self._record_ms = record_ms
        self._clock = clock

    def forward(self, url: str, region: str, headers: dict[str, str], body: bytes) -> Relayed:
        """Forward as the inner forwarder does, timing it."""
        began = self._clock()
        try:
            return self._inner.forward(url, region, headers, body)
        finally:
            took = (self._clock() - began) * 1000
            self._record_ms(business_metrics.FORWARD_LATENCY, took)

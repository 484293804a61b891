"""CloudWatch Synthetics canary (Python runtime): the read journey against this region's API.

Environment: ``CANARY_BASE_URL`` (the region's HTTP API, ``https://...``, no trailing slash)
and ``CANARY_ORDER_ID`` (an order every region's table holds). A run that raises fails, which
is what the ``SuccessPercent`` alarm counts. No AWS SDK: only HTTPS to the public API.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Any

from functions.canary.journey import Answer, Get, read_journey

TIMEOUT_SECONDS = 10.0


def https_get(base_url: str, timeout: float = TIMEOUT_SECONDS) -> Get:
    """A ``get`` over HTTPS to ``base_url``; an HTTP error status is an answer, not a raise."""

    def get(path: str, headers: dict[str, str]) -> Answer:
        request = urllib.request.Request(f"{base_url}{path}", headers=headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Answer(response.status, _json(response.read()))
        except urllib.error.HTTPError as response:
            return Answer(response.code, _json(response.read()))

    return get


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def run(get: Get, order_id: str, correlation_id: str) -> dict[str, Any]:
    """The journey, and a summary the canary's log keeps."""
    steps = read_journey(get, order_id, correlation_id)
    summary = {
        "journey": "read",
        "correlationId": correlation_id,
        "steps": [
            {"name": s.name, "status": s.status, "ms": round(s.milliseconds, 1)} for s in steps
        ],
    }
    print(json.dumps(summary))
    return summary


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Synthetics entry point."""
    base_url = os.environ["CANARY_BASE_URL"].rstrip("/")
    return run(https_get(base_url), os.environ["CANARY_ORDER_ID"], f"canary-{uuid.uuid4()}")

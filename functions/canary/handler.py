"""CloudWatch Synthetics canaries (Python runtime): the read and write journeys against this
region's API (:mod:`functions.canary.journey`).

Environment: ``CANARY_BASE_URL`` (the region's HTTP API, ``https://...``, no trailing slash),
``CANARY_ORDER_ID`` (read: an order every region's table holds) and ``CANARY_REGION`` (write:
the region whose API the canary signs for). A run that raises fails, which is what each
canary's ``SuccessPercent`` alarm counts. The read canary calls only the public API; the write
canary signs its POST with its role's credentials (SigV4, ``execute-api``), with the botocore
of the runtime (a Synthetics canary runs as a Lambda function, whose Python runtime has it).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

from functions.canary.journey import Answer, Get, Post, Step, read_journey, write_journey
from functions.env import Env
from functions.outbound import SigV4, Transport, Unreachable

TIMEOUT_SECONDS = 10.0


def _send(
    sender: Transport,
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    signer: SigV4 | None = None,
) -> Answer:
    """One request; its JSON body (None when not JSON), or ConnectionError if none came."""
    try:
        answer = sender.send(method, url, body, headers, signer)
    except Unreachable as exc:
        raise ConnectionError(str(exc)) from exc
    try:
        return Answer(answer.status, json.loads(answer.body))
    except ValueError:
        return Answer(answer.status, None)


def https_get(base_url: str, timeout: float = TIMEOUT_SECONDS) -> Get:
    """A ``get`` over HTTPS to ``base_url``; an HTTP error status is an answer, not a raise."""
    sender = Transport(timeout)
    return lambda path, headers: _send(sender, "GET", f"{base_url}{path}", None, headers)


def signed_post(base_url: str, signer: SigV4, timeout: float = TIMEOUT_SECONDS) -> Post:
    """A ``post`` over HTTPS to ``base_url``, signed for the region's API Gateway."""
    sender = Transport(timeout)
    return lambda path, headers, body: _send(
        sender, "POST", f"{base_url}{path}", body, headers, signer
    )


def _summary(journey: str, correlation_id: str, steps: list[Step]) -> dict[str, Any]:
    """What the canary's log keeps of a run that passed."""
    summary = {
        "journey": journey,
        "correlationId": correlation_id,
        "steps": [
            {"name": s.name, "status": s.status, "ms": round(s.milliseconds, 1)} for s in steps
        ],
    }
    print(json.dumps(summary))
    return summary


def run(get: Get, order_id: str, correlation_id: str) -> dict[str, Any]:
    """The read journey, and a summary the canary's log keeps."""
    return _summary("read", correlation_id, read_journey(get, order_id, correlation_id))


def run_write(post: Post, get: Get, run_id: str, **timing: Any) -> dict[str, Any]:
    """The write journey under one run id (its idempotency key and correlation id)."""
    correlation_id = f"canary-{run_id}"
    steps = write_journey(post, get, f"canary-{run_id}", correlation_id, **timing)
    return _summary("write", correlation_id, steps)


def _credentials() -> Callable[[], Any]:
    import boto3  # the runtime's; only the write canary needs it

    return boto3.session.Session().get_credentials


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Synthetics entry point of the read canary."""
    env = Env(os.environ)
    base_url = env.required("CANARY_BASE_URL").rstrip("/")
    return run(https_get(base_url), env.required("CANARY_ORDER_ID"), f"canary-{uuid.uuid4()}")


def write_handler(event: Any, context: Any) -> dict[str, Any]:
    """Synthetics entry point of the write canary."""
    env = Env(os.environ)
    base_url = env.required("CANARY_BASE_URL").rstrip("/")
    signer = SigV4("execute-api", env.required("CANARY_REGION"), _credentials())
    return run_write(signed_post(base_url, signer), https_get(base_url), str(uuid.uuid4()))

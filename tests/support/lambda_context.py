"""A stand-in for the context Lambda passes a handler (what powertools' Logger reads)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

_ids = itertools.count(1)


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes of ``awslambdaric``'s LambdaContext that the handlers and Logger read."""

    aws_request_id: str
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/01/01/[$LATEST]0"

    def get_remaining_time_in_millis(self) -> int:
        """Plenty: no test runs against Lambda's timeout."""
        return 30_000


def lambda_context(request_id: str | None = None) -> FakeLambdaContext:
    """A context with ``request_id``, or a fresh one per call (as Lambda gives)."""
    return FakeLambdaContext(request_id or f"req-{next(_ids):06d}")

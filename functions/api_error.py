"""The API's one error body, ``{"error": {"code", "message", "field"}}``, built and read here.

Every HTTP route (write, read, WebSocket) answers a refusal in this shape, and the write path
relays a primary's refusal only when it has it; README.md ("Public API"), docs/read-side.md
and docs/write-path.md document it. ``field`` names the input at fault, or is null.

Pure Python: the domain code and the handlers alike import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ErrorBody = dict[str, dict[str, str | None]]


def body(code: str, message: str, field: str | None = None) -> ErrorBody:
    """The error body a client receives: a machine-readable ``code``, a sentence, the field."""
    return {"error": {"code": code, "message": message, "field": field}}


def internal() -> ErrorBody:
    """What a bug answers (500): nothing of the failure is shown to the client."""
    return body("INTERNAL", "internal error")


def parse(answer: Mapping[str, Any]) -> ErrorBody | None:
    """``answer`` as an error body if it is exactly one (string code and message, string or
    null field), else None; extra keys are dropped, so nothing else is passed on."""
    error = answer.get("error")
    if not isinstance(error, Mapping):
        return None
    code, message, field = error.get("code"), error.get("message"), error.get("field")
    if not isinstance(code, str) or not isinstance(message, str):
        return None
    if field is not None and not isinstance(field, str):
        return None
    return body(code, message, field)

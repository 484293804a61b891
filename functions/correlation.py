"""The correlation id of the request being handled, carried with the work it causes.

A handler binds it once per invocation (from ``x-correlation-id``, else the request id, else
what the event carries); the adapters read it: the forwarder sends it as ``x-correlation-id``,
the saga's input and the domain events hold it as ``correlationId``. A Lambda container runs
one invocation at a time, so a context variable is enough.
"""

from __future__ import annotations

from contextvars import ContextVar

HEADER = "x-correlation-id"
FIELD = "correlationId"
# A correlation id is echoed into logs, headers and events: keep it short and printable.
MAX_LENGTH = 128

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def clean(value: object) -> str | None:
    """The value as a correlation id, or None when it cannot be one."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_LENGTH or not all("!" <= c <= "~" for c in value):
        return None
    return value


def bind(value: object) -> str | None:
    """Make ``value`` (when usable) the current correlation id; returns what is bound."""
    cleaned = clean(value)
    _current.set(cleaned)
    return cleaned


def current() -> str | None:
    """The correlation id of the invocation being handled, if any."""
    return _current.get()

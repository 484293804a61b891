"""What the handlers told CloudWatch: their JSON log lines and their EMF metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger


@dataclass
class Logs:
    """The JSON lines a powertools Logger wrote while the block ran."""

    _buffer: io.StringIO = field(default_factory=io.StringIO)

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._buffer.getvalue().splitlines() if line.strip()]

    def saying(self, message: str) -> list[dict[str, Any]]:
        """The lines whose message is ``message``."""
        return [line for line in self.lines if line.get("message") == message]


@contextmanager
def captured_logs(*loggers: Logger) -> Iterator[Logs]:
    """Send the loggers' lines to one buffer for the duration of the block."""
    logs = Logs()
    handlers = [logger.registered_handler for logger in loggers]
    assert all(isinstance(h, logging.StreamHandler) for h in handlers)
    previous = [h.setStream(logs._buffer) for h in handlers]  # type: ignore[attr-defined]
    try:
        yield logs
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Emitted:
    """One metric value of an EMF document: where CloudWatch files it, and the value."""

    namespace: str
    name: str
    unit: str
    dimensions: dict[str, str]
    value: float


def emf_metrics(stdout: str) -> list[Emitted]:
    """Every metric value in the EMF documents printed on ``stdout`` (other lines ignored)."""
    found = []
    for line in stdout.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            [dimension_set] = directive["Dimensions"]
            dimensions = {name: document[name] for name in dimension_set}
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    found.append(
                        Emitted(
                            directive["Namespace"],
                            metric["Name"],
                            metric["Unit"],
                            dimensions,
                            float(value),
                        )
                    )
    return found


def named(emitted: list[Emitted], name: str) -> list[Emitted]:
    """The values of one metric."""
    return [e for e in emitted if e.name == name]

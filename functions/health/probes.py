"""Adapters that probe this region's dependencies: the table replica and the Aurora reader."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.orders.db import Database
from functions.orders.read_model import control_key


class TableProbe:
    """Reads the control record from the local table: a cheap, real read of the replica."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def __call__(self) -> None:
        """Raise unless the table answers a read."""
        self._client.get_item(
            TableName=self._table,
            Key={name: {"S": value} for name, value in control_key().items()},
        )


class DatabaseProbe:
    """Opens a connection to the Aurora reader and runs ``SELECT 1``.

    The connection comes from the write path's :class:`Database`, so the probe logs in and
    verifies TLS exactly as the functions that use the database do. A fresh one per probe: a
    probe that outlived the deadline may still hold the last one in its thread.
    """

    def __init__(self, open_database: Callable[[], Database]) -> None:
        self._open = open_database

    def __call__(self) -> None:
        """Raise unless the reader accepts a connection and answers a query."""
        database = self._open()
        try:
            database.connection().run("SELECT 1")
        finally:
            database.close()

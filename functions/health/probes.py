"""Adapters that probe this region's dependencies: the table replica and the Aurora reader."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

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
    """Opens a connection to the Aurora reader and runs ``SELECT 1``."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect

    def __call__(self) -> None:
        """Raise unless the reader accepts a connection and answers a query."""
        connection = self._connect()
        try:
            connection.run("SELECT 1")
        finally:
            connection.close()


def postgres_connector(
    host: str,
    port: int,
    database: str,
    user: str,
    password: Callable[[], str | None],
    ca_bundle: str | None,
    use_tls: bool,
    timeout: float,
) -> Callable[[], Any]:
    """A factory of pg8000 connections; ``password`` is called per connection (IAM tokens expire)."""
    import pg8000.native

    context = None
    if use_tls:
        # Aurora's certificates chain to the RDS CAs, which are not in the default trust
        # store: ship the RDS bundle and name it in DB_CA_BUNDLE to verify them.
        context = ssl.create_default_context(cafile=ca_bundle)
        if ca_bundle is None:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE

    def connect() -> Any:
        return pg8000.native.Connection(
            user=user,
            host=host,
            port=port,
            database=database,
            password=password(),
            ssl_context=context,
            timeout=timeout,
        )

    return connect

"""Warm in-process latency of the read handler: its own overhead, and a full request over moto.

Prints figures only (nothing asserts timing). Target: under 1 ms median of handler overhead.

    .venv/bin/python bench/read_path.py [--requests N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from functions.read_api.handler import GET_ORDER, LIST_ORDERS, ReadApi
from functions.read_side.queries import OrderQueries
from functions.read_side.tokens import PageTokens
from tests.support.read_side import (
    TOKEN_KEY,
    InMemoryOrderReader,
    a_view,
    create_order_table,
    http_event,
    put_order,
)

REGION = "eu-west-1"


def measure(call: Callable[[], Any], requests: int, warmup: int = 50) -> tuple[float, float]:
    """Median and p99 in milliseconds of ``requests`` warm calls."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1e6)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def scenarios(handle: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Callable[[], Any]]:
    """One GET of an order and one page of ten orders."""
    get = http_event(GET_ORDER, {"orderId": "o-0"})
    page = http_event(LIST_ORDERS, {"customerId": "c-1"}, {"limit": "10"})
    return {
        "GET /orders/{id}": lambda: handle(get),
        "GET /customers/{id}/orders?limit=10": lambda: handle(page),
    }


def over_fake(requests: int) -> dict[str, tuple[float, float]]:
    """The handler's own overhead: parsing, validation, shaping, JSON, over a dict reader."""
    reader = InMemoryOrderReader()
    for n in range(30):
        reader.add(a_view(f"o-{n}", "c-1"), f"2024-05-01T10:{n:02d}:00Z")
    api = ReadApi(OrderQueries(reader, PageTokens(TOKEN_KEY)))
    return {name: measure(call, requests) for name, call in scenarios(api.handle).items()}


def over_moto(requests: int) -> dict[str, tuple[float, float]]:
    """A full request through the Lambda entry point, boto3 and moto's DynamoDB."""
    import boto3
    from moto import mock_aws

    from functions.read_api import handler as read_handler

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "TABLE_NAME": "orders",
        }
    )
    with mock_aws():
        create_order_table(boto3.client("dynamodb", region_name=REGION), "orders")
        table = boto3.resource("dynamodb", region_name=REGION).Table("orders")
        for n in range(30):
            put_order(table, a_view(f"o-{n}", "c-1"), f"2024-05-01T10:{n:02d}:00Z")
        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="page-token-key", SecretString="k" * 32
        )
        os.environ["PAGE_TOKEN_SECRET_ARN"] = secret["ARN"]
        read_handler.build_queries.cache_clear()
        read_handler.build_api.cache_clear()

        def handle(event: dict[str, Any]) -> dict[str, Any]:
            return read_handler.handler(event, None)

        return {name: measure(call, requests) for name, call in scenarios(handle).items()}


def main() -> None:
    """Run both benchmarks and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print(f"read handler, warm, in process ({args.requests} requests each)")
    print(f"{'backend':<6} {'request':<38} {'median ms':>10} {'p99 ms':>10}")
    for backend, run in (("fake", over_fake), ("moto", over_moto)):
        requests = args.requests if backend == "fake" else max(50, args.requests // 10)
        for name, (median, p99) in run(requests).items():
            print(f"{backend:<6} {name:<38} {median:>10.3f} {p99:>10.3f}")
    print("target: handler overhead (fake) under 1 ms median")


if __name__ == "__main__":
    main()

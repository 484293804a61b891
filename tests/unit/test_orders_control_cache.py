"""The control record cache: fresh for at most 10 s, never caching a failure."""

from __future__ import annotations

import pytest

from functions.orders.aws import CachedControlSource
from functions.orders.ports import ControlRecord, ControlUnavailable, Mode
from tests.unit.orders_fakes import FakeControl


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_failover_is_seen_within_ten_seconds_even_if_a_longer_cache_is_asked_for() -> None:
    # Given a cache configured for 60 s over a record naming eu-west-1
    inner, clock = FakeControl(), Clock()
    cache = CachedControlSource(inner, ttl_seconds=60, clock=clock)
    cache.current()
    # When the primary moves and 10 s pass
    inner.record = ControlRecord("us-east-1", "https://b", Mode.NORMAL)
    clock.now = 10.0
    # Then the new primary is seen
    assert cache.current().primary_region == "us-east-1"


def test_within_the_cache_window_the_record_is_not_read_again() -> None:
    # Given a cached record
    inner, clock = FakeControl(), Clock()
    cache = CachedControlSource(inner, ttl_seconds=10, clock=clock)
    first = cache.current()
    # When the table becomes unreadable 5 s later
    inner.record = None
    clock.now = 5.0
    # Then the cached record still answers
    assert cache.current() == first


def test_a_failed_read_is_not_cached() -> None:
    # Given an unreadable table
    inner, clock = FakeControl(None), Clock()
    cache = CachedControlSource(inner, clock=clock)
    with pytest.raises(ControlUnavailable):
        cache.current()
    # When it recovers, a moment later
    inner.record = ControlRecord("eu-west-1", None, Mode.NORMAL)
    clock.now = 0.1
    # Then the next read succeeds
    assert cache.current().primary_region == "eu-west-1"

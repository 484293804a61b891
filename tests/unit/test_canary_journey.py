"""The write journey's decisions, over fake ports: what passes, what fails, and what it says."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.canary.journey import Answer, JourneyFailed, write_journey

PLACED = Answer(202, {"orderId": "o-1", "status": "PENDING"})


class Api:
    """Answers the POST with ``placed``, then each GET with the next of ``reads``."""

    def __init__(self, placed: Answer | Exception, reads: list[Answer | Exception]) -> None:
        self.placed = placed
        self._reads: Iterator[Answer | Exception] = iter(reads)
        self.gets = 0

    def post(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if isinstance(self.placed, Exception):
            raise self.placed
        return self.placed

    def get(self, path: str, headers: dict[str, str]) -> Answer:
        self.gets += 1
        answer = next(self._reads)
        if isinstance(answer, Exception):
            raise answer
        return answer


def walk(api: Api, deadline: float = 60.0) -> list[str]:
    """The journey on a clock that moves only when it sleeps; the names of the steps."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    steps = write_journey(
        api.post, api.get, "k", "c", deadline, 2.0, clock=lambda: now[0], sleep=sleep
    )
    return [s.name for s in steps]


def view(status: str) -> Answer:
    return Answer(200, {"orderId": "o-1", "status": status})


def test_an_order_on_its_way_then_confirmed_passes() -> None:
    # Given a view not there yet, then PENDING, then no answer once, then CONFIRMED
    api = Api(
        PLACED, [Answer(404, {}), view("PENDING"), ConnectionError("reset"), view("CONFIRMED")]
    )
    # Then the run passes, having polled until it saw it
    assert walk(api) == ["place", "confirmed"]
    assert api.gets == 4


@pytest.mark.parametrize(
    ("reads", "says"),
    [
        ([view("FAILED")], "order o-1 FAILED"),
        ([Answer(500, {"error": {}})], "GET /orders/o-1 answered 500"),
        ([Answer(404, {})] * 40, r"not CONFIRMED within 60 s \(last seen: 404\)"),
        ([view("PENDING")] * 40, r"\(last seen: 200 PENDING\)"),
    ],
    ids=["failed", "server-error", "never-projected", "stuck-pending"],
)
def test_a_run_that_cannot_see_its_order_confirmed_fails_saying_why(
    reads: list[Answer], says: str
) -> None:
    with pytest.raises(JourneyFailed, match=says):
        walk(Api(PLACED, list(reads)))


@pytest.mark.parametrize(
    ("placed", "says"),
    [
        (Answer(503, {"error": {"code": "READ_ONLY"}}), "answered 503"),
        (Answer(202, {"status": "PENDING"}), "answered 202"),
        (ConnectionError("refused"), "no answer from POST /synthetic/orders"),
    ],
    ids=["refused", "no-order-id", "unreachable"],
)
def test_a_write_not_taken_fails_at_the_place_step_without_polling(
    placed: Answer | Exception, says: str
) -> None:
    api = Api(placed, [])
    with pytest.raises(JourneyFailed, match=f"place: .*{says}"):
        walk(api)
    assert api.gets == 0

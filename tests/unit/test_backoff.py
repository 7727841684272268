"""The worker's retry back-off: doubling, the cap, the jitter's bounds, and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from model.clock import FixedClock
from notifications.worker import Worker


class Edge(random.Random):
    """Jitter pinned to one end of its range."""

    def __init__(self, end: str) -> None:
        super().__init__()
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return {"low": a, "mid": (a + b) / 2, "high": b}[self.end]


def worker(jitter: str = "mid", **settings: Any) -> Worker:
    # backoff touches neither the database nor the sender.
    return Worker(
        engine=None,  # type: ignore[arg-type]
        sender=None,  # type: ignore[arg-type]
        clock=FixedClock(datetime(2026, 11, 23, tzinfo=UTC)),
        jitter=Edge(jitter),
        **settings,
    )


def seconds(wait: timedelta) -> float:
    return wait.total_seconds()


def test_the_wait_doubles_from_thirty_seconds() -> None:
    w = worker()
    assert [seconds(w.backoff(n, None)) for n in range(1, 7)] == [30, 60, 120, 240, 480, 960]


def test_the_wait_stops_growing_at_the_cap() -> None:
    w = worker(max_backoff=timedelta(minutes=10))
    assert [seconds(w.backoff(n, None)) for n in (5, 6, 20, 1000)] == [480, 600, 600, 600]
    assert seconds(worker().backoff(10_000, None)) == 3600  # no overflow, however many


@pytest.mark.parametrize(("end", "first", "capped"), [("low", 24, 2880), ("high", 36, 3600)])
def test_jitter_spreads_the_wait_by_a_fifth_but_never_past_the_cap(
    end: str, first: float, capped: float
) -> None:
    w = worker(end)
    assert seconds(w.backoff(1, None)) == pytest.approx(first)
    assert seconds(w.backoff(12, None)) == pytest.approx(capped)


def test_real_jitter_stays_in_its_bounds() -> None:
    w = Worker(
        engine=None,  # type: ignore[arg-type]
        sender=None,  # type: ignore[arg-type]
        clock=FixedClock(datetime(2026, 11, 23, tzinfo=UTC)),
        jitter=random.Random(5),
    )
    waits = {seconds(w.backoff(3, None)) for _ in range(200)}
    assert min(waits) >= 96
    assert max(waits) <= 144
    assert len(waits) > 100


@pytest.mark.parametrize(
    ("attempts", "retry_after", "expected"),
    [
        (1, 120.0, 120),  # longer than ours: FCM's wins
        (4, 120.0, 240),  # shorter than ours: ours
        (1, 7200.0, 7200),  # past the cap: still FCM's
        (1, 86400.0, 86400),
        (1, 1e18, 30 * 86400),  # absurd: bounded, not an overflow
    ],
)
def test_retry_after_is_never_cut_short(attempts: int, retry_after: float, expected: int) -> None:
    assert seconds(worker().backoff(attempts, retry_after)) == expected

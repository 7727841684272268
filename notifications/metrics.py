"""The push worker's Prometheus metrics (served by api.metrics or ``rapport worker``'s port)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

CLAIMED = Counter("rapport_worker_claimed", "Scheduled pushes a worker claimed to send.")
SENDS = Counter(
    "rapport_push_sends", "Pushes handed to FCM (one per device), by outcome.", ["outcome"]
)
# Several workers: the largest (each worker's own value is its latest).
PLANNER_LAG = Gauge(
    "rapport_planner_lag_seconds",
    "Time since the planner last found no owner waiting to be planned (0 while it keeps up).",
    multiprocess_mode="max",
)
QUEUE_DEPTH = Gauge(
    "rapport_push_queue_depth",
    f"Pushes due and not yet sent, counted up to {100_000:,}.",
    multiprocess_mode="max",
)

# The partial index on due pending rows answers it; the cap bounds a scan of a huge backlog.
_DUE = sa.text(
    "SELECT count(*) FROM (SELECT FROM scheduled_notifications"
    " WHERE status = 'PENDING' AND due_at <= :now LIMIT 100000) AS due"
)


async def measure_queue(engine: AsyncEngine, now: datetime) -> None:
    """Set the queue depth gauge from the database."""
    async with engine.connect() as conn:
        QUEUE_DEPTH.set(await conn.scalar(_DUE, {"now": now}) or 0)


def count_sends(outcomes: list[Any]) -> None:
    """Count each send by its outcome (notifications.sender.SendResult)."""
    for result in outcomes:
        SENDS.labels(str(result.outcome)).inc()

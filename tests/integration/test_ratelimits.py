"""The shared rate-limit rows: concurrent takers never overspend, spent keys are pruned."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from store import ratelimits

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


async def take(engine: AsyncEngine, key: str, now: datetime = NOW) -> timedelta | None:
    async with engine.begin() as conn:
        return await ratelimits.take_request(
            conn, scope="test", key=key, now=now, limit=3, period=HOUR
        )


async def test_concurrent_takers_let_in_exactly_the_limit(engine: AsyncEngine) -> None:
    # Five connections race for a key allowing three: the upsert serializes them on its row.
    waits = await asyncio.gather(*(take(engine, "racer") for _ in range(5)))
    assert sorted(w is None for w in waits) == [False, False, True, True, True]
    assert {w for w in waits if w is not None} == {timedelta(minutes=20)}


async def test_a_refused_request_does_not_push_the_wait_further(engine: AsyncEngine) -> None:
    for _ in range(3):
        assert await take(engine, "patient") is None
    assert await take(engine, "patient") == timedelta(minutes=20)
    assert await take(engine, "patient", NOW + timedelta(minutes=5)) == timedelta(minutes=15)
    assert await take(engine, "patient", NOW + timedelta(minutes=20)) is None


async def test_pruning_drops_only_keys_whose_allowance_is_whole(engine: AsyncEngine) -> None:
    assert await take(engine, "once") is None  # whole again 20 minutes later
    for _ in range(3):
        assert await take(engine, "thrice") is None  # whole again an hour later
    async with engine.begin() as conn:
        assert await ratelimits.prune_keys(conn, now=NOW + timedelta(minutes=30)) == 1
        assert await ratelimits.prune_keys(conn, now=NOW + HOUR) == 1
        assert await ratelimits.prune_keys(conn, now=NOW + HOUR) == 0

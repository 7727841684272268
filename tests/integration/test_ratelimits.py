"""The shared rate-limit rows: concurrent takers never overspend, spent keys are pruned."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store import ratelimits, tables

HOUR = timedelta(hours=1)
# The wait is measured by a statement a moment after the one that refused.
MOMENT = timedelta(seconds=5)


async def take(engine: AsyncEngine, key: str) -> timedelta | None:
    async with engine.begin() as conn:
        return await ratelimits.take_request(conn, scope="test", key=key, limit=3, period=HOUR)


async def pass_time(engine: AsyncEngine, elapsed: timedelta) -> None:
    """Move every key as if ``elapsed`` had passed: the limits go by the database's clock."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(tables.rate_limits).values(tat=tables.rate_limits.c.tat - elapsed)
        )


def about(wait: timedelta | None, expected: timedelta) -> bool:
    return wait is not None and expected - MOMENT < wait <= expected


async def test_concurrent_takers_let_in_exactly_the_limit(engine: AsyncEngine) -> None:
    # Five connections race for a key allowing three: the upsert serializes them on its row.
    waits = await asyncio.gather(*(take(engine, "racer") for _ in range(5)))
    assert sorted(w is None for w in waits) == [False, False, True, True, True]
    assert all(about(w, timedelta(minutes=20)) for w in waits if w is not None), waits


async def test_a_refused_request_does_not_push_the_wait_further(engine: AsyncEngine) -> None:
    for _ in range(3):
        assert await take(engine, "patient") is None
    assert about(await take(engine, "patient"), timedelta(minutes=20))
    await pass_time(engine, timedelta(minutes=5))
    assert about(await take(engine, "patient"), timedelta(minutes=15))
    await pass_time(engine, timedelta(minutes=15))
    assert await take(engine, "patient") is None


async def test_pruning_drops_only_keys_whose_allowance_is_whole(engine: AsyncEngine) -> None:
    assert await take(engine, "once") is None  # whole again 20 minutes later
    for _ in range(3):
        assert await take(engine, "thrice") is None  # whole again an hour later
    await pass_time(engine, timedelta(minutes=30))
    async with engine.begin() as conn:
        assert await ratelimits.prune_keys(conn) == 1
    await pass_time(engine, timedelta(minutes=30))
    async with engine.begin() as conn:
        assert await ratelimits.prune_keys(conn) == 1
        assert await ratelimits.prune_keys(conn) == 0


async def test_purge_tombstones_prunes_spent_keys(engine: AsyncEngine, db_url: str) -> None:
    assert await take(engine, "spent") is None
    await pass_time(engine, 2 * HOUR)
    assert await take(engine, "fresh") is None
    done = await anyio.run_process(
        [str(Path(sys.executable).parent / "rapport"), "purge-tombstones"],
        env={**os.environ, "RAPPORT_DATABASE_URL": db_url, "RAPPORT_LOG_LEVEL": "WARNING"},
    )
    assert b"and 1 spent rate-limit keys" in done.stdout
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(tables.rate_limits)) == 1

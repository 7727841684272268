"""The shared rate-limit rows: concurrent takers never overspend, spent keys are pruned."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store import ratelimits, tables

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


async def test_purge_tombstones_prunes_spent_keys(engine: AsyncEngine, db_url: str) -> None:
    now = datetime.now(UTC)
    assert await take(engine, "spent", now - timedelta(hours=2)) is None
    assert await take(engine, "fresh", now) is None
    done = await anyio.run_process(
        [str(Path(sys.executable).parent / "rapport"), "purge-tombstones"],
        env={**os.environ, "RAPPORT_DATABASE_URL": db_url, "RAPPORT_LOG_LEVEL": "WARNING"},
    )
    assert b"and 1 spent rate-limit keys" in done.stdout
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(tables.rate_limits)) == 1

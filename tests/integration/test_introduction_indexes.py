"""The introduction index cache (schema/indexes.py): kept per version, timed by the app's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock
from schema.indexes import INDEX_MAX_AGE, IntroductionIndexes
from tests.integration.notify_support import make_user, put_contact

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def test_an_index_is_kept_until_a_write_or_the_clock_moves_past_its_age(
    engine: AsyncEngine,
) -> None:
    clock = FixedClock(NOW)
    indexes = IntroductionIndexes(clock)
    owner = await make_user(engine, NOW)
    await put_contact(engine, owner, NOW, firstName="Ada", interests=["chess"])

    async with engine.connect() as conn:
        first = await indexes.get(conn, owner)
    async with engine.connect() as conn:
        assert await indexes.get(conn, owner) is first

    # Only the injected clock moves: the cache's timer is the app's clock, not the wall's.
    clock.at = NOW + INDEX_MAX_AGE - timedelta(seconds=1)
    async with engine.connect() as conn:
        assert await indexes.get(conn, owner) is first
    clock.at = NOW + INDEX_MAX_AGE
    async with engine.connect() as conn:
        rebuilt = await indexes.get(conn, owner)
    assert rebuilt is not first

    # A write bumps the owner's version: the kept index is rebuilt at once.
    await put_contact(engine, owner, NOW, firstName="Grace", interests=["chess"])
    async with engine.connect() as conn:
        after_write = await indexes.get(conn, owner)
    assert after_write is not rebuilt
    assert after_write.total == rebuilt.total + 1

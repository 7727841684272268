"""Statements run as the API runs them: through SQLAlchemy, and straight through asyncpg.

The PgBouncer tests run them in new processes (tests/integration/test_pgbouncer.py); this
module imports little, so that each process starts in well under a second.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.util.concurrency import greenlet_spawn

from store.engine import create_engine


async def run_statements(url: str, *, pgbouncer: bool) -> None:
    engine = create_engine(url, pool_size=1, pgbouncer=pgbouncer)
    try:
        for n in range(5):
            async with engine.begin() as conn:
                assert await conn.scalar(sa.text("SELECT CAST(:n AS int) + 1"), {"n": n}) == n + 1
            pooled = await engine.raw_connection()
            try:
                driver = pooled.driver_connection
                assert driver is not None
                assert await driver.fetchval("SELECT $1::int * 2", n) == n * 2
            finally:
                await greenlet_spawn(pooled.close)
    finally:
        await engine.dispose()

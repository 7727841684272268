"""Rate limits shared by every API process: one GCRA row per (scope, key).

GCRA (the generic cell rate algorithm) keeps one timestamp per key, its "theoretical arrival
time" (tat): ``limit`` requests per ``period`` are spaced ``period / limit`` apart, and a
request is let in while the tat it would leave is at most ``period`` ahead of now. So a key
may spend ``limit`` at once, then one more every ``period / limit``. One upsert reads and
moves the tat, so concurrent processes never both spend the last request.

Time is the database's, not each host's: every process measures against one clock, and a
host whose clock runs ahead cannot hand out a fresh allowance. It is ``clock_timestamp()``,
read when the upsert has the row's lock: a statement that waited for a concurrent taker's lock
would otherwise judge the tat that taker left by the (older) moment the statement started,
and refuse a request the limit still allows, with a wait of nothing.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables

t = tables.rate_limits
_NOW = sa.func.clock_timestamp()


def _digest(key: str) -> bytes:
    # Emails and addresses are not kept in the clear; the digest is as good a key.
    return hashlib.sha256(key.encode()).digest()


async def take_request(
    conn: AsyncConnection,
    *,
    scope: str,
    key: str,
    limit: int,
    period: timedelta,
) -> timedelta | None:
    """Spend one of ``limit`` requests per ``period``; None if let in, else how long to wait."""
    interval = period / limit
    digest = _digest(key)
    later = sa.func.greatest(t.c.tat, _NOW) + interval
    upsert = (
        pg_insert(t)
        .values(scope=scope, key=digest, tat=_NOW + interval)
        .on_conflict_do_update(
            index_elements=[t.c.scope, t.c.key],
            set_={"tat": later},
            where=later <= _NOW + period,
        )
        .returning(t.c.tat)
    )
    if (await conn.execute(upsert)).first() is not None:
        return None
    # The refusing upsert locked the row: its tat is the one that refused.
    query = sa.select(t.c.tat - _NOW).where(t.c.scope == scope, t.c.key == digest)
    ahead: timedelta = (await conn.execute(query)).scalar_one()
    # Read a moment after the refusal: never less than nothing.
    return max(ahead + interval - period, timedelta(0))


async def forget_key(conn: AsyncConnection, *, scope: str, key: str) -> None:
    """Give a key its whole allowance back."""
    await conn.execute(sa.delete(t).where(t.c.scope == scope, t.c.key == _digest(key)))


async def prune_keys(conn: AsyncConnection) -> int:
    """Delete the rows of keys whose allowance is whole again; return how many."""
    result = await conn.execute(sa.delete(t).where(t.c.tat <= _NOW))
    return result.rowcount

"""A claimed batch's lease, kept alive while the batch is being sent.

A worker's claim gives its rows a short lease (30 s by default), so that the rows of a worker
that dies are sent by another soon after. A live worker must therefore renew the lease for as
long as its batch is out: ``keep_lease`` renews it every third of its length until the block
ends. A row found leased to someone else was taken over after the lease ran out (the worker
stalled longer than the lease); it is left to its new holder, as the record step leaves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import Clock

log = logging.getLogger("rapport.notifications.worker")

# Renewals in one lease: a renewal that fails or comes late still leaves the others in time.
RENEWALS_PER_LEASE = 3

_RENEW = sa.text(
    """
    UPDATE scheduled_notifications AS s
    SET lease_until = :until
    FROM unnest(CAST(:owners AS uuid[]), CAST(:ids AS uuid[])) AS p(o, i)
    -- Only rows still ours: a row another worker took over stays its.
    WHERE s.owner_id = p.o AND s.id = p.i AND s.leased_by = :worker AND s.status = 'SENDING'
    """
).bindparams(sa.bindparam("until", type_=sa.DateTime(timezone=True)))


async def renew_lease(
    engine: AsyncEngine, rows: Sequence[Any], *, worker: str, lease: timedelta, clock: Clock
) -> int:
    """Extend the lease of those of ``rows`` still leased to ``worker``; return how many."""
    async with engine.begin() as conn:
        result = await conn.execute(
            _RENEW,
            {
                "until": clock.now() + lease,
                "worker": worker,
                "owners": [row.owner_id for row in rows],
                "ids": [row.id for row in rows],
            },
        )
    return result.rowcount


@contextlib.asynccontextmanager
async def keep_lease(
    engine: AsyncEngine, rows: Sequence[Any], *, worker: str, lease: timedelta, clock: Clock
) -> AsyncIterator[None]:
    """Renew the lease of ``rows`` every third of ``lease`` until the block ends."""
    done = asyncio.Event()
    renewing = asyncio.create_task(
        _renew_until(done, engine, rows, worker=worker, lease=lease, clock=clock),
        name=f"renew lease of {worker}",
    )
    try:
        yield
    finally:
        # Stopped by an event, not cancelled: a renewal under way finishes its statement, so
        # its connection goes back to the pool clean. It is one short UPDATE.
        done.set()
        await renewing


async def _renew_until(
    done: asyncio.Event,
    engine: AsyncEngine,
    rows: Sequence[Any],
    *,
    worker: str,
    lease: timedelta,
    clock: Clock,
) -> None:
    interval = lease.total_seconds() / RENEWALS_PER_LEASE
    held = len(rows)
    while held:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), interval)
        if done.is_set():
            return
        try:
            renewed = await renew_lease(engine, rows, worker=worker, lease=lease, clock=clock)
        except Exception:  # the next renewal may succeed; the batch goes on meanwhile
            log.exception("renewing the lease of %d pushes failed; trying again", held)
            continue
        if renewed < held:
            # Our lease ran out before this renewal and another worker took the rows: they
            # are its now, and the record step will leave them alone.
            log.warning(
                "%s lost %d pushes to another worker after their lease ran out",
                worker,
                held - renewed,
            )
            held = renewed

"""The planner: turns owners' contacts and reminders into scheduled_notifications rows.

Planning an owner computes, from a snapshot of their data, every push due in the next few
local days (``plan``), then upserts them by their unique key and retires pending rows it no
longer wants: deleted when their day is still ahead (a birthday edited away), marked MISSED
when their day has passed unsent. Rows a worker has claimed, tried or sent are never touched,
so planning twice plans once, and a re-plan cannot resend anything or erase what was sent.

An owner needs planning when their sync version moved past the one last planned (any write),
when their settings changed (``store.accounts.update_user`` resets the plan), or when the
last plan is an hour old (the window moves on with the clock). A pass claims the owners it
plans by locking their ``planner_owners`` rows (``SKIP LOCKED``), so workers share planning
instead of repeating each other, and a settings change waits for the pass in progress.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from model.agenda import ContactFacts, Owner, ReminderFacts
from model.clock import local_today
from notifications.backlog import (
    add_missing_owners,
    claim_owners,
    lock_owners,
    mark_planned,
)
from notifications.plan import Planned, plan_pushes
from notifications.schedule import store_plan
from notifications.timing import jitter_for
from store import agenda, tables
from store.agenda import Window

log = logging.getLogger("rapport.notifications.planner")

HORIZON_DAYS = 7
OWNERS_PER_PASS = 500

_s = tables.scheduled_notifications


async def load_facts(
    conn: AsyncConnection, owner_ids: Sequence[UUID], window: Window | None = None
) -> tuple[dict[UUID, Owner], dict[UUID, list[ContactFacts]], dict[UUID, list[ReminderFacts]]]:
    """The owners' facts (``store.agenda``), each owner with their push jitter."""
    return await agenda.load_facts(conn, owner_ids, window, jitter=jitter_for)


_REACH = sa.text(
    "SELECT max(lead::int) FROM users AS u, jsonb_each(u.lead_days) AS kind,"
    " jsonb_array_elements_text(kind.value) AS lead WHERE u.id = ANY(CAST(:owners AS uuid[]))"
)


async def _reach(conn: AsyncConnection, owner_ids: Sequence[UUID]) -> int:
    """The most lead days any of these owners asked for."""
    return int(await conn.scalar(_REACH, {"owners": list(owner_ids)}) or 0)


async def plan_owners(
    engine: AsyncEngine,
    owner_ids: Sequence[UUID],
    now: datetime,
    *,
    horizon_days: int = HORIZON_DAYS,
) -> int:
    """Plan these owners now, needed or not, in one transaction; return pushes pending."""
    if not owner_ids:
        return 0
    await add_missing_owners(engine, owner_ids)
    async with engine.begin() as conn:
        versions = await lock_owners(conn, owner_ids)
        return await plan_locked(conn, versions, now, horizon_days=horizon_days)


async def plan_claimed(
    engine: AsyncEngine, now: datetime, *, limit: int = OWNERS_PER_PASS
) -> tuple[int, int]:
    """Claim owners that need planning and plan them; return how many owners and pushes.

    The claim and the plan are one transaction: the owners stay locked until their plan is
    committed, so no other pass plans them meanwhile, and a settings change made meanwhile
    (``update_user`` resets ``planned_version`` on the locked row) waits and lands after it.
    """
    async with engine.begin() as conn:
        # Locked for this transaction; owners another pass (or a settings change) holds are
        # skipped, not waited for. The version is read with the lock: a write committed after
        # it bumps the version past it, so the owner is planned again.
        versions = await claim_owners(conn, now, limit)
        if not versions:
            return 0, 0
        return len(versions), await plan_locked(conn, versions, now)


async def plan_locked(
    conn: AsyncConnection,
    versions: Mapping[UUID, int],
    now: datetime,
    *,
    horizon_days: int = HORIZON_DAYS,
) -> int:
    """Plan owners this transaction has locked, at their versions; return pushes pending."""
    owner_ids = list(versions)
    # Local days differ by a day at most across zones; leads reach further ahead.
    utc_today = now.astimezone(UTC).date()
    window = Window(
        utc_today - timedelta(days=1),
        utc_today + timedelta(days=horizon_days + 1 + await _reach(conn, owner_ids)),
    )
    owners, contacts, reminders = await load_facts(conn, owner_ids, window)
    rows: list[tuple[UUID, Planned]] = []
    planned_owners: list[UUID] = []
    for owner in owners.values():
        today = local_today(now, owner.prefs.time_zone)
        try:
            pushes = plan_pushes(
                owner, contacts.get(owner.id, []), reminders.get(owner.id, []), today, horizon_days
            )
        except Exception:
            # One owner's odd data must not hold up the batch, pass after pass: their pending
            # pushes stay as they were, and they are tried again on their next write or hour.
            log.exception("planning owner %s failed; their pending pushes are kept", owner.id)
            continue
        planned_owners.append(owner.id)
        rows.extend((owner.id, planned) for planned in pushes)
    await store_plan(conn, planned_owners, rows, now)
    await mark_planned(conn, {owner_id: versions[owner_id] for owner_id in owners}, now)
    return len(rows)


async def plan_all(engine: AsyncEngine, now: datetime, *, concurrency: int = 4) -> tuple[int, int]:
    """Plan every owner that needs it, a few batches at a time; return owners and pushes.

    Several passes in flight keep both PostgreSQL and this process busy: one batch's rows
    are computed here while others are read or written there (4 measured best on 2 cores).
    Each claims its own owners, as several workers' passes do.
    """
    await add_missing_owners(engine)

    async def lane() -> tuple[int, int]:
        owners = pushes = 0
        while True:
            claimed, planned = await plan_claimed(engine, now)
            if not claimed:
                return owners, pushes
            owners, pushes = owners + claimed, pushes + planned

    done = await asyncio.gather(*(lane() for _ in range(concurrency)))
    return sum(owners for owners, _ in done), sum(pushes for _, pushes in done)


async def plan_due(engine: AsyncEngine, now: datetime, *, limit: int = OWNERS_PER_PASS) -> int:
    """Plan one batch of owners that need it; return how many owners were planned.

    Every user gets a planner_owners row at sign-up (``store.accounts.insert_user``;
    migration 0007 for those from before), so a pass claims from that table alone.
    """
    owners, pending = await plan_claimed(engine, now, limit=limit)
    if owners:
        log.debug("planned %d owners, %d pushes pending", owners, pending)
    return owners
